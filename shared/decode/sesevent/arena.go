package sesevent

import (
	"bytes"
	"hash/maphash"
	"net/netip"
	"strconv"
	"strings"
	"unsafe"
)

// fastState is what a Stream's fast path keeps from one record to the next so that decoding a
// record allocates little: a small intern cache for the values that repeat across records (tag
// values, sources, ARNs, From headers), chunked backing arrays for the string slices (tag values,
// recipients), the Result.Events slices, the per-type details, Result.Raw and the bytes of the
// kept strings that do not repeat (message id, timestamps, subject, Ref), and the values last
// derived from repeating strings (the identity ARN's parts, the parsed From and source IP).
// Chunks are never reused, only abandoned when full, so nothing handed out is ever overwritten
// (Result.Raw never aliases a buffer the decoder reuses, a kept string's bytes never change); a
// chunk is freed once nothing referring to it is alive.
type fastState struct {
	skipTags   bool // Options.NoTags
	transient  bool // Options.Transient, on a sequential Stream: one reuses a single Event
	rec        fastRecord
	intern     *[internSlots]string
	seed       maphash.Seed
	scratch    []byte
	vals       []string
	events     []Event
	raw        []byte
	strs       []byte
	deliveries []DeliveryDetail
	last       [numLastSlots]string // see lastStr

	// The last identity ARN and its parts (splitARN, the identity name).
	arn                                string
	arnRegion, arnAccount, arnIdentity string
	arnSet                             bool
	froms                              [fromCache]fromEntry // the last single From values, parsed (shared by the events that repeat them)
	fromNext                           int
	ip                                 string // the last source IP tag value ...
	ipAddr                             netip.Addr
	ipSet                              bool
}

const (
	internSlots   = 4096 // a power of two
	maxInternLen  = 256  // longer values are not interned
	valsChunk     = 1024
	eventsChunk   = 64
	rawChunk      = 256 << 10
	maxRawInChunk = 16 << 10 // larger records get their own copy
	strChunk      = 32 << 10
	maxStrInChunk = 1 << 10 // longer strings get their own allocation
	detailsChunk  = 64
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
	if st.transient {
		if len(st.events) != 1 {
			st.events = make([]Event, 1)
		}
		st.events[0] = ev
		return st.events[:1:1]
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

// keep returns b as a string whose bytes live in the current string chunk: the strings of a
// record that do not repeat across records cost a copy instead of an allocation each. The
// chunk's bytes are only ever appended to, never changed, which is what unsafe.String requires.
func (st *fastState) keep(b []byte) string {
	if st == nil || len(b) > maxStrInChunk {
		return string(b)
	}
	if len(b) == 0 {
		return ""
	}
	if cap(st.strs)-len(st.strs) < len(b) {
		st.strs = make([]byte, 0, strChunk)
	}
	start := len(st.strs)
	st.strs = append(st.strs, b...)
	return unsafe.String(&st.strs[start], len(b)) //nolint:gosec // audited: a string view of arena bytes that are never written again
}

// ref returns name + ":" + line as a kept string.
func (st *fastState) ref(name string, line int) string {
	if st == nil || len(name) > maxStrInChunk-24 {
		return name + ":" + strconv.Itoa(line)
	}
	if cap(st.strs)-len(st.strs) < len(name)+24 {
		st.strs = make([]byte, 0, strChunk)
	}
	start := len(st.strs)
	st.strs = append(st.strs, name...)
	st.strs = append(st.strs, ':')
	st.strs = strconv.AppendInt(st.strs, int64(line), 10)
	return unsafe.String(&st.strs[start], len(st.strs)-start) //nolint:gosec // audited: as above
}

// strSlice returns an empty, non-nil slice to append one array's strings to, like tagVals;
// done gives the slice appended to, capped so that an append by its user copies.
func (st *fastState) strSlice() []string { return st.tagVals() }

// doneSlice commits v (from strSlice) and caps it.
func (st *fastState) doneSlice(v []string) []string {
	st.commitVals(v)
	return v[:len(v):len(v)]
}

// delivery returns a zeroed DeliveryDetail from the current chunk.
func (st *fastState) delivery() *DeliveryDetail {
	if st == nil {
		return &DeliveryDetail{}
	}
	if len(st.deliveries) == cap(st.deliveries) {
		st.deliveries = make([]DeliveryDetail, 0, detailsChunk)
	}
	st.deliveries = st.deliveries[:len(st.deliveries)+1]
	return &st.deliveries[len(st.deliveries)-1]
}

// identityARN is splitARN(arn) and the identity name, remembered for the last ARN seen.
func (st *fastState) identityARN(arn string) (region, account, identity string) {
	if st != nil && st.arnSet && arn == st.arn {
		return st.arnRegion, st.arnAccount, st.arnIdentity
	}
	region, account, resource := splitARN(arn)
	if name, ok := strings.CutPrefix(resource, "identity/"); ok {
		identity = name
	}
	if st != nil {
		st.arn, st.arnRegion, st.arnAccount, st.arnIdentity, st.arnSet = arn, region, account, identity, true
	}
	return region, account, identity
}

// fromCache is how many recent single From values parseFrom remembers (a sender's mail streams
// use a few).
const fromCache = 8

type fromEntry struct {
	value string
	addrs []Address
}

// parseFrom is parseAddresses(from), shared with a recent event that had the same single From
// value (the parsed slice is capped, so an append by a user copies).
func (st *fastState) parseFrom(from []string) []Address {
	if st == nil || len(from) != 1 {
		return parseAddresses(from)
	}
	for i := range st.froms {
		if e := &st.froms[i]; e.addrs != nil && e.value == from[0] {
			return e.addrs
		}
	}
	a := parseAddresses(from)
	a = a[:len(a):len(a)]
	st.froms[st.fromNext] = fromEntry{value: from[0], addrs: a}
	st.fromNext = (st.fromNext + 1) % fromCache
	return a
}

// parseIP is parseIP(s), remembered for the last value.
func (st *fastState) parseIP(s string) netip.Addr {
	if st == nil {
		return parseIP(s)
	}
	if st.ipSet && s == st.ip {
		return st.ipAddr
	}
	st.ip, st.ipAddr, st.ipSet = s, parseIP(s), true
	return st.ipAddr
}
