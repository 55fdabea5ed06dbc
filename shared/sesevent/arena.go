package sesevent

import (
	"bytes"
	"hash/maphash"
)

// fastState is what a Stream's fast path keeps from one record to the next so that decoding a
// record allocates little: a small intern cache for the values that repeat across records (tag
// values, sources, ARNs, From headers), and chunked backing arrays for the tag value slices,
// the Result.Events slices and Result.Raw. Chunks are never reused, only abandoned when full, so
// nothing handed out is ever overwritten (Result.Raw never aliases a buffer the decoder reuses);
// a chunk is freed once no Result referring to it is alive.
type fastState struct {
	skipTags bool // Options.NoTags
	rec      fastRecord
	intern   *[internSlots]string
	seed     maphash.Seed
	scratch  []byte
	vals     []string
	events   []Event
	raw      []byte
}

const (
	internSlots   = 4096 // a power of two
	maxInternLen  = 256  // longer values are not interned
	valsChunk     = 1024
	eventsChunk   = 64
	rawChunk      = 256 << 10
	maxRawInChunk = 16 << 10 // larger records get their own copy
)

func (st *fastState) noTags() bool { return st != nil && st.skipTags }

// str returns b as a string, shared with an earlier equal value when st interns: a
// direct-mapped cache (one hash, one compare) keeps the latest value of each slot.
func (st *fastState) str(b []byte) string {
	if st == nil || len(b) > maxInternLen {
		return string(b)
	}
	if st.intern == nil {
		st.intern, st.seed = new([internSlots]string), maphash.MakeSeed()
	}
	slot := &st.intern[maphash.Bytes(st.seed, b)&(internSlots-1)]
	if *slot == string(b) {
		return *slot
	}
	*slot = string(b)
	return *slot
}

// tagVals returns an empty slice to append one record's tag values to: room in the current
// chunk (at least 32 values), or a small new array without st.
func (st *fastState) tagVals() []string {
	if st == nil {
		return make([]string, 0, 8)
	}
	if cap(st.vals)-len(st.vals) < 32 {
		st.vals = make([]string, 0, valsChunk)
	}
	return st.vals[len(st.vals):len(st.vals)]
}

// commitVals marks the values appended to v (from tagVals) as used, unless append moved them to
// an array of their own.
func (st *fastState) commitVals(v []string) {
	if st != nil && cap(v) == cap(st.vals)-len(st.vals) {
		st.vals = st.vals[:len(st.vals)+len(v)]
	}
}

// one returns ev as a one-element Events slice.
func (st *fastState) one(ev Event) []Event {
	if st == nil {
		return []Event{ev}
	}
	if len(st.events) == cap(st.events) {
		st.events = make([]Event, 0, eventsChunk)
	}
	st.events = append(st.events, ev)
	n := len(st.events)
	return st.events[n-1 : n : n]
}

// clone copies b into the raw chunk.
func (st *fastState) clone(b []byte) []byte {
	if st == nil || len(b) > maxRawInChunk {
		return bytes.Clone(b)
	}
	if cap(st.raw)-len(st.raw) < len(b) {
		st.raw = make([]byte, 0, rawChunk)
	}
	start := len(st.raw)
	st.raw = append(st.raw, b...)
	return st.raw[start:len(st.raw):len(st.raw)]
}
