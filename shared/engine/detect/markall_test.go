package detect

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// concurrentMemory is a MemoryState that asks Process for concurrent marks, as DynamoState does,
// and can fail one chosen mark.
type concurrentMemory struct {
	*MemoryState
	failKey string
	calls   atomic.Int64
}

var _ concurrentState = (*concurrentMemory)(nil)

func (c *concurrentMemory) MarkConcurrency() int { return 4 }

func (c *concurrentMemory) Mark(ctx context.Context, key string, info SendInfo, exp time.Time) (bool, error) {
	c.calls.Add(1)
	if key == c.failKey {
		return false, errors.New("throttled")
	}
	return c.MemoryState.Mark(ctx, key, info, exp)
}

// A batch with repeated events and a Bounce ahead of its Send gives the same outcome whether the
// marks run one by one or concurrently, and a repeated key costs no State call.
func TestConcurrentMarksMatchSequential(t *testing.T) {
	p := loadPolicy(t, `
version: 1
network: {cidrs: [10.20.0.0/16]}
senders: {principals: ["ses-smtp-user.*"], from: ["*@mail.example.com"], identities: [mail.example.com], configuration_sets: [prod-outbound]}
recipients: {domains: ["*"]}
limits: {bounce_rate: {window: 1h, max: 0.05, min_sends: 2}}
`)
	var batch []sesevent.Event
	for i := range 30 {
		s := goodSend(i)
		if i%3 == 0 {
			s.ConfigurationSet = "marketing"
		}
		if i%5 == 0 {
			batch = append(batch, bounceOf(s, "Permanent", time.Minute)) // before its Send
		}
		batch = append(batch, s)
		if i%7 == 0 {
			batch = append(batch, s) // repeated in the batch
		}
	}
	seq := process(t, newDetector(t, p, NewMemoryState()), batch)
	cm := &concurrentMemory{MemoryState: NewMemoryState()}
	con := process(t, newDetector(t, p, cm), batch)
	if seq.Duplicates != 5 || seq.Unjoined != 0 {
		t.Fatalf("sequential batch: %d duplicates, %d unjoined; want 5 and 0", seq.Duplicates, seq.Unjoined)
	}
	if !reflect.DeepEqual(seq, con) {
		t.Fatalf("concurrent marks changed the outcome:\nsequential %+v\nconcurrent %+v", seq, con)
	}
	if got, want := cm.calls.Load(), int64(len(batch)-5); got != want {
		t.Errorf("%d Mark calls, want %d (one per distinct key)", got, want)
	}
}

// A failing mark fails the batch and rolls back every mark that succeeded, so a retry is whole.
func TestConcurrentMarkFailureRollsBack(t *testing.T) {
	p := examplePolicy(t)
	bad := func(i int) sesevent.Event {
		return with(goodSend(i), func(e *sesevent.Event) { e.ConfigurationSet = "marketing" })
	}
	batch := []sesevent.Event{bad(1), bad(2), bad(3), bad(4), bad(5)}
	cm := &concurrentMemory{MemoryState: NewMemoryState(), failKey: sendKey(batch[2].MessageID)}
	d := newDetector(t, p, cm)
	if _, err := d.Process(context.Background(), batch); err == nil {
		t.Fatal("a failed mark must fail the batch")
	}
	cm.failKey = ""
	b := process(t, d, batch)
	if b.Duplicates != 0 || len(b.Updates) != 1 || b.Updates[0].Finding.Evidence.Count != 5 {
		t.Fatalf("retry after rollback = %+v, want all 5 counted once", b)
	}
}

// ctxState behaves like a network State: calls fail once ctx is done. Its Tally cancels the
// batch's context first, as a Lambda deadline expiring mid-batch would.
type ctxState struct {
	*MemoryState
	cancel   context.CancelFunc
	tallyErr bool
}

func (c *ctxState) Unmark(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.MemoryState.Unmark(ctx, key)
}

func (c *ctxState) Tally(ctx context.Context, key string, n int64, first, exp time.Time) (Aggregate, error) {
	if c.tallyErr {
		c.cancel()
		return Aggregate{}, ctx.Err()
	}
	return c.MemoryState.Tally(ctx, key, n, first, exp)
}

// A batch failing because its context ran out still rolls back its marks, so the retry counts
// its events instead of skipping them all as duplicates.
func TestDeadlineFailureRollsBackMarks(t *testing.T) {
	p := examplePolicy(t)
	var batch []sesevent.Event
	for i := range 5 {
		batch = append(batch, with(goodSend(i), func(e *sesevent.Event) { e.ConfigurationSet = "marketing" }))
	}
	ctx, cancel := context.WithCancel(context.Background())
	st := &ctxState{MemoryState: NewMemoryState(), cancel: cancel, tallyErr: true}
	d := newDetector(t, p, st)
	if _, err := d.Process(ctx, batch); err == nil {
		t.Fatal("a batch whose context ran out must fail")
	}
	st.tallyErr = false
	b := process(t, d, batch)
	if b.Duplicates != 0 || len(b.Updates) != 1 || b.Updates[0].Finding.Evidence.Count != 5 {
		t.Fatalf("retry after a deadline = %d duplicates, %d updates; want 0 duplicates and one finding of 5", b.Duplicates, len(b.Updates))
	}
}

// nthTallyFails fails the n-th Tally call (1-based), once.
type nthTallyFails struct {
	*MemoryState
	n, calls int
}

func (f *nthTallyFails) Tally(ctx context.Context, key string, n int64, first, exp time.Time) (Aggregate, error) {
	f.calls++
	if f.calls == f.n {
		return Aggregate{}, errors.New("throttled")
	}
	return f.MemoryState.Tally(ctx, key, n, first, exp)
}

// A failed batch takes back its counter and aggregate increments: the retry counts its sends
// once, so it neither crosses the volume limit on its own nor doubles a finding's count.
func TestFailedBatchUndoesCounters(t *testing.T) {
	p := loadPolicy(t, `
version: 1
network: {cidrs: [10.20.0.0/16]}
senders: {principals: ["ses-smtp-user.*"], from: ["*@mail.example.com"], identities: [mail.example.com], configuration_sets: [prod-outbound]}
recipients: {domains: ["*"]}
limits: {per_principal: {window: 5m, max_sends: 10}, bounce_rate: {window: 1h, max: 0.05, min_sends: 1}}
`)
	var batch []sesevent.Event
	for i := range 4 {
		batch = append(batch, with(goodSend(i), func(e *sesevent.Event) { e.ConfigurationSet = "marketing" }))
		batch = append(batch, with(goodSend(100+i), func(e *sesevent.Event) { e.From[0].Address = "x@evil.example" }))
	}
	st := &nthTallyFails{MemoryState: NewMemoryState(), n: 2}
	d := newDetector(t, p, st)
	if _, err := d.Process(context.Background(), batch); err == nil {
		t.Fatal("the batch must fail")
	}
	b := process(t, d, batch)
	byID := byRule(b.Updates)
	if _, spike := byID[rules.VolumePrincipalSpike]; spike || len(b.Updates) != 2 {
		t.Fatalf("retry of 8 sends (limit 10) = %d updates %v; want 2 and no volume spike", len(b.Updates), byID)
	}
	for _, u := range b.Updates {
		if u.Finding.Evidence.Count != 4 || !u.New {
			t.Errorf("%s: count %d new %v after the retry, want 4 and new", u.Finding.Rule, u.Finding.Evidence.Count, u.New)
		}
	}
	if n, _ := st.Get(context.Background(), rateCounterKey("snd", rateKey{account: "111122223333", name: batch[0].CallerIdentity, win: 3600, start: t0.Unix()})); n != 8 {
		t.Errorf("send counter = %d after the retry, want 8", n)
	}
}

// MemoryState rescans its marks only when their number doubled since the last prune, so a replay
// with more live marks than the prune threshold stays linear instead of scanning on every Mark.
func TestMemoryPruneAmortised(t *testing.T) {
	st := NewMemoryState()
	st.pruneAt = 4
	ctx := context.Background()
	exp := t0.Add(MarkTTL)
	for i := range 100 {
		if first, err := st.Mark(ctx, fmt.Sprintf("k%d", i), SendInfo{}, exp); err != nil || !first {
			t.Fatalf("Mark %d = %v, %v", i, first, err)
		}
	}
	if st.pruneAt != 128 || st.marks.len() != 100 {
		t.Errorf("after 100 live marks: prune threshold %d, %d marks; want 128 and 100 (prunes at 4, 8, 16, 32, 64)", st.pruneAt, st.marks.len())
	}
	// Expired marks are still dropped when the threshold is reached.
	late := t0.Add(3 * MarkTTL)
	for i := range 29 { // the 129th mark reaches the threshold
		st.Mark(ctx, fmt.Sprintf("late%d", i), SendInfo{}, late)
	}
	if st.marks.len() != 29 {
		t.Errorf("after expiry: %d marks, want the 29 live ones", st.marks.len())
	}
}
