package sesevent

import (
	"bytes"
	"unicode/utf8"
)

// SES message tags (mail.tags) on the fast path: the known ses:* tags read in one step, repeated
// or escaped names declined to the fallback.

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
	// the auto-tags by their bit, the others by their bytes.
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
		var j int // the sesTags index of the name when it is an auto-tag, else -1
		if next < len(sesTags) && bytes.HasPrefix(d.data[d.pos:], sesTags[next].quoted) {
			// The auto-tag SES writes next, matched as a literal (as in objectIn).
			j = next
			d.pos += len(sesTags[j].quoted)
		} else {
			key, esc, high, ok := d.scanString()
			if !ok {
				return nil, false
			}
			d.keyEsc, d.keyHigh = esc, high
			if esc || high && !utf8.Valid(key) {
				return nil, false // an escaped name could repeat another unescaped
			}
			// An auto-tag out of SES's order (a re-serialised record) is read like a literal.
			if j = sesTagIndex(key); j < 0 {
				if repeated(names, key) {
					return nil, false
				}
				names = append(names, key)
				if keep {
					k = d.st.str(key) // a user tag: the auto-tags all took the branch above
				}
			}
		}
		if j >= 0 {
			// Auto-tags are remembered by their bit (a repeat is declined: the encoding/json
			// path refuses it), the others by their bytes in names.
			if litSeen&(1<<j) != 0 {
				return nil, false
			}
			litSeen |= 1 << j
			next = j + 1
			t := &sesTags[j]
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
		}
		if d.peek() != ':' {
			return nil, false
		}
		d.pos++
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

// sesTagIndex is the sesTags index of a tag name, or -1.
func sesTagIndex(b []byte) int {
	if len(b) < len("ses:source-ip") || string(b[:4]) != "ses:" {
		return -1
	}
	for i := range sesTags {
		if t := &sesTags[i]; t.name == string(b) {
			return i
		}
	}
	return -1
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
