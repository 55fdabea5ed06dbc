package sesevent

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The fast path decodes a well-formed bare SES record without reflection: it reads the JSON into
// a Record (only the fields Normalize reads are kept; every other field of the record model is
// type-checked and dropped, mail.headers and unknown fields are validated and skipped) and runs
// Normalize on it. It handles only the success path: on anything it is not sure encoding/json
// would decode to the same Record — any syntax or type error, a duplicate or case-folded member
// name, an escaped member name, a null array element, a lone UTF-16 surrogate, invalid UTF-8 in a
// kept string, deeper nesting than fastMaxDepth, a Normalize error — it declines and the caller
// runs the encoding/json path, which produces every error message exactly as before.
// FuzzFastPathMatchesSlow checks that both paths agree.

// fastMaxDepth bounds nesting on the fast path; it is below the stream scanner's MaxDepth, so a
// record the fast path accepts is never one the scanner would reject.
const fastMaxDepth = 32

// fastDecodeRecord decodes data (a trimmed JSON object) as a bare SES record and normalises it
// with hint; ok is false when the fast path declines.
func fastDecodeRecord(data []byte, hint Envelope) (ev Event, ok bool) {
	return fastDecodeRecordState(nil, data, hint)
}

// fastDecodeRecordState is fastDecodeRecord sharing st (nil: none) with earlier records.
func fastDecodeRecordState(st *fastState, data []byte, hint Envelope) (ev Event, ok bool) {
	if len(data) == 0 || len(data) > MaxRecordSize || data[0] != '{' {
		return Event{}, false
	}
	d := fastDecoder{data: data, bareTop: true, st: st}
	var f *fastRecord
	if st != nil {
		// Nothing in an Event points into the Record, so one is reused for every record; nothing
		// kept points into the unescaping buffer (text's result is copied), so it is reused too.
		f = &st.rec
		*f = fastRecord{}
		d.scratch = st.scratch
		defer func() { st.scratch = d.scratch }()
	} else {
		f = new(fastRecord)
	}
	if !d.record(f) {
		return Event{}, false
	}
	if d.ws(); d.pos != len(d.data) {
		return Event{}, false // trailing data: encoding/json's error
	}
	var kt *knownTags
	if d.tagsRead {
		kt = &d.known
	}
	ev, err := normalize(&f.rec, hint, kt, st)
	if err != nil {
		return Event{}, false
	}
	return ev, true
}

// fastDocument decodes a whole document that is one well-formed bare SES record, surrounded by
// nothing but white space the Stream skips, to the Result the Stream would give it ("<name>:<line>"
// of its first byte); ok is false when decodeDocument must sniff it.
func fastDocument(data []byte, name string) (Result, bool) {
	start, end := 0, len(data)
	for start < end && isJSONSpace(data[start]) {
		start++
	}
	for end > start && isJSONSpace(data[end-1]) {
		end--
	}
	rec := data[start:end]
	ev, ok := fastDecodeRecord(rec, Envelope{})
	if !ok {
		return Result{}, false
	}
	ref := name + ":" + strconv.Itoa(1+bytes.Count(data[:start], []byte{'\n'}))
	return Result{Ref: ref, Events: []Event{ev}, Raw: bytes.Clone(rec)}, true
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// fastEventBridge is decodeMessage for data that is an EventBridge event (what an SQS body holds
// when EventBridge delivers SES events to a queue): the envelope is read without reflection and
// the detail goes to decodeRecordResult, fast path first. ok is false when the envelope is not
// plainly one — any member of the SNS or bare-record shapes, a missing or null detail-type or
// detail, a detail that is not an object, anything the fast path declines — and decodeMessage
// must use encoding/json.
func fastEventBridge(data []byte, carrier, ref string, outer Envelope) (Result, bool) {
	if len(data) == 0 || len(data) > MaxRecordSize || data[0] != '{' {
		return Result{}, false
	}
	d := fastDecoder{data: data}
	p := ebParts{ref: ref, carrier: joinField(carrier, "detail")}
	var hasType, hasDetail bool
	ok := d.objectUpTo(func(i int) bool {
		var ok bool
		switch i {
		case 0:
			p.id, ok = d.str() // the caller names the record; notices use the id
		case 1:
			p.detailType, ok = d.str()
			hasType = true
		case 2:
			p.source, ok = d.str()
		case 3:
			p.account, ok = d.str()
		case 4:
			p.region, ok = d.str()
		case 5:
			var t string
			t, ok = d.str()
			p.time = parseEnvTime(t)
		case 6:
			p.resources, ok = d.strs(true)
		case 7:
			if d.peek() != '{' {
				return false
			}
			start := d.pos
			ok = d.skip()
			p.detail, hasDetail = d.data[start:d.pos], true
		}
		return ok
	}, 8, []string{"id", "detail-type", "source", "account", "region", "time", "resources", "detail",
		"Type", "MessageId", "TopicArn", "Message", "Timestamp",
		"eventType", "notificationType", "mail", "send", "reject", "bounce", "complaint", "delivery",
		"open", "click", "failure", "deliveryDelay", "subscription"})
	if !ok || !hasType || !hasDetail {
		return Result{}, false
	}
	if d.ws(); d.pos != len(d.data) {
		return Result{}, false
	}
	return decodeEventBridgeParts(p, outer), true
}

// fastRecord holds a Record and the objects every record has in one allocation; the event
// object is allocated only when present.
type fastRecord struct {
	rec       Record
	mail      Mail
	common    CommonHeaders
	bounce    Bounce
	complaint Complaint
	delivery  Delivery
}

// fastDecoder reads JSON from data; every method returns false to decline.
type fastDecoder struct {
	data    []byte
	pos     int
	depth   int
	bareTop bool       // decline unknown top-level members (a bare record has none)
	keyEsc  bool       // the member name last read by member has escapes
	keyHigh bool       // ... has non-ASCII bytes
	scratch []byte     // unescaping buffer
	st      *fastState // interning and chunked allocation across records; nil for one-off records
	// known holds the first value of each auto-tag Normalize reads, captured by tags(true)
	// (tagsRead) as the map is built.
	known    knownTags
	tagsRead bool
	// destination is mail.destination, whose strings delivery.recipients usually repeats.
	destination []string
}

// ws skips JSON white space.
func (d *fastDecoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte without consuming it; 0 at the end of the input.
func (d *fastDecoder) peek() byte {
	if d.pos < len(d.data) && d.data[d.pos] > ' ' {
		return d.data[d.pos] // SES writes no white space between tokens
	}
	d.ws()
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

// open consumes c ('{' or '[') one level deeper.
func (d *fastDecoder) open(c byte) bool {
	if d.peek() != c || d.depth >= fastMaxDepth {
		return false
	}
	d.pos++
	d.depth++
	return true
}

// null consumes a null literal if one is next.
func (d *fastDecoder) null() bool {
	if d.peek() == 'n' && d.literal("null") {
		return true
	}
	return false
}

func (d *fastDecoder) literal(lit string) bool {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		return false
	}
	d.pos += len(lit)
	return true
}

// member advances to the next member of the object being read (n members read so far): it
// consumes the separator, the name and the colon. more is false once the closing brace has been
// consumed.
func (d *fastDecoder) member(n *int) (key []byte, more, ok bool) {
	c := d.peek()
	if c == '}' {
		d.pos++
		d.depth--
		return nil, false, true
	}
	if *n > 0 {
		if c != ',' {
			return nil, false, false
		}
		d.pos++
		c = d.peek()
	}
	if c != '"' {
		return nil, false, false
	}
	key, d.keyEsc, d.keyHigh, ok = d.scanString()
	if !ok || d.peek() != ':' {
		return nil, false, false
	}
	d.pos++
	*n++
	return key, true, true
}

// elem advances to the next element of the array being read (n read so far); more is false once
// the closing bracket has been consumed.
func (d *fastDecoder) elem(n *int) (more, ok bool) {
	c := d.peek()
	if c == ']' {
		d.pos++
		d.depth--
		return false, true
	}
	if *n > 0 {
		if c != ',' {
			return false, false
		}
		d.pos++
	}
	*n++
	return true, true
}

// object reads an object of a struct type whose JSON member names are names, calling read(i) for
// the value of names[i]. Unknown members are validated and skipped; null values are left alone,
// as encoding/json does (with duplicates declined, null is the same as absent). Declined: a
// duplicate member, an escaped or non-ASCII name, and a name encoding/json could match to one of
// names by folding case (or, conservatively, ignoring '-' and '_').
func (d *fastDecoder) object(read func(i int) bool, names ...string) bool {
	return d.objectUpTo(read, len(names), names)
}

// objectUpTo is object where a member named names[i] with i >= known is declined, null or not.
func (d *fastDecoder) objectUpTo(read func(i int) bool, known int, names []string) bool {
	t := fieldTable{names: names, known: known}
	return d.objectIn(read, &t)
}

// fieldTable is the member names of an object type (what object takes) and, for the objects every
// record has, the order SES writes them in: a member name that is the one expected next is
// matched as a literal (its quoted bytes), without scanning the name and looking it up. Any other
// order decodes the same, by lookup.
type fieldTable struct {
	names  []string
	known  int      // names[i] with i >= known are declined
	order  []int8   // indexes of names in the order SES writes them
	quoted [][]byte // `"name"` of each of names
	rank   []int8   // position of each of names in order, -1 if not there
}

// newFieldTable returns the table of names (the first known of them read, the others declined)
// expecting the members sesOrder, in that order.
func newFieldTable(known int, names []string, sesOrder ...string) *fieldTable {
	t := &fieldTable{names: names, known: known, quoted: make([][]byte, len(names)), rank: make([]int8, len(names))}
	for i, n := range names {
		t.quoted[i] = []byte(`"` + n + `"`)
		t.rank[i] = -1
	}
	for _, n := range sesOrder {
		i := slices.Index(names, n)
		if i < 0 || i >= known {
			panic("sesevent: field order names unknown member " + n)
		}
		t.rank[i] = int8(len(t.order))     //nolint:gosec // i < known ≤ 64 and the order has at most known entries
		t.order = append(t.order, int8(i)) //nolint:gosec // as above
	}
	return t
}

// objectIn is object over a field table.
func (d *fastDecoder) objectIn(read func(i int) bool, t *fieldTable) bool {
	if !d.open('{') {
		return false
	}
	var seen uint64
	next := 0 // position in t.order of the member expected next
	for n := 0; ; n++ {
		c := d.peek()
		if c == '}' {
			d.pos++
			d.depth--
			return true
		}
		if n > 0 {
			if c != ',' {
				return false
			}
			d.pos++
			c = d.peek()
		}
		if c != '"' {
			return false
		}
		i := -3
		if next < len(t.order) {
			if j := t.order[next]; bytes.HasPrefix(d.data[d.pos:], t.quoted[j]) {
				i = int(j)
				d.pos += len(t.quoted[j])
				d.keyEsc, d.keyHigh = false, false
				next++
			}
		}
		if i == -3 {
			key, esc, high, ok := d.scanString()
			if !ok {
				return false
			}
			d.keyEsc, d.keyHigh = esc, high
			i = d.field(key, t.names)
			if i >= 0 && t.rank != nil && t.rank[i] >= 0 {
				next = int(t.rank[i]) + 1
			}
		}
		if d.peek() != ':' {
			return false
		}
		d.pos++
		var ok bool
		switch {
		case i == -2 || i >= t.known:
			return false
		case i == -1 && d.depth == 1 && d.bareTop:
			// SES writes no other top-level members; an unknown one may be an envelope's
			// ("Records", "records"), which decodeDocument must see.
			return false
		case i == -1:
			ok = d.skip()
		case seen&(1<<i) != 0:
			return false
		default:
			seen |= 1 << i
			ok = d.null() || read(i)
		}
		if !ok {
			return false
		}
	}
}

// field returns key's index in names, -1 for a member encoding/json ignores, -2 to decline.
func (d *fastDecoder) field(key []byte, names []string) int {
	if d.keyEsc || d.keyHigh {
		return -2
	}
	for i, n := range names {
		if string(key) == n {
			return i
		}
	}
	for _, n := range names {
		if looseEqual(key, n) {
			return -2
		}
	}
	return -1
}

// looseEqual compares ASCII names ignoring case, '-' and '_'.
func looseEqual(a []byte, b string) bool {
	i, j := 0, 0
	for {
		for i < len(a) && (a[i] == '-' || a[i] == '_') {
			i++
		}
		for j < len(b) && (b[j] == '-' || b[j] == '_') {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		x, y := a[i], b[j]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
		i++
		j++
	}
}

// scanString consumes the JSON string at d.pos (a '"') and returns its raw content, whether it
// has escapes and whether it has non-ASCII bytes. Plain runs are skipped eight bytes at a time.
func (d *fastDecoder) scanString() (raw []byte, esc, high, ok bool) {
	data := d.data
	start := d.pos + 1
	i := start
	for {
		// Skip to the first byte that is '"', '\\', a control character or (until one has been
		// seen) non-ASCII: eight bytes at a time, bytewise only in the last seven of data.
		for i+8 <= len(data) {
			if m := plainMask(binary.LittleEndian.Uint64(data[i:]), high); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto special
			}
			i += 8
		}
		for ; i < len(data); i++ {
			if c := data[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf && !high {
				goto special
			}
		}
		return nil, false, false, false
	special:
		switch c := data[i]; {
		case c == '"':
			d.pos = i + 1
			return data[start:i], esc, high, true
		case c == '\\':
			esc = true
			if i+1 >= len(data) {
				return nil, false, false, false
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(data) {
					return nil, false, false, false
				}
				if _, ok := hex4(data[i+2 : i+6]); !ok {
					return nil, false, false, false
				}
				i += 6
			default:
				return nil, false, false, false
			}
		case c < 0x20:
			return nil, false, false, false
		default: // the first non-ASCII byte
			high = true
			i++
		}
	}
}

// plainMask is non-zero when one of the eight bytes of x (little-endian) is '"', '\\', below 0x20
// or, unless high, at least 0x80; its lowest set bit is in the first such byte. (A subtraction
// borrows only out of a byte that is itself flagged, so false positives lie above the first true
// one.)
func plainMask(x uint64, high bool) uint64 {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	q := x ^ (lsb * '"')
	b := x ^ (lsb * '\\')
	m := (q - lsb) | (b - lsb) | (x - lsb*0x20)
	if high {
		m &^= x // a non-ASCII byte only matters when it is the first
		return m & msb
	}
	return (m | x) & msb
}

func hex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// text reads a string value and returns its decoded bytes, valid until the next call; declined
// for invalid UTF-8 and lone surrogates, which encoding/json would replace with U+FFFD.
func (d *fastDecoder) text() ([]byte, bool) {
	if d.peek() != '"' {
		return nil, false
	}
	raw, esc, high, ok := d.scanString()
	if !ok || high && !utf8.Valid(raw) {
		return nil, false
	}
	if !esc {
		return raw, true
	}
	b, ok := unescape(d.scratch[:0], raw)
	d.scratch = b
	return b, ok
}

// unescape appends raw (a validated JSON string body) to b with its escapes decoded.
func unescape(b, raw []byte) ([]byte, bool) {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, _ := hex4(raw[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
					return b, false
				}
				r2, _ := hex4(raw[i+2 : i+6])
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return b, false
				}
				i += 6
			}
			b = utf8.AppendRune(b, r)
			continue
		default: // '"', '\\', '/'
			b = append(b, raw[i+1])
		}
		i += 2
	}
	return b, true
}

// str reads a string value into a new string (kept in a chunk when d.st is set).
func (d *fastDecoder) str() (string, bool) {
	b, ok := d.text()
	return d.st.keep(b), ok
}

// istr reads a string value that often repeats across records (interned when d.st is set).
func (d *fastDecoder) istr() (string, bool) {
	b, ok := d.text()
	return d.st.str(b), ok
}

// lastText reads a string value with lastStr.
func (d *fastDecoder) lastText(slot int) (string, bool) {
	b, ok := d.text()
	return d.lastStr(slot, b), ok
}

// skipStr validates a string value that is not kept (encoding/json accepts any UTF-8 there).
func (d *fastDecoder) skipStr() bool {
	if d.peek() != '"' {
		return false
	}
	_, _, _, ok := d.scanString()
	return ok
}

// strs reads an array of strings; [] gives an empty, non-nil slice as encoding/json does.
func (d *fastDecoder) strs(keep bool) ([]string, bool) { return d.strsIntern(keep, false) }

// strsLike is strs(true) that reuses the strings of like for equal values.
func (d *fastDecoder) strsLike(like []string) ([]string, bool) {
	if !d.open('[') {
		return nil, false
	}
	var out []string
	if d.st != nil {
		out = d.st.strSlice()
	} else {
		out = make([]string, 0, len(like))
	}
	for n := 0; ; {
		more, ok := d.elem(&n)
		if !ok {
			return nil, false
		}
		if !more {
			if d.st != nil {
				out = d.st.doneSlice(out)
			}
			return out, true
		}
		b, ok := d.text()
		if !ok {
			return nil, false
		}
		s := ""
		if i := len(out); i < len(like) && like[i] == string(b) {
			s = like[i]
		} else {
			s = d.st.keep(b)
		}
		out = append(out, s)
	}
}

// strsIntern is strs with the values interned when intern is set.
func (d *fastDecoder) strsIntern(keep, intern bool) ([]string, bool) {
	if raw, high, ok := d.oneString(); ok {
		// The usual one-element array, read in one step.
		switch {
		case !keep:
			return []string{}, true
		case high && !utf8.Valid(raw):
			return nil, false // as text declines
		}
		s := ""
		if intern {
			s = d.st.str(raw)
		} else {
			s = d.st.keep(raw)
		}
		if d.st == nil {
			return []string{s}, true
		}
		return d.st.doneSlice(append(d.st.strSlice(), s)), true
	}
	if !d.open('[') {
		return nil, false
	}
	out := []string{}
	if keep && d.st != nil {
		out = d.st.strSlice()
	}
	for n := 0; ; {
		more, ok := d.elem(&n)
		if !ok {
			return nil, false
		}
		if !more {
			if keep && d.st != nil {
				out = d.st.doneSlice(out)
			}
			return out, true
		}
		if !keep {
			if !d.skipStr() {
				return nil, false
			}
			continue
		}
		b, ok := d.text()
		if !ok {
			return nil, false
		}
		if intern {
			out = append(out, d.st.str(b))
		} else {
			out = append(out, d.st.keep(b))
		}
	}
}

// tags reads a map[string][]string; the well-known SES tag names are not allocated, values are
// interned, and the value slices share chunked backing arrays.
func (d *fastDecoder) tags(keep bool) (map[string][]string, bool) {
	if !d.open('{') {
		return nil, false
	}
	var m map[string][]string
	var vals []string
	build := keep && !d.st.noTags() // else only the auto-tags Normalize reads are captured
	if build {
		m = make(map[string][]string, 8) // a small map (one group) holds the 7 tags of a Send
		vals = d.st.tagVals()
	}
	next := 0 // position in sesTags of the name expected next
	// The names read so far, to decline a repeated one (the encoding/json path refuses it):
	// the auto-tags matched as literals by their bit, the others by their bytes.
	var litSeen uint64
	var nameBuf [8][]byte
	names := nameBuf[:0]
	for n := 0; ; n++ {
		c := d.peek()
		if c == '}' {
			d.pos++
			d.depth--
			if build {
				d.st.commitVals(vals)
			}
			return m, true
		}
		if n > 0 {
			if c != ',' {
				return nil, false
			}
			d.pos++
			c = d.peek()
		}
		if c != '"' {
			return nil, false
		}
		var k string
		ki := -1
		if next < len(sesTags) && bytes.HasPrefix(d.data[d.pos:], sesTags[next].quoted) {
			// The auto-tag SES writes next, matched as a literal (as in objectIn).
			t := &sesTags[next]
			if len(names) > 0 && repeated(names, t.quoted[1:len(t.quoted)-1]) {
				return nil, false
			}
			litSeen |= 1 << next
			d.pos += len(t.quoted)
			next++
			if keep {
				k, ki = t.name, t.known
			}
			if raw, ok := d.oneTagValue(); ok {
				// The usual `:["value"]`, read in one step.
				v := ""
				switch {
				case keep && ki >= 0:
					v = d.lastStr(ki, raw)
				case build:
					v = d.tagValue(raw)
				}
				if build {
					vals = append(vals, v)
					m[k] = vals[len(vals)-1 : len(vals) : len(vals)]
				}
				if ki >= 0 {
					d.known[ki] = v
				}
				continue
			}
			if d.peek() != ':' {
				return nil, false
			}
			d.pos++
		} else {
			key, esc, high, ok := d.scanString()
			if !ok || d.peek() != ':' {
				return nil, false
			}
			d.pos++
			d.keyEsc, d.keyHigh = esc, high
			if d.keyEsc || d.keyHigh && !utf8.Valid(key) || repeated(names, key) {
				return nil, false // an escaped name could repeat another unescaped
			}
			for seen := litSeen; seen != 0; seen &= seen - 1 {
				if t := &sesTags[bits.TrailingZeros64(seen)]; string(key) == t.name {
					return nil, false
				}
			}
			names = append(names, key)
			if keep {
				k, ki = d.tagName(key)
			}
		}
		if !d.open('[') {
			return nil, false
		}
		start := len(vals)
		first := ""
		for n := 0; ; {
			more, ok := d.elem(&n)
			if !ok {
				return nil, false
			}
			if !more {
				break
			}
			b, ok := d.text()
			if !ok {
				return nil, false
			}
			switch {
			case keep && ki >= 0 && n == 1:
				first = d.lastStr(ki, b)
				if build {
					vals = append(vals, first)
				}
			case build:
				vals = append(vals, d.tagValue(b))
			}
		}
		if build {
			v := vals[start:len(vals):len(vals)]
			m[k] = v
			if len(v) > 0 {
				first = v[0]
			}
		}
		if ki >= 0 {
			d.known[ki] = first
		}
	}
}

// repeated reports whether names holds name.
func repeated(names [][]byte, name []byte) bool {
	for _, n := range names {
		if string(n) == string(name) {
			return true
		}
	}
	return false
}

// oneTagValue consumes `:["value"]` (no white space, one plain ASCII value without escapes)
// and returns the value's bytes; ok is false, with nothing consumed, for anything else.
func (d *fastDecoder) oneTagValue() (v []byte, ok bool) {
	data, start := d.data, d.pos
	if d.depth >= fastMaxDepth || len(data)-start < 3 || data[start] != ':' || data[start+1] != '[' || data[start+2] != '"' {
		return nil, false
	}
	d.pos += 2
	raw, esc, high, ok := d.scanString()
	if !ok || esc || high || d.pos >= len(data) || data[d.pos] != ']' {
		d.pos = start
		return nil, false
	}
	d.pos++
	return raw, true
}

// oneString consumes `["value"]` (no white space, a value without escapes) and returns the
// value's bytes and whether they have non-ASCII bytes; ok is false, with nothing consumed, for
// anything else.
func (d *fastDecoder) oneString() (v []byte, high, ok bool) {
	data, start := d.data, d.pos
	if d.depth >= fastMaxDepth || len(data)-start < 2 || data[start] != '[' || data[start+1] != '"' {
		return nil, false, false
	}
	d.pos++
	raw, esc, high, ok := d.scanString()
	if !ok || esc || d.pos >= len(data) || data[d.pos] != ']' {
		d.pos = start
		return nil, false, false
	}
	d.pos++
	return raw, high, true
}

// sesTags are the auto-tags in the order SES writes them.
var sesTags = func() []struct {
	quoted []byte
	name   string
	known  int // knownTags index, or -1
} {
	names := []string{TagOperation, TagConfigurationSet, TagSourceIP, "ses:publishing-source-ip", TagFromDomain,
		TagCallerIdentity, TagSourceTLSVersion, "ses:outgoing-ip", "ses:outgoing-tls-version"}
	out := make([]struct {
		quoted []byte
		name   string
		known  int
	}, len(names))
	for i, n := range names {
		out[i].quoted, out[i].name, out[i].known = []byte(`"`+n+`"`), n, knownTagIndex(n)
	}
	return out
}()

// Slots of fastState.last: the auto-tags (knownTags indexes), then these mail fields.
const (
	lastSource = numKnownTags + iota
	lastSourceArn
	lastAccount
	numLastSlots
)

// lastStr is the string of b for a field whose value usually repeats from one record to the
// next (slot names the field): the previous record's string when equal, else the constant or
// interned one.
func (d *fastDecoder) lastStr(slot int, b []byte) string {
	if d.st == nil {
		return string(b)
	}
	if v := d.st.last[slot]; v == string(b) {
		return v
	}
	v := d.tagValue(b)
	d.st.last[slot] = v
	return v
}

// knownTagIndex is the knownTags index of a tag name, or -1.
func knownTagIndex(k string) int {
	switch k {
	case TagCallerIdentity:
		return kCallerIdentity
	case TagSourceIP:
		return kSourceIP
	case TagFromDomain:
		return kFromDomain
	case TagConfigurationSet:
		return kConfigurationSet
	case TagOperation:
		return kOperation
	case TagSourceTLSVersion:
		return kSourceTLSVersion
	}
	return -1
}

// tagName returns the constant for a well-known SES tag name and its knownTags index, else an
// interned copy of b and -1.
func (d *fastDecoder) tagName(b []byte) (string, int) {
	switch string(b) {
	case TagCallerIdentity:
		return TagCallerIdentity, kCallerIdentity
	case TagSourceIP:
		return TagSourceIP, kSourceIP
	case TagFromDomain:
		return TagFromDomain, kFromDomain
	case TagConfigurationSet:
		return TagConfigurationSet, kConfigurationSet
	case TagOperation:
		return TagOperation, kOperation
	case TagSourceTLSVersion:
		return TagSourceTLSVersion, kSourceTLSVersion
	}
	return d.st.str(b), -1
}

// tagValue returns the constant for a common value of the ses:operation and
// ses:source-tls-version tags, else an interned copy of b.
func (d *fastDecoder) tagValue(b []byte) string {
	switch string(b) {
	case "SendEmail":
		return "SendEmail"
	case "SendRawEmail":
		return "SendRawEmail"
	case "SendTemplatedEmail":
		return "SendTemplatedEmail"
	case "SendBulkEmail":
		return "SendBulkEmail"
	case "SendBulkTemplatedEmail":
		return "SendBulkTemplatedEmail"
	case "TLSv1.2":
		return "TLSv1.2"
	case "TLSv1.3":
		return "TLSv1.3"
	}
	return d.st.str(b)
}

// skip validates and skips any JSON value.
func (d *fastDecoder) skip() bool {
	switch c := d.peek(); {
	case c == '"':
		_, _, _, ok := d.scanString()
		return ok
	case c == '{':
		if !d.open('{') {
			return false
		}
		for n := 0; ; {
			_, more, ok := d.member(&n)
			if !ok {
				return false
			}
			if !more {
				return true
			}
			if !d.skip() {
				return false
			}
		}
	case c == '[':
		if !d.open('[') {
			return false
		}
		for n := 0; ; {
			more, ok := d.elem(&n)
			if !ok {
				return false
			}
			if !more {
				return true
			}
			if !d.skip() {
				return false
			}
		}
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		_, ok := d.number()
		return ok
	}
	return false
}

// number consumes a JSON number and returns its text.
func (d *fastDecoder) number() ([]byte, bool) {
	data, start := d.data, d.pos
	i := start
	if i < len(data) && data[i] == '-' {
		i++
	}
	digits := func() bool {
		j := i
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
		return i > j
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case !digits():
		return nil, false
	}
	if i < len(data) && data[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	d.pos = i
	return data[start:i], true
}

// int64 reads a number that encoding/json would store in an int64.
func (d *fastDecoder) int64() (int64, bool) {
	if c := d.peek(); c != '-' && (c < '0' || c > '9') {
		return 0, false
	}
	b, ok := d.number()
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

// bool reads true or false.
func (d *fastDecoder) bool() bool {
	switch d.peek() {
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	}
	return false
}

// flexBool validates a FlexBool: the JSON texts FlexBool.UnmarshalJSON accepts (null is handled
// by object).
func (d *fastDecoder) flexBool() bool {
	switch d.peek() {
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case '"':
		raw, _, _, ok := d.scanString()
		if !ok {
			return false
		}
		switch string(raw) {
		case "true", "True", "TRUE", "false", "False", "FALSE", "":
			return true
		}
	}
	return false
}

// objects reads an array of objects, each with each (null elements are declined).
func (d *fastDecoder) objects(each func() bool) bool {
	if !d.open('[') {
		return false
	}
	for n := 0; ; {
		more, ok := d.elem(&n)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		if !each() {
			return false
		}
	}
}

// strObject validates an object whose known members are all strings.
func (d *fastDecoder) strObject(names ...string) bool {
	return d.object(func(int) bool { return d.skipStr() }, names...)
}

// eventType reads eventType or notificationType: one of the known type names (as its constant),
// or "". Anything else is declined: Normalize would reject it, or the caller skips it.
func (d *fastDecoder) eventType() (string, bool) {
	b, ok := d.text()
	if !ok {
		return "", false
	}
	if len(b) == 0 {
		return "", true
	}
	switch string(b) {
	case string(TypeSend):
		return string(TypeSend), true
	case string(TypeReject):
		return string(TypeReject), true
	case string(TypeBounce):
		return string(TypeBounce), true
	case string(TypeComplaint):
		return string(TypeComplaint), true
	case string(TypeDelivery):
		return string(TypeDelivery), true
	case string(TypeOpen):
		return string(TypeOpen), true
	case string(TypeClick):
		return string(TypeClick), true
	case string(TypeRenderingFailure):
		return string(TypeRenderingFailure), true
	case string(TypeDeliveryDelay):
		return string(TypeDeliveryDelay), true
	case string(TypeSubscription):
		return string(TypeSubscription), true
	}
	return "", false
}

// record reads the top-level object. The names after "subscription" are the SNS and EventBridge
// members of the message union: a record with any of them is left to the slow path.
func (d *fastDecoder) record(f *fastRecord) bool {
	r := &f.rec
	return d.objectIn(func(i int) bool {
		var ok bool
		switch i {
		case 0:
			r.EventType, ok = d.eventType()
		case 1:
			r.NotificationType, ok = d.eventType()
		case 2:
			r.Mail, ok = &f.mail, d.mail(&f.mail, &f.common)
		case 3:
			r.Send, ok = new(struct{}), d.object(func(int) bool { return false })
		case 4:
			r.Reject = new(Reject)
			ok = d.object(func(int) bool {
				r.Reject.Reason, ok = d.str()
				return ok
			}, "reason")
		case 5:
			r.Bounce = &f.bounce
			ok = d.bounce(r.Bounce)
		case 6:
			r.Complaint = &f.complaint
			ok = d.complaint(r.Complaint)
		case 7:
			r.Delivery = &f.delivery
			ok = d.delivery(r.Delivery)
		case 8:
			r.Open = new(Open)
			ok = d.object(func(i int) bool {
				if i == 1 {
					r.Open.Timestamp, ok = d.str()
					return ok
				}
				return d.skipStr()
			}, "ipAddress", "timestamp", "userAgent")
		case 9:
			r.Click = new(Click)
			ok = d.object(func(i int) bool {
				switch i {
				case 1:
					r.Click.Timestamp, ok = d.str()
					return ok
				case 4:
					_, ok = d.tags(false)
					return ok
				}
				return d.skipStr()
			}, "ipAddress", "timestamp", "userAgent", "link", "linkTags")
		case 10:
			r.Failure, ok = new(RenderingFailure), d.strObject("templateName", "errorMessage")
		case 11:
			r.DeliveryDelay = new(DeliveryDelay)
			ok = d.object(func(i int) bool {
				switch i {
				case 1:
					return d.objects(d.recipient)
				case 4:
					r.DeliveryDelay.Timestamp, ok = d.str()
					return ok
				}
				return d.skipStr()
			}, "delayType", "delayedRecipients", "expirationTime", "reportingMTA", "timestamp")
		case 12:
			r.Subscription = new(Subscription)
			ok = d.object(func(i int) bool {
				switch i {
				case 1:
					r.Subscription.Timestamp, ok = d.str()
					return ok
				case 3, 4:
					return d.topicPreferences()
				}
				return d.skipStr()
			}, "contactList", "timestamp", "source", "newTopicPreferences", "oldTopicPreferences")
		}
		return ok
	}, recordFields)
}

// The member names of the objects every record has, in the order SES writes them (see fieldTable).
var (
	// recordFields: the names after "subscription" are the SNS and EventBridge members of the
	// message union, declined.
	recordFields = newFieldTable(13, []string{"eventType", "notificationType", "mail", "send", "reject", "bounce", "complaint", "delivery",
		"open", "click", "failure", "deliveryDelay", "subscription",
		"Type", "MessageId", "TopicArn", "Message", "Timestamp",
		"id", "detail-type", "source", "account", "region", "time", "resources", "detail"},
		"eventType", "mail")
	mailFields = newFieldTable(12, []string{"timestamp", "messageId", "source", "sourceArn", "sendingAccountId", "destination",
		"headersTruncated", "commonHeaders", "tags", "sourceIp", "callerIdentity", "headers"},
		"timestamp", "source", "sourceArn", "sendingAccountId", "messageId", "destination", "headersTruncated", "headers",
		"commonHeaders", "tags")
	commonHeadersFields = newFieldTable(9, []string{"from", "to", "cc", "bcc", "replyTo", "returnPath", "date", "messageId", "subject"},
		"from", "date", "to", "messageId", "subject")
	bounceFields = newFieldTable(7, []string{"bounceType", "bounceSubType", "bouncedRecipients", "timestamp", "feedbackId", "reportingMTA", "remoteMtaIp"},
		"feedbackId", "bounceType", "bounceSubType", "bouncedRecipients", "timestamp", "reportingMTA")
	complaintFields = newFieldTable(7, []string{"complainedRecipients", "timestamp", "feedbackId", "complaintSubType", "userAgent", "complaintFeedbackType", "arrivalDate"},
		"feedbackId", "complaintSubType", "complainedRecipients", "timestamp", "userAgent", "complaintFeedbackType", "arrivalDate")
	deliveryFields = newFieldTable(6, []string{"timestamp", "processingTimeMillis", "recipients", "smtpResponse", "reportingMTA", "remoteMtaIp"},
		"timestamp", "processingTimeMillis", "recipients", "smtpResponse", "reportingMTA", "remoteMtaIp")
)

func (d *fastDecoder) mail(m *Mail, ch *CommonHeaders) bool {
	return d.objectIn(func(i int) bool {
		var ok bool
		switch i {
		case 0:
			m.Timestamp, ok = d.str()
		case 1:
			m.MessageID, ok = d.str()
		case 2:
			m.Source, ok = d.lastText(lastSource)
		case 3:
			m.SourceArn, ok = d.lastText(lastSourceArn)
		case 4:
			m.SendingAccountID, ok = d.lastText(lastAccount)
		case 5:
			m.Destination, ok = d.strs(true)
			d.destination = m.Destination
		case 6:
			ok = d.flexBool()
		case 7:
			m.CommonHeaders, ok = ch, d.commonHeaders(ch)
		case 8:
			m.Tags, ok = d.tags(true)
			d.tagsRead = ok
		case 9:
			m.SourceIP, ok = d.istr()
		case 10:
			m.CallerIdentity, ok = d.istr()
		case 11:
			ok = d.skipHeaders()
		}
		return ok
	}, mailFields)
}

// skipHeaders validates and skips mail.headers (encoding/json ignores it: any value is fine).
// SES writes it as [{"name":"…","value":"…"},…] without white space; elements of exactly that
// shape are matched literally, anything else goes to skip.
func (d *fastDecoder) skipHeaders() bool {
	if d.peek() != '[' {
		return d.skip()
	}
	if !d.open('[') {
		return false
	}
	for n := 0; ; n++ {
		c := d.peek()
		if c == ']' {
			d.pos++
			d.depth--
			return true
		}
		if n > 0 {
			if c != ',' {
				return false
			}
			d.pos++
		}
		if !d.headerLiteral() && !d.skip() {
			return false
		}
	}
}

// headerLiteral consumes {"name":"…","value":"…"} written without white space; false (with
// nothing consumed) for anything else.
func (d *fastDecoder) headerLiteral() bool {
	start := d.pos
	if !bytes.HasPrefix(d.data[d.pos:], []byte(`{"name":"`)) {
		return false
	}
	d.pos += len(`{"name":`)
	if _, _, _, ok := d.scanString(); !ok || !bytes.HasPrefix(d.data[d.pos:], []byte(`,"value":"`)) {
		d.pos = start
		return false
	}
	d.pos += len(`,"value":`)
	if _, _, _, ok := d.scanString(); !ok || d.pos >= len(d.data) || d.data[d.pos] != '}' {
		d.pos = start
		return false
	}
	d.pos++
	return true
}

func (d *fastDecoder) commonHeaders(ch *CommonHeaders) bool {
	return d.objectIn(func(i int) bool {
		var ok bool
		switch i {
		case 0:
			ch.From, ok = d.strsIntern(true, true)
		case 1, 2, 3, 4:
			_, ok = d.strs(false)
		case 8:
			ch.Subject, ok = d.str()
		default:
			ok = d.skipStr()
		}
		return ok
	}, commonHeadersFields)
}

// recipient validates a BouncedRecipient.
func (d *fastDecoder) recipient() bool {
	return d.strObject("emailAddress", "action", "status", "diagnosticCode")
}

func (d *fastDecoder) bounce(b *Bounce) bool {
	return d.objectIn(func(i int) bool {
		var ok bool
		switch i {
		case 0:
			b.BounceType, ok = d.istr()
		case 1:
			b.BounceSubType, ok = d.istr()
		case 2:
			b.BouncedRecipients = []BouncedRecipient{}
			ok = d.objects(func() bool {
				b.BouncedRecipients = append(b.BouncedRecipients, BouncedRecipient{})
				return d.object(func(i int) bool {
					if i != 0 {
						return d.skipStr()
					}
					s, ok := d.str()
					b.BouncedRecipients[len(b.BouncedRecipients)-1].EmailAddress = s
					return ok
				}, "emailAddress", "action", "status", "diagnosticCode")
			})
		case 3:
			b.Timestamp, ok = d.str()
		default:
			ok = d.skipStr()
		}
		return ok
	}, bounceFields)
}

func (d *fastDecoder) complaint(c *Complaint) bool {
	return d.objectIn(func(i int) bool {
		var ok bool
		switch i {
		case 0:
			c.ComplainedRecipients = []Recipient{}
			ok = d.objects(func() bool {
				c.ComplainedRecipients = append(c.ComplainedRecipients, Recipient{})
				return d.object(func(int) bool {
					s, ok := d.str()
					c.ComplainedRecipients[len(c.ComplainedRecipients)-1].EmailAddress = s
					return ok
				}, "emailAddress")
			})
		case 1:
			c.Timestamp, ok = d.str()
		case 3:
			var sub string
			sub, ok = d.str()
			c.ComplaintSubType = &sub
		case 5:
			c.ComplaintFeedbackType, ok = d.istr()
		default:
			ok = d.skipStr()
		}
		return ok
	}, complaintFields)
}

func (d *fastDecoder) delivery(dl *Delivery) bool {
	return d.objectIn(func(i int) bool {
		var ok bool
		switch i {
		case 0:
			dl.Timestamp, ok = d.str()
		case 1:
			dl.ProcessingTimeMillis, ok = d.int64()
		case 2:
			dl.Recipients, ok = d.strsLike(d.destination)
		case 3:
			dl.SMTPResponse, ok = d.str()
		default:
			ok = d.skipStr()
		}
		return ok
	}, deliveryFields)
}

// topicPreferences validates a TopicPreferences object.
func (d *fastDecoder) topicPreferences() bool {
	return d.object(func(i int) bool {
		if i == 0 {
			return d.bool()
		}
		return d.objects(func() bool { return d.strObject("topicName", "subscriptionStatus") })
	}, "unsubscribeAll", "topicSubscriptionStatus", "topicDefaultSubscriptionStatus")
}
