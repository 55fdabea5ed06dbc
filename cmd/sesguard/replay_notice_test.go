package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestReplayNotices: AWS's own notices replay as findings, exit 0 — a Health exposure event
// names the key and its user and plans (not skips) both containment actions; SES pausing
// sending is an alert-worthy (high) finding. Before, the Health event was a broken SES record
// (exit 2) and the SES event was skipped.
func TestReplayNotices(t *testing.T) {
	code, out, errOut := runCLI(t, "", nil, "replay", "../../events/notice/health-credentials-exposed.json")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"[HIGH] health.credentials_risk",
		"mailer-app [user] arn:aws:iam::111122223333:user/mailer-app key AKIAEXAMPLELEAKED01",
		"not resolved in IAM",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, re := range []string{`deactivate_keys\s+mailer-app\s+planned: key AKIAEXAMPLELEAKED01`, `deny_send_policy\s+mailer-app\s+planned`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", re, out)
		}
	}
	code, out, errOut = runCLI(t, "", nil, "replay", "../../events/notice/ses-sending-status-disabled.json")
	if code != exitOK || !strings.Contains(out, "[HIGH] ses.sending_paused") || !strings.Contains(out, "SES paused sending for the account in eu-west-1") {
		t.Errorf("SES status: exit %d\n%s\n%s", code, out, errOut)
	}
}
