package awstest

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

func TestSeedKeyLastUsed(t *testing.T) {
	m := Start(t)
	ctx := context.Background()
	u := m.SeedSMTPUser(t, "ses-smtp-user.20260112-101500")
	if len(u.KeyIDs) != 2 {
		t.Fatalf("keys = %v", u.KeyIDs)
	}
	at := time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)
	m.SeedKeyLastUsed(u.KeyIDs[1], "ses-smtp", "eu-west-1", at)
	c := iam.NewFromConfig(m.Config(t))

	got, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(u.KeyIDs[1])})
	if err != nil {
		t.Fatalf("GetAccessKeyLastUsed seeded: %v", err)
	}
	lu := got.AccessKeyLastUsed
	if aws.ToString(got.UserName) != u.UserName || aws.ToString(lu.ServiceName) != "ses-smtp" ||
		aws.ToString(lu.Region) != "eu-west-1" || !aws.ToTime(lu.LastUsedDate).Equal(at) {
		t.Fatalf("seeded answer = user %q %+v", aws.ToString(got.UserName), lu)
	}
	// Unseeded keys pass through to moto, which reports never used.
	got, err = c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(u.KeyIDs[0])})
	if err != nil {
		t.Fatalf("GetAccessKeyLastUsed unseeded: %v", err)
	}
	if aws.ToString(got.AccessKeyLastUsed.ServiceName) != "N/A" || got.AccessKeyLastUsed.LastUsedDate != nil {
		t.Fatalf("unseeded answer = %+v", got.AccessKeyLastUsed)
	}
	// The user has the SES console's inline policy.
	p, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(u.UserName), PolicyName: aws.String("AmazonSesSendingAccess")})
	if err != nil || p.PolicyDocument == nil {
		t.Fatalf("GetUserPolicy: %v", err)
	}
	m.Reset(t)
	m.lastUsed.mu.Lock()
	n := len(m.lastUsed.rows)
	m.lastUsed.mu.Unlock()
	if n != 0 {
		t.Fatalf("reset kept %d seeded rows", n)
	}
}
