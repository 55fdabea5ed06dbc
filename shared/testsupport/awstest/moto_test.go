package awstest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

func TestStartServesIAMThroughProxy(t *testing.T) {
	m := Start(t)
	client := iam.NewFromConfig(m.Config(t))
	ctx := context.Background()
	if _, err := client.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ses-smtp-user.20260112-101500")}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	out, err := client.ListUsers(ctx, &iam.ListUsersInput{})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if len(out.Users) != 1 || aws.ToString(out.Users[0].UserName) != "ses-smtp-user.20260112-101500" {
		t.Fatalf("users = %+v", out.Users)
	}
	m.Reset(t)
	out, err = client.ListUsers(ctx, &iam.ListUsersInput{})
	if err != nil {
		t.Fatalf("ListUsers after reset: %v", err)
	}
	if len(out.Users) != 0 {
		t.Fatalf("reset left %d users", len(out.Users))
	}
}
