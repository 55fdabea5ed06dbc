// Package detect turns normalised SES events into aggregated findings under a policy.
//
// Per-send rules (network, sender, recipient, attribution) check each Send event against the
// policy's approved sets. Stateful rules keep window counters in a State: volume per principal
// (sliding window) and bounce/complaint rates per principal and per identity (Bounces and
// Complaints joined to their Send by message id). Hits aggregate into one finding per (rule,
// account, principal or identity, window), with a deterministic id, a running count kept in the
// State and a capped evidence sample.
//
// One Detector serves two callers: the ingest Lambda calls Process per batch and publishes the
// updates marked Publish (new findings, and findings whose count crossed a power of ten: 1, 10,
// 100, ...); the CLI calls Process per chunk of a stream and merges every update with a Collector.
package detect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
)

// Defaults.
const (
	// DefaultWindow is the aggregation window of per-send findings (aligned to the clock).
	DefaultWindow = time.Hour
	// MarkTTL is how long dedup marks — and with them a Send's attribution for joining its
	// Bounce or Complaint — are kept. Complaints can arrive days after the send.
	MarkTTL = 72 * time.Hour
	// minExpiry keeps state of late (old) events alive for a while instead of expiring at once.
	minExpiry = time.Hour
)

// Attributor resolves a caller name to the principal a finding carries; *attribute.Attributor
// implements it. It must not fail: unknown is an answer.
type Attributor interface {
	Attribute(ctx context.Context, account, name string) finding.Principal
}

// Detector applies one policy. It is safe for concurrent use if its State is.
type Detector struct {
	p      *policy.Policy
	st     State
	attr   Attributor
	now    func() time.Time
	window time.Duration
	log    *slog.Logger

	perSend   []Rule // enabled per-send rules
	perCall   []Rule // enabled API-call rules (CloudTrail)
	volume    bool
	bounce    bool
	complaint bool
	rateWins  []time.Duration // rateWindows(), computed once

	joinAPISends bool // WithAPISendJoin
}

// Option configures a Detector.
type Option func(*Detector)

// WithAttributor attaches IAM attribution to findings (nil: offline; kind unknown, root inferred).
func WithAttributor(a Attributor) Option { return func(d *Detector) { d.attr = a } }

// WithClock injects the clock used for state expiry and for events without a timestamp.
func WithClock(now func() time.Time) Option { return func(d *Detector) { d.now = now } }

// WithWindow sets the aggregation window of per-send findings.
func WithWindow(w time.Duration) Option { return func(d *Detector) { d.window = w } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(d *Detector) { d.log = l } }

// New returns a Detector for policy p over state st.
func New(p *policy.Policy, st State, opts ...Option) (*Detector, error) {
	if p == nil || st == nil {
		return nil, errors.New("detect: policy and state are required")
	}
	d := &Detector{p: p, st: st, now: time.Now, window: DefaultWindow, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(d)
	}
	if d.window <= 0 {
		return nil, fmt.Errorf("detect: window %s must be positive", d.window)
	}
	for _, r := range Rules() {
		if !p.RuleEnabled(r.ID) {
			continue
		}
		switch r.ID {
		case rules.VolumePrincipalSpike:
			d.volume = p.Limits.PerPrincipal.Window > 0 && p.Limits.PerPrincipal.MaxSends > 0
		case rules.ReputationBounceSpike:
			d.bounce = p.Limits.BounceRate.Window > 0
		case rules.ReputationComplaintSpike:
			d.complaint = p.Limits.ComplaintRate.Window > 0
		default:
			switch {
			case r.apiCheck != nil:
				d.perCall = append(d.perCall, r)
			case r.check != nil:
				d.perSend = append(d.perSend, r)
			}
		}
	}
	d.rateWins = d.rateWindows()
	return d, nil
}

// Update is one finding touched by a batch. Finding.Evidence.Count is the running total from the
// State (all batches so far); the evidence sample, Detail and LastSeen come from this batch.
type Update struct {
	Finding finding.Finding
	// New is true when this batch made the first hits of the finding.
	New bool
	// Publish is true when the finding is new or its count crossed a power of ten.
	Publish bool
}

// Batch is the outcome of Process.
type Batch struct {
	Updates []Update
	// Events is how many events were processed; Duplicates were skipped as already seen.
	Events     int
	Duplicates int
	// Unjoined counts bounces/complaints whose Send was not seen (attributed from their own tags).
	Unjoined int
}

// Process runs a batch of events through the rules and returns the findings it touched. On a
// State error the batch's dedup marks are rolled back (so a retry reprocesses it) and the error
// is returned; the caller retries the whole batch.
func (d *Detector) Process(ctx context.Context, events []sesevent.Event) (Batch, error) {
	var b Batch
	a := newAccum()
	var marked []int
	fail := func(err error) (Batch, error) {
		return Batch{}, fmt.Errorf("detect: %w", errors.Join(err, d.undo(ctx, a), d.unmarkAll(ctx, events, marked)))
	}
	process, ok, dups, err := d.markAll(ctx, events)
	marked = ok
	if err != nil {
		return fail(err)
	}
	b.Duplicates = dups
	var joins []apiSend
	if d.joinAPISends {
		if joins, err = d.lookupAPISends(ctx, events, process); err != nil {
			return fail(err)
		}
	}
	for i := range events {
		e := &events[i]
		if !relevant(e) {
			b.Events++
			continue
		}
		if !process[i] {
			continue
		}
		b.Events++
		switch e.Type {
		case sesevent.TypeSend:
			var js apiSend
			if joins != nil {
				js = joins[i]
			}
			d.send(a, e, js)
			a.sendCounts[sendPeriod{e.Account, e.Region, d.when(e).UTC().Truncate(SendCountPeriod).Unix()}]++
		case sesevent.TypeBounce:
			if d.bounce && countsAsBounce(e) {
				joined, err := d.feedback(ctx, a, e, kindBounce)
				if err != nil {
					return fail(err)
				}
				if !joined {
					b.Unjoined++
				}
			}
		case sesevent.TypeComplaint:
			if d.complaint && countsAsComplaint(e) {
				joined, err := d.feedback(ctx, a, e, kindComplaint)
				if err != nil {
					return fail(err)
				}
				if !joined {
					b.Unjoined++
				}
			}
		}
	}
	if err := d.countSends(ctx, a); err != nil {
		return fail(err)
	}
	if err := d.principalCounters(ctx, a); err != nil {
		return fail(err)
	}
	if d.volume {
		if err := d.evalVolume(ctx, a); err != nil {
			return fail(err)
		}
	}
	if d.bounce || d.complaint {
		if err := d.evalRates(ctx, a); err != nil {
			return fail(err)
		}
	}
	updates, err := d.tally(ctx, a)
	if err != nil {
		return fail(err)
	}
	b.Updates = updates
	return b, nil
}

// concurrentState is implemented by States whose calls are network round trips (DynamoState):
// Process then marks a batch's events concurrently, up to the returned number at once.
type concurrentState interface {
	MarkConcurrency() int
}

// markAll records the dedup mark of every relevant event before the rules run, so a Bounce can
// join a Send of the same batch. It returns, per event, whether the rules should process it, the
// indexes of the events it marked (for rollback, also on error) and how many events were
// duplicates. Keys repeated inside the batch count as duplicates without a State call, so the
// outcome does not depend on the order concurrent marks complete in.
func (d *Detector) markAll(ctx context.Context, events []sesevent.Event) (process []bool, marked []int, dups int, err error) {
	process = make([]bool, len(events))
	if ms, ok := d.st.(*MemoryState); ok {
		// In process, one mark at a time, with the keys built in one buffer: a key repeated in
		// the batch finds its own mark, which gives the outcome the in-batch set below gives.
		var buf [160]byte
		for i := range events {
			e := &events[i]
			if !relevant(e) {
				continue
			}
			if e.MessageID == "" {
				process[i] = true
				continue
			}
			var info SendInfo
			if e.Type == sesevent.TypeSend {
				info = SendInfo{Account: e.Account, Principal: e.CallerIdentity, Identity: e.Identity}
			}
			if ms.markBytes(appendDedupKey(buf[:0], e), info, d.expiry(d.when(e).Add(MarkTTL))) {
				process[i] = true
				marked = append(marked, i)
			} else {
				dups++
			}
		}
		return process, marked, dups, nil
	}
	type job struct {
		i   int
		key string
	}
	var jobs []job
	seen := make(map[string]struct{}, len(events))
	for i := range events {
		e := &events[i]
		if !relevant(e) {
			continue
		}
		key := dedupKey(e)
		if key == "" {
			process[i] = true
			continue
		}
		if _, dup := seen[key]; dup {
			dups++
			continue
		}
		seen[key] = struct{}{}
		jobs = append(jobs, job{i, key})
	}
	mark := func(j job) (bool, error) {
		e := &events[j.i]
		var info SendInfo
		if e.Type == sesevent.TypeSend {
			info = SendInfo{Account: e.Account, Principal: e.CallerIdentity, Identity: e.Identity}
		}
		return d.st.Mark(ctx, j.key, info, d.expiry(d.when(e).Add(MarkTTL)))
	}
	firsts := make([]bool, len(jobs))
	errs := d.eachStateCall(len(jobs), true, func(k int) (err error) {
		firsts[k], err = mark(jobs[k])
		return err
	})
	for k, j := range jobs {
		switch {
		case errs[k] != nil:
			err = errors.Join(err, errs[k])
		case firsts[k]:
			process[j.i] = true
			marked = append(marked, j.i)
		default:
			dups++
		}
	}
	return process, marked, dups, err
}

// undoOp is a counter or aggregate increment a batch made, kept to take it back if the batch fails.
type undoOp struct {
	key     string
	delta   int64
	tally   bool
	attrs   []AttrDelta // an itemCounters update of item key
	first   time.Time
	expires time.Time
}

// add is State.Add, journaled in a for undo.
func (d *Detector) add(ctx context.Context, a *accum, key string, delta int64, expires time.Time) (int64, error) {
	n, err := d.st.Add(ctx, key, delta, expires)
	if err == nil {
		a.undo = append(a.undo, undoOp{key: key, delta: delta, expires: expires})
	}
	return n, err
}

// tallyAgg is State.Tally, journaled in a for undo.
func (d *Detector) tallyAgg(ctx context.Context, a *accum, key string, n int64, first, expires time.Time) (Aggregate, error) {
	agg, err := d.st.Tally(ctx, key, n, first, expires)
	if err == nil {
		a.undo = append(a.undo, undoOp{key: key, delta: n, tally: true, first: first, expires: expires})
	}
	return agg, err
}

// undo takes back the increments of a failed batch. The batch is retried whole (its marks are
// rolled back too), so increments left in place would be counted twice: a retried batch of 400
// sends would count 800 against a volume limit of 500 and contain a legitimate sender.
func (d *Detector) undo(ctx context.Context, a *accum) error {
	if len(a.undo) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unmarkTimeout)
	defer cancel()
	var errs []error
	for _, op := range a.undo {
		var err error
		switch {
		case op.attrs != nil:
			neg := make([]AttrDelta, len(op.attrs))
			for i, x := range op.attrs {
				neg[i] = AttrDelta{Attr: x.Attr, Delta: -x.Delta}
			}
			_, err = d.st.(itemCounters).AddItem(ctx, op.key, neg, op.expires)
		case op.tally:
			_, err = d.st.Tally(ctx, op.key, -op.delta, op.first, op.expires)
		default:
			_, err = d.st.Add(ctx, op.key, -op.delta, op.expires)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("undo %s: %w", op.key, err))
		}
	}
	a.undo = nil
	return errors.Join(errs...)
}

// unmarkTimeout bounds the rollback of a failed batch's marks.
const unmarkTimeout = 20 * time.Second

// unmarkAll rolls back the marks of events[marked] on a context detached from ctx: the usual reason a batch fails is
// that ctx ran out (the Lambda deadline), and a rollback refused for that reason would leave the
// marks in place, so the retry would skip the batch's events as duplicates — a silent drop.
func (d *Detector) unmarkAll(ctx context.Context, events []sesevent.Event, marked []int) error {
	if len(marked) == 0 {
		return nil
	}
	if ms, ok := d.st.(*MemoryState); ok {
		for _, i := range marked {
			ms.unmarkBytes(appendDedupKey(nil, &events[i]))
		}
		return nil
	}
	keys := make([]string, len(marked))
	for k, i := range marked {
		keys[k] = dedupKey(&events[i])
	}
	return d.unmarkKeys(ctx, keys)
}

// unmarkKeys is unmarkAll for keys.
func (d *Detector) unmarkKeys(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unmarkTimeout)
	defer cancel()
	return errors.Join(d.eachStateCall(len(keys), false, func(k int) error { return d.st.Unmark(ctx, keys[k]) })...)
}

// eachStateCall runs call(0..n-1) and returns their errors by index: one at a time for a local
// State (stopping at the first error when stop is set), up to MarkConcurrency at once for a
// State whose calls are network round trips (concurrentState).
func (d *Detector) eachStateCall(n int, stop bool, call func(k int) error) []error {
	errs := make([]error, n)
	workers := 1
	if cs, ok := d.st.(concurrentState); ok {
		workers = min(cs.MarkConcurrency(), n)
	}
	if workers <= 1 {
		for k := range n {
			if errs[k] = call(k); errs[k] != nil && stop {
				break
			}
		}
		return errs
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for k := range next {
				errs[k] = call(k)
			}
		})
	}
	for k := range n {
		next <- k
	}
	close(next)
	wg.Wait()
	return errs
}

// IngestEventTypes are the SES event types detection reads: every rule and join works from Sends
// (per-send rules, volume, rate denominators, the Send counters coverage reconciles, the API-send
// join) and from Bounces and Complaints (rate numerators). The pipeline routes only these to the
// ingest function; Delivery, Reject, DeliveryDelay, Rendering Failure, Open and Click go to the
// archive only (each would cost an SQS request and an invocation share for nothing).
func IngestEventTypes() []string {
	return []string{string(sesevent.TypeSend), string(sesevent.TypeBounce), string(sesevent.TypeComplaint)}
}

// relevant reports whether an event can change detection (others are counted and ignored).
// Keep it in step with IngestEventTypes.
func relevant(e *sesevent.Event) bool {
	switch e.Type {
	case sesevent.TypeSend, sesevent.TypeBounce, sesevent.TypeComplaint:
		return true
	}
	return false
}

// countsAsBounce: SES's reputation bounce rate counts hard (permanent) bounces only.
func countsAsBounce(e *sesevent.Event) bool {
	return e.Bounce != nil && e.Bounce.Type == "Permanent"
}

// countsAsComplaint: an ISP's "not-spam" feedback report is not a complaint.
func countsAsComplaint(e *sesevent.Event) bool {
	return e.Complaint == nil || e.Complaint.FeedbackType != "not-spam"
}

// dedupKey identifies an event across redeliveries and envelopes. A Send's key is also the join
// key of its Bounces and Complaints. Events without a message id are not deduplicated.
func dedupKey(e *sesevent.Event) string {
	if e.MessageID == "" {
		return ""
	}
	return string(appendDedupKey(nil, e))
}

// appendDedupKey appends dedupKey(e) to b (e has a message id).
func appendDedupKey(b []byte, e *sesevent.Event) []byte {
	if e.Type == sesevent.TypeSend {
		return appendSendKey(b, e.MessageID)
	}
	rcpt := ""
	if r := feedbackRecipients(e); len(r) > 0 {
		rcpt = r[0]
	}
	b = append(append(append(append(b, "evt#"...), e.MessageID...), '#'), e.Type...)
	b = strconv.AppendInt(append(b, '#'), e.EventTime.UnixNano(), 10)
	return append(append(b, '#'), rcpt...)
}

func sendKey(messageID string) string { return string(appendSendKey(nil, messageID)) }

func appendSendKey(b []byte, messageID string) []byte {
	return append(append(append(b, "evt#"...), messageID...), "#Send"...)
}

// when is the time an event counts at: when SES accepted the message.
func (d *Detector) when(e *sesevent.Event) time.Time {
	switch {
	case !e.MailTime.IsZero():
		return e.MailTime
	case !e.EventTime.IsZero():
		return e.EventTime
	}
	return d.now()
}

// expiry keeps state at least minExpiry from now, so state of late events is not born expired.
func (d *Detector) expiry(t time.Time) time.Time {
	if floor := d.now().Add(minExpiry); t.Before(floor) {
		return floor
	}
	return t
}

func bucket(t time.Time, w time.Duration) time.Time { return t.Truncate(w).UTC() }

// send applies the per-send rules and feeds the volume and rate counters.
func (d *Detector) send(a *accum, e *sesevent.Event, js apiSend) {
	t := d.when(e)
	start := bucket(t, d.window)
	for _, r := range d.perSend {
		bad, detail := r.check(d.p, e)
		if !bad {
			continue
		}
		rcpts := e.Recipients
		if r.ID == rules.RecipientDomainUnapproved {
			rcpts = unapprovedRecipients(d.p, e.Recipients)
		}
		h := hitSpec{rule: r.ID, account: e.Account, principal: e.CallerIdentity, dim: e.CallerIdentity,
			start: start, end: start.Add(d.window), detail: detail, key: js.key, vpce: js.vpce}
		if js.key != "" {
			h.dim += "#" + js.key // one finding per key, as for API calls
		}
		a.hit(d, h, e, rcpts)
	}
	if d.volume {
		w := d.p.Limits.PerPrincipal.Window
		k := volKey{account: e.Account, principal: e.CallerIdentity, start: bucket(t, w).Unix()}
		g := a.vol[k]
		if g == nil {
			g = &volGroup{}
			a.vol[k] = g
			a.volOrder = append(a.volOrder, k)
		}
		g.sends = append(g.sends, e)
		if t.After(g.last) {
			g.last = t
		}
	}
	// Rates count per recipient, as SES does: a send to 50 addresses is 50 emails, and each of
	// them can bounce (one event per bounced recipient, or one event naming several).
	n := deliveries(len(e.Recipients))
	for _, w := range d.rateWins {
		if e.CallerIdentity != "" {
			a.addSend(rateKey{account: e.Account, name: e.CallerIdentity, win: int64(w / time.Second), start: bucket(t, w).Unix()}, n)
		}
		if e.Identity != "" {
			a.addSend(rateKey{account: e.Account, identity: true, name: e.Identity, win: int64(w / time.Second), start: bucket(t, w).Unix()}, n)
		}
	}
}

// rateWindows are the distinct windows of the enabled rate rules.
func (d *Detector) rateWindows() []time.Duration {
	var ws []time.Duration
	if d.bounce {
		ws = append(ws, d.p.Limits.BounceRate.Window)
	}
	if d.complaint && (!d.bounce || d.p.Limits.ComplaintRate.Window != d.p.Limits.BounceRate.Window) {
		ws = append(ws, d.p.Limits.ComplaintRate.Window)
	}
	return ws
}

// feedback joins a Bounce or Complaint to its Send and queues it for its rate counters.
func (d *Detector) feedback(ctx context.Context, a *accum, e *sesevent.Event, kind feedbackKind) (joined bool, err error) {
	var info SendInfo
	var ok bool
	if ms, isMem := d.st.(*MemoryState); isMem {
		var buf [128]byte
		info, ok = ms.sendInfoBytes(appendSendKey(buf[:0], e.MessageID))
	} else {
		var err error
		if info, ok, err = d.st.SendInfo(ctx, sendKey(e.MessageID)); err != nil {
			return false, err
		}
	}
	if !ok {
		// Not seen (yet): fall back to the event's own attribution tags.
		info = SendInfo{Account: e.Account, Principal: e.CallerIdentity, Identity: e.Identity}
	}
	w := kind.limit(d.p).Window
	start := bucket(d.when(e), w).Unix()
	if info.Principal != "" {
		a.addFeedback(kind, rateKey{account: info.Account, name: info.Principal, win: int64(w / time.Second), start: start}, e)
	}
	if info.Identity != "" {
		a.addFeedback(kind, rateKey{account: info.Account, identity: true, name: info.Identity, win: int64(w / time.Second), start: start}, e)
	}
	return ok, nil
}

func unapprovedRecipients(p *policy.Policy, rcpts []string) []string {
	var out []string
	for _, r := range rcpts {
		if !p.RecipientApproved(r) {
			out = append(out, r)
		}
	}
	return out
}

// tally adds each group to its aggregate in the State and builds the updates.
func (d *Detector) tally(ctx context.Context, a *accum) ([]Update, error) {
	if len(a.groupOrder) == 0 {
		return nil, nil
	}
	out := make([]Update, 0, len(a.groupOrder))
	principals := make(map[[2]string]finding.Principal)
	for _, k := range a.groupOrder {
		g := a.groups[k]
		agg, err := d.tallyAgg(ctx, a, "agg#"+g.id, g.n, g.first, d.expiry(g.end.Add(MarkTTL)))
		if err != nil {
			return nil, err
		}
		prev := agg.Count - g.n
		pk := [2]string{g.account, g.principal}
		pr, ok := principals[pk]
		switch {
		case g.callPrincipal != nil:
			pr = *g.callPrincipal // the CloudTrail record names the principal and its key exactly
		case !ok:
			pr = d.principal(ctx, g.account, g.principal)
			principals[pk] = pr
		}
		if g.key != "" && g.callPrincipal == nil {
			pr.AccessKeyID = g.key // joined from the send's CloudTrail data event: exact, not guessed
		}
		out = append(out, Update{Finding: g.finding(d, pr, agg), New: prev <= 0, Publish: prev <= 0 || digits(prev) != digits(agg.Count)})
	}
	return out, nil
}

// principal attributes a caller name; offline only root can be inferred.
func (d *Detector) principal(ctx context.Context, account, name string) finding.Principal {
	switch {
	case name == "":
		return finding.Principal{Kind: finding.KindUnknown}
	case d.attr != nil:
		p := d.attr.Attribute(ctx, account, name)
		if p.Kind == "" {
			p.Kind = finding.KindUnknown
		}
		p.Name = name
		return p
	case name == "root":
		p := finding.Principal{Name: name, Kind: finding.KindRoot}
		if account != "" {
			p.ARN = "arn:aws:iam::" + account + ":root"
		}
		return p
	}
	return finding.Principal{Name: name, Kind: finding.KindUnknown}
}

// digits is the number of decimal digits of n (n ≥ 1): publishing on a change of digits means
// publishing at 1, 10, 100, 1,000, ...
func digits(n int64) int {
	d := 0
	for ; n > 0; n /= 10 {
		d++
	}
	return d
}

// Actions returns the policy's actions for rule, never nil (so JSON shows []).
func (d *Detector) actions(rule string) []string {
	if a := d.p.Actions(rule); a != nil {
		return a
	}
	return []string{}
}

// sortFindings orders findings deterministically (used by tests and the Collector).
func sortFindings(fs []finding.Finding) {
	slices.SortFunc(fs, func(x, y finding.Finding) int {
		if c := x.WindowStart.Compare(y.WindowStart); c != 0 {
			return c
		}
		if c := y.Severity.Rank() - x.Severity.Rank(); c != 0 {
			return c
		}
		for _, c := range [][2]string{{x.Rule, y.Rule}, {x.Account, y.Account}, {x.Principal.Name, y.Principal.Name}, {x.ID, y.ID}} {
			if c[0] != c[1] {
				if c[0] < c[1] {
					return -1
				}
				return 1
			}
		}
		return 0
	})
}
