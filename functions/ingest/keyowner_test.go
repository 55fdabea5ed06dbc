package main

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// fakeIAM answers GetAccessKeyLastUsed from a map; a key mapped to "!" fails.
type fakeIAM struct{ users map[string]string }

func (f fakeIAM) GetAccessKeyLastUsed(_ context.Context, in *iam.GetAccessKeyLastUsedInput, _ ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error) {
	user, ok := f.users[aws.ToString(in.AccessKeyId)]
	switch {
	case !ok:
		return nil, &iamtypes.NoSuchEntityException{Message: aws.String("no such key")}
	case user == "!":
		return nil, errors.New("throttled")
	}
	return &iam.GetAccessKeyLastUsedOutput{UserName: aws.String(user)}, nil
}

func healthBody(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../events/notice/health-credentials-exposed.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHealthKeyUserFromIAM: the user of the key an AWS Health event names comes from IAM, not
// from the event's text; a key IAM does not know stays unresolved (no user to contain); a lookup
// error fails the record for redelivery.
func TestHealthKeyUserFromIAM(t *testing.T) {
	for _, tc := range []struct {
		name     string
		owner    KeyOwner
		wantUser string
		wantFail bool
	}{
		{"IAM names the user", IAMKeyOwner{API: fakeIAM{users: map[string]string{"AKIAEXAMPLELEAKED01": "billing-sender"}}}, "billing-sender", false},
		{"IAM does not know the key", IAMKeyOwner{API: fakeIAM{}}, "", false},
		{"no IAM client: the description's name is not acted on", nil, "", false},
		{"lookup fails", IAMKeyOwner{API: fakeIAM{users: map[string]string{"AKIAEXAMPLELEAKED01": "!"}}}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub := &fakePublisher{}
			h := newHandler(newDetector(t, false), pub, nil)
			h.KeyOwner = tc.owner
			resp, err := invoke(t, h, sqsEvent(healthBody(t)))
			if err != nil {
				t.Fatal(err)
			}
			if got := failures(t, resp); tc.wantFail != slices.Equal(got, []string{"m-0"}) {
				t.Fatalf("failures %v, want failed=%t", got, tc.wantFail)
			}
			if tc.wantFail {
				if len(pub.got) != 0 {
					t.Errorf("published %v for a record that failed", pub.names())
				}
				return
			}
			if len(pub.got) != 1 {
				t.Fatalf("published %v", pub.names())
			}
			f := pub.got[0]
			if f.Rule != "health.credentials_risk" || f.Principal.AccessKeyID != "AKIAEXAMPLELEAKED01" || f.Principal.Name != tc.wantUser {
				t.Errorf("finding %+v", f)
			}
			if tc.wantUser != "" && f.Principal.ARN != "arn:aws:iam::111122223333:user/"+tc.wantUser {
				t.Errorf("ARN %q", f.Principal.ARN)
			}
		})
	}
}
