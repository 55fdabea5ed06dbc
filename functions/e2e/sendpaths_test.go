package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
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
	"github.com/sesguard/sesguard/shared/engine/reconcile"
	"github.com/sesguard/sesguard/shared/policy"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// The second "done when", end to end with the real binaries against moto: SES's
// CloudWatch Send count above what the ingest queue delivered raises coverage.unobserved_sends
// (and Slack hears of it); a CloudTrail recon call by a leaked key gets exactly that key
// deactivated (enforce) or planned (dry-run).

// sqsBatch wraps SQS bodies as the ingest queue's event source mapping delivers them.
func sqsBatch(tag string, bodies []string) events.SQSEvent {
	var ev events.SQSEvent
	for i, b := range bodies {
		id := fmt.Sprintf("%s-sqs-%03d", tag, i)
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: id, ReceiptHandle: "rh-" + id, Body: b, EventSource: "aws:sqs", AWSRegion: awstest.Region,
			EventSourceARN: "arn:aws:sqs:" + awstest.Region + ":" + awstest.Account + ":sesguard-ingest",
			Attributes:     map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": fmt.Sprint(time.Now().UnixMilli())},
		})
	}
	return ev
}

// coverageSummary is the part of the coverage function's response the test reads.
type coverageSummary struct {
	Findings   []string                `json:"findings"`
	Reconciled []reconcile.PeriodCheck `json:"reconciled"`
}

func periodStatus(s coverageSummary, p time.Time) (reconcile.PeriodCheck, bool) {
	for _, pc := range s.Reconciled {
		if pc.Start.Equal(p) {
			return pc, true
		}
	}
	return reconcile.PeriodCheck{}, false
}

// TestEndToEndReconcileUnobservedSends: ingest receives the Send events of three closed
// 5-minute periods; moto's CloudWatch counts more sends in one of them (beyond the policy's
// tolerance), the same number in another and a few more (within tolerance) in the third. The
// coverage binary's reconciliation tick marks the gap suspect first, alerts it on the second
// tick, never again on the third, and notify turns the finding into a Slack message with both
// numbers and the period.
func TestEndToEndReconcileUnobservedSends(t *testing.T) {
	w := newWorld(t)
	ingest := w.function("ingest", "dry-run")
	cov := w.function("coverage", "dry-run")
	notify := w.function("notify", "dry-run")
	p, err := policy.Load([]byte(e2ePolicy), "e2e policy")
	if err != nil {
		t.Fatal(err)
	}
	lim := p.Limits.UnobservedSends

	// The coverage binary reads the clock itself (time.Now): periods between settle+10 min and
	// about an hour old are closed, settled and inside its 2 h lookback for the whole test.
	now := time.Now().UTC()
	gapP := now.Add(-lim.Settle - 30*time.Minute).Truncate(reconcile.Period)
	equalP := gapP.Add(-10 * time.Minute)
	withinP := gapP.Add(-20 * time.Minute)
	type period struct {
		name       string
		start      time.Time
		delivered  int   // Send events through the ingest queue
		cloudwatch int64 // SES's AWS/SES Send sum
	}
	const delivered = 24
	missing := lim.Absolute + 7 // beyond both the absolute and the relative tolerance
	periods := []period{
		{"gap", gapP, delivered, int64(delivered) + missing},
		{"equal", equalP, 17, 17},
		{"within", withinP, 12, 12 + lim.Absolute},
	}
	if float64(missing) <= lim.Relative*float64(delivered+int(missing)) || lim.Absolute < 1 {
		t.Fatalf("test setup: %d missing of %d is not beyond the tolerance %+v", missing, delivered+int(missing), lim)
	}

	// Ingest: every period's Send events (approved sender, approved network), in SQS batches of
	// 10 as the event source mapping delivers them, their mail.timestamp spread over the period.
	var bodies []string
	for _, pd := range periods {
		for i := range pd.delivered {
			at := pd.start.Add(time.Duration(i) * (reconcile.Period - time.Second) / time.Duration(pd.delivered))
			msg := fmt.Sprintf("recon-%s-%03d", pd.name, i)
			bodies = append(bodies, eventBridgeBody(sesSend(msg, smtpUserName, fmt.Sprintf("10.20.4.%d", 10+i), "SendRawEmail", at), "eb-"+msg))
		}
	}
	all := sqsBatch("recon", bodies)
	for i := 0; i < len(all.Records); i += 10 {
		batch := events.SQSEvent{Records: all.Records[i:min(i+10, len(all.Records))]}
		if got := failureIDs(invoke[events.SQSEventResponse](t, ingest, batch)); len(got) != 0 {
			t.Fatalf("ingest batch %d: batchItemFailures %v", i/10, got)
		}
	}
	if fs, rs := decodeAll(t, w.drain(w.findings)); len(fs)+len(rs) != 0 {
		t.Fatalf("approved sends raised %d findings: %+v", len(fs), fs)
	}
	_ = w.drain(w.notifyQ)

	// SES's CloudWatch: each period's Send sum as a few per-minute datapoints.
	for _, pd := range periods {
		left := pd.cloudwatch
		for minute := 0; left > 0; minute++ {
			v := min(left, pd.cloudwatch/3+1)
			w.m.SeedMetric(t, reconcile.Namespace, reconcile.MetricSend, pd.start.Add(time.Duration(minute)*time.Minute+17*time.Second), float64(v))
			left -= v
		}
	}

	tick := []byte(`{"sesguard":"reconcile"}`)
	check := func(n int, want map[string]string) coverageSummary {
		t.Helper()
		s := invoke[coverageSummary](t, cov, tick)
		for _, pd := range periods {
			pc, ok := periodStatus(s, pd.start)
			if !ok {
				t.Fatalf("tick %d: period %s (%s) not reconciled: %+v", n, pd.name, pd.start.Format(time.RFC3339), s.Reconciled)
			}
			if pc.CloudWatch != pd.cloudwatch || pc.Seen != int64(pd.delivered) || pc.Status != want[pd.name] {
				t.Errorf("tick %d: period %s = %+v, want CloudWatch %d, seen %d, status %s", n, pd.name, pc, pd.cloudwatch, pd.delivered, want[pd.name])
			}
		}
		return s
	}

	// First tick: the gap is only suspect (late events get a second chance); nothing published.
	s1 := check(1, map[string]string{"gap": reconcile.StatusSuspect, "equal": reconcile.StatusOK, "within": reconcile.StatusOK})
	if fs, _ := decodeAll(t, w.drain(w.findings)); len(fs) != 0 || len(s1.Findings) != 0 {
		t.Fatalf("first tick published %d findings (%v), want none before the re-check", len(fs), s1.Findings)
	}
	_ = w.drain(w.notifyQ)

	// Second tick: still short, so alerted: exactly one finding on the findings topic.
	s2 := check(2, map[string]string{"gap": reconcile.StatusUnobserved, "equal": reconcile.StatusOK, "within": reconcile.StatusOK})
	fs, rs := decodeAll(t, w.drain(w.findings))
	if len(fs) != 1 || len(rs) != 0 || len(s2.Findings) != 1 {
		t.Fatalf("second tick: findings topic got %d findings and %d results (summary %v), want exactly one finding", len(fs), len(rs), s2.Findings)
	}
	f := fs[0]
	gap := periods[0]
	if f.Rule != rules.CoverageUnobservedSends || f.ID != s2.Findings[0] || f.Severity != finding.SeverityHigh ||
		f.Account != awstest.Account || f.Region != awstest.Region ||
		!f.WindowStart.Equal(gap.start) || !f.WindowEnd.Equal(gap.start.Add(reconcile.Period)) ||
		f.Evidence.SESCount != gap.cloudwatch || f.Evidence.SeenCount == nil || *f.Evidence.SeenCount != int64(gap.delivered) ||
		f.Evidence.Count != missing {
		t.Fatalf("second tick: finding %+v (evidence %+v)", f, f.Evidence)
	}
	numbers := []string{
		fmt.Sprintf("SES counted %d send(s)", gap.cloudwatch),
		fmt.Sprintf("sesguard received %d Send event(s)", gap.delivered),
		gap.start.Format(time.RFC3339),
	}
	for _, want := range numbers {
		if !strings.Contains(f.Evidence.Detail, want) {
			t.Errorf("finding detail does not say %q: %s", want, f.Evidence.Detail)
		}
	}
	t.Logf("finding %s %s: %s", f.ID, f.Rule, f.Evidence.Detail)

	// Third tick: the period stays alerted; no second finding for it.
	check(3, map[string]string{"gap": reconcile.StatusAlerted, "equal": reconcile.StatusOK, "within": reconcile.StatusOK})
	if fs, _ := decodeAll(t, w.drain(w.findings)); len(fs) != 0 {
		t.Errorf("third tick published %d more findings for an alerted period", len(fs))
	}

	// notify: the finding (from its own subscription) becomes one Slack message and an SNS alert
	// that carry both numbers and the period.
	toNotify := w.drain(w.notifyQ)
	if nfs, _ := decodeAll(t, toNotify); len(nfs) != 1 || nfs[0].ID != f.ID {
		t.Fatalf("notify queue: %d findings, want the one reconciliation finding", len(nfs))
	}
	if got := failureIDs(invoke[events.SQSEventResponse](t, notify, toNotify)); len(got) != 0 {
		t.Fatalf("notify batchItemFailures = %v", got)
	}
	slack := w.slack.messages()
	if len(slack) != 1 {
		t.Fatalf("Slack stand-in got %d messages, want 1", len(slack))
	}
	var text strings.Builder
	collectStrings(t, slack[0], &text)
	for _, want := range append(numbers, rules.CoverageUnobservedSends) {
		if !strings.Contains(text.String(), want) {
			t.Errorf("Slack message does not say %q:\n%s", want, text.String())
		}
	}
	inbox := w.drain(w.alerts)
	if len(inbox.Records) != 1 || !strings.Contains(inbox.Records[0].Body, fmt.Sprint(gap.cloudwatch)) {
		t.Errorf("alerts topic delivered %d messages: %v", len(inbox.Records), inbox.Records)
	}
}

// collectStrings appends every string value of a JSON document (a Slack message's blocks).
func collectStrings(t testing.TB, doc string, b *strings.Builder) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("Slack message %q: %v", doc, err)
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			b.WriteString(x)
			b.WriteByte('\n')
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
}

// Names of the CloudTrail recon scenario (the replay fixture's principal and address).
const (
	leakedUser = "leaked-user"
	reconIP    = "203.0.113.9"
)

// reconPolicy is e2ePolicy with the API rule contained, as the example policy does.
func reconPolicy(t testing.TB) string {
	t.Helper()
	const on = "    network.outside_approved: [deactivate_keys, deny_send_policy]\n"
	p := strings.Replace(e2ePolicy, on, on+"    api.outside_approved: [deactivate_keys, deny_send_policy]\n", 1)
	if p == e2ePolicy {
		t.Fatal("e2ePolicy has no response.on entry to extend")
	}
	return p
}

// twoKeyUser is an IAM user with two active keys, seeded in moto: key is the one the CloudTrail
// records carry; other was the one last used for SES, so without the record's exact key the
// last-used heuristic would pick it instead.
type twoKeyUser struct {
	userID     string
	arn        string
	key, other string
}

func seedTwoKeyUser(t testing.TB, w *world, name string) twoKeyUser {
	t.Helper()
	ctx := context.Background()
	c := iam.NewFromConfig(w.cfg)
	u, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	l := twoKeyUser{userID: aws.ToString(u.User.UserId), arn: aws.ToString(u.User.Arn)}
	var ids []string
	for range 2 {
		k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(k.AccessKey.AccessKeyId))
	}
	l.key, l.other = ids[0], ids[1]
	if !strings.HasPrefix(l.key, "AKIA") {
		t.Fatalf("moto gave key %q, want a long-term AKIA key", l.key)
	}
	w.m.SeedKeyLastUsed(l.other, "ses", awstest.Region, time.Now().Add(-time.Minute))
	w.calls.reset()
	return l
}

func seedLeakedUser(t testing.TB, w *world) twoKeyUser { return seedTwoKeyUser(t, w, leakedUser) }

// reconBody is the replay fixture's EventBridge "AWS API Call via CloudTrail" record of
// GetSendQuota, re-pointed at the world's account and Region and at the seeded user and key.
func reconBody(t testing.TB, l twoKeyUser, tag string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "cloudtrail", "eventbridge-get-send-quota.json"))
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	detail, ok := env["detail"].(map[string]any)
	if !ok {
		t.Fatal("fixture has no detail object")
	}
	uid, ok := detail["userIdentity"].(map[string]any)
	if !ok || detail["eventName"] != "GetSendQuota" || detail["sourceIPAddress"] != reconIP || uid["userName"] != leakedUser {
		t.Fatalf("fixture is not the GetSendQuota recon by %s from %s: %v", leakedUser, reconIP, detail)
	}
	at := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	env["id"], env["account"], env["region"], env["time"] = "eb-"+tag, awstest.Account, awstest.Region, at
	detail["eventTime"], detail["awsRegion"], detail["recipientAccountId"] = at, awstest.Region, awstest.Account
	detail["eventID"] = "ct-" + tag
	uid["arn"], uid["accountId"], uid["principalId"], uid["accessKeyId"] = l.arn, awstest.Account, l.userID, l.key
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (w *world) userKeys(user string) map[string]iamtypes.StatusType {
	w.t.Helper()
	out, err := iam.NewFromConfig(w.cfg).ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String(user)})
	if err != nil {
		w.t.Fatal(err)
	}
	m := map[string]iamtypes.StatusType{}
	for _, k := range out.AccessKeyMetadata {
		m[aws.ToString(k.AccessKeyId)] = k.Status
	}
	return m
}

func (w *world) userHasPolicy(user, name string) bool {
	w.t.Helper()
	_, err := iam.NewFromConfig(w.cfg).GetUserPolicy(context.Background(), &iam.GetUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(name)})
	var nse *iamtypes.NoSuchEntityException
	switch {
	case err == nil:
		return true
	case errors.As(err, &nse):
		return false
	}
	w.t.Fatalf("GetUserPolicy %s %s: %v", user, name, err)
	return false
}

// runRecon delivers the recon record through ingest and its finding through respond, and
// returns the finding and respond's result.
func runRecon(t *testing.T, w *world, mode string, l twoKeyUser) (*finding.Finding, *finding.Result, events.SQSEvent) {
	t.Helper()
	ingest := w.function("ingest", mode)
	respond := w.function("respond", mode)
	batch := sqsBatch("ct-"+mode, []string{reconBody(t, l, mode)})
	if got := failureIDs(invoke[events.SQSEventResponse](t, ingest, batch)); len(got) != 0 {
		t.Fatalf("ingest batchItemFailures = %v", got)
	}
	toRespond := w.drain(w.findings)
	fs, rs := decodeAll(t, toRespond)
	if len(fs) != 1 || len(rs) != 0 {
		t.Fatalf("ingest published %d findings and %d results, want exactly one finding: %+v", len(fs), len(rs), fs)
	}
	f := fs[0]
	if f.Rule != rules.APIOutsideApproved || f.Principal.Name != leakedUser || f.Principal.Kind != finding.KindUser ||
		f.Principal.AccessKeyID != l.key || f.Principal.ARN != l.arn || f.SourceIP != reconIP || f.Mode != mode ||
		f.Account != awstest.Account || !slices.Contains(f.Evidence.EventIDs, "ct-"+mode) ||
		!slices.Equal(f.Actions, []string{contain.ActionDeactivateKeys, contain.ActionDenySendPolicy}) {
		t.Fatalf("finding %+v", f)
	}
	_ = w.drain(w.notifyQ) // the finding's copy for notify; the result follows below
	if got := failureIDs(invoke[events.SQSEventResponse](t, respond, toRespond)); len(got) != 0 {
		t.Fatalf("respond batchItemFailures = %v", got)
	}
	toNotify := w.drain(w.notifyQ)
	_ = w.drain(w.findings) // the result also reaches respond's queue (no filter policy here)
	_, nrs := decodeAll(t, toNotify)
	if len(nrs) != 1 || nrs[0].FindingID != f.ID || nrs[0].Mode != mode {
		t.Fatalf("respond published %d results for %s: %+v", len(nrs), f.ID, nrs)
	}
	return f, nrs[0], toNotify
}

// TestEndToEndCloudTrailReconEnforce: GetSendQuota by a leaked key from outside the approved
// networks, through the ingest and respond binaries in enforce mode: exactly that key is
// Inactive in IAM; the user's second key (the one last used for SES) stays Active.
func TestEndToEndCloudTrailReconEnforce(t *testing.T) {
	w := newWorld(t)
	w.policy = filepath.Join(t.TempDir(), "recon.yaml")
	if err := os.WriteFile(w.policy, []byte(reconPolicy(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	l := seedLeakedUser(t, w)
	smtpBefore := w.keyStatus()

	_, res, _ := runRecon(t, w, "enforce", l)
	keys := w.userKeys(leakedUser)
	if keys[l.key] != iamtypes.StatusTypeInactive || keys[l.other] != iamtypes.StatusTypeActive || len(keys) != 2 {
		t.Fatalf("IAM keys of %s = %v; want %s Inactive and %s Active", leakedUser, keys, l.key, l.other)
	}
	if !w.userHasPolicy(leakedUser, contain.DenySendPolicyName) {
		t.Errorf("%s has no inline policy %s", leakedUser, contain.DenySendPolicyName)
	}
	if n := w.calls.get("UpdateAccessKey"); n != 1 {
		t.Errorf("UpdateAccessKey called %d times, want once (one key)", n)
	}
	if after := w.keyStatus(); !maps.Equal(after, smtpBefore) {
		t.Errorf("another user's keys changed: %v -> %v", smtpBefore, after)
	}
	dk := findAction(res, contain.ActionDeactivateKeys)
	if dk.Outcome != finding.OutcomeApplied || !strings.Contains(strings.Join(dk.Changes, " "), l.key) ||
		strings.Contains(strings.Join(dk.Changes, " "), l.other) {
		t.Errorf("deactivate_keys result %+v: want applied to %s only", dk, l.key)
	}
	rec, err := w.ledger().Get(context.Background(), dk.ActionID)
	if err != nil || rec.Status != contain.StatusApplied || rec.Action != contain.ActionDeactivateKeys {
		t.Errorf("ledger row for %s: %+v %v", dk.ActionID, rec, err)
	}
}

// TestEndToEndCloudTrailReconDryRun: the same record in dry-run mode changes no key and the
// result and the Slack alert say the deactivation of that key is planned.
func TestEndToEndCloudTrailReconDryRun(t *testing.T) {
	w := newWorld(t)
	w.policy = filepath.Join(t.TempDir(), "recon.yaml")
	if err := os.WriteFile(w.policy, []byte(reconPolicy(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	l := seedLeakedUser(t, w)
	notify := w.function("notify", "dry-run")

	_, res, toNotify := runRecon(t, w, "dry-run", l)
	if keys := w.userKeys(leakedUser); keys[l.key] != iamtypes.StatusTypeActive || keys[l.other] != iamtypes.StatusTypeActive {
		t.Fatalf("dry-run changed IAM keys of %s: %v", leakedUser, keys)
	}
	if w.userHasPolicy(leakedUser, contain.DenySendPolicyName) {
		t.Errorf("dry-run put %s on %s", contain.DenySendPolicyName, leakedUser)
	}
	if n, p := w.calls.get("UpdateAccessKey"), w.calls.get("PutUserPolicy"); n != 0 || p != 0 {
		t.Errorf("dry-run made IAM writes: UpdateAccessKey %d, PutUserPolicy %d", n, p)
	}
	dk := findAction(res, contain.ActionDeactivateKeys)
	ch := strings.Join(dk.Changes, " ")
	if dk.Outcome != finding.OutcomePlanned || !strings.Contains(ch, l.key) || strings.Contains(ch, l.other) {
		t.Errorf("deactivate_keys result %+v: want planned for %s only", dk, l.key)
	}
	if got := failureIDs(invoke[events.SQSEventResponse](t, notify, toNotify)); len(got) != 0 {
		t.Fatalf("notify batchItemFailures = %v", got)
	}
	var text strings.Builder
	for _, m := range w.slack.messages() {
		collectStrings(t, m, &text)
	}
	if s := text.String(); !strings.Contains(s, l.key) || !strings.Contains(s, "planned") || !strings.Contains(strings.ToLower(s), "dry-run") {
		t.Errorf("Slack alert does not say the deactivation of %s is planned (dry-run):\n%s", l.key, s)
	}
}
