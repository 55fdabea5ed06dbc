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

	multiRegionOn bool // playbook.multi_region (playbook.go)
	// baselineRules are the enabled baseline.* rules (baseline.go), when baseline.enabled.
	baselineRules map[string]bool
	// severity is each rule's catalog severity, looked up once per finding.
	severity map[string]finding.Severity
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
	d.severity = map[string]finding.Severity{}
	for _, r := range Rules() {
		d.severity[r.ID] = r.Severity
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
		case rules.PlaybookMultiRegion:
			d.multiRegionOn = p.Playbook.RegionWindow > 0 && p.Playbook.Regions > 1
		case rules.BaselineFirstSESUse, rules.BaselineDormantKey, rules.BaselineNewNetwork:
			if p.Baseline.Enabled {
				if d.baselineRules == nil {
					d.baselineRules = map[string]bool{}
				}
				d.baselineRules[r.ID] = true
			}
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
	var slots []*group
	var h hitSpec // what the rules this send breaks share; built at the first
	for i := range d.perSend {
		r := &d.perSend[i]
		if !d.violates(a, i, r, e) {
			continue
		}
		if slots == nil {
			h = hitSpec{account: e.Account, principal: e.CallerIdentity, dim: e.CallerIdentity,
				start: start, end: start.Add(d.window), key: js.key, vpce: js.vpce}
			if js.key != "" {
				h.dim += "#" + js.key // one finding per key, as for API calls
			}
			sk := groupKey{account: h.account, dim: h.dim, start: start.Unix()}
			if slots = a.sendGroups[sk]; slots == nil {
				slots = make([]*group, len(d.perSend))
				a.sendGroups[sk] = slots
			}
		}
		h.rule, h.why, h.unapprovedOnly = r.ID, r.why, r.sampleUnapproved
		g := slots[i]
		if g == nil {
			g = a.group(d, &h, e)
			slots[i] = g
		}
		a.add(d, g, &h, e, e.Recipients)
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

// violates runs rule i's check on e, deciding each distinct Rule.key once per batch.
func (d *Detector) violates(a *accum, i int, r *Rule, e *sesevent.Event) bool {
	if r.key == nil {
		return r.check(d.p, e)
	}
	k, ok := r.key(e)
	if !ok {
		return r.check(d.p, e)
	}
	// First the rule's small table (hint.go); a miss falls through to the map.
	if a.recent == nil {
		a.recent = make([][recentVerdicts]recentVerdict, len(d.perSend))
	}
	slot := &a.recent[i][slotOf(addrHint(k[0], k[1], k[2]), recentVerdicts)]
	if slot.used && slot.k == k {
		return slot.v
	}
	vk := verdictKey{rule: i, k: k}
	v, seen := a.verdicts[vk]
	if !seen {
		v = r.check(d.p, e)
		a.verdicts[vk] = v
	}
	*slot = recentVerdict{k: k, v: v, used: true}
	return v
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
		u := Update{Finding: g.finding(d, pr, agg), New: prev <= 0, Publish: prev <= 0 || digits(prev) != digits(agg.Count)}
		if err := d.incident(ctx, a, &u.Finding, u.New); err != nil {
			return nil, err
		}
		out = append(out, u)
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
