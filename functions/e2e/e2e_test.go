package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/engine/contain"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// sesSend is an SES Send record as SES publishes it.
func sesSend(msgID, caller, ip, op string, at time.Time) map[string]any {
	return map[string]any{
		"eventType": "Send",
		"mail": map[string]any{
			"timestamp": at.UTC().Format("2006-01-02T15:04:05.000Z"), "source": "billing@" + identity,
			"sourceArn": awstest.IdentityARN(identity), "sendingAccountId": awstest.Account, "messageId": msgID,
			"destination": []string{"customer@example.net"}, "headersTruncated": false,
			"commonHeaders": map[string]any{"from": []string{"Example Billing <billing@" + identity + ">"}, "to": []string{"customer@example.net"}, "subject": "Your invoice"},
			"tags": map[string][]string{
				"ses:operation": {op}, "ses:configuration-set": {configSet}, "ses:source-ip": {ip},
				"ses:from-domain": {identity}, "ses:caller-identity": {caller},
			},
		},
		"send": map[string]any{},
	}
}

// eventBridgeBody wraps an SES record as the EventBridge rule → SQS target delivers it.
func eventBridgeBody(rec map[string]any, id string) string {
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": id, "detail-type": "Email Sent", "source": "aws.ses", "account": awstest.Account,
		"time": time.Now().UTC().Format(time.RFC3339), "region": awstest.Region,
		"resources": []string{awstest.IdentityARN(identity)}, "detail": rec,
	})
	return string(b)
}

// scenario is the batch of ten: eight approved sends (SMTP user and role, from the
// approved network), one SMTP send from a public IP, one garbage record.
type scenario struct {
	event     events.SQSEvent
	attackMsg string
	garbageID string
}

func newScenario(tag string) scenario { return newScenarioBy(tag, smtpUserName) }

// newScenarioBy is newScenario with the public-IP send made by attacker (a user or role name).
func newScenarioBy(tag, attacker string) scenario {
	now := time.Now().UTC()
	var sc scenario
	add := func(body string) string {
		id := fmt.Sprintf("%s-sqs-%02d", tag, len(sc.event.Records))
		sc.event.Records = append(sc.event.Records, events.SQSMessage{
			MessageId: id, ReceiptHandle: "rh-" + id, Body: body, EventSource: "aws:sqs", AWSRegion: awstest.Region,
			EventSourceARN: "arn:aws:sqs:" + awstest.Region + ":" + awstest.Account + ":sesguard-ingest",
			Attributes:     map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": fmt.Sprint(now.UnixMilli())},
		})
		return id
	}
	for i := range 8 {
		caller, op := smtpUserName, "SendRawEmail"
		if i%2 == 1 {
			caller, op = roleName, "SendEmail"
		}
		msg := fmt.Sprintf("%s-ok-%02d", tag, i)
		add(eventBridgeBody(sesSend(msg, caller, fmt.Sprintf("10.20.3.%d", 10+i), op, now), "eb-"+msg))
		if i == 3 {
			sc.attackMsg = tag + "-attack"
			add(eventBridgeBody(sesSend(sc.attackMsg, attacker, attackerIP, "SendRawEmail", now), "eb-"+sc.attackMsg))
		}
	}
	sc.garbageID = add(`{"version":"0","id":"eb-garbage","detail-type":"Email Sent","source":"aws.ses","detail":{"eventType":"Send","mail":`)
	return sc
}

func failureIDs(r events.SQSEventResponse) []string {
	var out []string
	for _, f := range r.BatchItemFailures {
		out = append(out, f.ItemIdentifier)
	}
	return out
}

// decodeAll splits findings-topic messages into findings and results.
func decodeAll(t testing.TB, ev events.SQSEvent) ([]*finding.Finding, []*finding.Result) {
	t.Helper()
	var fs []*finding.Finding
	var rs []*finding.Result
	for _, m := range ev.Records {
		f, r, err := finding.Decode([]byte(m.Body))
		if err != nil {
			t.Fatalf("findings topic message %q: %v", m.Body, err)
		}
		if f != nil {
			fs = append(fs, f)
		} else {
			rs = append(rs, r)
		}
	}
	return fs, rs
}

func (w *world) keyStatus() map[string]iamtypes.StatusType { return w.userKeys(smtpUserName) }

func (w *world) denyPolicyExists() bool {
	w.t.Helper()
	_, err := iam.NewFromConfig(w.cfg).GetUserPolicy(context.Background(), &iam.GetUserPolicyInput{UserName: aws.String(smtpUserName), PolicyName: aws.String(contain.DenySendPolicyName)})
	var nse *iamtypes.NoSuchEntityException
	switch {
	case err == nil:
		return true
	case errors.As(err, &nse):
		return false
	}
	w.t.Fatalf("GetUserPolicy: %v", err)
	return false
}

func (w *world) ledger() *contain.Ledger {
	return contain.NewLedger(dynamodb.NewFromConfig(w.cfg), tableName)
}

// TestEndToEndEnforce runs the steps 1–4 and 6 in enforce mode.
func TestEndToEndEnforce(t *testing.T) {
	w := newWorld(t)
	ingest := w.function("ingest", "enforce")
	respond := w.function("respond", "enforce")
	notify := w.function("notify", "enforce")
	sc := newScenario("enf")

	// 1. The batch of ten into ingest: only the garbage record fails, one finding is published.
	start := time.Now()
	resp := invoke[events.SQSEventResponse](t, ingest, sc.event)
	ingestCold := time.Since(start)
	if got := failureIDs(resp); !slices.Equal(got, []string{sc.garbageID}) {
		t.Fatalf("step 1: batchItemFailures = %v, want only the garbage record %s", got, sc.garbageID)
	}
	toRespond := w.drain(w.findings)
	fs, rs := decodeAll(t, toRespond)
	if len(fs) != 1 || len(rs) != 0 {
		t.Fatalf("step 1: published %d findings and %d results, want exactly one finding", len(fs), len(rs))
	}
	f := fs[0]
	if f.Rule != "network.outside_approved" || f.Principal.Name != smtpUserName || f.Principal.Kind != finding.KindUser ||
		f.SourceIP != attackerIP || f.Evidence.Count != 1 || !slices.Contains(f.Evidence.MessageIDs, sc.attackMsg) ||
		!slices.Equal(f.Actions, []string{"deactivate_keys", "deny_send_policy"}) {
		t.Fatalf("step 1: finding = %+v", f)
	}
	if f.Principal.AccessKeyID != w.smtpKey {
		t.Errorf("step 1: finding attributes key %q, want the key last used for ses-smtp %s", f.Principal.AccessKeyID, w.smtpKey)
	}
	t.Logf("step 1: finding %s %s principal=%s key=%s ip=%s", f.ID, f.Rule, f.Principal.Name, f.Principal.AccessKeyID, f.SourceIP)

	// 2. The finding into respond (enforce): right key Inactive, deny policy, ledger, result.
	if got := failureIDs(invoke[events.SQSEventResponse](t, respond, toRespond)); len(got) != 0 {
		t.Fatalf("step 2: respond batchItemFailures = %v", got)
	}
	keys := w.keyStatus()
	if keys[w.smtpKey] != iamtypes.StatusTypeInactive || keys[w.otherKey] != iamtypes.StatusTypeActive {
		t.Fatalf("step 2: key status = %v; want %s Inactive and %s still Active", keys, w.smtpKey, w.otherKey)
	}
	if !w.denyPolicyExists() {
		t.Fatalf("step 2: inline policy %s not on %s", contain.DenySendPolicyName, smtpUserName)
	}
	toNotify := w.drain(w.notifyQ)
	_ = w.drain(w.findings) // the result also reaches respond's queue when no filter policy is set
	nfs, nrs := decodeAll(t, toNotify)
	if len(nfs) != 1 || len(nrs) != 1 {
		t.Fatalf("step 2: notify queue has %d findings and %d results, want 1 and 1", len(nfs), len(nrs))
	}
	res := nrs[0]
	if res.FindingID != f.ID || res.Mode != "enforce" || len(res.Actions) != 2 {
		t.Fatalf("step 2: result = %+v", res)
	}
	applied := map[string]string{} // action → id
	for _, a := range res.Actions {
		if a.Outcome != finding.OutcomeApplied || a.ActionID == "" {
			t.Fatalf("step 2: action %+v not applied", a)
		}
		rec, err := w.ledger().Get(context.Background(), a.ActionID)
		if err != nil {
			t.Fatalf("step 2: ledger row for %s: %v", a.ActionID, err)
		}
		if rec.Status != contain.StatusApplied || rec.FindingID != f.ID || rec.Action != a.Action {
			t.Fatalf("step 2: ledger row %+v", rec)
		}
		applied[a.Action] = a.ActionID
	}
	if !strings.Contains(strings.Join(findAction(res, "deactivate_keys").Changes, " "), w.smtpKey) {
		t.Errorf("step 2: deactivate_keys changes %v do not name %s", findAction(res, "deactivate_keys").Changes, w.smtpKey)
	}

	// 6. The same batch delivered twice yields one action: ingest sees duplicates, and even the
	// finding redelivered to respond (SNS and SQS are at-least-once) changes nothing.
	if got := failureIDs(invoke[events.SQSEventResponse](t, ingest, sc.event)); !slices.Equal(got, []string{sc.garbageID}) {
		t.Fatalf("step 6: redelivered batch failures = %v", got)
	}
	again := w.drain(w.findings)
	if dfs, _ := decodeAll(t, again); len(dfs) != 0 {
		t.Errorf("step 6: redelivered batch published %d findings, want 0 (duplicates)", len(dfs))
	}
	if got := failureIDs(invoke[events.SQSEventResponse](t, respond, toRespond)); len(got) != 0 {
		t.Fatalf("step 6: respond redelivery failures = %v", got)
	}
	dupNotify := w.drain(w.notifyQ)
	_ = w.drain(w.findings)
	_, drs := decodeAll(t, dupNotify)
	if len(drs) != 1 {
		t.Fatalf("step 6: %d results for the redelivered finding, want 1", len(drs))
	}
	for _, a := range drs[0].Actions {
		if a.Outcome != finding.OutcomeAlreadyContained {
			t.Errorf("step 6: redelivered finding: action %s outcome %s, want already_contained", a.Action, a.Outcome)
		}
	}
	if n, p := w.calls.get("UpdateAccessKey"), w.calls.get("PutUserPolicy"); n != 1 || p != 1 {
		t.Errorf("step 6: UpdateAccessKey called %d times, PutUserPolicy %d times; want one action each", n, p)
	}

	// 3. Findings and results into notify: Slack stand-in and the alerts topic got the alert.
	all := events.SQSEvent{Records: append(toNotify.Records, dupNotify.Records...)}
	if got := failureIDs(invoke[events.SQSEventResponse](t, notify, all)); len(got) != 0 {
		t.Fatalf("step 3: notify batchItemFailures = %v", got)
	}
	slack := w.slack.messages()
	if len(slack) < 2 {
		t.Fatalf("step 3: Slack stand-in received %d messages, want the finding and the result", len(slack))
	}
	joined := strings.Join(slack, "\n")
	for _, want := range []string{smtpUserName, attackerIP, "sesguard restore " + applied["deactivate_keys"]} {
		if !strings.Contains(joined, want) {
			t.Errorf("step 3: Slack messages do not mention %q:\n%s", want, joined)
		}
	}
	inbox := w.drain(w.alerts)
	if len(inbox.Records) < 2 {
		t.Fatalf("step 3: alerts topic delivered %d messages, want the finding and the result", len(inbox.Records))
	}
	if !strings.Contains(inbox.Records[0].Body+inbox.Records[1].Body, smtpUserName) {
		t.Errorf("step 3: SNS alerts do not name the principal: %v", inbox.Records)
	}
	// The same finding again is not paged twice (dedup in the state table).
	before := len(w.slack.messages())
	if got := failureIDs(invoke[events.SQSEventResponse](t, notify, events.SQSEvent{Records: toNotify.Records[:1]})); len(got) != 0 {
		t.Fatalf("step 3: notify repeat failures = %v", got)
	}
	if after := len(w.slack.messages()); after != before {
		t.Errorf("step 3: repeated finding paged Slack again (%d -> %d messages)", before, after)
	}

	// 4. sesguard restore ACTION_ID: key Active again, deny policy gone.
	for _, action := range []string{"deactivate_keys", "deny_send_policy"} {
		out, code := w.cli("restore", applied[action])
		if code != 0 {
			t.Fatalf("step 4: sesguard restore %s (%s) exit %d:\n%s", applied[action], action, code, out)
		}
		t.Logf("step 4: sesguard restore %s:\n%s", applied[action], out)
	}
	if keys := w.keyStatus(); keys[w.smtpKey] != iamtypes.StatusTypeActive || keys[w.otherKey] != iamtypes.StatusTypeActive {
		t.Errorf("step 4: after restore key status = %v, want both Active", keys)
	}
	if w.denyPolicyExists() {
		t.Errorf("step 4: %s still on %s after restore", contain.DenySendPolicyName, smtpUserName)
	}
	for _, id := range applied {
		if rec, err := w.ledger().Get(context.Background(), id); err != nil || rec.Status != contain.StatusRestored {
			t.Errorf("step 4: ledger row %s after restore: %+v, %v", id, rec, err)
		}
	}

	t.Logf("measure: build %v; cold ingest invoke of 10 records %v; init ingest %v respond %v notify %v",
		buildTime.Round(time.Millisecond), ingestCold.Round(time.Millisecond), ingest.InitDurations(), respond.InitDurations(), notify.InitDurations())
}

func findAction(r *finding.Result, action string) finding.ActionResult {
	for _, a := range r.Actions {
		if a.Action == action {
			return a
		}
	}
	return finding.ActionResult{}
}

// TestEndToEndDryRun is step 5: the same run in dry-run mode changes nothing in moto and says
// what it would have done.
func TestEndToEndDryRun(t *testing.T) {
	w := newWorld(t)
	ingest := w.function("ingest", "dry-run")
	respond := w.function("respond", "dry-run")
	notify := w.function("notify", "dry-run")
	sc := newScenario("dry")

	if got := failureIDs(invoke[events.SQSEventResponse](t, ingest, sc.event)); !slices.Equal(got, []string{sc.garbageID}) {
		t.Fatalf("ingest batchItemFailures = %v, want [%s]", got, sc.garbageID)
	}
	toRespond := w.drain(w.findings)
	fs, _ := decodeAll(t, toRespond)
	if len(fs) != 1 || fs[0].Mode != "dry-run" {
		t.Fatalf("findings = %+v, want one dry-run finding", fs)
	}
	logOffset := respond.LogOffset()
	if got := failureIDs(invoke[events.SQSEventResponse](t, respond, toRespond)); len(got) != 0 {
		t.Fatalf("respond batchItemFailures = %v", got)
	}
	// Nothing changed in moto.
	if keys := w.keyStatus(); keys[w.smtpKey] != iamtypes.StatusTypeActive || keys[w.otherKey] != iamtypes.StatusTypeActive {
		t.Errorf("dry-run changed keys: %v", keys)
	}
	if w.denyPolicyExists() {
		t.Errorf("dry-run put %s", contain.DenySendPolicyName)
	}
	if n, p := w.calls.get("UpdateAccessKey"), w.calls.get("PutUserPolicy"); n != 0 || p != 0 {
		t.Errorf("dry-run made IAM writes: UpdateAccessKey %d, PutUserPolicy %d", n, p)
	}
	// It says what it would have done: the published result and the logs.
	toNotify := w.drain(w.notifyQ)
	_, rs := decodeAll(t, toNotify)
	if len(rs) != 1 || rs[0].Mode != "dry-run" {
		t.Fatalf("results = %+v, want one dry-run result", rs)
	}
	for _, a := range rs[0].Actions {
		if a.Outcome != finding.OutcomePlanned || len(a.Changes) == 0 {
			t.Errorf("dry-run action %+v: want outcome planned with the changes it would make", a)
		}
		if _, err := w.ledger().Get(context.Background(), a.ActionID); !errors.Is(err, contain.ErrNotFound) {
			t.Errorf("dry-run wrote a ledger row for %s: %v", a.ActionID, err)
		}
	}
	if ch := strings.Join(findAction(rs[0], "deactivate_keys").Changes, " "); !strings.Contains(ch, w.smtpKey) {
		t.Errorf("dry-run plan %q does not name the key %s", ch, w.smtpKey)
	}
	if logs := respond.LogsSince(logOffset); !strings.Contains(logs, `"outcome":"planned"`) || !strings.Contains(logs, w.smtpKey) {
		t.Errorf("respond logs do not say what it would have done:\n%s", logs)
	}
	// The alert says dry-run too.
	if got := failureIDs(invoke[events.SQSEventResponse](t, notify, toNotify)); len(got) != 0 {
		t.Fatalf("notify batchItemFailures = %v", got)
	}
	if joined := strings.ToLower(strings.Join(w.slack.messages(), "\n")); !strings.Contains(joined, "dry-run") && !strings.Contains(joined, "dry run") {
		t.Errorf("Slack alert does not say dry-run:\n%s", joined)
	}
}
