package detect

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// Keys given as strings (the State interface) and as bytes (the Detector's in-process path) name
// the same marks.
func TestMemoryStateKeysAsStringsAndBytes(t *testing.T) {
	ctx := context.Background()
	exp := time.Date(2026, 5, 4, 0, 0, 0, 5, time.UTC)
	info := SendInfo{Account: "111122223333", Principal: "ses-smtp-user.a", Identity: "mail.example.com"}
	tests := []struct {
		name     string
		mark     func(s *MemoryState, k string) bool
		sendInfo func(s *MemoryState, k string) (SendInfo, bool)
		unmark   func(s *MemoryState, k string)
	}{
		{"string mark, bytes lookup",
			func(s *MemoryState, k string) bool { ok, _ := s.Mark(ctx, k, info, exp); return ok },
			func(s *MemoryState, k string) (SendInfo, bool) { return s.sendInfoBytes([]byte(k)) },
			func(s *MemoryState, k string) { s.unmarkBytes([]byte(k)) }},
		{"bytes mark (markAll's batch path), string lookup",
			func(s *MemoryState, k string) bool {
				added := make([]bool, 1)
				s.markBatch([]markKey{s.keyBytes([]byte(k))}, func(int) (SendInfo, time.Time) { return info, exp }, added)
				return added[0]
			},
			func(s *MemoryState, k string) (SendInfo, bool) { i, ok, _ := s.SendInfo(ctx, k); return i, ok },
			func(s *MemoryState, k string) { _ = s.Unmark(ctx, k) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewMemoryState()
			const k = "evt#0102018f-abc#Send"
			if !tc.mark(s, k) || tc.mark(s, k) {
				t.Fatal("want first mark true, second false")
			}
			if got, ok := tc.sendInfo(s, k); !ok || got != info {
				t.Fatalf("SendInfo = %+v %v, want %+v", got, ok, info)
			}
			if _, ok := tc.sendInfo(s, k+"x"); ok {
				t.Fatal("another key is marked")
			}
			tc.unmark(s, k)
			if _, ok := tc.sendInfo(s, k); ok || !tc.mark(s, k) {
				t.Fatal("unmark did not remove the mark")
			}
		})
	}
}

// A prune drops the SendInfos no live mark uses once the table is large, and live marks keep
// theirs.
func TestMemoryStateCompactsSendInfos(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryState()
	t0 := time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)
	n := infoCompactAt + 100
	infos := make([]SendInfo, n)
	for i := range n {
		info := SendInfo{Account: "111122223333", Principal: fmt.Sprintf("user-%d", i)}
		infos[i] = info
		if _, err := s.Mark(ctx, fmt.Sprintf("old-%d", i), info, t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	live := SendInfo{Account: "111122223333", Principal: "live"}
	later := t0.Add(MarkTTL + 24*time.Hour)
	if _, err := s.Mark(ctx, "live", live, later); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.prune()
	nInfos, nMarks := len(s.infos), s.marks.len()
	s.mu.Unlock()
	if nMarks != 1 || nInfos != 2 {
		t.Fatalf("after the prune: %d marks, %d infos; want 1 and 2 (the zero one and the live one)", nMarks, nInfos)
	}
	if got, ok, _ := s.SendInfo(ctx, "live"); !ok || got != live {
		t.Fatalf("live mark's info = %+v %v, want %+v", got, ok, live)
	}
	// Indexes cached before the compaction are stale: marks made after it with SendInfos seen
	// before it (the same strings, as a decoder's interned values are) name their own.
	for i := n - 20; i < n; i++ {
		info := infos[i]
		key := fmt.Sprintf("again-%d", i)
		if _, err := s.Mark(ctx, key, info, later); err != nil {
			t.Fatal(err)
		}
		if got, ok, _ := s.SendInfo(ctx, key); !ok || got != info {
			t.Fatalf("%s after the compaction: info %+v %v, want %+v", key, got, ok, info)
		}
	}
}

// plainState is a MemoryState seen only through the State interface, so the Detector takes its
// general path (string keys, the in-batch set) instead of the in-process one.
type plainState struct{ State }

// The in-process mark path gives what the general path gives: processed events, duplicates,
// unjoined feedback and findings, over batches with repeats and replays of earlier batches.
func TestMemoryMarkPathMatchesGeneral(t *testing.T) {
	p := loadPolicy(t, `
version: 1
network: {cidrs: [10.20.0.0/16]}
senders: {principals: ["ses-smtp-user.*"], from: ["*@mail.example.com"], identities: [mail.example.com], configuration_sets: [prod-outbound]}
recipients: {domains: ["*"]}
limits: {bounce_rate: {window: 1h, max: 0.05, min_sends: 2}}
`)
	var batches [][]sesevent.Event
	for b := range 3 {
		var batch []sesevent.Event
		for i := range 40 {
			s := goodSend(b*20 + i) // batches overlap by half
			if i%3 == 0 {
				s.ConfigurationSet = "marketing"
			}
			if i%5 == 0 {
				batch = append(batch, bounceOf(s, "Permanent", time.Minute))
			}
			batch = append(batch, s)
			if i%7 == 0 {
				batch = append(batch, s)
			}
		}
		batches = append(batches, batch)
	}
	run := func(st State) []Batch {
		d := newDetector(t, p, st)
		var out []Batch
		for _, batch := range batches {
			out = append(out, process(t, d, batch))
		}
		return out
	}
	fast, general := run(NewMemoryState()), run(plainState{NewMemoryState()})
	for i := range fast {
		f, g := fast[i], general[i]
		if f.Events != g.Events || f.Duplicates != g.Duplicates || f.Unjoined != g.Unjoined || len(f.Updates) != len(g.Updates) {
			t.Fatalf("batch %d: in-process %d events %d dups %d unjoined %d updates; general %d %d %d %d",
				i, f.Events, f.Duplicates, f.Unjoined, len(f.Updates), g.Events, g.Duplicates, g.Unjoined, len(g.Updates))
		}
		for j := range f.Updates {
			if fu, gu := f.Updates[j].Finding, g.Updates[j].Finding; fu.ID != gu.ID || fu.Evidence.Count != gu.Evidence.Count {
				t.Errorf("batch %d update %d: %s count %d, general %s count %d", i, j, fu.ID, fu.Evidence.Count, gu.ID, gu.Evidence.Count)
			}
		}
	}
}
