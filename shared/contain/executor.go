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
	"time"

	"github.com/sesguard/sesguard/shared/finding"
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
	}
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
		Actions: []finding.ActionResult{},
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
	rec, err := e.Ledger.Get(ctx, ar.ActionID)
	var earlier []Step
	switch {
	case errors.Is(err, ErrNotFound):
		rec = nil
	case err != nil:
		return failed(ar, err), false
	default:
		if r, done := existingOutcome(ar, rec, now); done {
			return r, false
		}
		earlier = rec.Earlier
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
		// Contained by someone or something else: nothing to record, nothing to restore.
		ar.ActionID = ""
		return ar, false
	}
	r := &Record{
		ActionID: ar.ActionID, FindingID: f.ID, Rule: f.Rule, Action: step.Action, Target: step.Target,
		Actor: actor, Status: StatusPending, Created: now, Updated: now, Step: step, Earlier: earlier, ApprovedBy: approver,
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
	}
	terr := e.record(ctx, StatusPending, &next)
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
		Schema: finding.SchemaFinding, ID: hex.EncodeToString(h[:16]), Rule: RuleRateCapped,
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
	return e.RestoreWith(ctx, actionID, actor, nil)
}

// RestoreWith is Restore recording the human who approved the undo (nil: none) in the row.
func (e *Executor) RestoreWith(ctx context.Context, actionID, actor string, approver *Approver) (finding.ActionResult, error) {
	ar := finding.ActionResult{ActionID: actionID}
	if e.Ledger == nil {
		return failed(ar, errors.New("restore needs a ledger table")), errors.New("restore needs a ledger table")
	}
	rec, err := e.Ledger.Get(ctx, actionID)
	if err != nil {
		return failed(ar, err), err
	}
	ar.Action, ar.Target = rec.Action, rec.Target
	switch rec.Status {
	case StatusRestored:
		ar.Outcome = finding.OutcomeRestored
		ar.Reason = fmt.Sprintf("already restored by %s at %s", rec.RestoredBy, rec.RestoredAt.Format(time.RFC3339))
		ar.Changes = rec.RestoreChanges
		return ar, nil
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
	var changes []string
	steps := []Step{rec.Step}
	for i := len(rec.Earlier) - 1; i >= 0; i-- {
		steps = append(steps, rec.Earlier[i])
	}
	for _, s := range steps {
		var c []string
		c, err = a.Restore(ctx, s)
		changes = append(changes, c...)
		if err != nil {
			break
		}
	}
	ar.Changes = changes
	if err != nil {
		err = fmt.Errorf("restore %s (%s on %s): %w", actionID, rec.Action, rec.Target, err)
		return failed(ar, err), err
	}
	next := *rec
	now := e.now()
	next.Status, next.Updated, next.RestoredBy, next.RestoredAt, next.RestoreChanges = StatusRestored, now, actor, now, changes
	next.RestoreApprovedBy = approver
	if err := e.record(ctx, rec.Status, &next); err != nil {
		err = fmt.Errorf("restored %s, but recording it failed: %w", actionID, err)
		return failed(ar, err), err
	}
	ar.Outcome = finding.OutcomeRestored
	ar.Reason = fmt.Sprintf("prior state of %s (%s) put back", rec.FindingID, rec.Status)
	e.log().Info("containment restored", "action_id", actionID, "action", rec.Action, "target", rec.Target, "actor", actor)
	return ar, nil
}
