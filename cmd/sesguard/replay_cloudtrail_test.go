package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/engine/attribute"
	"github.com/sesguard/sesguard/shared/engine/contain"
	"github.com/sesguard/sesguard/shared/policy"
)

// TestReplayCloudTrailRecon is the first "done when": replay of an EventBridge
// CloudTrail record of GetSendQuota by IAM user leaked-user from 203.0.113.9 (outside the
// example policy's networks) prints an api.outside_approved finding for leaked-user carrying the
// record's access key, exits 0, and the plan deactivates exactly that key.
func TestReplayCloudTrailRecon(t *testing.T) {
	dir, err := filepath.Abs("testdata/replay")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir("../..")
	const fixture = "events/cloudtrail/eventbridge-get-send-quota.json"
	const key = "AKIAZX3LEAKEDUSER001" // userIdentity.accessKeyId in the fixture

	code, out, errOut := runCLI(t, "", nil, "replay", "--format", "json", fixture)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one finding, got:\n%s", out)
	}
	var f finding.Finding
	if err := json.Unmarshal([]byte(lines[0]), &f); err != nil {
		t.Fatal(err)
	}
	if f.Schema != finding.SchemaFinding || f.Rule != "api.outside_approved" || f.Principal.Name != "leaked-user" ||
		f.Principal.Kind != finding.KindUser || f.Principal.AccessKeyID != key || f.SourceIP != "203.0.113.9" ||
		f.Account != "111122223333" || f.Region != "eu-west-1" {
		t.Errorf("finding %+v", f)
	}
	// The plan: deactivate_keys is planned for leaked-user, and the key choice takes the
	// finding's key even when the user has another key used for SES in the window.
	intents, err := contain.Plan(&f, replayContainConfig(mustExample(t)))
	if err != nil || len(intents) == 0 || intents[0].Target.Action != contain.ActionDeactivateKeys || !intents[0].Run() {
		t.Fatalf("plan %+v %v", intents, err)
	}
	keys := []attribute.KeyUse{
		{AccessKeyID: "AKIAZX3OTHERKEY00001", Status: "Active", LastUsed: f.WindowStart.Add(time.Minute), Service: "ses"},
		{AccessKeyID: key, Status: "Active"},
	}
	rule, ids, _ := contain.PickKeys(keys, f.Principal.AccessKeyID, f.WindowStart)
	if rule != contain.KeyRuleFinding || len(ids) != 1 || ids[0] != key {
		t.Errorf("PickKeys = %s %v, want exactly %s", rule, ids, key)
	}

	code, out, errOut = runCLI(t, "", nil, "replay", fixture)
	if code != exitOK {
		t.Fatalf("text: exit %d, stderr:\n%s", code, errOut)
	}
	if !strings.Contains(out, "deactivate_keys          leaked-user                      planned: key "+key) {
		t.Errorf("text plan does not deactivate %s:\n%s", key, out)
	}
	replayGolden(t, filepath.Join(dir, "cloudtrail-get-send-quota.txt"), out)
}

func mustExample(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.LoadExample()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
