package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/engine/contain"
	"github.com/sesguard/sesguard/shared/engine/reconcile"
	"github.com/sesguard/sesguard/shared/policy"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
	"github.com/sesguard/sesguard/shared/testsupport/lambdatest"
)

// Part C of issue 11 end to end with the real binaries against moto: CloudTrail send data events
// (SendEmail with additionalEventData.sesMessageId) through the ingest binary leave one slot per
// message; the coverage binary's reconciliation tick finds the messages that never had an SES
// Send event and raises coverage.unobserved_sends naming the exact key that signed them, which
// respond deactivates. With SESGUARD_SEND_DATA_EVENTS=true, a Send event whose data event came
// first names that exact key in its own findings.

const (
	reportsUser = "reports-user"
	outsideIP   = "198.51.100.23" // outside the policy's 10.20.0.0/16
	envSendData = "SESGUARD_SEND_DATA_EVENTS"
)

// apiSendPolicy is e2ePolicy with reports-user an approved sender (its API sends from the
// approved network raise no api.* finding) and coverage.unobserved_sends contained.
func apiSendPolicy(t testing.TB) string {
	t.Helper()
	p := e2ePolicy
	for _, r := range []struct{ old, new string }{
		{`"mailer-task-role"]`, `"mailer-task-role", "` + reportsUser + `"]`},
		{"    network.outside_approved: [deactivate_keys, deny_send_policy]\n",
			"    network.outside_approved: [deactivate_keys, deny_send_policy]\n    coverage.unobserved_sends: [deactivate_keys]\n"},
	} {
		q := strings.Replace(p, r.old, r.new, 1)
		if q == p {
			t.Fatalf("e2ePolicy has no %q to extend", r.old)
		}
		p = q
	}
	return p
}

func seedReportsUser(t testing.TB, w *world) twoKeyUser { return seedTwoKeyUser(t, w, reportsUser) }

// dataEventBody is the data-events fixture's CloudTrail record re-made as SendEmail of msgID
// by key of reports-user from ip at t, in the EventBridge envelope ("AWS API Call via
// CloudTrail") the SQS target delivers.
func dataEventBody(t testing.TB, r twoKeyUser, msgID, ip string, at time.Time) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "cloudtrail", "data-events.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	var d map[string]any
	if err := json.Unmarshal([]byte(line), &d); err != nil {
		t.Fatal(err)
	}
	uid, ok1 := d["userIdentity"].(map[string]any)
	aed, ok2 := d["additionalEventData"].(map[string]any)
	if !ok1 || !ok2 || d["eventCategory"] != "Data" || aed["sesMessageId"] == nil {
		t.Fatalf("fixture is not a send data event with sesMessageId: %v", d)
	}
	ts := at.UTC().Format(time.RFC3339)
	uid["arn"], uid["accountId"], uid["principalId"], uid["accessKeyId"], uid["userName"] = r.arn, awstest.Account, r.userID, r.key, reportsUser
	d["eventName"], d["eventTime"], d["awsRegion"], d["recipientAccountId"] = "SendEmail", ts, awstest.Region, awstest.Account
	d["sourceIPAddress"], d["eventID"], d["requestID"] = ip, "ct-"+msgID, "req-"+msgID
	d["requestParameters"] = map[string]any{
		"fromEmailAddress": "reports@" + identity,
		"destination":      map[string]any{"toAddresses": []string{"HIDDEN_DUE_TO_SECURITY_REASONS"}},
	}
	aed["sesMessageId"] = msgID
	d["resources"] = []map[string]any{{"accountId": awstest.Account, "type": "AWS::SES::EmailIdentity", "ARN": awstest.IdentityARN(identity)}}
	b, err := json.Marshal(map[string]any{
		"version": "0", "id": "eb-ct-" + msgID, "detail-type": "AWS API Call via CloudTrail", "source": "aws.ses",
		"account": awstest.Account, "time": ts, "region": awstest.Region, "resources": []string{}, "detail": d,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// functionWith is w.function with extra environment variables (e.g. ingest with
// SESGUARD_SEND_DATA_EVENTS, as -c sesguardSendDataEvents=true sets it).
func (w *world) functionWith(name, mode string, extra map[string]string) *lambdatest.Runtime {
	w.t.Helper()
	env := w.env(mode)
	maps.Copy(env, extra)
	rt, err := lambdatest.New(lambdatest.Options{Binary: bins[name], FunctionName: "sesguard-" + name, Env: env, Timeout: 2 * time.Minute})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		if w.t.Failed() {
			w.t.Logf("%s logs:\n%s", name, rt.Logs())
		}
		rt.Close()
	})
	return rt
}

// ingestAll delivers bodies through ingest in SQS batches of 10 and requires no failure.
func ingestAll(t *testing.T, rt *lambdatest.Runtime, tag string, bodies []string) {
	t.Helper()
	all := sqsBatch(tag, bodies)
	for i := 0; i < len(all.Records); i += 10 {
		batch := events.SQSEvent{Records: all.Records[i:min(i+10, len(all.Records))]}
		if got := failureIDs(invoke[events.SQSEventResponse](t, rt, batch)); len(got) != 0 {
			t.Fatalf("ingest %s batch %d: batchItemFailures %v", tag, i/10, got)
		}
	}
}

// apiSendLog is the coverage function's log line for a period of API sends not all observed.
type apiSendLog struct {
	Msg        string    `json:"msg"`
	Start      time.Time `json:"start"`
	APISends   int64     `json:"api_sends"`
	Unobserved int       `json:"unobserved"`
	Status     string    `json:"status"`
}

func apiSendLogs(t testing.TB, logs string) []apiSendLog {
	t.Helper()
	var out []apiSendLog
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l apiSendLog
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "coverage: API sends" {
			out = append(out, l)
		}
	}
	return out
}

// TestEndToEndUnobservedAPISends: reports-user's key sends N messages through the SES API in
// one closed, settled period; CloudTrail logs all N (data events through ingest), SES event
// publishing delivers a Send event for only some (the rest went through a configuration set
// without sesguard's destination); one Send arrives late, between the two ticks. The coverage
// binary's first tick marks the missing messages suspect and publishes nothing; the second
// publishes exactly one coverage.unobserved_sends naming reports-user, the exact key and the
// message ids still missing; respond deactivates that key and leaves the other Active (enforce),
// or plans exactly that key's deactivation and changes nothing (dry-run).
func TestEndToEndUnobservedAPISends(t *testing.T) {
	for _, mode := range []string{contain.ModeEnforce, contain.ModeDryRun} {
		t.Run(mode, func(t *testing.T) { unobservedAPISends(t, mode) })
	}
}

func unobservedAPISends(t *testing.T, mode string) {
	w := newWorld(t)
	w.policy = filepath.Join(t.TempDir(), "api-sends.yaml")
	if err := os.WriteFile(w.policy, []byte(apiSendPolicy(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load([]byte(apiSendPolicy(t)), "api-sends policy")
	if err != nil {
		t.Fatal(err)
	}
	lim := p.Limits.UnobservedSends
	r := seedReportsUser(t, w)
	smtpBefore := w.keyStatus()
	ingest := w.function("ingest", mode)
	cov := w.function("coverage", mode)
	respond := w.function("respond", mode)

	// The coverage binary reads the clock itself: a period between settle+10 min and about an
	// hour old is closed, settled and inside its 2 h lookback for the whole test.
	period := time.Now().UTC().Add(-lim.Settle - 30*time.Minute).Truncate(reconcile.Period)
	// The policy's default tolerance (more than 5 and more than 2 % per principal and key).
	const observed = 5 // Send events delivered before the first tick
	missing := int(lim.Absolute) + 4
	total := observed + 1 + missing // plus the one whose Send is late
	if float64(missing) <= lim.Relative*float64(total) || missing <= int(lim.Absolute) {
		t.Fatalf("test setup: %d missing of %d is not beyond the tolerance %+v", missing, total, lim)
	}
	var msgs []string
	var dataEvents []string
	at := func(i int) time.Time {
		return period.Add(time.Duration(i) * (reconcile.Period - time.Second) / time.Duration(total))
	}
	for i := range total {
		msg := fmt.Sprintf("0102019a-api-%03d-000000", i)
		msgs = append(msgs, msg)
		dataEvents = append(dataEvents, dataEventBody(t, r, msg, fmt.Sprintf("10.20.7.%d", 10+i), at(i)))
	}
	sendOf := func(i int) string {
		return eventBridgeBody(sesSend(msgs[i], reportsUser, fmt.Sprintf("10.20.7.%d", 10+i), "SendEmail", at(i).Add(time.Second)), "eb-"+msgs[i])
	}
	late := msgs[observed]
	wantMissing := slices.Clone(msgs[observed+1:])

	// Ingest: the data events (CloudTrail), then the Send events of the observed messages, in
	// SQS batches of 10 (the second mixes both kinds); none raises a finding. moto's CloudWatch
	// gets no AWS/SES Send data, so the account-level form stays silent and this test sees the
	// per-message form alone (TestEndToEndReconcileUnobservedSends covers the other).
	bodies := slices.Clone(dataEvents)
	for i := range observed {
		bodies = append(bodies, sendOf(i))
	}
	ingestAll(t, ingest, "api", bodies)
	if fs, rs := decodeAll(t, w.drain(w.findings)); len(fs)+len(rs) != 0 {
		t.Fatalf("approved API sends raised %d findings: %+v", len(fs), fs)
	}
	_ = w.drain(w.notifyQ)

	tick := []byte(`{"sesguard":"reconcile"}`)
	runTick := func(n int) (coverageSummary, []apiSendLog) {
		t.Helper()
		off := cov.LogOffset()
		s := invoke[coverageSummary](t, cov, tick)
		var mine []apiSendLog
		for _, l := range apiSendLogs(t, cov.LogsSince(off)) {
			if l.Start.Equal(period) {
				mine = append(mine, l)
			}
		}
		if len(s.Reconciled) != 0 {
			t.Errorf("tick %d: account-level periods %+v, want none (moto's CloudWatch has no AWS/SES data)", n, s.Reconciled)
		}
		return s, mine
	}

	// First tick: every message without a Send is suspect only; nothing published.
	s1, l1 := runTick(1)
	if len(l1) != 1 || l1[0].Status != reconcile.StatusSuspect || l1[0].APISends != int64(total) || l1[0].Unobserved != missing+1 {
		t.Fatalf("first tick: API-send period logged as %+v, want one suspect line with %d API sends, %d unobserved", l1, total, missing+1)
	}
	if fs, _ := decodeAll(t, w.drain(w.findings)); len(fs) != 0 || len(s1.Findings) != 0 {
		t.Fatalf("first tick published %d findings (%v), want none before the re-check", len(fs), s1.Findings)
	}
	_ = w.drain(w.notifyQ)

	// The straggler's Send event arrives between the ticks: it is observed after all.
	ingestAll(t, ingest, "late", []string{sendOf(observed)})
	if fs, _ := decodeAll(t, w.drain(w.findings)); len(fs) != 0 {
		t.Fatalf("the late Send raised %d findings: %+v", len(fs), fs)
	}
	_ = w.drain(w.notifyQ)

	// Second tick: the others are still missing → exactly one finding, for reports-user's key.
	s2, l2 := runTick(2)
	if len(l2) != 1 || l2[0].Status != reconcile.StatusUnobserved || l2[0].Unobserved != missing {
		t.Errorf("second tick: API-send period logged as %+v, want unobserved with %d unobserved", l2, missing)
	}
	toRespond := w.drain(w.findings)
	fs, rs := decodeAll(t, toRespond)
	if len(fs) != 1 || len(rs) != 0 || len(s2.Findings) != 1 {
		t.Fatalf("second tick: findings topic got %d findings and %d results (summary %v), want exactly one finding", len(fs), len(rs), s2.Findings)
	}
	f := fs[0]
	got := slices.Sorted(slices.Values(f.Evidence.MessageIDs))
	if f.Rule != rules.CoverageUnobservedSends || f.ID != s2.Findings[0] || f.Severity != finding.SeverityHigh ||
		f.Account != awstest.Account || f.Region != awstest.Region || f.Mode != mode ||
		f.Principal.Name != reportsUser || f.Principal.AccessKeyID != r.key || f.Principal.Kind != finding.KindUser || f.Principal.ARN != r.arn ||
		!f.WindowStart.Equal(period) || !f.WindowEnd.Equal(period.Add(reconcile.Period)) ||
		f.Evidence.Count != int64(missing) || !slices.Equal(got, wantMissing) ||
		!slices.Equal(f.Actions, []string{contain.ActionDeactivateKeys}) {
		t.Fatalf("second tick: finding %+v (evidence %+v); want %s key %s, %d messages %v", f, f.Evidence, reportsUser, r.key, missing, wantMissing)
	}
	if slices.Contains(f.Evidence.MessageIDs, late) {
		t.Errorf("finding names %s, whose Send event arrived before the second check", late)
	}
	for _, want := range []string{fmt.Sprintf("%d of %d API send(s) by %s with access key %s", missing, total, reportsUser, r.key), wantMissing[0]} {
		if !strings.Contains(f.Evidence.Detail, want) {
			t.Errorf("finding detail does not say %q: %s", want, f.Evidence.Detail)
		}
	}
	t.Logf("finding %s %s: %s", f.ID, f.Rule, f.Evidence.Detail)

	// A third tick publishes nothing more for the period.
	if s3, _ := runTick(3); len(s3.Findings) != 0 {
		t.Errorf("third tick published %v for an alerted period", s3.Findings)
	}
	if fs, _ := decodeAll(t, w.drain(w.findings)); len(fs) != 0 {
		t.Errorf("third tick: %d more findings on the topic", len(fs))
	}
	_ = w.drain(w.notifyQ)

	// respond: in enforce exactly the key named is Inactive, the other (last used for SES)
	// Active; in dry-run both stay Active and the deactivation of exactly that key is planned.
	if got := failureIDs(invoke[events.SQSEventResponse](t, respond, toRespond)); len(got) != 0 {
		t.Fatalf("respond batchItemFailures = %v", got)
	}
	wantKey, wantOutcome, wantUpdates := iamtypes.StatusTypeInactive, finding.OutcomeApplied, 1
	if mode == contain.ModeDryRun {
		wantKey, wantOutcome, wantUpdates = iamtypes.StatusTypeActive, finding.OutcomePlanned, 0
	}
	keys := w.userKeys(reportsUser)
	if keys[r.key] != wantKey || keys[r.other] != iamtypes.StatusTypeActive || len(keys) != 2 {
		t.Fatalf("%s: IAM keys of %s = %v; want %s %s and %s Active", mode, reportsUser, keys, r.key, wantKey, r.other)
	}
	if n := w.calls.get("UpdateAccessKey"); n != wantUpdates {
		t.Errorf("%s: UpdateAccessKey called %d times, want %d", mode, n, wantUpdates)
	}
	if after := w.keyStatus(); !maps.Equal(after, smtpBefore) {
		t.Errorf("another user's keys changed: %v -> %v", smtpBefore, after)
	}
	_, nrs := decodeAll(t, w.drain(w.notifyQ))
	if len(nrs) != 1 || nrs[0].FindingID != f.ID || nrs[0].Mode != mode {
		t.Fatalf("respond published %d results for %s: %+v", len(nrs), f.ID, nrs)
	}
	dk := findAction(nrs[0], contain.ActionDeactivateKeys)
	if ch := strings.Join(dk.Changes, " "); dk.Outcome != wantOutcome || !strings.Contains(ch, r.key) || strings.Contains(ch, r.other) {
		t.Errorf("deactivate_keys result %+v: want %s for %s only", dk, wantOutcome, r.key)
	}
}

// TestEndToEndAPISendJoin: reports-user's key sends one message through the SES API from
// outside the approved networks; CloudTrail's data event reaches ingest before SES's Send event.
// Both records raise a finding (api.outside_approved from the call, network.outside_approved
// from the Send). With SESGUARD_SEND_DATA_EVENTS=true the Send's finding names the exact key of
// the call; without it, only what attribution can guess (IAM's last use: the other key).
func TestEndToEndAPISendJoin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantKey func(twoKeyUser) string
	}{
		{"joined", map[string]string{envSendData: "true"}, func(r twoKeyUser) string { return r.key }},
		{"unset", nil, func(r twoKeyUser) string { return r.other }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.policy = filepath.Join(t.TempDir(), "api-sends.yaml")
			if err := os.WriteFile(w.policy, []byte(apiSendPolicy(t)), 0o644); err != nil {
				t.Fatal(err)
			}
			r := seedReportsUser(t, w)
			ingest := w.functionWith("ingest", "dry-run", tc.env)
			now := time.Now().UTC().Add(-time.Minute)
			msg := "0102019a-join-" + tc.name + "-000000"

			// The data event first, alone: the call's own finding names the key from the record.
			ingestAll(t, ingest, "ct-"+tc.name, []string{dataEventBody(t, r, msg, outsideIP, now)})
			fs, _ := decodeAll(t, w.drain(w.findings))
			if len(fs) != 1 || fs[0].Rule != rules.APIOutsideApproved || fs[0].Principal.AccessKeyID != r.key ||
				fs[0].Principal.Name != reportsUser || fs[0].SourceIP != outsideIP || !slices.Contains(fs[0].Evidence.EventIDs, "ct-"+msg) {
				t.Fatalf("data event: findings %+v, want one %s by %s key %s", fs, rules.APIOutsideApproved, reportsUser, r.key)
			}
			// Then SES's Send event of the same message, same caller and address.
			ingestAll(t, ingest, "send-"+tc.name, []string{eventBridgeBody(sesSend(msg, reportsUser, outsideIP, "SendEmail", now.Add(time.Second)), "eb-"+msg)})
			fs, rs := decodeAll(t, w.drain(w.findings))
			if len(fs) != 1 || len(rs) != 0 {
				t.Fatalf("Send event: %d findings and %d results, want one finding: %+v", len(fs), len(rs), fs)
			}
			f := fs[0]
			if f.Rule != rules.NetworkOutsideApproved || f.Principal.Name != reportsUser || f.Principal.Kind != finding.KindUser ||
				f.SourceIP != outsideIP || !slices.Equal(f.Evidence.MessageIDs, []string{msg}) {
				t.Fatalf("Send event: finding %+v", f)
			}
			if want := tc.wantKey(r); f.Principal.AccessKeyID != want {
				t.Errorf("%s with %s=%q: Principal.AccessKeyID = %q, want %q (key %s signed the call; %s was last used for SES)",
					f.Rule, envSendData, tc.env[envSendData], f.Principal.AccessKeyID, want, r.key, r.other)
			}
		})
	}
}
