package contain

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

func outcomes(r *finding.Result) map[string]finding.ActionResult {
	m := map[string]finding.ActionResult{}
	for _, a := range r.Actions {
		m[a.Action] = a
	}
	return m
}

func mustContain(t *testing.T, ex *Executor, f *finding.Finding) (*finding.Result, []finding.Finding) {
	t.Helper()
	res, extra, err := ex.Contain(context.Background(), f)
	if err != nil {
		t.Fatalf("Contain: %v", err)
	}
	// The result is a valid findings-topic message.
	b, _ := json.Marshal(res)
	if _, r, err := finding.Decode(b); err != nil || r == nil {
		t.Fatalf("result does not decode: %v", err)
	}
	return res, extra
}

func TestExecutorEnforceIdempotentRestore(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.m.SeedSMTPUser(t, "ses-smtp-user.20260112-101500")
	f := smtpFinding(u, ActionDeactivateKeys, ActionDenySendPolicy)
	e.m.SeedKeyLastUsed(u.KeyIDs[0], "ses-smtp", "us-east-1", f.WindowStart.Add(time.Minute))
	ex := e.executor(Config{Mode: ModeEnforce, Actor: "test"})

	res, extra := mustContain(t, ex, f)
	if len(extra) != 0 || res.Mode != ModeEnforce || res.Actor != "test" {
		t.Fatalf("result = %+v extra=%v", res, extra)
	}
	got := outcomes(res)
	keys, deny := got[ActionDeactivateKeys], got[ActionDenySendPolicy]
	if keys.Outcome != finding.OutcomeApplied || deny.Outcome != finding.OutcomeApplied {
		t.Fatalf("outcomes = %+v", res.Actions)
	}
	if keys.Restore != "sesguard restore "+keys.ActionID || len(keys.Changes) != 1 || !strings.Contains(keys.Reason, u.KeyIDs[0]) {
		t.Fatalf("keys result = %+v", keys)
	}
	if st := e.keyStatus(t, u.UserName); st[u.KeyIDs[0]] != "Inactive" || st[u.KeyIDs[1]] != "Active" {
		t.Fatalf("keys = %v", st)
	}
	if _, ok := policyDoc(t, e, u.UserName); !ok {
		t.Fatal("deny policy missing")
	}
	rec, err := e.ledger.Get(ctx, keys.ActionID)
	if err != nil || rec.Status != StatusApplied || rec.FindingID != f.ID || rec.Actor != "test" || !strings.Contains(string(rec.Step.State), KeyRuleLastUsed) {
		t.Fatalf("ledger row = %+v, %v", rec, err)
	}

	// Idempotent: the same finding again changes nothing.
	e.resetWrites()
	res, _ = mustContain(t, ex, f)
	for _, a := range res.Actions {
		if a.Outcome != finding.OutcomeAlreadyContained || a.ActionID == "" {
			t.Fatalf("second apply: %+v", a)
		}
	}
	if w := e.writeOps(); len(w) != 0 {
		t.Fatalf("second apply wrote: %v", w)
	}

	// Restore each: exactly the prior state.
	for _, a := range []finding.ActionResult{keys, deny} {
		r, err := ex.Restore(ctx, a.ActionID, "operator")
		if err != nil || r.Outcome != finding.OutcomeRestored || len(r.Changes) == 0 {
			t.Fatalf("restore %s: %+v %v", a.Action, r, err)
		}
	}
	if st := e.keyStatus(t, u.UserName); st[u.KeyIDs[0]] != "Active" || st[u.KeyIDs[1]] != "Active" {
		t.Fatalf("keys after restore = %v", st)
	}
	if _, ok := policyDoc(t, e, u.UserName); ok {
		t.Fatal("deny policy left after restore")
	}
	rec, _ = e.ledger.Get(ctx, keys.ActionID)
	if rec.Status != StatusRestored || rec.RestoredBy != "operator" {
		t.Fatalf("ledger after restore = %+v", rec)
	}
	// Restore twice: nothing changes.
	e.resetWrites()
	if r, err := ex.Restore(ctx, keys.ActionID, "operator"); err != nil || r.Outcome != finding.OutcomeRestored || !strings.Contains(r.Reason, "already restored") {
		t.Fatalf("second restore: %+v %v", r, err)
	}
	// A redelivered finding does not undo the operator's restore.
	res, _ = mustContain(t, ex, f)
	if a := outcomes(res)[ActionDeactivateKeys]; a.Outcome != finding.OutcomeAlreadyContained || !strings.Contains(a.Reason, "restored") {
		t.Fatalf("after restore: %+v", a)
	}
	if w := e.writeOps(); len(w) != 0 {
		t.Fatalf("wrote after restore: %v", w)
	}
	if _, err := ex.Restore(ctx, "sg-nope", "operator"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("restore unknown: %v", err)
	}
}

func TestExecutorDryRunWritesNothing(t *testing.T) {
	e := newEnv(t)
	u := e.m.SeedSMTPUser(t, "ses-smtp-user.dry")
	e.m.SeedIdentity(t, "mail.example.com", "prod-outbound")
	// The five actions on the finding's own principal (the two for created identities are
	// tested in created_test.go).
	f := smtpFinding(u, ActionNames()[:5]...)
	var ledgerWrites []string
	var mu sync.Mutex
	e.m.Handle(func(_ http.ResponseWriter, r *http.Request) bool {
		if op := awstest.Operation(r); awstest.SigningService(r) == "dynamodb" && op != "GetItem" && op != "Query" && op != "Scan" {
			mu.Lock()
			ledgerWrites = append(ledgerWrites, op)
			mu.Unlock()
		}
		return false
	})
	e.resetWrites()
	res, extra := mustContain(t, e.executor(Config{}), f)
	mu.Lock()
	if len(ledgerWrites) != 0 {
		t.Errorf("dry-run wrote to the ledger table: %v", ledgerWrites)
	}
	mu.Unlock()
	if res.Mode != ModeDryRun || len(extra) != 0 || len(res.Actions) != 5 {
		t.Fatalf("result = %+v", res)
	}
	for _, a := range res.Actions {
		if a.Outcome != finding.OutcomePlanned || len(a.Changes) == 0 || a.ActionID == "" {
			t.Errorf("%s: %+v", a.Action, a)
		}
	}
	if w := e.writeOps(); len(w) != 0 {
		t.Fatalf("dry-run wrote: %v", w)
	}
	if _, err := e.ledger.Get(context.Background(), res.Actions[0].ActionID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("dry-run left a ledger row: %v", err)
	}
	if st := e.keyStatus(t, u.UserName); st[u.KeyIDs[0]] != "Active" || st[u.KeyIDs[1]] != "Active" {
		t.Fatalf("keys = %v", st)
	}
}

func TestExecutorProtectedPrincipal(t *testing.T) {
	e := newEnv(t)
	u := e.m.SeedSMTPUser(t, "break-glass-mailer")
	e.m.SeedIdentity(t, "mail.example.com", "prod-outbound")
	f := smtpFinding(u, ActionNames()...)
	e.resetWrites()
	res, _ := mustContain(t, e.executor(Config{Mode: ModeEnforce, Protected: []string{"break-glass-*"}}), f)
	for _, a := range res.Actions {
		if a.Outcome != finding.OutcomeSkippedProtected {
			t.Errorf("%s: %+v", a.Action, a)
		}
	}
	if w := e.writeOps(); len(w) != 0 {
		t.Fatalf("protected principal touched: %v", w)
	}
}

func TestExecutorConcurrentDuplicates(t *testing.T) {
	e := newEnv(t)
	f := testFinding()
	f.Actions = []string{ActionPauseAccount}
	ex := e.executor(Config{Mode: ModeEnforce})
	e.resetWrites()
	const n = 8
	results := make([]*finding.Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _, err := ex.Contain(context.Background(), f)
			if err != nil {
				t.Errorf("Contain: %v", err)
				return
			}
			results[i] = r
		}()
	}
	wg.Wait()
	applied := 0
	for _, r := range results {
		if r == nil {
			t.Fatal("missing result")
		}
		switch o := r.Actions[0].Outcome; o {
		case finding.OutcomeApplied:
			applied++
		case finding.OutcomeAlreadyContained:
		default:
			t.Fatalf("outcome %s: %+v", o, r.Actions[0])
		}
	}
	pauses := 0
	for _, w := range e.writeOps() {
		if w == "ses PUT /v2/email/account/sending" {
			pauses++
		}
	}
	if applied != 1 || pauses != 1 || !e.m.AccountSendingPaused() {
		t.Fatalf("applied=%d pause calls=%d paused=%v", applied, pauses, e.m.AccountSendingPaused())
	}
}

func TestExecutorRateCap(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.m.SeedSMTPUser(t, "ses-smtp-user.a")
	b := e.m.SeedSMTPUser(t, "ses-smtp-user.b")
	fa, fb := smtpFinding(a, ActionDenySendPolicy), smtpFinding(b, ActionDenySendPolicy)
	fb.ID = "f-b"
	ex := e.executor(Config{Mode: ModeEnforce, MaxActionsPerHour: 1})

	if res, _ := mustContain(t, ex, fa); res.Actions[0].Outcome != finding.OutcomeApplied {
		t.Fatalf("first: %+v", res.Actions[0])
	}
	// Dry-run already tells that the next one would be capped.
	dry := e.executor(Config{MaxActionsPerHour: 1})
	if res, _ := mustContain(t, dry, fb); res.Actions[0].Outcome != finding.OutcomeRateCapped {
		t.Fatalf("dry-run over the cap: %+v", res.Actions[0])
	}
	res, extra := mustContain(t, ex, fb)
	ar := res.Actions[0]
	if ar.Outcome != finding.OutcomeRateCapped || ar.Restore != "" {
		t.Fatalf("second: %+v", ar)
	}
	if len(extra) != 1 || extra[0].Rule != RuleRateCapped || extra[0].Schema != finding.SchemaFinding || !strings.Contains(extra[0].Evidence.Detail, "f-b") {
		t.Fatalf("rate-capped finding = %+v", extra)
	}
	if _, ok := policyDoc(t, e, b.UserName); ok {
		t.Fatal("capped action was applied")
	}
	if rec, err := e.ledger.Get(ctx, ar.ActionID); err != nil || rec.Status != StatusRateCapped {
		t.Fatalf("ledger = %+v %v", rec, err)
	}
	if _, err := ex.Restore(ctx, ar.ActionID, "op"); err == nil {
		t.Fatal("restore of a capped action succeeded")
	}
	// With room under the cap, the same finding is applied on redelivery.
	ex.Config.MaxActionsPerHour = 5
	if res, _ := mustContain(t, ex, fb); res.Actions[0].Outcome != finding.OutcomeApplied {
		t.Fatalf("after raising the cap: %+v", res.Actions[0])
	}
	if used, err := e.ledger.RateUsed(ctx, ex.Now()); err != nil || used != 2 {
		t.Fatalf("rate used = %d %v", used, err)
	}
}

func TestExecutorFaults(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.m.SeedIdentity(t, "mail.example.com", "prod-outbound")

	t.Run("throttling is retried, then applied", func(t *testing.T) {
		u := e.m.SeedSMTPUser(t, "ses-smtp-user.throttle")
		r := e.m.Fault(awstest.Fault{Service: "iam", Operation: "UpdateAccessKey", Kind: awstest.FaultThrottle, Times: 2})
		defer e.m.ClearFaults()
		f := smtpFinding(u, ActionDeactivateKeys)
		f.ID = "f-throttle"
		res, _ := mustContain(t, e.executor(Config{Mode: ModeEnforce}), f)
		if a := res.Actions[0]; a.Outcome != finding.OutcomeApplied || r.Hits() != 2 {
			t.Fatalf("%+v hits=%d", a, r.Hits())
		}
	})

	t.Run("access denied: failed, reported, row failed with prior state, retry applies", func(t *testing.T) {
		u := e.m.SeedSMTPUser(t, "ses-smtp-user.denied")
		r := e.m.Fault(awstest.Fault{Service: "iam", Operation: "PutUserPolicy", Kind: awstest.FaultAccessDenied})
		f := smtpFinding(u, ActionDenySendPolicy)
		f.ID = "f-denied"
		ex := e.executor(Config{Mode: ModeEnforce})
		res, _ := mustContain(t, ex, f)
		a := res.Actions[0]
		if a.Outcome != finding.OutcomeFailed || !strings.Contains(a.Error, "AccessDenied") || !res.Failed() || r.Hits() != 1 {
			t.Fatalf("%+v hits=%d", a, r.Hits())
		}
		rec, err := e.ledger.Get(ctx, a.ActionID)
		if err != nil || rec.Status != StatusFailed || !strings.Contains(rec.Error, "AccessDenied") || len(rec.Step.State) == 0 {
			t.Fatalf("ledger = %+v %v", rec, err)
		}
		if _, ok := policyDoc(t, e, u.UserName); ok {
			t.Fatal("policy written despite AccessDenied")
		}
		e.m.ClearFaults()
		res, _ = mustContain(t, ex, f)
		if a := res.Actions[0]; a.Outcome != finding.OutcomeApplied {
			t.Fatalf("retry: %+v", a)
		}
	})

	t.Run("5xx on every attempt: failed after the SDK's retries, nothing paused", func(t *testing.T) {
		r := e.m.Fault(awstest.Fault{Service: "ses", Operation: "PUT /v2/email/configuration-sets/*/sending", Kind: awstest.FaultServerError})
		defer e.m.ClearFaults()
		f := testFinding()
		f.ID, f.Actions = "f-5xx", []string{ActionPauseConfigurationSet}
		res, _ := mustContain(t, e.executor(Config{Mode: ModeEnforce}), f)
		a := res.Actions[0]
		if a.Outcome != finding.OutcomeFailed || r.Hits() != 3 || e.m.ConfigurationSetSendingPaused("prod-outbound") {
			t.Fatalf("%+v hits=%d", a, r.Hits())
		}
		if rec, err := e.ledger.Get(ctx, a.ActionID); err != nil || rec.Status != StatusFailed {
			t.Fatalf("ledger = %+v %v", rec, err)
		}
	})

	t.Run("ledger unavailable: failed before any change", func(t *testing.T) {
		u := e.m.SeedSMTPUser(t, "ses-smtp-user.ledger")
		e.m.Fault(awstest.Fault{Service: "dynamodb", Operation: "PutItem", Kind: awstest.FaultServerError})
		defer e.m.ClearFaults()
		f := smtpFinding(u, ActionDeactivateKeys)
		f.ID = "f-ledger"
		e.resetWrites()
		res, _ := mustContain(t, e.executor(Config{Mode: ModeEnforce}), f)
		if a := res.Actions[0]; a.Outcome != finding.OutcomeFailed || !strings.Contains(a.Error, "ledger") {
			t.Fatalf("%+v", a)
		}
		if w := e.writeOps(); len(w) != 0 {
			t.Fatalf("changed AWS without a ledger row: %v", w)
		}
	})

	t.Run("timeouts: failed, nothing applied", func(t *testing.T) {
		e.m.Fault(awstest.Fault{Service: "ses", Operation: "PUT /v2/email/account/sending", Kind: awstest.FaultDelay, Delay: 3 * time.Second})
		defer e.m.ClearFaults()
		cfg := e.m.ConfigFastRetry(t, 2)
		cfg.HTTPClient = &http.Client{Timeout: 150 * time.Millisecond}
		ex := NewExecutor(Config{Mode: ModeEnforce}, e.iam, sesv2.NewFromConfig(cfg), e.ledger, nil)
		f := testFinding()
		f.ID, f.Actions = "f-timeout", []string{ActionPauseAccount}
		res, _ := mustContain(t, ex, f)
		if a := res.Actions[0]; a.Outcome != finding.OutcomeFailed || e.m.AccountSendingPaused() {
			t.Fatalf("%+v paused=%v", a, e.m.AccountSendingPaused())
		}
	})

	t.Run("partial apply then retry: restore undoes both attempts", func(t *testing.T) {
		u := e.m.SeedSMTPUser(t, "ses-smtp-user.partial")
		// The second key update of the run is denied, the first goes through.
		var mu sync.Mutex
		calls := 0
		e.m.Fault(awstest.Fault{Service: "iam", Operation: "UpdateAccessKey", Kind: awstest.FaultAccessDenied,
			Match: func(r *http.Request) bool {
				mu.Lock()
				defer mu.Unlock()
				calls++
				return calls == 2
			}})
		f := smtpFinding(u, ActionDeactivateKeys)
		f.ID = "f-partial"
		ex := e.executor(Config{Mode: ModeEnforce})
		res, _ := mustContain(t, ex, f)
		a := res.Actions[0]
		if a.Outcome != finding.OutcomeFailed || a.Restore == "" || !strings.Contains(a.Error, "1 of 2 keys done") {
			t.Fatalf("%+v", a)
		}
		if st := e.keyStatus(t, u.UserName); (st[u.KeyIDs[0]] == "Inactive") == (st[u.KeyIDs[1]] == "Inactive") {
			t.Fatalf("want exactly one key deactivated: %v", st)
		}
		e.m.ClearFaults()
		res, _ = mustContain(t, ex, f)
		if a := res.Actions[0]; a.Outcome != finding.OutcomeApplied || len(a.Changes) != 1 {
			t.Fatalf("retry: %+v", a)
		}
		if _, err := ex.Restore(ctx, a.ActionID, "op"); err != nil {
			t.Fatal(err)
		}
		if st := e.keyStatus(t, u.UserName); st[u.KeyIDs[0]] != "Active" || st[u.KeyIDs[1]] != "Active" {
			t.Fatalf("keys after restore = %v", st)
		}
	})
}

func TestExecutorRestoreIdentityPolicyAndPause(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.m.SeedIdentity(t, "mail.example.com", "prod-outbound")
	f := testFinding()
	f.Rule, f.Actions = "sender.from_unapproved", []string{ActionTightenIdentityPolicy, ActionPauseConfigurationSet}
	ex := e.executor(Config{Mode: ModeEnforce})
	res, _ := mustContain(t, ex, f)
	for _, a := range res.Actions {
		if a.Outcome != finding.OutcomeApplied {
			t.Fatalf("%+v", a)
		}
		if _, err := ex.Restore(ctx, a.ActionID, "op"); err != nil {
			t.Fatalf("restore %s: %v", a.Action, err)
		}
	}
	if pol := identityPolicies(t, e, "mail.example.com"); len(pol) != 0 {
		t.Fatalf("policies left: %v", pol)
	}
	cs, err := e.ses.GetConfigurationSet(ctx, &sesv2.GetConfigurationSetInput{ConfigurationSetName: aws.String("prod-outbound")})
	if err != nil || !cs.SendingOptions.SendingEnabled {
		t.Fatalf("set after restore: %+v %v", cs, err)
	}
}

// TestRestorePendingRow: a row another run is applying right now is not restored under it (the
// change would stay with the row saying restored); a stale pending row (the run died) is.
func TestRestorePendingRow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.m.SeedSMTPUser(t, "ses-smtp-user.pending")
	f := smtpFinding(u, ActionDeactivateKeys)
	ex := e.executor(Config{Mode: ModeEnforce, Actor: "other-run"})
	in, err := Plan(f, &ex.Config)
	if err != nil || len(in) != 1 {
		t.Fatalf("plan: %v %v", in, err)
	}
	step, err := ex.Actions[ActionDeactivateKeys].Plan(ctx, in[0].Target)
	if err != nil {
		t.Fatal(err)
	}
	id := ActionID(f.ID, ActionDeactivateKeys, u.UserName)
	now := ex.now()
	rec := &Record{ActionID: id, FindingID: f.ID, Rule: f.Rule, Action: ActionDeactivateKeys, Target: u.UserName, Actor: "other-run",
		Status: StatusPending, Created: now, Updated: now.Add(-time.Minute), Step: step}
	if ok, _, err := e.ledger.Claim(ctx, rec); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	// The other run deactivates the keys.
	if err := ex.Actions[ActionDeactivateKeys].Apply(ctx, step); err != nil {
		t.Fatal(err)
	}
	e.resetWrites()
	ar, err := ex.Restore(ctx, id, "op")
	if err == nil || ar.Outcome != finding.OutcomeFailed || !strings.Contains(err.Error(), "being applied") {
		t.Fatalf("restore of a fresh pending row: %+v %v", ar, err)
	}
	if w := e.writeOps(); len(w) != 0 {
		t.Fatalf("restore of a fresh pending row wrote %v", w)
	}
	if got, _ := e.ledger.Get(ctx, id); got.Status != StatusPending {
		t.Fatalf("row = %s", got.Status)
	}
	// The run died: after staleAfter the operator can restore.
	ex.Now = func() time.Time { return now.Add(staleAfter + time.Minute) }
	if ar, err := ex.Restore(ctx, id, "op"); err != nil || ar.Outcome != finding.OutcomeRestored {
		t.Fatalf("restore of a stale pending row: %+v %v", ar, err)
	}
	for k, st := range e.keyStatus(t, u.UserName) {
		if st != "Active" {
			t.Errorf("key %s = %s after restore", k, st)
		}
	}
}

// TestExecutorDeadlineStillRecorded: the caller's deadline runs out while a key update hangs;
// the action is failed and the ledger row says failed (with the prior state), not pending.
func TestExecutorDeadlineStillRecorded(t *testing.T) {
	e := newEnv(t)
	u := e.m.SeedSMTPUser(t, "ses-smtp-user.deadline")
	e.m.Fault(awstest.Fault{Service: "iam", Operation: "UpdateAccessKey", Kind: awstest.FaultDelay, Delay: 6 * time.Second})
	defer e.m.ClearFaults()
	f := smtpFinding(u, ActionDeactivateKeys)
	ex := e.executor(Config{Mode: ModeEnforce})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, _, err := ex.Contain(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("Contain returned after the caller's deadline: a Lambda is killed there, before the ledger write")
	}
	a := res.Actions[0]
	if a.Outcome != finding.OutcomeFailed || a.Restore == "" {
		t.Fatalf("%+v", a)
	}
	rec, err := e.ledger.Get(context.Background(), a.ActionID)
	if err != nil || rec.Status != StatusFailed || !strings.Contains(rec.Error, "deadline") || len(rec.Step.State) == 0 {
		t.Fatalf("ledger row = %+v, %v", rec, err)
	}
}

// TestExecutorRetryRestoresOnlyWhatChanged: the first attempt is denied before changing any key;
// the operator then deactivates the other key themselves; the retry deactivates the first.
// Restore reactivates only the key sesguard deactivated, not the operator's.
func TestExecutorRetryRestoresOnlyWhatChanged(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.m.SeedSMTPUser(t, "ses-smtp-user.retry")
	f := smtpFinding(u, ActionDeactivateKeys)
	ex := e.executor(Config{Mode: ModeEnforce})
	in, _ := Plan(f, &ex.Config)
	planned, err := ex.Actions[ActionDeactivateKeys].Plan(ctx, in[0].Target)
	if err != nil {
		t.Fatal(err)
	}
	var st keysState
	if err := json.Unmarshal(planned.State, &st); err != nil || len(st.Keys) != 2 {
		t.Fatalf("planned %s %v", planned.State, err)
	}
	first, second := st.Keys[0], st.Keys[1]

	e.m.Fault(awstest.Fault{Service: "iam", Operation: "UpdateAccessKey", Kind: awstest.FaultAccessDenied, Times: 1})
	res, _ := mustContain(t, ex, f)
	if a := res.Actions[0]; a.Outcome != finding.OutcomeFailed || !strings.Contains(a.Error, "0 of 2 keys done") {
		t.Fatalf("first attempt: %+v", a)
	}
	e.m.ClearFaults()
	e.setKey(t, u.UserName, second, "Inactive") // the operator, in between
	res, _ = mustContain(t, ex, f)
	a := res.Actions[0]
	if a.Outcome != finding.OutcomeApplied || len(a.Changes) != 1 || !strings.Contains(a.Changes[0], first) {
		t.Fatalf("retry: %+v", a)
	}
	if _, err := ex.Restore(ctx, a.ActionID, "op"); err != nil {
		t.Fatal(err)
	}
	if st := e.keyStatus(t, u.UserName); st[first] != "Active" || st[second] != "Inactive" {
		t.Fatalf("after restore = %v, want %s Active (ours) and %s Inactive (the operator's)", st, first, second)
	}
}

// TestLedgerRateWindow: the cap holds over any 60 minutes, not per clock hour (a burst across
// the hour boundary must not get twice the cap), and concurrent executors share it exactly.
func TestLedgerRateWindow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, time.UTC) }
	for _, step := range []struct {
		now  time.Time
		want bool
	}{
		{at(10, 58), true},
		{at(10, 59), true},
		{at(11, 1), false}, // a new clock hour, but 2 in the last 60 minutes
		{at(11, 58), true}, // 10:58 has left the window
		{at(11, 58), false},
		{at(12, 0), true}, // 10:59 left too
	} {
		ok, err := e.ledger.TakeSlot(ctx, step.now, 2)
		if err != nil || ok != step.want {
			t.Fatalf("TakeSlot at %s = %v, %v; want %v", step.now.Format("15:04"), ok, err, step.want)
		}
	}
	if used, err := e.ledger.RateUsed(ctx, at(12, 0)); err != nil || used != 2 {
		t.Fatalf("RateUsed = %d %v", used, err)
	}

	const n, max = 8, 5 // 2 used at 12:00 (11:58, 12:00): 3 left
	var granted atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := e.ledger.TakeSlot(ctx, at(12, 1), max)
			if err != nil {
				t.Error(err)
			}
			if ok {
				granted.Add(1)
			}
		}()
	}
	wg.Wait()
	if g := granted.Load(); g != 3 {
		t.Fatalf("concurrent: granted %d slots, want 3", g)
	}
}
