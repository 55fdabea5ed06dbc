package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/engine/contain"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// playbookPolicy is e2ePolicy with the persistence rule contained on the key and on what it
// created.
func playbookPolicy(t testing.TB) string {
	t.Helper()
	const on = "    network.outside_approved: [deactivate_keys, deny_send_policy]\n"
	p := strings.Replace(e2ePolicy, on, on+"    playbook.persistence: [deactivate_keys, deny_send_policy, deny_all_policy, delete_login_profile]\n", 1)
	if p == e2ePolicy {
		t.Fatal("e2ePolicy has no response.on entry to extend")
	}
	return p
}

// iamBody is the events/global CreateUser record re-made as eventName by the leaked key l,
// with the request and response given, in the world's account.
func iamBody(t testing.TB, l twoKeyUser, tag, eventName string, req, resp map[string]any) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "global", "eventbridge-iam-create-user.json"))
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	detail, ok := env["detail"].(map[string]any)
	uid, ok2 := detail["userIdentity"].(map[string]any)
	if !ok || !ok2 || detail["eventSource"] != "iam.amazonaws.com" {
		t.Fatalf("fixture is not an IAM call: %v", env)
	}
	at := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	env["id"], env["account"], env["time"] = "eb-"+tag, awstest.Account, at
	detail["eventTime"], detail["recipientAccountId"], detail["eventID"], detail["eventName"] = at, awstest.Account, "ct-"+tag, eventName
	detail["requestParameters"], detail["responseElements"] = req, resp
	uid["arn"], uid["accountId"], uid["principalId"], uid["accessKeyId"], uid["userName"] = l.arn, awstest.Account, l.userID, l.key, leakedUser
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEndToEndPersistenceContainsCreatedKey: a leaked key creates user "ses" and an access key
// for it (CloudTrail through ingest, in enforce mode); respond deactivates the leaked key and
// the created key, puts deny-send and deny-all on the created user and deletes its console
// password; `sesguard restore` of each action puts both keys back to Active.
func TestEndToEndPersistenceContainsCreatedKey(t *testing.T) {
	w := newWorld(t)
	w.policy = filepath.Join(t.TempDir(), "playbook.yaml")
	if err := os.WriteFile(w.policy, []byte(playbookPolicy(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	l := seedLeakedUser(t, w)
	// What the attacker made, in moto, with what CloudTrail then records.
	ctx := context.Background()
	c := iam.NewFromConfig(w.cfg)
	u, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ses")})
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ses")})
	if err != nil {
		t.Fatal(err)
	}
	newKey := aws.ToString(k.AccessKey.AccessKeyId)
	if _, err := c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("ses"), Password: aws.String("Attacker-Chosen-1!")}); err != nil {
		t.Fatal(err)
	}
	w.calls.reset()
	bodies := []string{
		iamBody(t, l, "create-user", "CreateUser", map[string]any{"userName": "ses"},
			map[string]any{"user": map[string]any{"userName": "ses", "arn": aws.ToString(u.User.Arn), "userId": aws.ToString(u.User.UserId)}}),
		iamBody(t, l, "create-key", "CreateAccessKey", map[string]any{"userName": "ses"},
			map[string]any{"accessKey": map[string]any{"userName": "ses", "accessKeyId": newKey, "status": "Active"}}),
	}

	ingest := w.function("ingest", "enforce")
	respond := w.function("respond", "enforce")
	if got := failureIDs(invoke[events.SQSEventResponse](t, ingest, sqsBatch("pb", bodies))); len(got) != 0 {
		t.Fatalf("ingest batchItemFailures = %v", got)
	}
	toRespond := w.drain(w.findings)
	fs, _ := decodeAll(t, toRespond)
	if len(fs) != 1 {
		t.Fatalf("ingest published %d findings, want the one persistence finding: %+v", len(fs), fs)
	}
	f := fs[0]
	if f.Rule != rules.PlaybookPersistence || f.Principal.Name != leakedUser || f.Principal.AccessKeyID != l.key ||
		len(f.Created) != 1 || f.Created[0].User != "ses" || f.Created[0].AccessKeyID != newKey || !f.Created[0].UserCreated {
		t.Fatalf("finding %+v (created %+v)", f, f.Created)
	}
	if got := failureIDs(invoke[events.SQSEventResponse](t, respond, toRespond)); len(got) != 0 {
		t.Fatalf("respond batchItemFailures = %v", got)
	}
	_, rs := decodeAll(t, w.drain(w.notifyQ))
	var res *finding.Result
	for _, r := range rs {
		if r.FindingID == f.ID {
			res = r
		}
	}
	if res == nil {
		t.Fatalf("no containment result for %s", f.ID)
	}
	var applied []finding.ActionResult
	for _, a := range res.Actions {
		if a.Outcome != finding.OutcomeApplied {
			t.Errorf("%s on %s: %s (%s%s)", a.Action, a.Target, a.Outcome, a.Reason, a.Error)
			continue
		}
		applied = append(applied, a)
	}
	if len(applied) != 6 {
		t.Fatalf("%d actions applied, want 6: %+v", len(applied), res.Actions)
	}
	if keys := w.userKeys(leakedUser); keys[l.key] != iamtypes.StatusTypeInactive || keys[l.other] != iamtypes.StatusTypeActive {
		t.Fatalf("leaked user's keys = %v; want %s Inactive, %s Active", keys, l.key, l.other)
	}
	if keys := w.userKeys("ses"); keys[newKey] != iamtypes.StatusTypeInactive {
		t.Fatalf("created user's keys = %v; want %s Inactive", keys, newKey)
	}
	for _, p := range []string{contain.DenySendPolicyName, contain.DenyAllPolicyName} {
		if !w.userHasPolicy("ses", p) {
			t.Errorf("created user has no %s", p)
		}
	}

	// Undo: every action through the CLI; both keys Active again.
	for _, a := range applied {
		if out, code := w.cli("restore", a.ActionID); code != 0 {
			t.Fatalf("sesguard restore %s (%s on %s) exit %d:\n%s", a.ActionID, a.Action, a.Target, code, out)
		}
	}
	if keys := w.userKeys(leakedUser); keys[l.key] != iamtypes.StatusTypeActive {
		t.Errorf("after restore, leaked key = %v", keys)
	}
	if keys := w.userKeys("ses"); keys[newKey] != iamtypes.StatusTypeActive {
		t.Errorf("after restore, created key = %v", keys)
	}
	for _, p := range []string{contain.DenySendPolicyName, contain.DenyAllPolicyName} {
		if w.userHasPolicy("ses", p) {
			t.Errorf("%s still on the created user after restore", p)
		}
	}
}
