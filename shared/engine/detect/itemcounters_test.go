package detect

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// itemMemory is a MemoryState with item counters (as DynamoState has), each attribute a counter
// of its own; writes counts the State writes a batch costs. failTally fails aggregate updates.
type itemMemory struct {
	*MemoryState
	mu        sync.Mutex
	attrs     map[string]map[string]bool
	writes    int
	failTally bool
}

func newItemMemory() *itemMemory {
	return &itemMemory{MemoryState: NewMemoryState(), attrs: map[string]map[string]bool{}}
}

func (m *itemMemory) AddItem(ctx context.Context, item string, deltas []AttrDelta, exp time.Time) (map[string]int64, error) {
	m.mu.Lock()
	m.writes++
	if m.attrs[item] == nil {
		m.attrs[item] = map[string]bool{}
	}
	for _, d := range deltas {
		m.attrs[item][d.Attr] = true
	}
	names := m.attrs[item]
	m.mu.Unlock()
	for _, d := range deltas {
		if _, err := m.MemoryState.Add(ctx, item+"|"+d.Attr, d.Delta, exp); err != nil {
			return nil, err
		}
	}
	out := map[string]int64{}
	for a := range names {
		out[a], _ = m.MemoryState.Get(ctx, item+"|"+a)
	}
	return out, nil
}

func (m *itemMemory) GetAttr(ctx context.Context, item, attr string) (int64, error) {
	return m.MemoryState.Get(ctx, item+"|"+attr)
}

func (m *itemMemory) Add(ctx context.Context, key string, d int64, exp time.Time) (int64, error) {
	m.mu.Lock()
	m.writes++
	m.mu.Unlock()
	return m.MemoryState.Add(ctx, key, d, exp)
}

func (m *itemMemory) Tally(ctx context.Context, key string, n int64, first, exp time.Time) (Aggregate, error) {
	if m.failTally && n > 0 {
		return Aggregate{}, errors.New("throttled")
	}
	return m.MemoryState.Tally(ctx, key, n, first, exp)
}

// spikeStream is a stream in which volume and bounce-rate findings fire for two principals,
// across volume buckets and the rate bucket boundary, in batches of ten.
func spikeStream() [][]sesevent.Event {
	var all []sesevent.Event
	start := time.Date(2026, 11, 23, 9, 50, 0, 0, time.UTC)
	for i := range 120 {
		s := goodSend(i)
		s.MailTime = start.Add(time.Duration(i) * 12 * time.Second) // 9:50 → 10:14
		s.EventTime = s.MailTime
		if i%3 == 0 {
			s.CallerIdentity = "mailer-task-role"
			s.SourceIP = netip.MustParseAddr("203.0.113.9")
		}
		all = append(all, s)
		if i%4 == 0 {
			all = append(all, bounceOf(s, "Permanent", time.Second))
		}
	}
	var batches [][]sesevent.Event
	for i := 0; i < len(all); i += 10 {
		batches = append(batches, all[i:min(len(all), i+10)])
	}
	return batches
}

const spikePolicy = `
version: 1
network:
  cidrs: [10.20.0.0/16]
senders:
  principals: ["ses-smtp-user.2026*", "mailer-task-role"]
recipients:
  domains: ["*"]
limits:
  per_principal: { window: 5m, max_sends: 12 }
  bounce_rate: { window: 1h, max: 0.1, min_sends: 5 }
  complaint_rate: { window: 1h, max: 0.001, min_sends: 5 }
`

func runBatches(t *testing.T, st State, batches [][]sesevent.Event) []string {
	t.Helper()
	d, err := New(loadPolicy(t, spikePolicy), st, WithClock(func() time.Time { return t0 }))
	if err != nil {
		t.Fatal(err)
	}
	c := NewCollector()
	for _, b := range batches {
		out, err := d.Process(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		c.Add(out.Updates)
	}
	var got []string
	for _, f := range c.Findings() {
		got = append(got, fmt.Sprintf("%s %s %s count=%d metric=%.4f %s", f.Rule, f.Principal.Name, f.ID, f.Evidence.Count, f.Evidence.Metric, f.Evidence.Detail))
	}
	return got
}

// Principal counters kept in one item give the findings separate counters give (volume with
// its previous bucket in the same and in the previous rate bucket, bounce rates), for fewer
// writes.
func TestItemCountersMatchSeparateCounters(t *testing.T) {
	batches := spikeStream()
	want := runBatches(t, NewMemoryState(), batches)
	im := newItemMemory()
	got := runBatches(t, im, batches)
	if len(want) < 4 {
		t.Fatalf("want volume, network and bounce findings, got %v", want)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("item counters:\n got  %q\n want %q", got, want)
	}
	// Separate counters: per batch and principal a volume write and a rate write; items: one.
	sep := &itemMemoryNoItems{newItemMemory()}
	runBatches(t, sep, batches)
	if im.writes >= sep.m.writes {
		t.Errorf("writes with items %d, without %d", im.writes, sep.m.writes)
	}
	t.Logf("state writes: %d with principal items, %d with separate counters", im.writes, sep.m.writes)
}

// itemMemoryNoItems counts writes but offers no item counters.
type itemMemoryNoItems struct{ m *itemMemory }

func (s *itemMemoryNoItems) Mark(ctx context.Context, k string, i SendInfo, e time.Time) (bool, error) {
	return s.m.Mark(ctx, k, i, e)
}
func (s *itemMemoryNoItems) Unmark(ctx context.Context, k string) error { return s.m.Unmark(ctx, k) }
func (s *itemMemoryNoItems) SendInfo(ctx context.Context, k string) (SendInfo, bool, error) {
	return s.m.SendInfo(ctx, k)
}
func (s *itemMemoryNoItems) Add(ctx context.Context, k string, d int64, e time.Time) (int64, error) {
	return s.m.Add(ctx, k, d, e)
}
func (s *itemMemoryNoItems) Get(ctx context.Context, k string) (int64, error) { return s.m.Get(ctx, k) }
func (s *itemMemoryNoItems) Tally(ctx context.Context, k string, n int64, f, e time.Time) (Aggregate, error) {
	return s.m.Tally(ctx, k, n, f, e)
}

// A redelivered or duplicated event is never counted twice, also when the redelivery lands in a
// later batch (SQS redelivers a failed record, the source delivers twice): the counters, the
// finding counts and the findings equal those of the stream delivered once.
func TestRedeliveryAcrossBatchesCountsOnce(t *testing.T) {
	for name, st := range map[string]func() State{"item counters": func() State { return newItemMemory() }, "memory": func() State { return NewMemoryState() }} {
		t.Run(name, func(t *testing.T) {
			once := spikeStream()
			var again [][]sesevent.Event
			for i, b := range once {
				nb := append([]sesevent.Event(nil), b...)
				if i > 0 {
					// The previous batch's second half (sends and bounces) redelivered with this one.
					prev := once[i-1]
					nb = append(nb, prev[len(prev)/2:]...)
				}
				again = append(again, nb)
			}
			again = append(again, once[0], once[len(once)-1]) // whole batches delivered twice, at the end
			want := runBatches(t, st(), once)
			got := runBatches(t, st(), again)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("with redeliveries:\n got  %q\n want %q", got, want)
			}
		})
	}
}

// A batch that fails after the principal items were updated takes its increments back, so its
// retry counts once.
func TestItemCountersUndoneOnFailure(t *testing.T) {
	batches := spikeStream()
	im := newItemMemory()
	d, err := New(loadPolicy(t, spikePolicy), im, WithClock(func() time.Time { return t0 }))
	if err != nil {
		t.Fatal(err)
	}
	retried := 0
	for _, b := range batches {
		im.failTally = true
		if _, err := d.Process(context.Background(), b); err == nil {
			// A batch without findings does not tally; nothing to fail.
			im.failTally = false
			continue
		}
		im.failTally = false
		retried++
		if _, err := d.Process(context.Background(), b); err != nil { // the retry
			t.Fatal(err)
		}
	}
	if retried == 0 {
		t.Fatal("no batch failed: the test exercises nothing")
	}
	// Counts after failed-then-retried batches equal a clean run's.
	clean := newItemMemory()
	runBatches(t, clean, batches)
	for item, attrs := range clean.attrs {
		for a := range attrs {
			w, _ := clean.GetAttr(context.Background(), item, a)
			g, _ := im.GetAttr(context.Background(), item, a)
			if w != g {
				t.Errorf("%s %s = %d after retries, want %d", item, a, g, w)
			}
		}
	}
	if len(clean.attrs) == 0 {
		t.Fatal("stream produced no items")
	}
	t.Logf("%d batches failed and were retried", retried)
}

func TestDynamoItemCountersAgainstMoto(t *testing.T) {
	m := awstest.Start(t)
	ctx := context.Background()
	m.SeedStateTable(t, "sesguard-state")
	st := NewDynamoState(dynamodb.NewFromConfig(m.Config(t)), "sesguard-state")
	exp := t0.Add(time.Hour)
	got, err := st.AddItem(ctx, "ctr#a#p#3600#0", []AttrDelta{{"v300_0", 3}, {"snd", 5}}, exp)
	if err != nil || !reflect.DeepEqual(got, map[string]int64{"v300_0": 3, "snd": 5}) {
		t.Fatalf("first AddItem = %v, %v", got, err)
	}
	got, err = st.AddItem(ctx, "ctr#a#p#3600#0", []AttrDelta{{"v300_300", 2}, {"snd", 2}}, exp)
	if err != nil || !reflect.DeepEqual(got, map[string]int64{"v300_0": 3, "v300_300": 2, "snd": 7}) {
		t.Fatalf("second AddItem = %v, %v", got, err)
	}
	if n, err := st.GetAttr(ctx, "ctr#a#p#3600#0", "snd"); err != nil || n != 7 {
		t.Errorf("GetAttr snd = %d, %v", n, err)
	}
	if n, err := st.GetAttr(ctx, "ctr#a#p#3600#0", "v300_600"); err != nil || n != 0 {
		t.Errorf("GetAttr absent = %d, %v", n, err)
	}
	if n, err := st.GetAttr(ctx, "ctr#none", "snd"); err != nil || n != 0 {
		t.Errorf("GetAttr absent item = %d, %v", n, err)
	}
	// Through the Detector: the spike stream's findings equal the in-memory run's.
	want := runBatches(t, NewMemoryState(), spikeStream())
	m.SeedStateTable(t, "sesguard-state-2")
	if got := runBatches(t, NewDynamoState(dynamodb.NewFromConfig(m.Config(t)), "sesguard-state-2"), spikeStream()); !reflect.DeepEqual(got, want) {
		t.Errorf("DynamoState:\n got  %q\n want %q", got, want)
	}
}
