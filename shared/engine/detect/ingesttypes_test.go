package detect

import (
	"context"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// recordingState is a State that logs every call (the Mark fast path of MemoryState is bypassed
// because this is not a *MemoryState).
type recordingState struct {
	*MemoryState
	mu    sync.Mutex
	calls []string
}

func (r *recordingState) log(op, key string) {
	r.mu.Lock()
	r.calls = append(r.calls, op+" "+key)
	r.mu.Unlock()
}

func (r *recordingState) Mark(ctx context.Context, key string, info SendInfo, exp time.Time) (bool, error) {
	r.log("Mark", key)
	return r.MemoryState.Mark(ctx, key, info, exp)
}

func (r *recordingState) SendInfo(ctx context.Context, key string) (SendInfo, bool, error) {
	r.log("SendInfo", key)
	return r.MemoryState.SendInfo(ctx, key)
}

func (r *recordingState) Add(ctx context.Context, key string, d int64, exp time.Time) (int64, error) {
	r.log("Add", key)
	return r.MemoryState.Add(ctx, key, d, exp)
}

func (r *recordingState) Get(ctx context.Context, key string) (int64, error) {
	r.log("Get", key)
	return r.MemoryState.Get(ctx, key)
}

func (r *recordingState) Tally(ctx context.Context, key string, n int64, first, exp time.Time) (Aggregate, error) {
	r.log("Tally", key)
	return r.MemoryState.Tally(ctx, key, n, first, exp)
}

// everyRulePolicy enables every SES-event rule with thresholds a handful of events cross.
const everyRulePolicy = `
version: 1
network:
  cidrs: [10.20.0.0/16]
senders:
  principals: ["ses-smtp-user.2026*"]
  from: ["*@mail.example.com"]
  identities: ["mail.example.com"]
  configuration_sets: ["prod-outbound"]
recipients:
  domains: ["example.org"]
limits:
  per_principal: { window: 5m, max_sends: 1 }
  bounce_rate: { window: 1h, max: 0.01, min_sends: 1 }
  complaint_rate: { window: 1h, max: 0.001, min_sends: 1 }
`

// The event types the pipeline keeps out of ingest (infra routes only IngestEventTypes) change
// nothing: whatever they carry — a public source IP, an unknown principal, any recipient — they
// make no State call and no finding, alone or mixed into a stream with every rule firing. So no
// rule and no join needs them, and dropping them before ingest loses nothing.
func TestOnlyIngestEventTypesMatter(t *testing.T) {
	p := loadPolicy(t, everyRulePolicy)
	bad := func(typ sesevent.Type, i int) sesevent.Event {
		return with(goodSend(i), func(e *sesevent.Event) {
			e.Type = typ
			e.SourceIP = netip.MustParseAddr("203.0.113.9")
			e.CallerIdentity = "intruder"
			e.Recipients = []string{"x@elsewhere.test"}
		})
	}
	all := []sesevent.Type{sesevent.TypeSend, sesevent.TypeReject, sesevent.TypeBounce, sesevent.TypeComplaint, sesevent.TypeDelivery,
		sesevent.TypeOpen, sesevent.TypeClick, sesevent.TypeRenderingFailure, sesevent.TypeDeliveryDelay, sesevent.TypeSubscription}
	var others []sesevent.Type
	for _, typ := range all {
		ingest := slices.Contains(IngestEventTypes(), string(typ))
		if got := relevant(&sesevent.Event{Type: typ}); got != ingest {
			t.Errorf("%s: relevant %v, in IngestEventTypes %v", typ, got, ingest)
		}
		if !ingest {
			others = append(others, typ)
		}
	}
	if len(others) != 7 {
		t.Fatalf("event types kept out of ingest: %v", others)
	}
	ctx := context.Background()
	for _, typ := range others {
		st := &recordingState{MemoryState: NewMemoryState()}
		d, err := New(p, st, WithClock(func() time.Time { return t0 }))
		if err != nil {
			t.Fatal(err)
		}
		ev := bad(typ, 1)
		ev.Bounce = &sesevent.BounceDetail{Type: "Permanent", Recipients: ev.Recipients}
		b, err := d.Process(ctx, []sesevent.Event{ev})
		if err != nil || len(b.Updates) != 0 || len(st.calls) != 0 {
			t.Errorf("%s: err %v, %d updates, state calls %v", typ, err, len(b.Updates), st.calls)
		}
	}
	// A stream where every rule fires, with and without the other types mixed in: the same
	// findings, counts and State calls.
	// One batch per message (its Send, the other types, its feedback), so both runs batch alike.
	var core, mixed [][]sesevent.Event
	for i := range 20 {
		s := bad(sesevent.TypeSend, i)
		core = append(core, []sesevent.Event{s})
		mixed = append(mixed, []sesevent.Event{s})
		for _, typ := range others {
			mixed[i] = append(mixed[i], with(s, func(e *sesevent.Event) { e.Type = typ; e.EventTime = e.EventTime.Add(time.Second) }))
		}
		if i%2 == 0 {
			core[i] = append(core[i], bounceOf(s, "Permanent", time.Second))
			mixed[i] = append(mixed[i], bounceOf(s, "Permanent", time.Second))
		}
		if i%5 == 0 {
			core[i] = append(core[i], complaintOf(s, time.Minute))
			mixed[i] = append(mixed[i], complaintOf(s, time.Minute))
		}
	}
	run := func(batches [][]sesevent.Event) ([]string, []string) {
		st := &recordingState{MemoryState: NewMemoryState()}
		d, err := New(p, st, WithClock(func() time.Time { return t0 }))
		if err != nil {
			t.Fatal(err)
		}
		c := NewCollector()
		for _, evs := range batches {
			b, err := d.Process(ctx, evs)
			if err != nil {
				t.Fatal(err)
			}
			c.Add(b.Updates)
		}
		var got []string
		for _, f := range c.Findings() {
			got = append(got, f.Rule+" "+f.Principal.Name+" "+f.ID+" "+time.Duration(f.Evidence.Count).String())
		}
		slices.Sort(st.calls)
		return got, st.calls
	}
	coreFindings, coreCalls := run(core)
	mixedFindings, mixedCalls := run(mixed)
	if len(coreFindings) < 8 {
		t.Fatalf("want every rule to fire, got %v", coreFindings)
	}
	if !reflect.DeepEqual(coreFindings, mixedFindings) {
		t.Errorf("findings differ with the other event types mixed in:\n core  %v\n mixed %v", coreFindings, mixedFindings)
	}
	if !reflect.DeepEqual(coreCalls, mixedCalls) {
		t.Errorf("state calls differ with the other event types mixed in:\n core  %v\n mixed %v", coreCalls, mixedCalls)
	}
}
