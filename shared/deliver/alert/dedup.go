package alert

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Decision is what the dedup store allows for one alert.
type Decision int

// Decisions.
const (
	Suppress Decision = iota // already announced at this count (or not grown enough): send nothing
	Page                     // never announced: send the full alert
	Update                   // announced before and grown by the factor: send a quiet update
)

func (d Decision) String() string {
	switch d {
	case Page:
		return "page"
	case Update:
		return "update"
	}
	return "suppress"
}

// ErrInFlight means another invocation holds a live claim on the key (it is delivering the same
// alert right now, or crashed less than a lease ago). The caller fails the record so the queue
// retries it later, when the claim is either committed (then suppressed) or expired.
var ErrInFlight = errors.New("alert: another delivery of this alert is in flight")

// Dedup defaults.
const (
	// DefaultLease bounds how long a crashed delivery blocks retries of the same alert.
	DefaultLease = 2 * time.Minute
	// DefaultDedupTTL is how long an alerted count is remembered. Finding ids already change with
	// every detection window, so this only has to outlive a window plus late redeliveries.
	DefaultDedupTTL = 48 * time.Hour
)

// Store remembers, per key (destination + finding id), the count last announced.
//
// Delivery is claim → send → commit (or release on failure), so concurrent duplicates send once
// and a failed send is never recorded as sent: an alert may be repeated after a crash between
// send and commit, but it is never lost.
type Store interface {
	// Claim reserves key for count and reports the previously announced count. It returns Page
	// when key was never announced, Update when the last announced count is ≤ maxPrev, Suppress
	// otherwise (nothing reserved), and ErrInFlight while another claim's lease is live.
	Claim(ctx context.Context, key string, count, maxPrev int64) (Decision, int64, error)
	// Commit records count as announced and ends the claim.
	Commit(ctx context.Context, key string, count int64) error
	// Release ends the claim without recording anything, so a retry can claim again at once.
	Release(ctx context.Context, key string, count int64) error
}

// MemoryStore is an in-process Store for tests, the CLI and single-instance runs.
type MemoryStore struct {
	Now   func() time.Time // default time.Now
	Lease time.Duration    // default DefaultLease
	TTL   time.Duration    // default DefaultDedupTTL

	mu sync.Mutex
	m  map[string]memEntry
}

type memEntry struct {
	alerted    int64
	hasAlerted bool
	pending    int64
	leaseUntil time.Time
	expires    time.Time
}

var _ Store = (*MemoryStore)(nil)

func (s *MemoryStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *MemoryStore) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return DefaultLease
}

func (s *MemoryStore) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return DefaultDedupTTL
}

// Claim implements Store.
func (s *MemoryStore) Claim(_ context.Context, key string, count, maxPrev int64) (Decision, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]memEntry{}
	}
	now := s.now()
	e, ok := s.m[key]
	if ok && !now.Before(e.expires) {
		ok, e = false, memEntry{}
	}
	if ok && now.Before(e.leaseUntil) {
		return Suppress, e.alerted, ErrInFlight
	}
	if ok && e.hasAlerted && e.alerted > maxPrev {
		return Suppress, e.alerted, nil
	}
	d := Page
	if e.hasAlerted {
		d = Update
	}
	e.pending, e.leaseUntil, e.expires = count, now.Add(s.lease()), now.Add(s.ttl())
	s.m[key] = e
	return d, e.alerted, nil
}

// Commit implements Store.
func (s *MemoryStore) Commit(_ context.Context, key string, count int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok || e.pending != count {
		return nil // the claim expired and was taken over; the new holder records its own count
	}
	now := s.now()
	e.alerted, e.hasAlerted, e.pending, e.leaseUntil, e.expires = count, true, 0, time.Time{}, now.Add(s.ttl())
	s.m[key] = e
	return nil
}

// Release implements Store.
func (s *MemoryStore) Release(_ context.Context, key string, count int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok || e.pending != count {
		return nil
	}
	e.pending, e.leaseUntil = 0, time.Time{}
	s.m[key] = e
	return nil
}
