package sesevent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// recordsHead reports whether buf starts a {"Records":[ document: a CloudTrail log file as
// CloudTrail writes it to S3 (or a Lambda event). A busy account's trail files exceed
// MaxDocumentSize; streamRecords reads those element by element.
func recordsHead(buf []byte) bool {
	buf = bytes.TrimPrefix(buf, []byte("\xef\xbb\xbf"))
	for _, want := range []string{"{", `"Records"`, ":", "["} {
		buf = bytes.TrimLeft(buf, " \t\r\n")
		if !bytes.HasPrefix(buf, []byte(want)) {
			return false
		}
		buf = buf[len(want):]
	}
	return true
}

// streamRecords decodes a {"Records":[…]} document of any size from r, one element at a time,
// each as decodeLambdaRecords would ("<name>:Records[<i>]" for a CloudTrail record): memory holds
// one element, and the per-record limit applies to each element, so an element larger than
// MaxRecordSize fails alone and the others still decode. A syntax error between or inside
// elements cannot be resynchronised inside one JSON array: it ends the stream with an error that
// names the element and says the rest was not read.
func streamRecords(r io.Reader, name string, opt Options, yield func(Result) bool) {
	s := NewStream(r, name)
	s.setOptions(opt)
	s.start()
	s.mode = -1 // values may span lines
	fail := func(ref, format string, args ...any) {
		yield(Result{Ref: ref, Err: &DecodeError{Ref: ref, Err: fmt.Errorf(format, args...)}})
	}
	for _, want := range []string{"{", `"Records"`, ":", "["} {
		if !s.consume(want) {
			fail(name+":0", "want a {\"Records\":[…]} document")
			return
		}
	}
	for i := 0; ; i++ {
		ref := name + ":Records[" + strconv.Itoa(i) + "]"
		s.skipSpace()
		if s.consume("]") {
			break
		}
		if i > 0 && !s.consume(",") {
			fail(ref, "invalid JSON at line %d: want ',' or ']' after Records[%d]; the rest of the file was not read%s", s.line, i-1, s.readNote())
			return
		}
		s.skipSpace()
		if c, ok := s.peek(); !ok || c != '{' {
			fail(ref, "invalid JSON at line %d: want a record object; the rest of the file was not read%s", s.line, s.readNote())
			return
		}
		size, err := s.scan(s.line)
		switch {
		case err != nil && size > MaxRecordSize:
			fail(ref, "record is larger than the %d-byte limit (%v); the rest of the file was not read", MaxRecordSize, err)
			return
		case err != nil:
			fail(ref, "%v; the rest of the file was not read", err)
			return
		case size > MaxRecordSize:
			res := errorResult(ref, "", fmt.Errorf("record is %d bytes, more than the %d-byte limit", size, MaxRecordSize))
			if !yield(res) {
				return
			}
			continue
		}
		res := decodeLambdaRecord(s.rec, i, name)
		opt.apply(&res)
		if !yield(res) {
			return
		}
	}
	s.skipSpace()
	if !s.consume("}") {
		fail(name+":Records", "invalid JSON at line %d: want '}' after the Records array (members after Records are not read)%s", s.line, s.readNote())
		return
	}
	s.skipSpace()
	if _, ok := s.peek(); ok {
		fail(name+":Records", "invalid JSON at line %d: data after the {\"Records\":[…]} document", s.line)
		return
	}
	if s.readErr != nil && !errors.Is(s.readErr, io.EOF) {
		fail(name+":Records", "read: %v", s.readErr)
	}
}

// consume skips white space and then want, byte by byte; false when the input differs (a prefix
// of want may have been consumed: callers then stop).
func (s *Stream) consume(want string) bool {
	s.skipSpace()
	for i := 0; i < len(want); i++ {
		c, ok := s.peek()
		if !ok || c != want[i] {
			return false
		}
		s.pos++
	}
	return true
}

// readNote explains an unexpected end: a read error, if there was one.
func (s *Stream) readNote() string {
	if s.readErr != nil && !errors.Is(s.readErr, io.EOF) {
		return " (read: " + s.readErr.Error() + ")"
	}
	return ""
}
