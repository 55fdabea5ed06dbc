package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/engine/contain"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

func runCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: os.Getenv}, args)
	return code, out.String(), errb.String()
}

func writeFinding(t *testing.T, fs ...finding.Finding) string {
	t.Helper()
	var b bytes.Buffer
	for _, f := range fs {
		if err := json.NewEncoder(&b).Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(t.TempDir(), "finding.json")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func cliFinding(u awstest.SMTPUser, id string) finding.Finding {
	return finding.Finding{
		Schema: finding.SchemaFinding, ID: id, Rule: "network.outside_approved", Severity: finding.SeverityHigh,
		Account: awstest.Account, Region: awstest.Region,
		Principal:   finding.Principal{Name: u.UserName, Kind: finding.KindUser, ARN: u.ARN},
		SourceIP:    "203.0.113.77",
		WindowStart: time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC), WindowEnd: time.Date(2026, 11, 23, 18, 5, 0, 0, time.UTC),
		Evidence: finding.Evidence{Count: 12, Identity: "mail.example.com"},
		Actions:  []string{contain.ActionDeactivateKeys, contain.ActionDenySendPolicy},
	}
}

func keyStatuses(t *testing.T, c *iam.Client, user string) map[string]string {
	t.Helper()
	out, err := c.ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String(user)})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, k := range out.AccessKeyMetadata {
		m[aws.ToString(k.AccessKeyId)] = string(k.Status)
	}
	return m
}

func TestContainAndRestoreCommands(t *testing.T) {
	m := awstest.Start(t)
	m.Setenv(t)
	t.Setenv(envTable, "sesguard-state")
	t.Setenv("USER", "alice")
	m.SeedStateTable(t, "sesguard-state")
	c := iam.NewFromConfig(m.Config(t))
	u := m.SeedSMTPUser(t, "ses-smtp-user.20260112-101500")
	f := cliFinding(u, "f-cli-1")
	m.SeedKeyLastUsed(u.KeyIDs[1], "ses-smtp", "us-east-1", f.WindowStart.Add(time.Minute))
	path := writeFinding(t, f)

	// Dry run (the default): the exact plan, nothing changed.
	code, out, errOut := runCmd(t, "", "contain", "--finding", path)
	if code != exitOK || !strings.Contains(out, "planned") || !strings.Contains(out, u.KeyIDs[1]+": Active -> Inactive") || !strings.Contains(out, "mode dry-run") {
		t.Fatalf("dry run: code %d\n%s\n%s", code, out, errOut)
	}
	if st := keyStatuses(t, c, u.UserName); st[u.KeyIDs[1]] != "Active" {
		t.Fatalf("dry run changed keys: %v", st)
	}

	// Enforce, JSON output.
	code, out, errOut = runCmd(t, "", "contain", "--finding", path, "--enforce", "--format", "json")
	if code != exitOK {
		t.Fatalf("enforce: code %d\n%s\n%s", code, out, errOut)
	}
	_, res, err := finding.Decode([]byte(strings.SplitN(out, "\n", 2)[0]))
	if err != nil || res == nil || res.Mode != contain.ModeEnforce || res.Actor != "cli:alice" || len(res.Actions) != 2 {
		t.Fatalf("result = %+v, %v\n%s", res, err, out)
	}
	for _, a := range res.Actions {
		if a.Outcome != finding.OutcomeApplied || a.Restore != "sesguard restore "+a.ActionID {
			t.Fatalf("action = %+v", a)
		}
	}
	if st := keyStatuses(t, c, u.UserName); st[u.KeyIDs[1]] != "Inactive" || st[u.KeyIDs[0]] != "Active" {
		t.Fatalf("keys after enforce: %v", st)
	}

	// The same finding again, from stdin: already contained.
	b, _ := json.Marshal(f)
	code, out, _ = runCmd(t, string(b), "contain", "--finding", "-", "--enforce")
	if code != exitOK || strings.Count(out, "already_contained") != 2 {
		t.Fatalf("second enforce: code %d\n%s", code, out)
	}

	// Restore both actions.
	for _, a := range res.Actions {
		code, out, errOut = runCmd(t, "", "restore", a.ActionID)
		if code != exitOK || !strings.Contains(out, "restored") {
			t.Fatalf("restore %s: code %d\n%s\n%s", a.Action, code, out, errOut)
		}
	}
	if st := keyStatuses(t, c, u.UserName); st[u.KeyIDs[1]] != "Active" {
		t.Fatalf("keys after restore: %v", st)
	}
	if _, err := c.GetUserPolicy(context.Background(), &iam.GetUserPolicyInput{UserName: aws.String(u.UserName), PolicyName: aws.String(contain.DenySendPolicyName)}); err == nil {
		t.Fatal("deny policy left after restore")
	}
	code, out, _ = runCmd(t, "", "restore", res.Actions[0].ActionID, "--format", "json")
	var ar finding.ActionResult
	if code != exitOK || json.Unmarshal([]byte(out), &ar) != nil || !strings.Contains(ar.Reason, "already restored by cli:alice") {
		t.Fatalf("second restore: code %d %s", code, out)
	}
	if code, _, errOut = runCmd(t, "", "restore", "sg-unknown"); code != exitUsage || !strings.Contains(errOut, "no such containment action") {
		t.Fatalf("unknown id: code %d %s", code, errOut)
	}
}

func TestContainCommandPolicyAndFailures(t *testing.T) {
	m := awstest.Start(t)
	m.Setenv(t)
	m.SeedStateTable(t, "state")
	c := iam.NewFromConfig(m.Config(t))
	u := m.SeedSMTPUser(t, "break-glass-mailer")
	f := cliFinding(u, "f-cli-2")
	pol := filepath.Join(t.TempDir(), "sesguard.yaml")
	if err := os.WriteFile(pol, []byte(`version: 1
network: { cidrs: [10.20.0.0/16] }
senders: { principals: ["ses-smtp-user.*"], from: ["*@mail.example.com"], identities: ["mail.example.com"], configuration_sets: ["prod-outbound"] }
recipients: { domains: ["*"] }
response:
  mode: enforce
  protected_principals: ["break-glass-*"]
  on:
    network.outside_approved: [deactivate_keys]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	path := writeFinding(t, f)

	t.Run("protected by the policy", func(t *testing.T) {
		code, out, errOut := runCmd(t, "", "contain", "--finding", path, "--policy", pol, "--enforce", "--table", "state")
		if code != exitOK || !strings.Contains(out, "skipped_protected") || strings.Contains(out, "deny_send_policy") {
			t.Fatalf("code %d\n%s\n%s", code, out, errOut)
		}
		if st := keyStatuses(t, c, u.UserName); st[u.KeyIDs[0]] != "Active" || st[u.KeyIDs[1]] != "Active" {
			t.Fatalf("protected keys changed: %v", st)
		}
	})
	t.Run("--protected adds to the policy, never un-protects", func(t *testing.T) {
		code, out, errOut := runCmd(t, "", "contain", "--finding", path, "--policy", pol, "--protected", "nobody", "--enforce", "--table", "state")
		if code != exitOK || !strings.Contains(out, "skipped_protected") || strings.Contains(out, "planned") || strings.Contains(out, "applied") {
			t.Fatalf("code %d\n%s\n%s", code, out, errOut)
		}
		if st := keyStatuses(t, c, u.UserName); st[u.KeyIDs[0]] != "Active" || st[u.KeyIDs[1]] != "Active" {
			t.Fatalf("protected keys changed: %v", st)
		}
		other := m.SeedSMTPUser(t, "ops-mailer")
		code, out, errOut = runCmd(t, "", "contain", "--finding", writeFinding(t, cliFinding(other, "f-cli-3")), "--policy", pol, "--protected", "nobody,OPS-*")
		if code != exitOK || !strings.Contains(out, "skipped_protected") || strings.Contains(out, "planned") {
			t.Fatalf("flag protection: code %d\n%s\n%s", code, out, errOut)
		}
	})
	t.Run("--protected takes only what the policy file takes", func(t *testing.T) {
		// An IAM path is no principal pattern: it would match nobody, so the run would plan
		// against the very principal the operator meant to protect.
		for _, bad := range []string{"/team/break-glass-ops", "arn:aws:iam::123456789012:user/x", "a b"} {
			code, out, errOut := runCmd(t, "", "contain", "--finding", path, "--protected", bad)
			if code != exitUsage || !strings.Contains(errOut, "--protected") || !strings.Contains(errOut, bad) || out != "" {
				t.Errorf("--protected %q: code %d\nout %s\nerr %s", bad, code, out, errOut)
			}
		}
	})
	t.Run("AccessDenied: exit 2 and the error is printed", func(t *testing.T) {
		m.Fault(awstest.Fault{Service: "iam", Operation: "UpdateAccessKey", Kind: awstest.FaultAccessDenied})
		defer m.ClearFaults()
		code, out, _ := runCmd(t, "", "contain", "--finding", path, "--enforce", "--table", "state", "--protected", "")
		if code != exitInput || !strings.Contains(out, "failed") || !strings.Contains(out, "AccessDenied") || !strings.Contains(out, "undo: sesguard restore") {
			t.Fatalf("code %d\n%s", code, out)
		}
	})
	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"contain"},
			{"contain", "--finding", path, "--enforce"}, // no table
			{"contain", "--finding", path, "--format", "xml"},
			{"restore"},
			{"restore", "a", "b", "--table", "state"},
		} {
			if code, _, errOut := runCmd(t, "", args...); code != exitUsage || errOut == "" {
				t.Errorf("%v: code %d, stderr %q", args, code, errOut)
			}
		}
	})
	t.Run("bad finding input", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.json")
		good, _ := json.Marshal(f)
		if err := os.WriteFile(bad, append(append([]byte(`{"schema":"nope/v9"}`+"\n"), good...), '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runCmd(t, "", "contain", "--finding", bad)
		if code != exitInput || !strings.Contains(errOut, "object 1") || !strings.Contains(out, "f-cli-2") {
			t.Fatalf("code %d\nout %s\nerr %s", code, out, errOut)
		}
		sc := bufio.NewScanner(strings.NewReader(errOut))
		for sc.Scan() {
			if strings.Contains(sc.Text(), "object 2") {
				t.Fatalf("good object reported bad: %s", errOut)
			}
		}
	})
}

// TestRestoreDriftForceAndTerminal: restore refuses over an operator's edit (exit 2, says how to
// force), --force restores and is recorded; a deleted key makes the action unrestorable, shown
// as such on every rerun.
func TestRestoreDriftForceAndTerminal(t *testing.T) {
	m := awstest.Start(t)
	m.Setenv(t)
	t.Setenv(envTable, "sesguard-state")
	t.Setenv("USER", "alice")
	m.SeedStateTable(t, "sesguard-state")
	ctx := context.Background()
	c := iam.NewFromConfig(m.Config(t))
	u := m.SeedSMTPUser(t, "ses-smtp-user.drift")
	code, out, errOut := runCmd(t, "", "contain", "--finding", writeFinding(t, cliFinding(u, "f-drift")), "--enforce", "--format", "json")
	var res finding.Result
	if code != exitOK || json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &res) != nil || len(res.Actions) != 2 {
		t.Fatalf("contain: code %d\n%s\n%s", code, out, errOut)
	}
	ids := map[string]string{}
	for _, a := range res.Actions {
		ids[a.Action] = a.ActionID
	}
	edited := `{"Version":"2012-10-17","Statement":[{"Sid":"SesguardDenySend","Effect":"Deny","Action":"ses:*","Resource":"*"}]}`
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(u.UserName), PolicyName: aws.String(contain.DenySendPolicyName), PolicyDocument: aws.String(edited)}); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCmd(t, "", "restore", ids[contain.ActionDenySendPolicy])
	if code != exitInput || !strings.Contains(errOut, "changed after containment") || !strings.Contains(errOut, "--force") {
		t.Fatalf("restore over an edit: code %d\n%s", code, errOut)
	}
	if code, out, errOut = runCmd(t, "", "restore", ids[contain.ActionDenySendPolicy], "--force"); code != exitOK || !strings.Contains(out, "restored") {
		t.Fatalf("restore --force: code %d\n%s\n%s", code, out, errOut)
	}
	rec, err := contain.NewLedger(dynamodb.NewFromConfig(m.Config(t)), "sesguard-state").Get(ctx, ids[contain.ActionDenySendPolicy])
	if err != nil || rec.ForcedBy != "cli:alice" {
		t.Fatalf("row = %+v %v", rec, err)
	}

	if _, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(u.UserName), AccessKeyId: aws.String(u.KeyIDs[0])}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		code, out, errOut = runCmd(t, "", "restore", ids[contain.ActionDeactivateKeys])
		if code != exitInput || !strings.Contains(out, "unrestorable") || !strings.Contains(out, "cannot be restored") || !strings.Contains(out, u.KeyIDs[0]) {
			t.Fatalf("restore after the key was deleted: code %d\n%s\n%s", code, out, errOut)
		}
	}
}
