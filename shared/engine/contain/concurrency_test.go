package contain

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// The interleavings below are forced by client wrappers: one run blocks at a chosen call until
// the other run reaches a point, or until gateWait passes. Without serialisation the other run
// gets there and the race happens; with the target lease it never can (it waits for the lease),
// so the blocked run goes on after gateWait and the runs happen one after the other.
const gateWait = 3 * time.Second

type gate struct {
	ch   chan struct{}
	once sync.Once
}

func newGate() *gate  { return &gate{ch: make(chan struct{})} }
func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }
func (g *gate) wait() (hit bool) {
	select {
	case <-g.ch:
		return true
	case <-time.After(gateWait):
		return false
	}
}

// hookSES calls before(op) ahead of the identity-policy calls.
type hookSES struct {
	SESAPI
	before func(op string)
}

func (h *hookSES) GetEmailIdentityPolicies(ctx context.Context, in *sesv2.GetEmailIdentityPoliciesInput, opts ...func(*sesv2.Options)) (*sesv2.GetEmailIdentityPoliciesOutput, error) {
	h.before("GetEmailIdentityPolicies")
	return h.SESAPI.GetEmailIdentityPolicies(ctx, in, opts...)
}

func (h *hookSES) CreateEmailIdentityPolicy(ctx context.Context, in *sesv2.CreateEmailIdentityPolicyInput, opts ...func(*sesv2.Options)) (*sesv2.CreateEmailIdentityPolicyOutput, error) {
	h.before("CreateEmailIdentityPolicy")
	return h.SESAPI.CreateEmailIdentityPolicy(ctx, in, opts...)
}

func (h *hookSES) UpdateEmailIdentityPolicy(ctx context.Context, in *sesv2.UpdateEmailIdentityPolicyInput, opts ...func(*sesv2.Options)) (*sesv2.UpdateEmailIdentityPolicyOutput, error) {
	h.before("UpdateEmailIdentityPolicy")
	return h.SESAPI.UpdateEmailIdentityPolicy(ctx, in, opts...)
}

func (h *hookSES) DeleteEmailIdentityPolicy(ctx context.Context, in *sesv2.DeleteEmailIdentityPolicyInput, opts ...func(*sesv2.Options)) (*sesv2.DeleteEmailIdentityPolicyOutput, error) {
	h.before("DeleteEmailIdentityPolicy")
	return h.SESAPI.DeleteEmailIdentityPolicy(ctx, in, opts...)
}

// hookIAM calls before(op) ahead of the key calls; a non-nil error is returned instead of calling.
type hookIAM struct {
	IAMAPI
	before func(op string) error
}

func (h *hookIAM) ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, opts ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error) {
	if err := h.before("ListAccessKeys"); err != nil {
		return nil, err
	}
	return h.IAMAPI.ListAccessKeys(ctx, in, opts...)
}

func (h *hookIAM) UpdateAccessKey(ctx context.Context, in *iam.UpdateAccessKeyInput, opts ...func(*iam.Options)) (*iam.UpdateAccessKeyOutput, error) {
	if err := h.before("UpdateAccessKey"); err != nil {
		return nil, err
	}
	return h.IAMAPI.UpdateAccessKey(ctx, in, opts...)
}

// accessDenied is a service's definite 403 (the call was rejected, nothing changed).
func accessDenied() error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusForbidden}},
		Err:      errors.New("AccessDenied: injected by the test"),
	}}
}

func fromFinding(id, from string) *finding.Finding {
	f := testFinding()
	f.ID, f.Rule, f.Evidence.From, f.Actions = id, "sender.from_unapproved", []string{from}, []string{ActionTightenIdentityPolicy}
	return f
}

func (e *testEnv) exec(actor string, iamAPI IAMAPI, sesAPI SESAPI) *Executor {
	ex := NewExecutor(Config{Mode: ModeEnforce, Actor: actor, MaxActionsPerHour: 1000}, iamAPI, sesAPI, e.ledger, nil)
	ex.Now = func() time.Time { return time.Date(2026, 11, 23, 19, 30, 0, 0, time.UTC) }
	return ex
}

func containOne(t *testing.T, ex *Executor, f *finding.Finding) finding.ActionResult {
	t.Helper()
	res, _, err := ex.Contain(context.Background(), f)
	if err != nil || len(res.Actions) != 1 {
		t.Errorf("Contain %s: %+v %v", f.ID, res, err)
		return finding.ActionResult{}
	}
	return res.Actions[0]
}

func sids(t *testing.T, e *testEnv, identity string) []string {
	t.Helper()
	doc, ok := identityPolicies(t, e, identity)[IdentityPolicyName]
	if !ok {
		return nil
	}
	_, stmts, err := splitPolicy(doc)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range stmts {
		out = append(out, fmt.Sprint(s.(map[string]any)["Sid"]))
	}
	slices.Sort(out)
	return out
}

// TestIdentityPolicyConcurrentTighten: two findings tighten one identity at once. A has read the
// policy and is about to write it while B reads, merges and writes. Both must end up in the
// policy, each row applied.
func TestIdentityPolicyConcurrentTighten(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const id = "mail.example.com"
	e.m.SeedIdentity(t, id, "")
	existing := `{"Version":"2012-10-17","Id":"sesguard-containment","Statement":[{"Sid":"Existing","Effect":"Deny","Principal":"*","Action":"ses:SendEmail","Resource":"*"}]}`
	if _, err := e.ses.CreateEmailIdentityPolicy(ctx, &sesv2.CreateEmailIdentityPolicyInput{EmailIdentity: aws.String(id), PolicyName: aws.String(IdentityPolicyName), Policy: aws.String(existing)}); err != nil {
		t.Fatal(err)
	}
	// A reads the policy twice (plan, apply) and is about to write when B reads it twice; B
	// writes its merge (from the same stale copy) after A has written and read back.
	aReadTwice, bReadTwice, aDone := newGate(), newGate(), newGate()
	var aReads, bReads atomic.Int32
	exA := e.exec("a", e.iam, &hookSES{SESAPI: e.ses, before: func(op string) {
		switch op {
		case "GetEmailIdentityPolicies":
			if aReads.Add(1) == 2 {
				aReadTwice.open()
			}
		case "UpdateEmailIdentityPolicy", "CreateEmailIdentityPolicy":
			bReadTwice.wait()
		}
	}})
	exB := e.exec("b", e.iam, &hookSES{SESAPI: e.ses, before: func(op string) {
		switch op {
		case "GetEmailIdentityPolicies":
			if bReads.Add(1) == 2 {
				bReadTwice.open()
			}
		case "UpdateEmailIdentityPolicy", "CreateEmailIdentityPolicy":
			aDone.wait()
		}
	}})
	fa, fb := fromFinding("f-a", "a@mail.example.com"), fromFinding("f-b", "b@mail.example.com")
	var ra, rb finding.ActionResult
	var wg sync.WaitGroup
	wg.Go(func() { ra = containOne(t, exA, fa); aDone.open() })
	aReadTwice.wait()
	wg.Go(func() { rb = containOne(t, exB, fb) })
	wg.Wait()
	if ra.Outcome != finding.OutcomeApplied || rb.Outcome != finding.OutcomeApplied {
		t.Fatalf("outcomes: a=%+v b=%+v", ra, rb)
	}
	want := []string{"Existing", StatementSid("f-a"), StatementSid("f-b")}
	slices.Sort(want)
	if got := sids(t, e, id); !slices.Equal(got, want) {
		t.Fatalf("statements = %v, want %v (a lost update: the ledger says applied for a statement that is gone)", got, want)
	}
}

// TestIdentityPolicyUndoRacesContain: the Undo of the only statement has decided to delete the
// policy when another finding merges its statement in; the delete must not take that with it.
func TestIdentityPolicyUndoRacesContain(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const id = "mail.example.com"
	e.m.SeedIdentity(t, id, "")
	ra := containOne(t, e.exec("a", e.iam, e.ses), fromFinding("f-a", "a@mail.example.com"))
	if ra.Outcome != finding.OutcomeApplied {
		t.Fatalf("contain a: %+v", ra)
	}
	undoRead, bWrote := newGate(), newGate()
	undo := e.exec("undo", e.iam, &hookSES{SESAPI: e.ses, before: func(op string) {
		switch op {
		case "GetEmailIdentityPolicies":
			undoRead.open()
		case "DeleteEmailIdentityPolicy":
			bWrote.wait()
		}
	}})
	exB := e.exec("b", e.iam, &hookSES{SESAPI: e.ses, before: func(op string) {
		if op == "UpdateEmailIdentityPolicy" || op == "CreateEmailIdentityPolicy" {
			defer bWrote.open()
		}
	}})
	var rr, rb finding.ActionResult
	var rerr error
	var wg sync.WaitGroup
	wg.Go(func() { rr, rerr = undo.Restore(ctx, ra.ActionID, "op") })
	undoRead.wait()
	wg.Go(func() { rb = containOne(t, exB, fromFinding("f-b", "b@mail.example.com")) })
	wg.Wait()
	if rerr != nil || rr.Outcome != finding.OutcomeRestored || rb.Outcome != finding.OutcomeApplied {
		t.Fatalf("restore a: %+v %v; contain b: %+v", rr, rerr, rb)
	}
	if got := sids(t, e, id); !slices.Equal(got, []string{StatementSid("f-b")}) {
		t.Fatalf("statements = %v, want only b's (the Undo deleted the whole policy)", got)
	}
}

// TestConcurrentRetriesKeepSteps: two retries of a failed deactivate_keys run at once. R1
// deactivates the first key and fails on the second; R2 read the row before R1 claimed it. The
// restore must reactivate both keys.
func TestConcurrentRetriesKeepSteps(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.m.SeedSMTPUser(t, "ses-smtp-user.retries")
	f := smtpFinding(u, ActionDeactivateKeys)
	// The first attempt is denied before changing anything: the row is failed.
	first := &hookIAM{IAMAPI: e.iam, before: func(op string) error {
		if op == "UpdateAccessKey" {
			return accessDenied()
		}
		return nil
	}}
	if a := containOne(t, e.exec("first", first, e.ses), f); a.Outcome != finding.OutcomeFailed {
		t.Fatalf("first attempt: %+v", a)
	}
	r2Listed, r1Done := newGate(), newGate()
	var r1Updates atomic.Int32
	r1 := &hookIAM{IAMAPI: e.iam, before: func(op string) error {
		switch op {
		case "ListAccessKeys":
			r2Listed.wait()
		case "UpdateAccessKey":
			if r1Updates.Add(1) == 2 {
				return accessDenied()
			}
		}
		return nil
	}}
	r2 := &hookIAM{IAMAPI: e.iam, before: func(op string) error {
		if op == "ListAccessKeys" {
			r2Listed.open()
			r1Done.wait()
		}
		return nil
	}}
	var wg sync.WaitGroup
	wg.Go(func() { containOne(t, e.exec("r1", r1, e.ses), f); r1Done.open() })
	wg.Go(func() { containOne(t, e.exec("r2", r2, e.ses), f) })
	wg.Wait()
	id := ActionID(f.ID, ActionDeactivateKeys, u.UserName)
	rec, err := e.ledger.Get(ctx, id)
	if err != nil || rec.Status != StatusApplied {
		t.Fatalf("row after the retries: %+v %v", rec, err)
	}
	if _, err := e.exec("op", e.iam, e.ses).Restore(ctx, id, "op"); err != nil {
		t.Fatal(err)
	}
	for k, st := range e.keyStatus(t, u.UserName) {
		if st != "Active" {
			t.Errorf("key %s is %s after restore: a retry overwrote the step that deactivated it", k, st)
		}
	}
}

// TestSharedContainmentHolders: a second finding on an already-contained user holds the
// containment too; restoring the first leaves it in place and says so; restoring the last
// puts the prior state back.
func TestSharedContainmentHolders(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.m.SeedSMTPUser(t, "ses-smtp-user.shared")
	ex := e.exec("t", e.iam, e.ses)
	fa, fb := smtpFinding(u, ActionDenySendPolicy), smtpFinding(u, ActionDenySendPolicy)
	fa.ID, fb.ID = "f-a", "f-b"
	a := containOne(t, ex, fa)
	b := containOne(t, ex, fb)
	if a.Outcome != finding.OutcomeApplied || b.Outcome != finding.OutcomeAlreadyContained || b.ActionID == "" || b.Restore == "" || !strings.Contains(b.Reason, a.ActionID) {
		t.Fatalf("a=%+v\nb=%+v", a, b)
	}
	ra, err := ex.Restore(ctx, a.ActionID, "op")
	if err != nil || ra.Outcome != finding.OutcomeRestored || !strings.Contains(ra.Reason, "left in place") || !strings.Contains(ra.Reason, b.ActionID) {
		t.Fatalf("restore a: %+v %v", ra, err)
	}
	if _, ok := policyDoc(t, e, u.UserName); !ok {
		t.Fatal("restoring finding a lifted the containment finding b holds")
	}
	if rb, err := ex.Restore(ctx, b.ActionID, "op"); err != nil || rb.Outcome != finding.OutcomeRestored {
		t.Fatalf("restore b: %+v %v", rb, err)
	}
	if _, ok := policyDoc(t, e, u.UserName); ok {
		t.Fatal("deny policy left after the last holder's restore")
	}
	for _, id := range []string{a.ActionID, b.ActionID} {
		if rec, err := e.ledger.Get(ctx, id); err != nil || rec.Status != StatusRestored {
			t.Fatalf("row %s = %+v %v", id, rec, err)
		}
	}
}

// TestRestoreRefusesDrift: an operator widened sesguard's statement; restore refuses (the row
// stays applied, the statement stays) until --force, which the row records.
func TestRestoreRefusesDrift(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const id = "mail.example.com"
	e.m.SeedIdentity(t, id, "")
	ex := e.exec("t", e.iam, e.ses)
	a := containOne(t, ex, fromFinding("f-a", "a@mail.example.com"))
	if a.Outcome != finding.OutcomeApplied {
		t.Fatalf("%+v", a)
	}
	doc := identityPolicies(t, e, id)[IdentityPolicyName]
	widened := strings.Replace(doc, `"a@mail.example.com"`, `"a@mail.example.com","b@mail.example.com"`, 1)
	if widened == doc {
		t.Fatalf("no address to widen in %s", doc)
	}
	if _, err := e.ses.UpdateEmailIdentityPolicy(ctx, &sesv2.UpdateEmailIdentityPolicyInput{EmailIdentity: aws.String(id), PolicyName: aws.String(IdentityPolicyName), Policy: aws.String(widened)}); err != nil {
		t.Fatal(err)
	}
	r, err := ex.Restore(ctx, a.ActionID, "op")
	if !errors.Is(err, ErrRefused) || r.Outcome != finding.OutcomeFailed || !strings.Contains(r.Error, "changed after containment") {
		t.Fatalf("restore over an operator's edit: %+v %v", r, err)
	}
	if got := identityPolicies(t, e, id)[IdentityPolicyName]; !sameJSON(got, widened) {
		t.Fatalf("policy after the refused restore = %s", got)
	}
	if rec, _ := e.ledger.Get(ctx, a.ActionID); rec.Status != StatusApplied {
		t.Fatalf("row = %s", rec.Status)
	}
	r, err = ex.RestoreWithOptions(ctx, a.ActionID, "cli:alice", RestoreOptions{Force: true})
	if err != nil || r.Outcome != finding.OutcomeRestored {
		t.Fatalf("forced restore: %+v %v", r, err)
	}
	if got := sids(t, e, id); len(got) != 0 {
		t.Fatalf("statements after the forced restore: %v", got)
	}
	if rec, _ := e.ledger.Get(ctx, a.ActionID); rec.Status != StatusRestored || rec.ForcedBy != "cli:alice" {
		t.Fatalf("row = %+v", rec)
	}
}

// TestUnrestorableRows: restores that can never succeed end in a terminal state, and a failed
// step does not make the row refuse forever over an operator's own policy of the same name.
func TestUnrestorableRows(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ex := e.exec("t", e.iam, e.ses)

	t.Run("configuration set deleted", func(t *testing.T) {
		e.m.SeedConfigurationSet(t, "doomed")
		f := testFinding()
		f.ID, f.Evidence.ConfigurationSet, f.Actions = "f-doomed", "doomed", []string{ActionPauseConfigurationSet}
		a := containOne(t, ex, f)
		if a.Outcome != finding.OutcomeApplied {
			t.Fatalf("%+v", a)
		}
		if _, err := e.ses.DeleteConfigurationSet(ctx, &sesv2.DeleteConfigurationSetInput{ConfigurationSetName: aws.String("doomed")}); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			e.resetWrites()
			r, err := ex.Restore(ctx, a.ActionID, "op")
			if !errors.Is(err, ErrGone) && i == 0 || err == nil || r.Outcome != finding.OutcomeUnrestorable || !strings.Contains(r.Error, "cannot be restored") || !strings.Contains(r.Error, "doomed") {
				t.Fatalf("restore %d: %+v %v", i+1, r, err)
			}
			rec, _ := e.ledger.Get(ctx, a.ActionID)
			if rec.Status != StatusUnrestorable || !strings.Contains(rec.Unrestorable, "doomed") || rec.RestoredBy != "op" {
				t.Fatalf("row after restore %d = %+v", i+1, rec)
			}
			if w := e.writeOps(); i == 1 && len(w) != 0 {
				t.Fatalf("a rerun on a terminal row wrote %v", w)
			}
		}
	})

	t.Run("key deleted", func(t *testing.T) {
		u := e.m.SeedSMTPUser(t, "ses-smtp-user.deleted-key")
		f := smtpFinding(u, ActionDeactivateKeys)
		f.ID = "f-deleted-key"
		a := containOne(t, ex, f)
		if a.Outcome != finding.OutcomeApplied {
			t.Fatalf("%+v", a)
		}
		if _, err := e.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(u.UserName), AccessKeyId: aws.String(u.KeyIDs[0])}); err != nil {
			t.Fatal(err)
		}
		r, err := ex.Restore(ctx, a.ActionID, "op")
		if !errors.Is(err, ErrGone) || r.Outcome != finding.OutcomeUnrestorable || !strings.Contains(r.Error, u.KeyIDs[0]) {
			t.Fatalf("%+v %v", r, err)
		}
		if st := e.keyStatus(t, u.UserName); st[u.KeyIDs[1]] != "Active" {
			t.Fatalf("the surviving key was not reactivated: %v", st)
		}
		if rec, _ := e.ledger.Get(ctx, a.ActionID); rec.Status != StatusUnrestorable || len(rec.RestoreChanges) != 2 {
			t.Fatalf("row = %+v", rec)
		}
	})

	t.Run("failed step, then the operator's own policy of the same name", func(t *testing.T) {
		u := e.m.SeedSMTPUser(t, "ses-smtp-user.operator-policy")
		f := smtpFinding(u, ActionDenySendPolicy)
		f.ID = "f-operator-policy"
		denied := &deniedPut{IAMAPI: e.iam}
		a := containOne(t, e.exec("t", denied, e.ses), f)
		if a.Outcome != finding.OutcomeFailed {
			t.Fatalf("%+v", a)
		}
		theirs := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ses:SendRawEmail","Resource":"*"}]}`
		if _, err := e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(u.UserName), PolicyName: aws.String(DenySendPolicyName), PolicyDocument: aws.String(theirs)}); err != nil {
			t.Fatal(err)
		}
		r, err := ex.Restore(ctx, a.ActionID, "op")
		if err != nil || r.Outcome != finding.OutcomeRestored || !strings.Contains(strings.Join(r.Changes, "\n"), "left in place") {
			t.Fatalf("restore: %+v %v", r, err)
		}
		if doc, ok := policyDoc(t, e, u.UserName); !ok || !sameJSON(doc, theirs) {
			t.Fatalf("the operator's policy = %q %v", doc, ok)
		}
	})
}

// deniedPut rejects PutUserPolicy with a definite 403.
type deniedPut struct{ IAMAPI }

func (d *deniedPut) PutUserPolicy(context.Context, *iam.PutUserPolicyInput, ...func(*iam.Options)) (*iam.PutUserPolicyOutput, error) {
	return nil, accessDenied()
}

// TestConcurrentContainRestoreInvariant: N findings about the same user, identity and
// configuration set are contained by N parallel executors; each finding's restorer undoes its
// rows as soon as its containment returns, while the others are still containing. After all
// restores every target is exactly as before the first containment, and every ledger row says
// restored.
func TestConcurrentContainRestoreInvariant(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const identity, set, n = "mail.example.com", "prod-outbound", 6
	e.m.SeedIdentity(t, identity, set)
	u := e.m.SeedSMTPUser(t, "ses-smtp-user.shared-by-all")
	other := `{"Version":"2012-10-17","Statement":[{"Sid":"Theirs","Effect":"Deny","Principal":"*","Action":"ses:SendEmail","Resource":"*"}]}`
	if _, err := e.ses.CreateEmailIdentityPolicy(ctx, &sesv2.CreateEmailIdentityPolicyInput{EmailIdentity: aws.String(identity), PolicyName: aws.String("theirs"), Policy: aws.String(other)}); err != nil {
		t.Fatal(err)
	}
	beforeKeys, beforePolicies := e.keyStatus(t, u.UserName), identityPolicies(t, e, identity)

	var mu sync.Mutex
	var ids []string
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			f := smtpFinding(u, ActionDeactivateKeys, ActionDenySendPolicy, ActionTightenIdentityPolicy, ActionPauseConfigurationSet)
			f.ID, f.Rule, f.Evidence.From = fmt.Sprintf("f-%d", i), "sender.from_unapproved", []string{fmt.Sprintf("x%d@mail.example.com", i)}
			ex := e.exec(fmt.Sprintf("run-%d", i), e.iam, e.ses)
			res, _, err := ex.Contain(ctx, f)
			if err != nil {
				t.Error(err)
				return
			}
			for _, a := range res.Actions {
				switch {
				case a.Outcome == finding.OutcomeFailed:
					t.Errorf("%s %s: %+v", f.ID, a.Action, a)
				case a.ActionID == "":
					t.Errorf("%s %s: %s with no ledger row to restore", f.ID, a.Action, a.Outcome)
				default:
					mu.Lock()
					ids = append(ids, a.ActionID)
					mu.Unlock()
					if r, err := e.exec(fmt.Sprintf("undo-%d", i), e.iam, e.ses).Restore(ctx, a.ActionID, "op"); err != nil || r.Outcome != finding.OutcomeRestored {
						t.Errorf("restore %s %s: %+v %v", f.ID, a.Action, r, err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(ids) != 4*n {
		t.Fatalf("%d ledger rows, want %d", len(ids), 4*n)
	}
	if got := e.keyStatus(t, u.UserName); !maps.Equal(got, beforeKeys) {
		t.Errorf("keys = %v, before = %v", got, beforeKeys)
	}
	if doc, ok := policyDoc(t, e, u.UserName); ok {
		t.Errorf("deny policy left: %s", doc)
	}
	if got := identityPolicies(t, e, identity); !maps.EqualFunc(got, beforePolicies, sameJSON) {
		t.Errorf("identity policies = %v, before = %v", got, beforePolicies)
	}
	if e.m.ConfigurationSetSendingPaused(set) {
		t.Error("configuration set left paused")
	}
	for _, id := range ids {
		if rec, err := e.ledger.Get(ctx, id); err != nil || rec.Status != StatusRestored {
			t.Errorf("row %s: %+v %v", id, rec, err)
		}
	}
}
