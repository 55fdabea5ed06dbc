package detect

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"time"
)

// memoryPruneAt is the mark count above which MemoryState drops expired marks, so replaying a
// long archive does not keep every message id forever.
const memoryPruneAt = 1 << 20

// MemoryState is an in-process State for the CLI and tests. Expiry is judged against the newest
// expiry seen (event time, not wall-clock time), so replaying an old archive behaves like live
// traffic. It is safe for concurrent use.
//
// A replay keeps one mark per message for MarkTTL (72 h of mail: hundreds of thousands), so marks
// are stored compactly: by a 128-bit keyed hash of the key (two maphash sums with independent
// random seeds; two distinct keys share a mark with probability about 2^-128), with the expiry
// as integers and the SendInfo as an index into a table of the distinct ones. An entry holds no
// pointer, so the collector does not scan the table.
type MemoryState struct {
	mu      sync.Mutex
	seeds   [2]maphash.Seed
	marks   markTable
	infos   []SendInfo // infos[0] is the zero SendInfo
	infoIdx map[SendInfo]uint32
	// recentInfos caches infoIdx lookups (hint.go); index 0 is an empty slot. An entry may hold
	// the caller's strings, which keeps a few decoder chunks alive.
	recentInfos [16]recentInfo
	counters    map[string]int64
	aggs        map[string]Aggregate
	newest      time.Time
	// pruneAt is the mark count that triggers the next prune. It doubles past what a prune left,
	// so a stream with more than memoryPruneAt live marks does not rescan them on every Mark.
	pruneAt int
}

// markKey is the hash of a mark's key.
type markKey [2]uint64

type memMark struct {
	expSec  int64 // expiry, Unix seconds ...
	expNsec int32 // ... and nanoseconds
	info    uint32
}

func (m memMark) before(sec int64, nsec int32) bool {
	return m.expSec < sec || m.expSec == sec && m.expNsec < nsec
}

var _ State = (*MemoryState)(nil)

// NewMemoryState returns an empty MemoryState.
func NewMemoryState() *MemoryState {
	return &MemoryState{
		seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		infos: []SendInfo{{}}, infoIdx: map[SendInfo]uint32{{}: 0},
		counters: make(map[string]int64), aggs: make(map[string]Aggregate), pruneAt: memoryPruneAt,
	}
}

func (s *MemoryState) key(k string) markKey {
	return markKey{maphash.String(s.seeds[0], k), maphash.String(s.seeds[1], k)}
}

// keyBytes is key(string(k)) without the string.
func (s *MemoryState) keyBytes(k []byte) markKey {
	return markKey{maphash.Bytes(s.seeds[0], k), maphash.Bytes(s.seeds[1], k)}
}

// Mark implements State.
func (s *MemoryState) Mark(_ context.Context, key string, info SendInfo, expires time.Time) (bool, error) {
	return s.markKey(s.key(key), info, expires), nil
}

func (s *MemoryState) markKey(k markKey, info SendInfo, expires time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.markLocked(k, info, expires)
}

// markBatch marks each key in ks with the SendInfo and expiry at returns for its index,
// setting added[i] when ks[i] was not marked before.
func (s *MemoryState) markBatch(ks []markKey, at func(i int) (SendInfo, time.Time), added []bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marks.touch(ks)
	for i, k := range ks {
		info, exp := at(i)
		added[i] = s.markLocked(k, info, exp)
	}
}

func (s *MemoryState) markLocked(k markKey, info SendInfo, expires time.Time) bool {
	if _, ok := s.marks.get(k); ok {
		return false
	}
	if s.marks.len() >= s.pruneAt {
		s.prune()
		s.pruneAt = max(s.pruneAt, 2*s.marks.len())
	}
	i := s.infoIndex(info)
	s.marks.insert(k, memMark{expSec: expires.Unix(), expNsec: int32(expires.Nanosecond()), info: i}) //nolint:gosec // Nanosecond() < 1e9 fits int32
	if expires.After(s.newest) {
		s.newest = expires
	}
	return true
}

// infoIndex returns info's index in infos, adding it if new.
func (s *MemoryState) infoIndex(info SendInfo) uint32 {
	if info == (SendInfo{}) {
		return 0
	}
	slot := &s.recentInfos[slotOf(addrHint(info.Account, info.Principal, info.Identity), len(s.recentInfos))]
	if slot.idx != 0 && slot.info == info {
		return slot.idx
	}
	i, ok := s.infoIdx[info]
	if !ok {
		// Keep no reference into a decoder's buffers.
		info = SendInfo{Account: strings.Clone(info.Account), Principal: strings.Clone(info.Principal), Identity: strings.Clone(info.Identity),
			AccessKeyID: strings.Clone(info.AccessKeyID), VPCEndpointID: strings.Clone(info.VPCEndpointID), MessageID: strings.Clone(info.MessageID)}
		i = uint32(len(s.infos)) //nolint:gosec // the info table is compacted at 4096 live entries; far below 2^32
		s.infos = append(s.infos, info)
		s.infoIdx[info] = i
	}
	*slot = recentInfo{info: info, idx: i}
	return i
}

type recentInfo struct {
	info SendInfo
	idx  uint32
}

// prune drops marks that expired before the newest expiry seen minus the mark lifetime: they
// belong to events long before the current point of the stream.
func (s *MemoryState) prune() {
	cut := s.newest.Add(-MarkTTL)
	sec, nsec := cut.Unix(), int32(cut.Nanosecond()) //nolint:gosec // Nanosecond() < 1e9 fits int32
	s.marks.keep(func(_ markKey, m *memMark) bool { return !m.before(sec, nsec) })
	if len(s.infos) > infoCompactAt {
		s.compactInfos()
	}
}

// infoCompactAt is the SendInfo table size above which a prune also drops the infos no live mark
// uses (there are usually a handful: one per account, principal and identity that sends).
const infoCompactAt = 1 << 12

func (s *MemoryState) compactInfos() {
	infos := []SendInfo{{}}
	idx := map[SendInfo]uint32{{}: 0}
	s.marks.each(func(_ markKey, m *memMark) {
		info := s.infos[m.info]
		i, ok := idx[info]
		if !ok {
			i = uint32(len(infos)) //nolint:gosec // bounded by the live infos, far below 2^32
			infos = append(infos, info)
			idx[info] = i
		}
		m.info = i
	})
	s.infos, s.infoIdx = infos, idx
	s.recentInfos = [len(s.recentInfos)]recentInfo{}
}

// Unmark implements State.
func (s *MemoryState) Unmark(_ context.Context, key string) error {
	s.unmarkKey(s.key(key))
	return nil
}

// unmarkBytes is Unmark with the key as bytes.
func (s *MemoryState) unmarkBytes(key []byte) { s.unmarkKey(s.keyBytes(key)) }

func (s *MemoryState) unmarkKey(k markKey) {
	s.mu.Lock()
	s.marks.remove(k)
	s.mu.Unlock()
}

// SendInfo implements State.
func (s *MemoryState) SendInfo(_ context.Context, key string) (SendInfo, bool, error) {
	info, ok := s.sendInfoKey(s.key(key))
	return info, ok, nil
}

// sendInfoBytes is SendInfo with the key as bytes.
func (s *MemoryState) sendInfoBytes(key []byte) (SendInfo, bool) {
	return s.sendInfoKey(s.keyBytes(key))
}

func (s *MemoryState) sendInfoKey(k markKey) (SendInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.marks.get(k)
	if !ok {
		return SendInfo{}, false
	}
	return s.infos[m.info], true
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
