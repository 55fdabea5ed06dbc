package sesevent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGlobalServiceCallsSkippedByName: IAM, STS and Support CloudTrail calls, which the
// us-east-1 rules now deliver (issue 19), are skipped naming their event source — never bad
// input — until a rule judges them.
func TestGlobalServiceCallsSkippedByName(t *testing.T) {
	for _, tc := range []struct{ file, source string }{
		{"eventbridge-sts-get-caller-identity.json", "sts.amazonaws.com"},
		{"eventbridge-iam-create-user.json", "iam.amazonaws.com"},
		{"eventbridge-iam-quarantine-attached.json", "iam.amazonaws.com"},
		{"eventbridge-support-create-case.json", "support.amazonaws.com"},
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
			if res[0].Err != nil || res[0].APICall != nil || !strings.Contains(res[0].Skip, tc.source) {
				t.Fatalf("got err %v, call %v, skip %q; want a skip naming %s", res[0].Err, res[0].APICall, res[0].Skip, tc.source)
			}
		})
	}
}
