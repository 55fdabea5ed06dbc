package sesevent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Stream decodes newline-delimited or concatenated JSON, plain or gzip (sniffed by its magic
// bytes), as Firehose writes SES records to S3. Each value may be a bare SES record, an SNS
// notification or an EventBridge event. Values may span lines (pretty-printed JSON).
//
// Framing is done by a small JSON scanner so one bad record never takes its neighbours with it:
//   - once a record has been read that fits on one line, the input is treated as NDJSON and a line
//     that ends inside a value is that record's error ("truncated"); reading resumes on the next line;
//   - before that (or in pretty-printed input) a syntax error resumes at the next line that starts
//     with '{' in column 0, or at the error itself when it is a '{' opening a later line;
//   - a value larger than MaxRecordSize is scanned without being buffered and reported as too large;
//     nesting deeper than MaxDepth is an error.
//
// A Stream is not safe for concurrent use.
type Stream struct {
	name    string
	src     io.Reader
	r       io.Reader
	buf     []byte
	pos     int
	end     int
	line    int
	readErr error
	started bool
	done    bool
	mode    int8 // 0 undecided, 1 NDJSON, -1 multi-line values seen
	rec     []byte
	stack   []byte
	size    int // bytes of the current record, including any beyond MaxRecordSize
	mark    int // start of the current record's bytes in buf not yet copied to rec
	bufSize int
	content bool // the current line has had a non-space byte
	slow    bool // frame every record with the scanner (tests compare both ways)
	fast    fastState
	opt     Options // NoRaw, NoTags
}

func (s *Stream) setOptions(opt Options) {
	s.opt = opt
	s.fast.skipTags = opt.NoTags
}

// NewStream returns a Stream reading r; name prefixes each Ref ("<name>:<line>").
func NewStream(r io.Reader, name string) *Stream {
	if name == "" {
		name = "stream"
	}
	// 128 KiB: one read per ~60 records of an archive (with 32 KiB the reads cost ~4x the calls).
	return &Stream{name: name, src: r, line: 1, bufSize: 128 << 10}
}

// newStreamBytes streams an in-memory document with a read buffer no larger than it.
func newStreamBytes(data []byte, name string) *Stream {
	s := NewStream(bytes.NewReader(data), name)
	s.bufSize = min(s.bufSize, max(len(data), 16))
	return s
}

// Next returns the next record's Result; false when the input is exhausted. A read or gzip error
// is reported once as an error Result, then the stream ends.
func (s *Stream) Next() (Result, bool) {
	if s.done {
		return Result{}, false
	}
	if !s.started {
		s.start()
	}
	s.skipSpace()
	c, ok := s.peek()
	if !ok {
		s.done = true
		if s.readErr != nil && !errors.Is(s.readErr, io.EOF) {
			ref := s.ref(s.line)
			return Result{Ref: ref, Err: &DecodeError{Ref: ref, Err: fmt.Errorf("read: %w", s.readErr)}}, true
		}
		return Result{}, false
	}
	startLine := s.line
	if c == '{' && !s.slow {
		if res, ok := s.fastLine(startLine); ok {
			return res, true
		}
	}
	ref := s.ref(startLine)
	if c != '{' {
		text := s.restOfLine(200)
		if bytes.HasPrefix(text, []byte(validationPrefix)) {
			return Result{Ref: ref, Skip: "SES SNS topic validation message: " + truncate(text, 120)}, true
		}
		return Result{Ref: ref, Err: &DecodeError{Ref: ref, Err: fmt.Errorf("want a JSON object, got %s", describeJSON(text))}}, true
	}
	size, err := s.scan(startLine)
	if err != nil {
		if size > MaxRecordSize {
			err = fmt.Errorf("record is larger than the %d-byte limit (%w)", MaxRecordSize, err)
		}
		return Result{Ref: ref, Err: &DecodeError{Ref: ref, Err: err}}, true
	}
	if s.mode == 0 {
		s.mode = 1
		if s.line != startLine {
			s.mode = -1
		}
	}
	if size > MaxRecordSize {
		return Result{Ref: ref, Err: &DecodeError{Ref: ref, Err: fmt.Errorf("record is %d bytes, more than the %d-byte limit", size, MaxRecordSize)}}, true
	}
	res := decodeMessage(s.rec, "", ref, Envelope{})
	s.opt.apply(&res)
	return res, true
}

func (s *Stream) ref(line int) string { return s.fast.ref(s.name, line) }

func (s *Stream) start() {
	s.started = true
	s.buf = make([]byte, s.bufSize)
	// Only used to sniff the first bytes: large reads bypass its buffer.
	br := bufio.NewReaderSize(s.src, 16)
	s.r = br
	head, _ := br.Peek(3)
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		gz, err := newGunzip(br)
		if err != nil {
			s.readErr = err
			return
		}
		s.r = gz
	case bytes.Equal(head, []byte("\xef\xbb\xbf")):
		_, _ = br.Discard(3)
	}
}

// fill makes buf[pos] readable; false at end of input or after a read error.
func (s *Stream) fill() bool {
	if s.pos < s.end {
		return true
	}
	if s.readErr != nil || s.r == nil {
		return false
	}
	for empty := 0; empty < 100; empty++ {
		n, err := s.r.Read(s.buf)
		s.pos, s.end = 0, n
		if err != nil {
			s.readErr = err
		}
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
	s.readErr = io.ErrNoProgress
	return false
}

func (s *Stream) peek() (byte, bool) {
	if !s.fill() {
		return 0, false
	}
	return s.buf[s.pos], true
}

func (s *Stream) skipSpace() {
	for s.fill() {
		switch c := s.buf[s.pos]; c {
		case '\n':
			s.line++
			s.content = false
		case ' ', '\t', '\r', 0x1e: // 0x1e: RFC 7464 record separator
		default:
			return
		}
		s.pos++
	}
}

// restOfLine consumes through the end of the line and returns up to max of its first bytes.
func (s *Stream) restOfLine(max int) []byte {
	var out []byte
	for s.fill() {
		chunk := s.buf[s.pos:s.end]
		i := bytes.IndexByte(chunk, '\n')
		if i >= 0 {
			chunk = chunk[:i]
		}
		if room := max - len(out); room > 0 {
			out = append(out, chunk[:min(room, len(chunk))]...)
		}
		s.pos += len(chunk)
		if i >= 0 {
			s.pos++
			s.line++
			s.content = false
			break
		}
	}
	return bytes.TrimRight(out, "\r")
}

// resync skips past a framing error found on errLine. newRecord reports that the offending byte is
// a '{' opening a later line than the record's first: a new record starts there.
func (s *Stream) resync(startLine, errLine int, newRecord bool) {
	if s.mode != 1 && errLine > startLine && newRecord {
		return
	}
	s.restOfLine(0)
	if s.mode == 1 {
		return
	}
	for {
		c, ok := s.peek()
		if !ok || c == '{' {
			return
		}
		s.restOfLine(0)
	}
}

// Scanner states.
const (
	stObjKeyOrEnd = iota
	stObjKey
	stColon
	stValue
	stArrValueOrEnd
	stAfterValue
	stString
	stEscape
	stScalar
)

// scan frames one JSON object starting at buf[pos] == '{', copying it into s.rec while it fits
// in MaxRecordSize. It returns the object's size; on error the input has been resynchronised.
// Bytes are copied in runs (from s.mark to s.pos) whenever the read buffer is refilled and when
// the object ends.
func (s *Stream) scan(startLine int) (int, error) {
	s.rec = s.rec[:0]
	s.stack = s.stack[:0]
	s.size = 0
	s.mark = s.pos
	st := stValue
	key := false
	for {
		if s.pos == s.end {
			s.flush()
			if !s.fill() {
				if s.readErr != nil && !errors.Is(s.readErr, io.EOF) {
					s.done = true // reported here, not again by Next
					return s.size, fmt.Errorf("read: %w", s.readErr)
				}
				return s.size, errors.New("truncated JSON: input ends inside a value")
			}
			s.mark = s.pos
		}
		if st == stString {
			// Strings are the bulk of a record: skip to the next quote, escape or control byte.
			chunk := s.buf[s.pos:s.end]
			i := 0
			for i < len(chunk) && chunk[i] != '"' && chunk[i] != '\\' && chunk[i] >= 0x20 {
				i++
			}
			s.pos += i
			if i == len(chunk) {
				continue
			}
		}
		c := s.buf[s.pos]
		switch st {
		case stString:
			switch {
			case c == '"':
				if key {
					st = stColon
				} else {
					st = stAfterValue
				}
			case c == '\\':
				st = stEscape
			case c == '\n':
				return s.fail(startLine, c, "line ends inside a string (truncated record?)")
			default:
				return s.fail(startLine, c, "control character 0x%02x in a string", c)
			}
		case stEscape:
			if c < 0x20 {
				if c == '\n' {
					return s.fail(startLine, c, "line ends inside a string (truncated record?)")
				}
				return s.fail(startLine, c, "control character 0x%02x in a string", c)
			}
			st = stString
		case stScalar:
			if !isScalarByte(c) {
				st = stAfterValue
				continue // reprocess c
			}
		default:
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				if c == '\n' {
					if s.mode == 1 {
						// NDJSON: the line ended inside a value. Consume the newline so the next
						// record starts on the next line.
						line := s.line
						s.flush()
						s.pos++
						s.line++
						s.content = false
						return s.size, fmt.Errorf("line %d ends inside a JSON value (truncated record?)", line)
					}
					s.line++
					s.content = false
				}
				s.pos++
				continue
			}
			switch st {
			case stObjKeyOrEnd, stObjKey:
				switch {
				case c == '"':
					st, key = stString, true
				case c == '}' && st == stObjKeyOrEnd:
					if s.pop() {
						return s.size, nil
					}
					st = stAfterValue
					continue
				default:
					return s.fail(startLine, c, "want an object key, got %q", c)
				}
			case stColon:
				if c != ':' {
					return s.fail(startLine, c, "want ':', got %q", c)
				}
				st = stValue
			case stValue, stArrValueOrEnd:
				switch {
				case c == '{' || c == '[':
					if len(s.stack) >= MaxDepth {
						return s.fail(startLine, c, "nested deeper than %d levels", MaxDepth)
					}
					s.stack = append(s.stack, c)
					if c == '{' {
						st = stObjKeyOrEnd
					} else {
						st = stArrValueOrEnd
					}
				case c == '"':
					st, key = stString, false
				case c == ']' && st == stArrValueOrEnd:
					if s.pop() {
						return s.size, nil
					}
					st = stAfterValue
					continue
				case c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n':
					st = stScalar
				default:
					return s.fail(startLine, c, "want a value, got %q", c)
				}
			case stAfterValue:
				top := s.stack[len(s.stack)-1]
				switch {
				case c == ',' && top == '{':
					st = stObjKey
				case c == ',':
					st = stValue
				case c == '}' && top == '{', c == ']' && top == '[':
					if s.pop() {
						return s.size, nil
					}
					continue
				default:
					return s.fail(startLine, c, "want ',' or the end of the %s, got %q", containerName(top), c)
				}
			}
		}
		s.pos++
		s.content = true
	}
}

// fail reports a syntax error at the unconsumed byte c and resynchronises.
func (s *Stream) fail(startLine int, c byte, format string, args ...any) (int, error) {
	errLine := s.line
	err := fmt.Errorf("invalid JSON at line %d: "+format, append([]any{errLine}, args...)...)
	s.flush()
	s.resync(startLine, errLine, !s.content && c == '{')
	return s.size, err
}

// pop consumes the closing byte at buf[pos]; true when the top-level value is complete (its bytes
// are then all in s.rec, or counted in s.size when too large).
func (s *Stream) pop() bool {
	s.pos++
	s.content = true
	s.stack = s.stack[:len(s.stack)-1]
	if len(s.stack) == 0 {
		s.flush()
		return true
	}
	return false
}

// flush moves buf[mark:pos] into the record, keeping at most MaxRecordSize bytes.
func (s *Stream) flush() {
	if s.pos <= s.mark {
		return
	}
	b := s.buf[s.mark:s.pos]
	if room := MaxRecordSize - s.size; room > 0 {
		s.rec = append(s.rec, b[:min(room, len(b))]...)
	}
	s.size += len(b)
	s.mark = s.pos
}

func isScalarByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '+' || c == '-' || c == '.'
}

func containerName(c byte) string {
	if c == '{' {
		return "object"
	}
	return "array"
}

// fastLine decodes a record that is a whole line already in the read buffer — what Firehose
// writes — without the framing scanner and without copying it first. It applies only when the
// fast path accepts the line: the line is then exactly one valid JSON object followed by white
// space, which scan would have framed identically, so the Result and the stream state (line count,
// NDJSON mode) are the same as on the scanner path.
func (s *Stream) fastLine(line0 int) (Result, bool) {
	nl := bytes.IndexByte(s.buf[s.pos:s.end], '\n')
	if nl < 0 {
		nl = s.readLine()
	}
	chunk := s.buf[s.pos:s.end]
	var line []byte
	switch {
	case nl >= 0:
		line = chunk[:nl]
	case s.readErr != nil:
		line = chunk // the last line, without a newline
	default:
		return Result{}, false // longer than the read buffer
	}
	line = bytes.TrimRight(line, " \t\r")
	ev, ok := fastDecodeRecordState(&s.fast, line, Envelope{})
	if !ok {
		return Result{}, false
	}
	if nl >= 0 {
		s.pos += nl + 1
		s.line++
		s.content = false
	} else {
		s.pos = s.end
	}
	if s.mode == 0 {
		s.mode = 1
	}
	res := Result{Events: s.fast.one(ev)}
	if !s.opt.NoRef {
		res.Ref = s.ref(line0)
	}
	if !s.opt.NoRaw {
		res.Raw = s.fast.clone(line)
	}
	return res, true
}

// readLine moves the unread bytes to the front of the read buffer and reads until they hold a
// newline, the buffer is full or the input ends (readErr set, as fill would). It returns the
// newline's offset from pos, or -1.
func (s *Stream) readLine() int {
	if s.pos > 0 {
		s.end = copy(s.buf, s.buf[s.pos:s.end])
		s.pos = 0
	}
	for empty := 0; s.end < len(s.buf) && s.readErr == nil && s.r != nil; {
		n, err := s.r.Read(s.buf[s.end:])
		if err != nil {
			s.readErr = err
		}
		if n == 0 {
			if empty++; empty == 100 && err == nil {
				s.readErr = io.ErrNoProgress
			}
			continue
		}
		empty = 0
		if i := bytes.IndexByte(s.buf[s.end:s.end+n], '\n'); i >= 0 {
			nl := s.end + i - s.pos
			s.end += n
			return nl
		}
		s.end += n
	}
	return -1
}
