package alert

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// Destination renders and delivers an alert. SlackWebhook and SNSPublisher implement it.
type Destination interface {
	// Name is stable per destination; it prefixes dedup keys and appears in logs.
	Name() string
	Send(ctx context.Context, a Alert) error
}

// DefaultFactor is the growth that turns a repeated finding into an update message.
const DefaultFactor = 2

// bookkeepingTimeout bounds a dedup commit or release, which runs even when the send ended with
// the caller's context (it fits in fnenv.DefaultReserve).
const bookkeepingTimeout = 2 * time.Second

// Notifier decides whether a finding or result is worth a message and sends it to every
// destination.
//
// Noise rules, per destination and finding id:
//   - first sighting: a full alert (Slack header, SNS subject "[SEVERITY] …");
//   - same id again with count ≥ Factor × the last announced count: an "update" (Slack: no header,
//     "Update: …" text; SNS: "[update]" subject and attribute alert=update) — at 1, 2, 4, 8 …
//     sends with the default factor 2;
//   - anything else (redelivery, small growth): nothing.
//
// A containment result is announced once per distinct outcome (mode and every action's id and
// outcome), so a redelivered result is silent but a retry that changes an outcome is reported.
//
// Destinations are independent: each has its own dedup key, they are delivered concurrently so
// one failing or hanging does not stop or starve the others, and a failure is returned (joined) so the caller fails the record and the queue
// retries it; destinations that already succeeded are suppressed on the retry.
type Notifier struct {
	Destinations []Destination
	// Store deduplicates; nil sends every message (e.g. the CLI).
	Store Store
	// Factor is the growth needed for an update; values ≤ 1 mean DefaultFactor.
	Factor float64
	// Logger receives one line per decision; default slog.Default(). It never sees secrets.
	Logger *slog.Logger
}

func (n *Notifier) logger() *slog.Logger {
	if n.Logger != nil {
		return n.Logger
	}
	return slog.Default()
}

// Notify decodes one findings-topic message (a Finding or a Result) and notifies.
func (n *Notifier) Notify(ctx context.Context, data []byte) error {
	f, r, err := finding.Decode(data)
	if err != nil {
		return err
	}
	if f != nil {
		return n.NotifyFinding(ctx, f)
	}
	return n.NotifyResult(ctx, r)
}

// MaxPrev is the largest previously announced count that still allows an update at count:
// prev × factor ≤ count ⇔ prev ≤ ⌊count / factor⌋ for integer prev, which a conditional write can
// check without arithmetic.
func MaxPrev(count int64, factor float64) int64 {
	if factor <= 1 || math.IsNaN(factor) {
		factor = DefaultFactor
	}
	return int64(math.Floor(float64(count) / factor))
}

// NotifyFinding announces a finding (page or update) to every destination.
func (n *Notifier) NotifyFinding(ctx context.Context, f *finding.Finding) error {
	if f == nil || f.ID == "" {
		return errors.New("notify finding: field id is empty")
	}
	if f.Schema != "" && f.Schema != finding.SchemaFinding {
		return fmt.Errorf("notify finding %s: unknown schema %q", f.ID, f.Schema)
	}
	if f.Evidence.Count < 0 {
		return fmt.Errorf("notify finding %s: field evidence.count is negative (%d)", f.ID, f.Evidence.Count)
	}
	count := f.Evidence.Count
	maxPrev := MaxPrev(count, n.Factor)
	if count == 0 {
		// 0 ≥ Factor × 0: without this every redelivery of a zero-count finding would "update".
		maxPrev = -1
	}
	return n.fanOut(func(d Destination) error {
		err := n.deliver(ctx, d, "finding#"+f.ID, count, maxPrev, func(dec Decision, prev int64) Alert {
			if dec == Update {
				return Alert{Kind: KindUpdate, Finding: f, PrevCount: prev}
			}
			return Alert{Kind: KindPage, Finding: f}
		})
		if err != nil {
			return fmt.Errorf("notify finding %s via %s: %w", f.ID, d.Name(), err)
		}
		return nil
	})
}

// fanOut runs send for every destination concurrently and joins the errors in destination order.
// Concurrency is what keeps destinations independent in time as well as in outcome: a Slack
// webhook that hangs until the invocation's deadline must not leave the SNS publish behind it
// with an expired context, or during a Slack outage the backup path would never be alerted.
func (n *Notifier) fanOut(send func(Destination) error) error {
	if len(n.Destinations) == 1 {
		return send(n.Destinations[0])
	}
	errs := make([]error, len(n.Destinations))
	var wg sync.WaitGroup
	for i, d := range n.Destinations {
		wg.Go(func() { errs[i] = send(d) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// NotifyResult announces a containment result to every destination.
func (n *Notifier) NotifyResult(ctx context.Context, r *finding.Result) error {
	if r == nil || r.FindingID == "" {
		return errors.New("notify result: field finding_id is empty")
	}
	if r.Schema != "" && r.Schema != finding.SchemaResult {
		return fmt.Errorf("notify result %s: unknown schema %q", r.FindingID, r.Schema)
	}
	key := fmt.Sprintf("result#%s#%016x", r.FindingID, resultDigest(r))
	return n.fanOut(func(d Destination) error {
		err := n.deliver(ctx, d, key, 1, 0, func(Decision, int64) Alert { return Alert{Kind: KindResult, Result: r} })
		if err != nil {
			return fmt.Errorf("notify result %s via %s: %w", r.FindingID, d.Name(), err)
		}
		return nil
	})
}

// deliver runs claim → send → commit/release for one destination.
func (n *Notifier) deliver(ctx context.Context, d Destination, key string, count, maxPrev int64, build func(Decision, int64) Alert) error {
	key = d.Name() + "#" + key
	dec, prev := Page, int64(0)
	if n.Store != nil {
		var err error
		dec, prev, err = n.Store.Claim(ctx, key, count, maxPrev)
		if err != nil {
			return err
		}
	}
	log := n.logger().With("destination", d.Name(), "dedup_key", key, "count", count, "decision", dec.String())
	if dec == Suppress {
		log.InfoContext(ctx, "alert suppressed", "announced_count", prev)
		return nil
	}
	a := build(dec, prev)
	err := d.Send(ctx, a)
	// Recording the outcome must not fail just because the send used up the invocation's time
	// (the function keeps a reserve for this): a lost commit re-pages later, a lost release blocks
	// retries for a lease.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	if err != nil {
		if n.Store != nil {
			if rerr := n.Store.Release(bctx, key, count); rerr != nil {
				// The lease expires on its own; the retry then claims again.
				return errors.Join(err, rerr)
			}
		}
		return err
	}
	log.InfoContext(ctx, "alert sent", "kind", string(a.Kind))
	if n.Store != nil {
		if err := n.Store.Commit(bctx, key, count); err != nil {
			// The message is out; failing the record would only send it again. The claim's lease
			// expires and at worst a later redelivery repeats the message.
			log.ErrorContext(ctx, "alert sent but not recorded", "error", err.Error())
		}
	}
	return nil
}

// resultDigest identifies a result's outcome set.
func resultDigest(r *finding.Result) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00", r.Mode)
	for _, a := range r.Actions {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", a.ActionID, a.Action, a.Target, a.Outcome)
	}
	return h.Sum64()
}
