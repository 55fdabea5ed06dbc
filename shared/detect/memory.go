package detect

import (
	"context"
	"sync"
	"time"
)

// memoryPruneAt is the mark count above which MemoryState drops expired marks, so replaying a
// long archive does not keep every message id forever.
const memoryPruneAt = 1 << 20

// MemoryState is an in-process State for the CLI and tests. Expiry is judged against the newest
// expiry seen (event time, not wall-clock time), so replaying an old archive behaves like live
// traffic. It is safe for concurrent use.
type MemoryState struct {
	mu       sync.Mutex
	marks    map[string]memMark
	counters map[string]int64
	aggs     map[string]Aggregate
	strs     map[string]string // interned attribution strings
	newest   time.Time
	// pruneAt is the mark count that triggers the next prune. It doubles past what a prune left,
	// so a stream with more than memoryPruneAt live marks does not rescan them on every Mark.
	pruneAt int
}

type memMark struct {
	info    SendInfo
	expires time.Time
}

var _ State = (*MemoryState)(nil)

// NewMemoryState returns an empty MemoryState.
func NewMemoryState() *MemoryState {
	return &MemoryState{
		marks: make(map[string]memMark), counters: make(map[string]int64),
		aggs: make(map[string]Aggregate), strs: make(map[string]string), pruneAt: memoryPruneAt,
	}
}

// Mark implements State.
func (s *MemoryState) Mark(_ context.Context, key string, info SendInfo, expires time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.marks[key]; ok {
		return false, nil
	}
	if len(s.marks) >= s.pruneAt {
		s.prune()
		s.pruneAt = max(s.pruneAt, 2*len(s.marks))
	}
	info.Account, info.Principal, info.Identity = s.intern(info.Account), s.intern(info.Principal), s.intern(info.Identity)
	s.marks[key] = memMark{info: info, expires: expires}
	if expires.After(s.newest) {
		s.newest = expires
	}
	return true, nil
}

// prune drops marks that expired before the newest expiry seen minus the mark lifetime: they
// belong to events long before the current point of the stream.
func (s *MemoryState) prune() {
	cut := s.newest.Add(-MarkTTL)
	for k, m := range s.marks {
		if m.expires.Before(cut) {
			delete(s.marks, k)
		}
	}
}

func (s *MemoryState) intern(v string) string {
	if v == "" {
		return ""
	}
	if x, ok := s.strs[v]; ok {
		return x
	}
	s.strs[v] = v
	return v
}

// Unmark implements State.
func (s *MemoryState) Unmark(_ context.Context, key string) error {
	s.mu.Lock()
	delete(s.marks, key)
	s.mu.Unlock()
	return nil
}

// SendInfo implements State.
func (s *MemoryState) SendInfo(_ context.Context, key string) (SendInfo, bool, error) {
	s.mu.Lock()
	m, ok := s.marks[key]
	s.mu.Unlock()
	return m.info, ok, nil
}

// Add implements State.
func (s *MemoryState) Add(_ context.Context, key string, delta int64, _ time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counters[key] += delta
	return s.counters[key], nil
}

// Get implements State.
func (s *MemoryState) Get(_ context.Context, key string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counters[key], nil
}

// Tally implements State.
func (s *MemoryState) Tally(_ context.Context, key string, n int64, first time.Time, _ time.Time) (Aggregate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.aggs[key]
	a.Count += n
	if a.FirstSeen.IsZero() || first.Before(a.FirstSeen) {
		a.FirstSeen = first
	}
	s.aggs[key] = a
	return a, nil
}
