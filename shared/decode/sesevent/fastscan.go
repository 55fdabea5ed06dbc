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

// The fast path's JSON scanner: whitespace, literals, members and elements, strings with their
// escapes, numbers and skipping, over the bytes of one record (fastpath.go says the contract).

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
	// byFirst lists, by the first byte of a name, the indexes of names starting with it: a name
	// out of order is matched as a literal among those few (a literal `"name"` ends where the
	// key ends, so it is that key exactly) before the key is scanned and looked up.
	byFirst *[256][]int8
}

// newFieldTable returns the table of names (the first known of them read, the others declined)
// expecting the members sesOrder, in that order.
func newFieldTable(known int, names []string, sesOrder ...string) *fieldTable {
	t := &fieldTable{names: names, known: known, quoted: make([][]byte, len(names)), rank: make([]int8, len(names)), byFirst: new([256][]int8)}
	for i, n := range names {
		t.quoted[i] = []byte(`"` + n + `"`)
		t.rank[i] = -1
		t.byFirst[n[0]] = append(t.byFirst[n[0]], int8(i)) //nolint:gosec // fewer than 64 names
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
		if i == -3 && t.byFirst != nil && d.pos+1 < len(d.data) {
			for _, j := range t.byFirst[d.data[d.pos+1]] {
				if bytes.HasPrefix(d.data[d.pos:], t.quoted[j]) {
					i = int(j)
					d.pos += len(t.quoted[j])
					d.keyEsc, d.keyHigh = false, false
					if t.rank[j] >= 0 {
						next = int(t.rank[j]) + 1
					}
					break
				}
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
// has escapes and whether it has non-ASCII bytes. Plain runs are skipped eight bytes at a time;
// the common string (ASCII, no escapes, not at the very end of data) is finished here, anything
// else by scanStringRest.
func (d *fastDecoder) scanString() (raw []byte, esc, high, ok bool) {
	data := d.data
	start := d.pos + 1
	i := start
	if haveAVX2 && i+32 <= len(data) {
		// 32 bytes a step; most strings end within the first.
		if i = plainRun32(data, i); i < len(data) && data[i] == '"' {
			d.pos = i + 1
			return data[start:i], false, false, true
		}
	}
	for ; i+8 <= len(data); i += 8 {
		if m := plainMask(binary.LittleEndian.Uint64(data[i:]), false); m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			if data[i] == '"' {
				d.pos = i + 1
				return data[start:i], false, false, true
			}
			return d.scanStringRest(start, i)
		}
	}
	return d.scanStringRest(start, start)
}

// scanStringRest is scanString from i, for a string whose bytes before i are plain ASCII.
func (d *fastDecoder) scanStringRest(start, i int) (raw []byte, esc, high, ok bool) {
	data := d.data
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
