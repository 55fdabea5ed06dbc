package detect

import (
	"context"
	"fmt"
	"time"

	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
)

func reputationBounceSpike(c rules.Rule) Rule {
	return Rule{
		Rule: c,
	}
}

func reputationComplaintSpike(c rules.Rule) Rule {
	return Rule{
		Rule: c,
	}
}

// Rate dimensions: a rate is kept per principal and per identity.
const (
	dimPrincipal = "principal:"
	dimIdentity  = "identity:"
)

// rateKey is one rate counter: account, dimension (a principal or an identity, by name) and the
// bucket of the original send's mail time (so a bounce lands in its send's bucket).
type rateKey struct {
	account, name string
	identity      bool  // name is an identity, else a principal
	win, start    int64 // window length and bucket start, seconds
}

// dim is the dimension as counter keys and findings name it: "principal:NAME" or "identity:NAME".
func (k rateKey) dim() string {
	if k.identity {
		return dimIdentity + k.name
	}
	return dimPrincipal + k.name
}

type rateGroup struct {
	events []*sesevent.Event
	n      int64 // recipients the events name (at least one per event)
}

// feedbackKind is the kind of a rate numerator.
type feedbackKind int

const (
	kindBounce feedbackKind = iota
	kindComplaint
)

func (k feedbackKind) rule() string {
	if k == kindBounce {
		return rules.ReputationBounceSpike
	}
	return rules.ReputationComplaintSpike
}

func (k feedbackKind) limit(p *policy.Policy) policy.RateLimit {
	if k == kindBounce {
		return p.Limits.BounceRate
	}
	return p.Limits.ComplaintRate
}

func (k feedbackKind) counter() string {
	if k == kindBounce {
		return "bnc"
	}
	return "cmp"
}

// evalRates adds the batch's sends to the per-dimension send counters, then the bounces and
// complaints to theirs, and reports a hit for every bounce/complaint that arrives while its
// dimension's rate is above the limit with at least min_sends sends in the bucket.
func (d *Detector) evalRates(ctx context.Context, a *accum) error {
	sends := make(map[rateKey]int64, len(a.sendOrder))
	for _, k := range a.sendOrder {
		if n, ok := a.sndCount[k]; ok { // counted with the principal's volume (principalCounters)
			sends[k] = n
			continue
		}
		w := time.Duration(k.win) * time.Second
		n, err := d.add(ctx, a, rateCounterKey("snd", k), *a.sends[k], d.expiry(time.Unix(k.start, 0).Add(w+MarkTTL)))
		if err != nil {
			return err
		}
		sends[k] = n
	}
	for kind, groups := range []map[rateKey]*rateGroup{a.bounces, a.complaints} {
		fk := feedbackKind(kind)
		lim := fk.limit(d.p)
		order := a.bounceOrder
		if fk == kindComplaint {
			order = a.complaintOrder
		}
		for _, k := range order {
			g := groups[k]
			start := time.Unix(k.start, 0).UTC()
			num, err := d.add(ctx, a, rateCounterKey(fk.counter(), k), g.n, d.expiry(start.Add(lim.Window+MarkTTL)))
			if err != nil {
				return err
			}
			den, ok := sends[k]
			if !ok {
				if den, err = d.rateDenominator(ctx, k); err != nil {
					return err
				}
			}
			if den == 0 || den < lim.MinSends {
				continue
			}
			rate := float64(num) / float64(den)
			if rate <= lim.Max {
				continue
			}
			what, name := "principal", k.name
			if k.identity {
				what = "identity"
			}
			detail := fmt.Sprintf("%s %q: %s rate %.2f%% (%d/%d recipients) in %s exceeds %.2f%%",
				what, name, map[feedbackKind]string{kindBounce: "bounce", kindComplaint: "complaint"}[fk],
				100*rate, num, den, lim.Window, 100*lim.Max)
			spec := hitSpec{rule: fk.rule(), account: k.account, dim: k.dim(), start: start, end: start.Add(lim.Window),
				detail: detail, metric: rate, threshold: lim.Max}
			if what == "principal" {
				spec.principal = name
			} else {
				spec.identity = name
			}
			for _, e := range g.events {
				a.hit(d, spec, e, feedbackRecipients(e))
			}
		}
	}
	return nil
}

func rateCounterKey(kind string, k rateKey) string {
	return fmt.Sprintf("%s#%s#%s#%d#%d", kind, k.account, k.dim(), k.win, k.start)
}

func feedbackRecipients(e *sesevent.Event) []string {
	switch {
	case e.Bounce != nil && len(e.Bounce.Recipients) > 0:
		return e.Bounce.Recipients
	case e.Complaint != nil && len(e.Complaint.Recipients) > 0:
		return e.Complaint.Recipients
	}
	return e.Recipients
}
