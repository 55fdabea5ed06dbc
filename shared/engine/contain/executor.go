package contain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// staleAfter is how long a pending ledger row may stay pending before a rerun reports it as a
// failure (the run that wrote it crashed or timed out between claim and result).
const staleAfter = 15 * time.Minute

// actionTimeout bounds one action (plan, apply and ledger writes, with the SDK's retries).
const actionTimeout = 2 * time.Minute

// Executor runs containment for findings: plan, then (enforce) claim, rate slot, apply, record.
type Executor struct {
	Config  Config
	Actions map[string]Action
	// Ledger is required in enforce mode; in dry-run it is optional and only read.
	Ledger *Ledger
	Now    func() time.Time
	Log    *slog.Logger
}

// DefaultActions registers the five actions on the given clients.
func DefaultActions(iamAPI IAMAPI, sesAPI SESAPI) map[string]Action {
	acts := []Action{
		&DeactivateKeys{IAM: iamAPI},
		&DenySend{IAM: iamAPI},
		&TightenIdentityPolicy{SES: sesAPI},
		&PauseConfigurationSet{SES: sesAPI},
		&PauseAccount{SES: sesAPI},
		&DenyAll{IAM: iamAPI},
	}
	lp, _ := iamAPI.(LoginProfileAPI) // nil: the action fails with a clear error when planned
	acts = append(acts, &DeleteLoginProfile{IAM: lp})
	m := make(map[string]Action, len(acts))
	for _, a := range acts {
		m[a.Name()] = a
	}
	return m
}

// NewExecutor builds an executor with the default actions.
func NewExecutor(cfg Config, iamAPI IAMAPI, sesAPI SESAPI, ledger *Ledger, log *slog.Logger) *Executor {
	return &Executor{Config: cfg, Actions: DefaultActions(iamAPI, sesAPI), Ledger: ledger, Now: time.Now, Log: log}
}

func (e *Executor) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

func (e *Executor) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.NewJSONHandler(io.Discard, nil))
}

// RestoreCommand is the CLI command that undoes an action.
func RestoreCommand(actionID string) string { return "sesguard restore " + actionID }

// Contain plans and (in enforce mode) applies containment for f. It returns the Result (one
// ActionResult per planned action, failures included) and extra findings to publish: a
// containment.rate_capped finding when the hourly cap stopped an action. The error is only for a
// finding or configuration that cannot be worked on at all.
func (e *Executor) Contain(ctx context.Context, f *finding.Finding) (*finding.Result, []finding.Finding, error) {
	return e.ContainWith(ctx, f, ContainOptions{})
}

// ContainOptions narrow and attribute one containment run.
type ContainOptions struct {
	// Only restricts the run to these action ids: the plan a human approved. A planned action
	// not listed (the policy gained an action since) is reported skipped, never applied. nil
	// means every planned action.
	Only []string
	// Approver is recorded in the ledger row of every action of the run and in the actor.
	Approver *Approver
}

// ContainWith is Contain with options; the ledger, the protected principals and the hourly cap
// apply exactly as in Contain.
func (e *Executor) ContainWith(ctx context.Context, f *finding.Finding, opts ContainOptions) (*finding.Result, []finding.Finding, error) {
	if err := e.Config.Validate(); err != nil {
		return nil, nil, err
	}
	if e.Config.Enforcing() && e.Ledger == nil {
		return nil, nil, errors.New("contain: enforce mode needs a ledger table")
	}
	intents, err := Plan(f, &e.Config)
	if err != nil {
		return nil, nil, err
	}
	now := e.now()
	mode := ModeDryRun
	if e.Config.Enforcing() {
		mode = ModeEnforce
	}
	actor := e.Config.Actor
	if opts.Approver != nil {
		actor = opts.Approver.Actor() + " via " + e.Config.Actor
	}
	res := &finding.Result{
		Schema: finding.SchemaResult, FindingID: f.ID, Rule: f.Rule, Severity: f.Severity, Account: f.Account,
		Region: f.Region, Principal: f.Principal, SourceIP: f.SourceIP, Mode: mode, Actor: actor, Time: now,
		Actions: []finding.ActionResult{}, ProducerVersion: finding.ProducerVersion(),
	}
	var extra []finding.Finding
	planned := 0 // dry-run: changes the cap would count
	for _, in := range intents {
		id := ActionID(f.ID, in.Target.Action, in.Target.Name())
		ar := finding.ActionResult{ActionID: id, Action: in.Target.Action, Target: in.Target.Name()}
		if !in.Run() {
			ar.ActionID, ar.Outcome, ar.Reason = "", in.Outcome, in.Reason
			res.Actions = append(res.Actions, ar)
			continue
		}
		if opts.Only != nil && !slices.Contains(opts.Only, id) {
			ar.ActionID, ar.Outcome, ar.Reason = "", finding.OutcomeSkipped, "not in the approved plan (the policy changed since it was shown)"
			res.Actions = append(res.Actions, ar)
			continue
		}
		actx, cancel := actionContext(ctx)
		if e.Config.Enforcing() {
			var capped bool
			ar, capped = e.enforce(actx, f, in, ar, now, actor, opts.Approver)
			if capped {
				extra = append(extra, rateCappedFinding(f, in.Target, id, e.Config.maxPerHour(), now))
			}
		} else {
			ar = e.dryRun(actx, in, ar, now, &planned)
		}
		cancel()
		e.log().Info("containment action", "finding", f.ID, "action", ar.Action, "target", ar.Target,
			"outcome", ar.Outcome, "action_id", ar.ActionID, "mode", mode, "error", ar.Error)
		res.Actions = append(res.Actions, ar)
	}
	return res, extra, nil
}

func (e *Executor) action(name string) (Action, error) {
	a, ok := e.Actions[name]
	if !ok {
		return nil, fmt.Errorf("no action registered for %q", name)
	}
	return a, nil
}

func (e *Executor) dryRun(ctx context.Context, in Intent, ar finding.ActionResult, now time.Time, planned *int) finding.ActionResult {
	if e.Ledger != nil {
		if rec, err := e.Ledger.Get(ctx, ar.ActionID); err == nil && rec.Status != StatusFailed && rec.Status != StatusRateCapped {
			ar.Outcome, ar.Reason = finding.OutcomeAlreadyContained, ledgerReason(rec)
			return ar
		}
	}
	a, err := e.action(in.Target.Action)
	if err != nil {
		return failed(ar, err)
	}
	step, err := a.Plan(ctx, in.Target)
	if err != nil {
		return failed(ar, err)
	}
	ar.Target, ar.Reason = step.Target, step.Reason
	switch {
	case step.Skip:
		ar.ActionID, ar.Outcome = "", finding.OutcomeSkipped
		return ar
	case step.Noop:
		ar.ActionID, ar.Outcome = "", finding.OutcomeAlreadyContained
		return ar
	}
	ar.Outcome, ar.Changes = finding.OutcomePlanned, step.Changes
	*planned++
	if e.Ledger != nil {
		used, err := e.Ledger.RateUsed(ctx, now)
		if err == nil && used+*planned > e.Config.maxPerHour() {
			ar.Outcome = finding.OutcomeRateCapped
			ar.Reason = joinReason(ar.Reason, fmt.Sprintf("would exceed max_actions_per_hour=%d (%d used in the last 60 minutes)", e.Config.maxPerHour(), used))
		}
	} else if *planned > e.Config.maxPerHour() {
		ar.Outcome = finding.OutcomeRateCapped
		ar.Reason = joinReason(ar.Reason, fmt.Sprintf("would exceed max_actions_per_hour=%d", e.Config.maxPerHour()))
	}
	return ar
}

// enforce runs one action: ledger check, plan, claim (pending row with the prior state), rate
// slot, apply, final status. It reports capped=true when the hourly cap stopped it.
func (e *Executor) enforce(ctx context.Context, f *finding.Finding, in Intent, ar finding.ActionResult, now time.Time, actor string, approver *Approver) (finding.ActionResult, bool) {
	// Everything below, from reading the ledger row to recording the outcome, runs under the
	// target's lease: another finding's containment or restore of the same target waits.
	key := targetKey(in.Target.Action, in.Target.Name())
	release, err := e.Ledger.Lease(ctx, key, actor)
	if err != nil {
		return failed(ar, err), false
	}
	defer release()
	rec, err := e.Ledger.Get(ctx, ar.ActionID)
	var earlier, inherited []Step
	var rev int64
	switch {
	case errors.Is(err, ErrNotFound):
		rec = nil
	case err != nil:
		return failed(ar, err), false
	default:
		if r, done := existingOutcome(ar, rec, now); done {
			return r, false
		}
		earlier, inherited, rev = rec.Earlier, rec.Inherited, rec.Rev
		if rec.Status == StatusFailed {
			earlier = append(append([]Step(nil), rec.Earlier...), rec.Step)
		}
	}
	a, err := e.action(in.Target.Action)
	if err != nil {
		return failed(ar, err), false
	}
	step, err := a.Plan(ctx, in.Target)
	if err != nil {
		return failed(ar, err), false
	}
	// The plan resolved the target (an identity's default configuration set): lease that too,
	// since restores and other findings name it directly, and plan again under it.
	hkey := targetKey(step.Action, step.Target)
	if !step.Skip && hkey != key {
		rel2, err := e.Ledger.Lease(ctx, hkey, actor)
		if err != nil {
			return failed(ar, err), false
		}
		defer rel2()
		if step, err = a.Plan(ctx, in.Target); err != nil {
			return failed(ar, err), false
		}
		hkey = targetKey(step.Action, step.Target)
	}
	ar.Target, ar.Reason = step.Target, step.Reason
	switch {
	case step.Skip:
		ar.ActionID, ar.Outcome = "", finding.OutcomeSkipped
		return ar, false
	case step.Noop:
		ar.Outcome = finding.OutcomeAlreadyContained
		if rec != nil && rec.Status == StatusFailed {
			// An earlier attempt failed as far as it knows, yet the target is contained (e.g. the
			// call timed out after AWS applied it): keep pointing at its row for restore.
			ar.Restore = RestoreCommand(ar.ActionID)
			ar.Reason = joinReason(ar.Reason, "earlier attempt recorded as failed: "+rec.Error)
			return ar, false
		}
		if sharedTarget(step.Action) {
			holders, _, err := e.Ledger.Holders(ctx, hkey)
			if err != nil {
				return failed(ar, err), false
			}
			if len(holders) > 0 {
				return e.join(ctx, f, ar, step, hkey, holders, rev, now, actor, approver), false
			}
		}
		// Contained by someone or something else: nothing to record, nothing to restore.
		ar.ActionID = ""
		return ar, false
	}
	r := &Record{
		ActionID: ar.ActionID, FindingID: f.ID, Rule: f.Rule, Action: step.Action, Target: step.Target,
		Actor: actor, Status: StatusPending, Created: now, Updated: now, Step: step, Earlier: earlier, Inherited: inherited,
		Rev: rev, ApprovedBy: approver,
	}
	claimed, other, err := e.Ledger.Claim(ctx, r)
	if err != nil {
		return failed(ar, err), false
	}
	if !claimed {
		ar.Outcome, ar.Reason = finding.OutcomeAlreadyContained, "concurrent duplicate: "+ledgerReason(other)
		return ar, false
	}
	ar.Restore = RestoreCommand(ar.ActionID)
	ok, err := e.Ledger.TakeSlot(ctx, now, e.Config.maxPerHour())
	if err != nil || !ok {
		next := *r
		next.Updated = e.now()
		if err != nil {
			next.Status, next.Error = StatusFailed, err.Error()
		} else {
			next.Status = StatusRateCapped
		}
		if terr := e.record(ctx, StatusPending, &next); terr != nil {
			err = errors.Join(err, terr)
		}
		ar.Restore = ""
		if err != nil {
			return failed(ar, err), false
		}
		ar.Outcome = finding.OutcomeRateCapped
		ar.Reason = joinReason(ar.Reason, fmt.Sprintf("max_actions_per_hour=%d reached: not applied", e.Config.maxPerHour()))
		return ar, true
	}
	applyErr := a.Apply(ctx, step)
	next := *r
	next.Updated = e.now()
	next.Status = StatusApplied
	if applyErr != nil {
		next.Status, next.Error = StatusFailed, applyErr.Error()
		var pa *partialApplyError
		if errors.As(applyErr, &pa) {
			next.Step = pa.Step
		}
		next.Step.Unconfirmed = true
	}
	terr := e.record(ctx, StatusPending, &next)
	if terr == nil && sharedTarget(step.Action) {
		// Applied or failed part-way: either way this row may hold a change on the target.
		terr = e.hold(ctx, hkey, ar.ActionID, true)
	}
	ar.Changes = step.Changes
	switch {
	case applyErr != nil:
		// The row keeps the prior state: `sesguard restore` undoes whatever part was applied.
		return failed(ar, errors.Join(applyErr, terr)), false
	case terr != nil:
		return failed(ar, fmt.Errorf("applied, but the ledger row stays pending: %w", terr)), false
	}
	ar.Outcome = finding.OutcomeApplied
	return ar, false
}

// recordTimeout bounds the ledger write that records what already happened.
const recordTimeout = 30 * time.Second

// recordReserve is kept back from the caller's deadline (up to a third of the time left) so the
// final ledger write happens before it: a Lambda is killed at its deadline, and a row left
// pending by a killed run would read as "being applied" to the redelivered message.
const recordReserve = 5 * time.Second

// actionContext bounds one action by actionTimeout and by the caller's deadline minus the
// record reserve.
func actionContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d := time.Now().Add(actionTimeout)
	if cd, ok := ctx.Deadline(); ok {
		reserve := min(recordReserve, time.Until(cd)/3)
		if end := cd.Add(-reserve); end.Before(d) {
			d = end
		}
	}
	return context.WithDeadline(ctx, d)
}

// record moves a row to its final status on a context detached from ctx's deadline and
// cancellation: when the action's budget (or the caller's) ran out during Apply or Restore, the
// outcome must still reach the ledger rather than leave the row pending.
func (e *Executor) record(ctx context.Context, from Status, r *Record) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	return e.Ledger.Transition(rctx, from, r)
}

// sharedTarget reports whether findings share the action's change on a target: a second finding
// finds the user's keys, deny policy, set or account already contained and changes nothing.
// Identity policies are not shared: every finding adds and removes its own statement.
func sharedTarget(action string) bool { return action != ActionTightenIdentityPolicy }

// hold adds (or removes) id to the target's holders on a context detached from ctx, like record.
func (e *Executor) hold(ctx context.Context, key, id string, add bool) error {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if add {
		return e.Ledger.AddHolder(hctx, key, id)
	}
	return e.Ledger.RemoveHolder(hctx, key, id)
}

// join records a finding whose target another finding's row already contains: a row that
// changed nothing (its step is the no-op plan) but holds the containment, so restoring the
// other finding leaves it in place.
func (e *Executor) join(ctx context.Context, f *finding.Finding, ar finding.ActionResult, step Step, key string, holders []string, rev int64, now time.Time, actor string, approver *Approver) finding.ActionResult {
	r := &Record{
		ActionID: ar.ActionID, FindingID: f.ID, Rule: f.Rule, Action: step.Action, Target: step.Target,
		Actor: actor, Status: StatusApplied, Created: now, Updated: now, Step: step, Rev: rev, ApprovedBy: approver,
	}
	claimed, other, err := e.Ledger.Claim(ctx, r)
	if err != nil {
		return failed(ar, err)
	}
	if !claimed {
		ar.Outcome, ar.Reason = finding.OutcomeAlreadyContained, "concurrent duplicate: "+ledgerReason(other)
		return ar
	}
	if err := e.hold(ctx, key, ar.ActionID, true); err != nil {
		return failed(ar, fmt.Errorf("recorded, but not as a holder of %s: %w", step.Target, err))
	}
	ar.Restore = RestoreCommand(ar.ActionID)
	ar.Reason = joinReason(ar.Reason, fmt.Sprintf("already contained by %s; this finding now holds it too (restoring one holder leaves it in place)", strings.Join(holders, ", ")))
	return ar
}

// existingOutcome turns an existing ledger row into an outcome; done=false means run again
// (a failed or rate-capped earlier attempt).
func existingOutcome(ar finding.ActionResult, rec *Record, now time.Time) (finding.ActionResult, bool) {
	switch rec.Status {
	case StatusFailed, StatusRateCapped:
		return ar, false
	case StatusPending:
		if now.Sub(rec.Updated) > staleAfter {
			ar.Restore = RestoreCommand(ar.ActionID)
			return failed(ar, fmt.Errorf("ledger row pending since %s: the run that claimed it did not finish; inspect and restore", rec.Updated.Format(time.RFC3339))), true
		}
	}
	ar.Outcome, ar.Reason = finding.OutcomeAlreadyContained, ledgerReason(rec)
	if rec.Status == StatusApplied {
		ar.Restore = RestoreCommand(ar.ActionID)
	}
	return ar, true
}

func ledgerReason(rec *Record) string {
	switch rec.Status {
	case StatusRestored:
		return fmt.Sprintf("restored by %s at %s; not re-applied for the same finding", rec.RestoredBy, rec.RestoredAt.Format(time.RFC3339))
	case StatusPending:
		return fmt.Sprintf("being applied by %s since %s", rec.Actor, rec.Updated.Format(time.RFC3339))
	case StatusUnrestorable:
		return rec.Unrestorable
	}
	return fmt.Sprintf("%s by %s at %s (action %s)", rec.Status, rec.Actor, rec.Updated.Format(time.RFC3339), rec.ActionID)
}

func failed(ar finding.ActionResult, err error) finding.ActionResult {
	ar.Outcome, ar.Error = finding.OutcomeFailed, err.Error()
	return ar
}

func rateCappedFinding(f *finding.Finding, t Target, actionID string, max int, now time.Time) finding.Finding {
	hour := now.UTC().Truncate(time.Hour)
	h := sha256.Sum256([]byte(RuleRateCapped + "\x00" + f.Account + "\x00" + hour.Format(time.RFC3339)))
	return finding.Finding{
		Schema: finding.SchemaFinding, ProducerVersion: finding.ProducerVersion(), ID: hex.EncodeToString(h[:16]), Rule: RuleRateCapped,
		Severity: finding.SeverityHigh, Account: f.Account, Region: f.Region, Principal: f.Principal,
		SourceIP: f.SourceIP, WindowStart: hour, WindowEnd: hour.Add(time.Hour),
		Evidence: finding.Evidence{
			Count:     1,
			FirstSeen: now, LastSeen: now,
			Identity: f.Evidence.Identity, ConfigurationSet: f.Evidence.ConfigurationSet,
			Detail: fmt.Sprintf("max_actions_per_hour=%d reached: %s on %s for finding %s (%s) was not applied (ledger %s)",
				max, t.Action, t.Name(), f.ID, f.Rule, actionID),
			Metric: float64(max + 1), Threshold: float64(max),
		},
		Actions: []string{},
		Mode:    ModeEnforce,
	}
}

// Restore undoes one ledger action: it returns the target to the recorded prior state and marks
// the row restored. Restoring a restored action changes nothing and says so.
func (e *Executor) Restore(ctx context.Context, actionID, actor string) (finding.ActionResult, error) {
	return e.RestoreWithOptions(ctx, actionID, actor, RestoreOptions{})
}

// RestoreWith is Restore recording the human who approved the undo (nil: none) in the row.
func (e *Executor) RestoreWith(ctx context.Context, actionID, actor string, approver *Approver) (finding.ActionResult, error) {
	return e.RestoreWithOptions(ctx, actionID, actor, RestoreOptions{Approver: approver})
}

// RestoreOptions attribute and widen one restore.
type RestoreOptions struct {
	// Approver is the human who approved the undo (a Slack click), nil for none.
	Approver *Approver
	// Force puts the prior state back even over a change made after containment (an operator
	// edited sesguard's statement or policy); the row records the actor in ForcedBy.
	Force bool
}

// RestoreWithOptions is Restore with options. It runs under the target's lease, so it never
// interleaves with another finding's containment or restore of the same target. When other
// findings still hold the target's containment it leaves the change in place, hands its steps to
// the newest holder (whose restore undoes them) and says so. A target that is gone makes the row
// unrestorable, a terminal state.
func (e *Executor) RestoreWithOptions(ctx context.Context, actionID, actor string, opts RestoreOptions) (finding.ActionResult, error) {
	ar := finding.ActionResult{ActionID: actionID}
	if e.Ledger == nil {
		return failed(ar, errors.New("restore needs a ledger table")), errors.New("restore needs a ledger table")
	}
	rec, err := e.Ledger.Get(ctx, actionID)
	if err != nil {
		return failed(ar, err), err
	}
	key := targetKey(rec.Action, rec.Target)
	release, err := e.Ledger.Lease(ctx, key, actor)
	if err != nil {
		return failed(ar, err), err
	}
	defer release()
	if rec, err = e.Ledger.Get(ctx, actionID); err != nil { // as it is now, under the lease
		return failed(ar, err), err
	}
	ar.Action, ar.Target = rec.Action, rec.Target
	switch rec.Status {
	case StatusRestored:
		ar.Outcome = finding.OutcomeRestored
		ar.Reason = fmt.Sprintf("already restored by %s at %s", rec.RestoredBy, rec.RestoredAt.Format(time.RFC3339))
		ar.Changes = rec.RestoreChanges
		return ar, nil
	case StatusUnrestorable:
		ar.Outcome, ar.Error, ar.Changes = finding.OutcomeUnrestorable, rec.Unrestorable, rec.RestoreChanges
		return ar, fmt.Errorf("action %s (%s on %s): %s (recorded by %s at %s)", actionID, rec.Action, rec.Target, rec.Unrestorable, rec.RestoredBy, rec.RestoredAt.Format(time.RFC3339))
	case StatusRateCapped:
		err := fmt.Errorf("action %s was rate capped: nothing was applied, nothing to restore", actionID)
		return failed(ar, err), err
	case StatusPending:
		// A run is applying it right now: undoing under it would leave the change in place with
		// the row saying restored (its pending -> applied write then fails). A row pending longer
		// than staleAfter belongs to a run that died; restoring it is how it gets cleaned up.
		if age := e.now().Sub(rec.Updated); age <= staleAfter {
			err := fmt.Errorf("action %s is being applied by %s (pending since %s): restore it once that run finished, or after %s if it died",
				actionID, rec.Actor, rec.Updated.Format(time.RFC3339), rec.Updated.Add(staleAfter).Format(time.RFC3339))
			return failed(ar, err), err
		}
	}
	a, err := e.action(rec.Action)
	if err != nil {
		return failed(ar, err), err
	}
	now := e.now()
	next := *rec
	next.Updated, next.RestoredBy, next.RestoredAt, next.RestoreApprovedBy = now, actor, now, opts.Approver
	if sharedTarget(rec.Action) {
		heir, err := e.heir(ctx, key, rec)
		if err != nil {
			return failed(ar, err), err
		}
		if heir != nil {
			return e.handOver(ctx, ar, rec, &next, heir, key)
		}
	}
	var changes []string
	for _, s := range undoOrder(rec) {
		var c []string
		s.Force = opts.Force
		c, err = a.Restore(ctx, s)
		changes = append(changes, c...)
		if err != nil {
			break
		}
	}
	ar.Changes = changes
	if errors.Is(err, ErrGone) {
		next.Status, next.Unrestorable, next.RestoreChanges = StatusUnrestorable, err.Error(), changes
		if terr := e.record(ctx, rec.Status, &next); terr != nil {
			err = errors.Join(err, fmt.Errorf("recording it as unrestorable failed: %w", terr))
		} else if sharedTarget(rec.Action) {
			err = errors.Join(err, e.hold(ctx, key, actionID, false))
		}
		ar.Outcome, ar.Error = finding.OutcomeUnrestorable, err.Error()
		return ar, fmt.Errorf("restore %s (%s on %s): %w", actionID, rec.Action, rec.Target, err)
	}
	if err != nil {
		err = fmt.Errorf("restore %s (%s on %s): %w", actionID, rec.Action, rec.Target, err)
		return failed(ar, err), err
	}
	next.Status, next.RestoreChanges = StatusRestored, changes
	if opts.Force {
		next.ForcedBy = actor
	}
	if err := e.record(ctx, rec.Status, &next); err != nil {
		err = fmt.Errorf("restored %s, but recording it failed: %w", actionID, err)
		return failed(ar, err), err
	}
	if sharedTarget(rec.Action) {
		if err := e.hold(ctx, key, actionID, false); err != nil {
			err = fmt.Errorf("restored %s, but removing it from the holders of %s failed: %w", actionID, rec.Target, err)
			return failed(ar, err), err
		}
	}
	ar.Outcome = finding.OutcomeRestored
	ar.Reason = fmt.Sprintf("prior state of %s (%s) put back", rec.FindingID, rec.Status)
	e.log().Info("containment restored", "action_id", actionID, "action", rec.Action, "target", rec.Target, "actor", actor, "forced", opts.Force)
	return ar, nil
}

// undoOrder lists a row's steps newest first: its own, its earlier attempts', then those it
// inherited from other holders. No-op steps (a row that joined a containment) change nothing.
func undoOrder(rec *Record) []Step {
	all := append(append(slices.Clone(rec.Inherited), rec.Earlier...), rec.Step)
	var out []Step
	for i := len(all) - 1; i >= 0; i-- {
		if !all[i].Noop {
			out = append(out, all[i])
		}
	}
	return out
}

// heir returns the newest other row that still holds the target (nil: none), dropping holders
// whose rows no longer hold anything (restored, unrestorable, rate capped, missing).
func (e *Executor) heir(ctx context.Context, key string, rec *Record) (*Record, error) {
	holders, _, err := e.Ledger.Holders(ctx, key)
	if err != nil {
		return nil, err
	}
	for i := len(holders) - 1; i >= 0; i-- {
		id := holders[i]
		if id == rec.ActionID {
			continue
		}
		h, err := e.Ledger.Get(ctx, id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if err == nil && (h.Status == StatusApplied || h.Status == StatusFailed || h.Status == StatusPending) {
			return h, nil
		}
		if err := e.Ledger.RemoveHolder(ctx, key, id); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// handOver restores rec without touching the target: heir still holds its containment, so rec's
// steps move to heir (whose restore undoes them) and rec is marked restored, saying so.
func (e *Executor) handOver(ctx context.Context, ar finding.ActionResult, rec, next, heir *Record, key string) (finding.ActionResult, error) {
	h := *heir
	h.Inherited = append(append(append(slices.Clone(heir.Inherited), rec.Inherited...), rec.Earlier...), rec.Step)
	if err := e.record(ctx, heir.Status, &h); err != nil {
		err = fmt.Errorf("restore %s: hand its steps to holder %s: %w", rec.ActionID, heir.ActionID, err)
		return failed(ar, err), err
	}
	left := fmt.Sprintf("%s left in place: still held by action %s (finding %s); restoring that one puts the prior state back", rec.Target, heir.ActionID, heir.FindingID)
	next.Status, next.RestoreChanges = StatusRestored, []string{left}
	if err := e.record(ctx, rec.Status, next); err != nil {
		err = fmt.Errorf("restore %s: steps handed to %s, but recording it failed: %w", rec.ActionID, heir.ActionID, err)
		return failed(ar, err), err
	}
	if err := e.hold(ctx, key, rec.ActionID, false); err != nil {
		err = fmt.Errorf("restore %s: removing it from the holders of %s failed: %w", rec.ActionID, rec.Target, err)
		return failed(ar, err), err
	}
	ar.Outcome, ar.Reason, ar.Changes = finding.OutcomeRestored, "containment "+left, next.RestoreChanges
	e.log().Info("containment restore left in place", "action_id", rec.ActionID, "held_by", heir.ActionID, "target", rec.Target)
	return ar, nil
}
