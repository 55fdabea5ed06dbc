package awstest

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// TestCreateIdentityPolicyAlreadyExists: SES refuses a second policy of one name on an identity;
// moto overwrote the first.
func TestCreateIdentityPolicyAlreadyExists(t *testing.T) {
	m := Start(t)
	ctx := context.Background()
	c := sesv2.NewFromConfig(m.Config(t))
	m.SeedIdentity(t, "example.com", "")
	create := func(doc string) error {
		_, err := c.CreateEmailIdentityPolicy(ctx, &sesv2.CreateEmailIdentityPolicyInput{
			EmailIdentity: aws.String("example.com"), PolicyName: aws.String("p"), Policy: aws.String(doc)})
		return err
	}
	first := `{"Version":"2012-10-17","Id":"first","Statement":[]}`
	if err := create(first); err != nil {
		t.Fatal(err)
	}
	var ae *types.AlreadyExistsException
	if err := create(`{"Version":"2012-10-17","Id":"second","Statement":[]}`); !errors.As(err, &ae) {
		t.Errorf("second create: %v, want AlreadyExistsException", err)
	}
	out, err := c.GetEmailIdentityPolicies(ctx, &sesv2.GetEmailIdentityPoliciesInput{EmailIdentity: aws.String("example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Policies["p"] != first {
		t.Errorf("policy = %q, want the first kept", out.Policies["p"])
	}
	// Another name on the same identity is still created.
	if err := create2(ctx, c, "q"); err != nil {
		t.Errorf("other name: %v", err)
	}
}

func create2(ctx context.Context, c *sesv2.Client, name string) error {
	_, err := c.CreateEmailIdentityPolicy(ctx, &sesv2.CreateEmailIdentityPolicyInput{
		EmailIdentity: aws.String("example.com"), PolicyName: aws.String(name), Policy: aws.String(`{"Version":"2012-10-17","Statement":[]}`)})
	return err
}
