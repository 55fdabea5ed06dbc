package detect

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// Dedup marks and undo: marking a batch's events before counting them (a redelivered event is
// skipped), the window counters' writes with their undo log, and removing a failed batch's
// marks so its retry is not taken for a duplicate. detect.go evaluates; this file keeps the
// state honest.

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
		// In process, in event order, with the keys built in one buffer and hashed first: a key
		// repeated in the batch finds its own mark, which gives the outcome the in-batch set
		// below gives, and the table is touched for all keys before any is marked.
		var buf [160]byte
		var idx []int
		var ks []markKey
		for i := range events {
			e := &events[i]
			if !relevant(e) {
				continue
			}
			if e.MessageID == "" {
				process[i] = true
				continue
			}
			idx = append(idx, i)
			ks = append(ks, ms.keyBytes(appendDedupKey(buf[:0], e)))
		}
		added := make([]bool, len(ks))
		ms.markBatch(ks, func(j int) (SendInfo, time.Time) {
			e := &events[idx[j]]
			var info SendInfo
			if e.Type == sesevent.TypeSend {
				info = SendInfo{Account: e.Account, Principal: e.CallerIdentity, Identity: e.Identity}
			}
			return info, d.expiry(d.when(e).Add(MarkTTL))
		}, added)
		for j, i := range idx {
			if added[j] {
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
	mark    bool        // a mark to remove (incident steps)
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
		if op.mark {
			if err = d.st.Unmark(ctx, op.key); err != nil {
				errs = append(errs, fmt.Errorf("undo %s: %w", op.key, err))
			}
			continue
		}
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
