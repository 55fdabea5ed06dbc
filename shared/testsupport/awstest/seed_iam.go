package awstest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// SMTPSendingPolicy is the inline policy SES attaches to the IAM user it creates for SMTP
// credentials (policy name AmazonSesSendingAccess).
const SMTPSendingPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ses:SendRawEmail","Resource":"*"}]}`

// SMTPUser is a seeded SES SMTP-credentials user.
type SMTPUser struct {
	UserName string
	ARN      string
	// KeyIDs are its two access keys, both Active, in creation order.
	KeyIDs []string
}

// SeedSMTPUser creates an IAM user shaped like the ones the SES console creates for SMTP
// credentials: name (e.g. "ses-smtp-user.20260112-101500"), the inline policy
// AmazonSesSendingAccess and two active access keys (a rotation in progress).
func (m *Moto) SeedSMTPUser(tb testing.TB, name string) SMTPUser {
	tb.Helper()
	ctx := context.Background()
	c := iam.NewFromConfig(m.Config(tb))
	u, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
	if err != nil {
		tb.Fatalf("awstest: seed smtp user %s: %v", name, err)
	}
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{
		UserName: aws.String(name), PolicyName: aws.String("AmazonSesSendingAccess"), PolicyDocument: aws.String(SMTPSendingPolicy),
	}); err != nil {
		tb.Fatalf("awstest: seed smtp user %s policy: %v", name, err)
	}
	out := SMTPUser{UserName: name, ARN: aws.ToString(u.User.Arn)}
	for range 2 {
		k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		if err != nil {
			tb.Fatalf("awstest: seed smtp user %s key: %v", name, err)
		}
		out.KeyIDs = append(out.KeyIDs, aws.ToString(k.AccessKey.AccessKeyId))
	}
	return out
}

// LambdaTrustPolicy lets Lambda assume a role; SeedRole uses it.
const LambdaTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// SeedRole creates an IAM role assumable by Lambda with an inline policy "send" allowing
// ses:SendEmail and ses:SendRawEmail, and returns its ARN.
func (m *Moto) SeedRole(tb testing.TB, name string) string {
	tb.Helper()
	ctx := context.Background()
	c := iam.NewFromConfig(m.Config(tb))
	r, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(LambdaTrustPolicy)})
	if err != nil {
		tb.Fatalf("awstest: seed role %s: %v", name, err)
	}
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String(name), PolicyName: aws.String("send"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ses:SendEmail","ses:SendRawEmail"],"Resource":"*"}]}`),
	}); err != nil {
		tb.Fatalf("awstest: seed role %s policy: %v", name, err)
	}
	return aws.ToString(r.Role.Arn)
}
