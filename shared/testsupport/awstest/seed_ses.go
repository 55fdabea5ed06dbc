package awstest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
)

// IdentityARN is the ARN of an SES identity in the harness account and region.
func IdentityARN(identity string) string {
	return "arn:aws:ses:" + Region + ":" + Account + ":identity/" + identity
}

// SeedIdentity creates the SES identity (domain or address) and, when configSet is not empty,
// creates that configuration set (unless it exists) and makes it the identity's default.
func (m *Moto) SeedIdentity(tb testing.TB, identity, configSet string) {
	tb.Helper()
	ctx := context.Background()
	c := sesv2.NewFromConfig(m.Config(tb))
	if _, err := c.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(identity)}); err != nil {
		tb.Fatalf("awstest: seed identity %s: %v", identity, err)
	}
	if configSet == "" {
		return
	}
	m.SeedConfigurationSet(tb, configSet)
	if _, err := c.PutEmailIdentityConfigurationSetAttributes(ctx, &sesv2.PutEmailIdentityConfigurationSetAttributesInput{
		EmailIdentity: aws.String(identity), ConfigurationSetName: aws.String(configSet),
	}); err != nil {
		tb.Fatalf("awstest: seed identity %s default set %s: %v", identity, configSet, err)
	}
}

// SeedConfigurationSet creates the configuration set if it does not exist yet.
func (m *Moto) SeedConfigurationSet(tb testing.TB, name string) {
	tb.Helper()
	ctx := context.Background()
	c := sesv2.NewFromConfig(m.Config(tb))
	if _, err := c.GetConfigurationSet(ctx, &sesv2.GetConfigurationSetInput{ConfigurationSetName: aws.String(name)}); err == nil {
		return
	}
	if _, err := c.CreateConfigurationSet(ctx, &sesv2.CreateConfigurationSetInput{ConfigurationSetName: aws.String(name)}); err != nil {
		tb.Fatalf("awstest: seed configuration set %s: %v", name, err)
	}
}
