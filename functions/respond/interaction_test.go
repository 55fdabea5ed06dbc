package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/deliver/alert"
	"github.com/sesguard/sesguard/shared/engine/contain"
	"github.com/sesguard/sesguard/shared/slack/approval"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

const (
	approver   = "U0123ABCD"
	team       = "T0001"
	stateTable = "sesguard-state"
	respURL    = "https://hooks.slack.com/actions/T0001/1780000000123/abc"
)

// slackRec records what respond posts to response_url.
type slackRec struct {
	mu   sync.Mutex
	msgs []alert.SlackMessage
}

func (s *slackRec) Post(_ context.Context, u string, m alert.SlackMessage) error {
	if u != respURL {
		return fmt.Errorf("posted to %q", u)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	return nil
}

func (s *slackRec) all() []alert.SlackMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// resultPub captures published results (safe for concurrent handlers).
type resultPub struct {
	mu      sync.Mutex
	results []*finding.Result
}

func (p *resultPub) PublishFinding(context.Context, *finding.Finding) (string, error) {
	return "m", nil
}
func (p *resultPub) PublishResult(_ context.Context, r *finding.Result) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, _ := json.Marshal(r)
	var c finding.Result
	_ = json.Unmarshal(b, &c)
	p.results = append(p.results, &c)
	return "m", nil
}

func (p *resultPub) last() *finding.Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.results[len(p.results)-1]
}

// buttonWorld is moto with one SMTP user, respond handlers in dry-run and enforce mode sharing a
// ledger and approval store, and a counter of IAM UpdateAccessKey calls.
type buttonWorld struct {
	m        *awstest.Moto
	iam      *iam.Client
	user     awstest.SMTPUser
	f        *finding.Finding
	pub      *resultPub
	slack    *slackRec
	logs     *bytes.Buffer
	logMu    *sync.Mutex
	now      time.Time
	mu       sync.Mutex
	updates  int
	dryRun   *Handler
	enforced *Handler
	// enforcer builds an enforce-mode executor on the world's clients and ledger.
	enforcer func(cc contain.Config) *contain.Executor
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func newButtonWorld(t *testing.T) *buttonWorld {
	t.Helper()
	m := awstest.Start(t)
	cfg := m.ConfigFastRetry(t, 3)
	w := &buttonWorld{m: m, iam: iam.NewFromConfig(cfg), pub: &resultPub{}, slack: &slackRec{}, logs: &bytes.Buffer{}, logMu: &sync.Mutex{}, now: time.Now().UTC()}
	m.SeedStateTable(t, stateTable)
	w.user = m.SeedSMTPUser(t, "ses-smtp-user.20260112-101500")
	m.SeedKeyLastUsed(w.user.KeyIDs[0], "ses-smtp", awstest.Region, w.now.Add(-time.Minute))
	m.Handle(func(_ http.ResponseWriter, r *http.Request) bool {
		if awstest.Operation(r) == "UpdateAccessKey" {
			w.mu.Lock()
			w.updates++
			w.mu.Unlock()
		}
		return false
	})
	w.f = &finding.Finding{
		Schema: finding.SchemaFinding, ID: "sgf-button-1", Rule: "network.outside_approved", Severity: finding.SeverityHigh,
		Account: awstest.Account, Region: awstest.Region, SourceIP: "203.0.113.77",
		Principal:   finding.Principal{Name: w.user.UserName, Kind: finding.KindUser, ARN: w.user.ARN},
		WindowStart: w.now.Add(-5 * time.Minute), WindowEnd: w.now.Add(time.Minute),
		Evidence: finding.Evidence{Count: 1, FirstSeen: w.now.Add(-2 * time.Minute), LastSeen: w.now.Add(-time.Minute)},
		Actions:  []string{contain.ActionDeactivateKeys}, Mode: contain.ModeDryRun,
	}
	ddb := dynamodb.NewFromConfig(cfg)
	ledger := contain.NewLedger(ddb, stateTable)
	log := slog.New(slog.NewJSONHandler(lockedWriter{w.logMu, w.logs}, nil))
	store := &approval.Store{DB: ddb, Table: stateTable}
	mk := func(mode, actor string) *Handler {
		cc := contain.Config{Mode: mode, Actor: actor, MaxActionsPerHour: 20}
		ec := cc
		ec.Mode = contain.ModeEnforce
		return &Handler{
			Container: contain.NewExecutor(cc, w.iam, sesv2.NewFromConfig(cfg), ledger, log),
			Publisher: w.pub, Slack: w.slack, Log: log,
			Buttons: &Buttons{Store: store, Enforcer: contain.NewExecutor(ec, w.iam, sesv2.NewFromConfig(cfg), ledger, log),
				Approver: func(u string) bool { return u == approver }, TTL: 24 * time.Hour, Now: func() time.Time { return w.now }},
		}
	}
	w.dryRun, w.enforced = mk(contain.ModeDryRun, "lambda:respond"), mk(contain.ModeEnforce, "lambda:respond")
	w.enforcer = func(cc contain.Config) *contain.Executor {
		cc.Mode = contain.ModeEnforce
		return contain.NewExecutor(cc, w.iam, sesv2.NewFromConfig(cfg), ledger, log)
	}
	return w
}

func (w *buttonWorld) updateCalls() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.updates
}

func (w *buttonWorld) keyStatus(t *testing.T) string {
	t.Helper()
	out, err := w.iam.ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String(w.user.UserName)})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range out.AccessKeyMetadata {
		if aws.ToString(k.AccessKeyId) == w.user.KeyIDs[0] {
			return string(k.Status)
		}
	}
	t.Fatal("key not found")
	return ""
}

func (w *buttonWorld) auditLines(reason string) int {
	w.logMu.Lock()
	defer w.logMu.Unlock()
	n := 0
	for _, l := range strings.Split(w.logs.String(), "\n") {
		if strings.Contains(l, "audit: click refused") && strings.Contains(l, reason) {
			n++
		}
	}
	return n
}

func sqsMsg(id string, body any) events.SQSMessage {
	b, _ := json.Marshal(body)
	return events.SQSMessage{MessageId: id, Body: string(b)}
}

func handle(t *testing.T, h *Handler, msgs ...events.SQSMessage) []string {
	t.Helper()
	resp, err := h.Handle(context.Background(), events.SQSEvent{Records: msgs})
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	return failed
}

func click(kind, ref, user string, at time.Time) approval.Request {
	return approval.Request{Schema: approval.SchemaRequest, Kind: kind, Ref: ref, SlackUser: user, SlackTeam: team, ClickedAt: at, ResponseURL: respURL, RequestID: "req-" + user}
}

// dryRunRef runs the dry-run respond on the finding and returns its Contain now reference.
func (w *buttonWorld) dryRunRef(t *testing.T) string {
	t.Helper()
	if failed := handle(t, w.dryRun, sqsMsg("f1", w.f)); len(failed) != 0 {
		t.Fatalf("dry-run failed %v", failed)
	}
	r := w.pub.last()
	if r.Mode != contain.ModeDryRun || r.Approval == nil || !approval.ValidRef(r.Approval.Ref) {
		t.Fatalf("dry-run result without a Contain now reference: %+v", r)
	}
	if w.updateCalls() != 0 || w.keyStatus(t) != "Active" {
		t.Fatal("dry-run changed the key")
	}
	return r.Approval.Ref
}

// TestDoubleClickOneAction: two Contain now clicks (two signed requests, so both pass interact)
// handled concurrently make one IAM change; the ledger row names the approver; the original
// message is replaced with the outcome and an Undo button; a double Undo restores once.
func TestDoubleClickOneAction(t *testing.T) {
	w := newButtonWorld(t)
	ref := w.dryRunRef(t)
	var wg sync.WaitGroup
	failed := make([][]string, 2)
	for i := range 2 {
		wg.Go(func() {
			failed[i] = handle(t, w.enforced, sqsMsg(fmt.Sprint("c", i), click(approval.KindContain, ref, approver, w.now.Add(time.Duration(i)*time.Second))))
		})
	}
	wg.Wait()
	if len(failed[0])+len(failed[1]) != 0 {
		t.Fatalf("failed %v", failed)
	}
	if n := w.updateCalls(); n != 1 {
		t.Fatalf("%d UpdateAccessKey calls for a double click, want 1", n)
	}
	if w.keyStatus(t) != "Inactive" {
		t.Fatal("key still Active after Contain now")
	}
	var outcomes []string
	var undoRef, actionID string
	for _, r := range w.pub.results[1:] {
		a := r.Actions[0]
		outcomes = append(outcomes, string(a.Outcome))
		if a.Outcome == finding.OutcomeApplied {
			if a.Undo == nil {
				t.Fatal("applied action has no Undo reference")
			}
			undoRef, actionID = a.Undo.Ref, a.ActionID
		}
		if !strings.HasPrefix(r.Actor, "slack:"+team+"/"+approver+" via ") || r.Mode != contain.ModeEnforce {
			t.Errorf("result actor %q mode %q", r.Actor, r.Mode)
		}
	}
	slices.Sort(outcomes)
	if strings.Join(outcomes, ",") != "already_contained,applied" {
		t.Fatalf("outcomes %v", outcomes)
	}
	rec, err := contain.NewLedger(dynamodb.NewFromConfig(w.m.Config(t)), stateTable).Get(context.Background(), actionID)
	if err != nil || rec.Status != contain.StatusApplied || rec.ApprovedBy == nil || rec.ApprovedBy.SlackUser != approver || rec.ApprovedBy.SlackTeam != team || rec.ApprovedBy.Ref != ref || rec.ApprovedBy.At.IsZero() {
		t.Fatalf("ledger row %+v %v", rec, err)
	}
	var replaced int
	for _, m := range w.slack.all() {
		if m.ReplaceOriginal && strings.Contains(mustJSON(t, m), approval.ActionUndo) && strings.Contains(mustJSON(t, m), approver) {
			replaced++
		}
	}
	if replaced == 0 {
		t.Error("the original message was not replaced with the outcome and an Undo button")
	}

	// Undo, twice: one restore.
	before := w.updateCalls()
	for i := range 2 {
		if failed := handle(t, w.enforced, sqsMsg(fmt.Sprint("u", i), click(approval.KindUndo, undoRef, approver, w.now.Add(time.Minute)))); len(failed) != 0 {
			t.Fatalf("undo %d failed: %v\n%s", i, failed, w.logs.String())
		}
	}
	if n := w.updateCalls() - before; n != 1 || w.keyStatus(t) != "Active" {
		t.Fatalf("undo: %d UpdateAccessKey calls, key %s; want 1 and Active", n, w.keyStatus(t))
	}
	if last := w.pub.last(); last.Actions[0].Outcome != finding.OutcomeRestored || last.Actions[0].ActionID != actionID || last.Rule != w.f.Rule || last.Mode != contain.ModeEnforce {
		t.Errorf("undo announced %+v", last)
	}
	rec, _ = contain.NewLedger(dynamodb.NewFromConfig(w.m.Config(t)), stateTable).Get(context.Background(), actionID)
	if rec.Status != contain.StatusRestored || rec.RestoreApprovedBy == nil || rec.RestoreApprovedBy.SlackUser != approver {
		t.Fatalf("restored row %+v", rec)
	}
	// Contain now again on the old message: the ledger says restored, nothing is re-applied.
	before = w.updateCalls()
	handle(t, w.enforced, sqsMsg("c9", click(approval.KindContain, ref, approver, w.now.Add(2*time.Minute))))
	if w.updateCalls() != before || w.keyStatus(t) != "Active" {
		t.Error("a Contain now click after an undo re-applied the action")
	}
}

// TestClickRacesEnforceRun: a Contain now click and an enforce-mode run of the same finding at
// the same time make one IAM change between them.
func TestClickRacesEnforceRun(t *testing.T) {
	w := newButtonWorld(t)
	ref := w.dryRunRef(t)
	enforced := *w.f
	enforced.Mode = contain.ModeEnforce
	var wg sync.WaitGroup
	wg.Go(func() { handle(t, w.enforced, sqsMsg("click", click(approval.KindContain, ref, approver, w.now))) })
	wg.Go(func() { handle(t, w.enforced, sqsMsg("run", &enforced)) })
	wg.Wait()
	if n := w.updateCalls(); n != 1 || w.keyStatus(t) != "Inactive" {
		t.Fatalf("%d UpdateAccessKey calls, key %s; want 1 and Inactive", n, w.keyStatus(t))
	}
}

// TestClickRefusals: unauthorised users, expired, unknown, mismatched and stale clicks change
// nothing; each is told ephemerally and leaves an audit line; a malformed request fails its
// record (DLQ) rather than vanishing.
func TestClickRefusals(t *testing.T) {
	w := newButtonWorld(t)
	ref := w.dryRunRef(t)
	tests := []struct {
		name   string
		req    approval.Request
		reason string
		now    time.Time
	}{
		{"unauthorised user", click(approval.KindContain, ref, "U0999EVIL", w.now), "not in response.approvers", w.now},
		{"expired approval", click(approval.KindContain, ref, approver, w.now.Add(24*time.Hour+time.Second)), "expired", w.now.Add(24*time.Hour + 2*time.Second)},
		{"unknown reference", click(approval.KindContain, "apr-00000000000000000000000000000000", approver, w.now), "unknown approval reference", w.now},
		{"undo button on a contain approval", click(approval.KindUndo, ref, approver, w.now), "do not match", w.now},
		{"click waited too long in the queue", click(approval.KindContain, ref, approver, w.now), "old (limit", w.now.Add(31 * time.Minute)},
		{"click dated an hour ahead", click(approval.KindContain, ref, approver, w.now.Add(time.Hour)), "ahead", w.now},
		{"click dated centuries ahead", click(approval.KindContain, ref, approver, w.now.AddDate(300, 0, 0)), "ahead", w.now},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w.now = tc.now
			before := len(w.slack.all())
			if failed := handle(t, w.enforced, sqsMsg("r", tc.req)); len(failed) != 0 {
				t.Fatalf("a refusal failed the record: %v", failed)
			}
			if w.updateCalls() != 0 || w.keyStatus(t) != "Active" {
				t.Fatal("a refused click changed the key")
			}
			msgs := w.slack.all()[before:]
			if len(msgs) != 1 || msgs[0].ResponseType != "ephemeral" || !strings.Contains(msgs[0].Text, "nothing was changed") {
				t.Errorf("user told %+v", msgs)
			}
			if w.auditLines(tc.reason) == 0 {
				t.Errorf("no audit line with %q:\n%s", tc.reason, w.logs.String())
			}
		})
	}
	bad := click(approval.KindContain, ref, approver, w.now)
	bad.ResponseURL = "http://169.254.169.254/latest/meta-data"
	if failed := handle(t, w.enforced, sqsMsg("bad", bad)); !slices.Equal(failed, []string{"bad"}) {
		t.Errorf("malformed request: failures %v", failed)
	}
	// Approvals off: the click is refused and told, nothing runs.
	off := *w.enforced
	off.Buttons = nil
	w.now = time.Now()
	if failed := handle(t, &off, sqsMsg("off", click(approval.KindContain, ref, approver, time.Now()))); len(failed) != 0 || w.updateCalls() != 0 {
		t.Errorf("approvals off: failed %v, updates %d", failed, w.updateCalls())
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestClickRespectsProtectedAndRateCap: an approved click goes through the same safety checks as
// any run: a principal protected since the plan was shown is skipped, and the hourly cap stops
// the change (rate_capped); neither touches IAM.
func TestClickRespectsProtectedAndRateCap(t *testing.T) {
	tests := []struct {
		name string
		cfg  contain.Config
		want finding.Outcome
	}{
		{"principal protected after the plan was shown", contain.Config{Actor: "lambda:respond", Protected: []string{"ses-smtp-user.*"}}, finding.OutcomeSkippedProtected},
		{"hourly cap reached", contain.Config{Actor: "lambda:respond", MaxActionsPerHour: -1}, finding.OutcomeRateCapped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newButtonWorld(t)
			ref := w.dryRunRef(t)
			w.enforced.Buttons.Enforcer = w.enforcer(tc.cfg)
			handle(t, w.enforced, sqsMsg("c", click(approval.KindContain, ref, approver, w.now)))
			r := w.pub.last()
			if r.Mode != contain.ModeEnforce || len(r.Actions) != 1 || r.Actions[0].Outcome != tc.want {
				t.Fatalf("result %+v, want outcome %s", r.Actions, tc.want)
			}
			if w.updateCalls() != 0 || w.keyStatus(t) != "Active" {
				t.Error("the key was changed")
			}
		})
	}
}
