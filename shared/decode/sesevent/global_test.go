package sesevent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
)

// TestGlobalServiceCallsDecoded: IAM, STS and Support CloudTrail calls, which the us-east-1
// rules deliver (issue 19), decode to API calls naming their event source and what they did
// (issue 20), never to a skip or to bad input.
func TestGlobalServiceCallsDecoded(t *testing.T) {
	for _, tc := range []struct {
		file, source, name string
		check              func(c *cloudtrail.Event) bool
	}{
		{"eventbridge-sts-get-caller-identity.json", cloudtrail.STSEventSource, "GetCallerIdentity",
			func(c *cloudtrail.Event) bool {
				return c.UserAgent == "TruffleHog" && c.Principal.AccessKeyID == "AKIAZX3LEAKEDUSER001"
			}},
		{"eventbridge-iam-create-user.json", cloudtrail.IAMEventSource, "CreateUser",
			func(c *cloudtrail.Event) bool { return c.IAM != nil && c.IAM.UserName == "ses_legion" }},
		{"eventbridge-iam-quarantine-attached.json", cloudtrail.IAMEventSource, "AttachUserPolicy",
			func(c *cloudtrail.Event) bool {
				return c.IAM != nil && c.IAM.UserName == "leaked-user" && c.IAM.PolicyARN == "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3" &&
					c.Principal.Type == "AWSService" && !c.SourceIP.IsValid()
			}},
		{"eventbridge-support-create-case.json", cloudtrail.SupportEventSource, "CreateCase",
			func(c *cloudtrail.Event) bool {
				return c.Support != nil && c.Support.ServiceCode == "amazon-simple-email-service" && c.Support.CategoryCode == "limit-increase"
			}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "global", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			res := DecodeAny(b, tc.file)
			if len(res) != 1 {
				t.Fatalf("%d results", len(res))
			}
			c := res[0].APICall
			if res[0].Err != nil || res[0].Skip != "" || c == nil {
				t.Fatalf("got err %v, skip %q, call %v; want an API call", res[0].Err, res[0].Skip, c)
			}
			if c.EventSource != tc.source || c.EventName != tc.name || c.IsSES() || c.IsSend() || !tc.check(c) {
				t.Fatalf("decoded %+v (iam %+v, support %+v)", c, c.IAM, c.Support)
			}
		})
	}
}
