package detect

// markTable is MemoryState's set of marks: open addressing with linear probing over slots of
// key and mark, keyed by the 128-bit keyed hash itself. The hash is already uniform, so its low
// bits pick the slot with no rehashing, and a replay's hundreds of thousands of marks cost one
// cache line per lookup and no pointer for the collector to scan. A Go map of the same keys
// hashed each key again and probed twice (lookup, then insert); at 50,000 marks the table no
// longer fits in cache and every first sight of a message id is a miss to memory, so markBatch
// touches a batch's slots first and lets those misses overlap.
type markTable struct {
	slots []markSlot // len is a power of two; a zero key is an empty slot
	n     int
	sink  uint64 // where touch leaves its loads, so they are not removed
}

type markSlot struct {
	k markKey
	m memMark
}

// markTableMin is the initial slot count.
const markTableMin = 1 << 10

// tableKey maps the all-zero hash, which marks an empty slot, to another value. Two keys
// meeting there is as unlikely as any other 128-bit collision.
func tableKey(k markKey) markKey {
	if k == (markKey{}) {
		k[1] = 1
	}
	return k
}

func (t *markTable) len() int { return t.n }

// mask is the slot count less one; the table is never empty when it is called.
func (t *markTable) mask() uint64 { return uint64(len(t.slots) - 1) } //nolint:gosec // a positive slice length

// find returns the slot holding k, or the empty slot where it would go.
func (t *markTable) find(k markKey) *markSlot {
	mask := t.mask()
	for i := k[0] & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.k == k || s.k == (markKey{}) {
			return s
		}
	}
}

// get returns k's mark.
func (t *markTable) get(k markKey) (memMark, bool) {
	if t.n == 0 {
		return memMark{}, false
	}
	k = tableKey(k)
	s := t.find(k)
	return s.m, s.k == k
}

// insert adds k with mark m unless k is present; it reports whether it added.
func (t *markTable) insert(k markKey, m memMark) bool {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	k = tableKey(k)
	s := t.find(k)
	if s.k == k {
		return false
	}
	*s = markSlot{k: k, m: m}
	t.n++
	return true
}

func (t *markTable) grow() {
	old := t.slots
	t.slots = make([]markSlot, max(markTableMin, 2*len(old)))
	for i := range old {
		if old[i].k != (markKey{}) {
			*t.find(old[i].k) = old[i]
		}
	}
}

// remove deletes k, shifting back the slots after it that probed past its slot, so no probe
// sequence is broken (no tombstones).
func (t *markTable) remove(k markKey) {
	if t.n == 0 {
		return
	}
	k = tableKey(k)
	mask := t.mask()
	i := k[0] & mask
	for ; t.slots[i].k != k; i = (i + 1) & mask {
		if t.slots[i].k == (markKey{}) {
			return
		}
	}
	for j := (i + 1) & mask; t.slots[j].k != (markKey{}); j = (j + 1) & mask {
		// The entry at j may move to i if its home slot is not in (i, j] (cyclically).
		if home := t.slots[j].k[0] & mask; (j-home)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = markSlot{}
	t.n--
}

// keep drops every mark for which live returns false; live may change the others. The
// survivors move to a table sized for them (at most half full), so a prune that drops most
// marks also gives their memory back.
func (t *markTable) keep(live func(k markKey, m *memMark) bool) {
	n := 0
	for i := range t.slots {
		if s := &t.slots[i]; s.k != (markKey{}) {
			if live(s.k, &s.m) {
				n++
			} else {
				*s = markSlot{} // the old slots are only read below, not probed
			}
		}
	}
	old := t.slots
	size := markTableMin
	for size < 2*n {
		size *= 2
	}
	t.slots, t.n = make([]markSlot, size), n
	for i := range old {
		if old[i].k != (markKey{}) {
			*t.find(old[i].k) = old[i]
		}
	}
}

// each calls f for every mark; f may change the mark.
func (t *markTable) each(f func(k markKey, m *memMark)) {
	for i := range t.slots {
		if s := &t.slots[i]; s.k != (markKey{}) {
			f(s.k, &s.m)
		}
	}
}

// touch loads the home slot of each key. The loads do not depend on each other, so their cache
// misses overlap instead of being paid one after another by the inserts that follow.
func (t *markTable) touch(ks []markKey) {
	if len(t.slots) == 0 {
		return
	}
	mask := t.mask()
	var x uint64
	for _, k := range ks {
		x += t.slots[k[0]&mask].k[1]
	}
	t.sink += x
}
