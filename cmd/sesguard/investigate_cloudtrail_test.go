package main

import (
	"strings"
	"testing"
)

// TestInvestigateByAccessKey: investigate reads CloudTrail SES records from every envelope in
// events/cloudtrail and groups them by the key that signed them.
func TestInvestigateByAccessKey(t *testing.T) {
	code, out, errOut := runCLI(t, "", nil, "investigate", "--quiet", "--by", "access-key", "--format", "csv", "../../events/cloudtrail")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "access-key,") || !strings.Contains(lines[0], "api_calls,api_refused,access_keys,operations") {
		t.Fatalf("csv:\n%s", out)
	}
	// leaked-user's key: GetSendQuota, GetAccount, ListEmailIdentities, PutAccountDetails,
	// UpdateAccountSendingEnabled, the refused SendRawEmail and the SendTemplatedEmail.
	if !strings.HasPrefix(lines[1], "AKIAZX3LEAKEDUSER001,0,") || !strings.Contains(lines[1], ",7,1,AKIAZX3LEAKEDUSER001,") {
		t.Errorf("leaked key row: %s", lines[1])
	}
	code, _, errOut = runCLI(t, "", nil, "investigate", "--by", "key", "../../events/cloudtrail")
	if code != exitUsage || !strings.Contains(errOut, "access-key") {
		t.Errorf("bad --by: exit %d %s", code, errOut)
	}
}
