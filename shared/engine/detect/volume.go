package detect

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

func volumePrincipalSpike(c rules.Rule) Rule {
	return Rule{
		Rule: c,
	}
}

// volKey groups a batch's sends per account, principal and window bucket.
type volKey struct {
	account, principal string
	start              int64 // bucket start, unix seconds
}

type volGroup struct {
	sends []*sesevent.Event
	last  time.Time
}

// evalVolume adds each group's sends to its bucket counter and estimates the sliding-window count
// the standard way: the previous bucket weighted by how much of it still lies inside the window,
// plus the current bucket. Sends beyond the limit become hits (the newest ones of the batch).
func (d *Detector) evalVolume(ctx context.Context, a *accum) error {
	lim := d.p.Limits.PerPrincipal
	w := lim.Window
	for _, k := range a.volOrder {
		g := a.vol[k]
		start := time.Unix(k.start, 0).UTC()
		cur, prev := a.volCur[k], a.volPrev[k]
		if a.volCur == nil { // principalCounters did not apply: a counter of its own
			var err error
			if cur, err = d.add(ctx, a, volCounterKey(k, k.start), int64(len(g.sends)), d.expiry(start.Add(2*w))); err != nil {
				return err
			}
			if prev, err = d.st.Get(ctx, volCounterKey(k, k.start-int64(w/time.Second))); err != nil {
				return err
			}
		}
		elapsed := g.last.Sub(start)
		frac := math.Min(math.Max(float64(elapsed)/float64(w), 0), 1)
		est := float64(prev)*(1-frac) + float64(cur)
		over := est - float64(lim.MaxSends)
		if over <= 0 {
			continue
		}
		n := min(len(g.sends), int(math.Ceil(over)))
		detail := fmt.Sprintf("%s sent ~%.0f messages in %s (limit %d)", principalLabel(k.principal), est, w, lim.MaxSends)
		for _, e := range g.sends[len(g.sends)-n:] {
			a.hit(d, hitSpec{
				rule: rules.VolumePrincipalSpike, account: k.account, principal: k.principal, dim: k.principal,
				start: start, end: start.Add(w), detail: detail, metric: est, threshold: float64(lim.MaxSends),
			}, e, e.Recipients)
		}
	}
	return nil
}

func volCounterKey(k volKey, start int64) string {
	return fmt.Sprintf("vol#%s#%s#%d", k.account, k.principal, start)
}

func principalLabel(p string) string {
	if p == "" {
		return "an unattributed caller"
	}
	return fmt.Sprintf("%q", p)
}
