package sesevent

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"testing/iotest"

	"github.com/sesguard/sesguard/shared/testsupport/sescorpus"
)

// realisticNDJSON is n records of the benchmark corpus with bad lines mixed in.
func realisticNDJSON(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := sescorpus.Write(&buf, sescorpus.Options{Seed: 9, Records: n}); err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(buf.Bytes(), []byte("\n"))
	var out []byte
	for i, l := range lines {
		switch i % 97 {
		case 13:
			out = append(out, l[:len(l)/2]...) // truncated
			out = append(out, '\n')
		case 41:
			out = append(out, "Successfully validated SNS topic for Amazon SES event publishing.\n"...)
		case 77:
			out = append(out, bytes.Replace(l, []byte(`"timestamp":"`), []byte(`"timestamp":1,"x":"`), 1)...)
		}
		out = append(out, l...)
	}
	return out
}

// sameResults compares Results, errors by message.
func sameResults(t *testing.T, what string, got, want []Result) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d results, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if (g.Err == nil) != (w.Err == nil) || g.Err != nil && g.Err.Error() != w.Err.Error() {
			t.Fatalf("%s: result %d: err %v, want %v", what, i, g.Err, w.Err)
		}
		g.Err, w.Err = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("%s: result %d differs:\ngot  %+v\nwant %+v", what, i, g, w)
		}
	}
}

// TestDecodeReaderNDJSON: NDJSON larger than the sniff window is streamed from the start and
// gives exactly what DecodeAny gives; NoRaw changes nothing but Raw.
func TestDecodeReaderNDJSON(t *testing.T) {
	data := realisticNDJSON(t, 400)
	if len(data) <= ndjsonSniff || !ndjsonHead(data[:ndjsonSniff]) {
		t.Fatalf("test input (%d bytes) does not take the NDJSON path", len(data))
	}
	want := DecodeAny(data, "f")
	bad := 0
	for _, r := range want {
		if r.Err != nil || r.Skip != "" {
			bad++
		}
	}
	if bad < 10 {
		t.Fatalf("only %d bad or skipped records in the test input", bad)
	}
	sameResults(t, "DecodeReader", collect(DecodeReader(bytes.NewReader(data), "f")), want)
	sameResults(t, "DecodeReader one byte at a time", collect(DecodeReader(iotest.OneByteReader(bytes.NewReader(data)), "f")), want)
	noRaw := collect(DecodeReaderWith(bytes.NewReader(data), "f", Options{NoRaw: true}))
	for i := range want {
		if noRaw[i].Raw != nil {
			t.Fatalf("result %d: Raw set with NoRaw", i)
		}
		want[i].Raw = nil
	}
	sameResults(t, "NoRaw", noRaw, want)
	for i := range want {
		for j := range want[i].Events {
			want[i].Events[j].Tags = nil
		}
	}
	for _, w := range []int{0, 2} {
		got := collect(DecodeReaderWith(bytes.NewReader(data), "f", Options{NoRaw: true, NoTags: true, Workers: w}))
		sameResults(t, "NoTags", got, want)
	}
	// A document that is not NDJSON still goes through decodeDocument.
	for _, doc := range [][]byte{[]byte(sendA), append(bytes.Repeat([]byte(" "), ndjsonSniff), sendA...)} {
		sameResults(t, "document", collect(DecodeReaderWith(bytes.NewReader(doc), "f", Options{NoRaw: true})), []Result{{Ref: "f:1", Events: DecodeAny(doc, "f")[0].Events}})
	}
}

// TestDecodeReaderReadError: a read error after the sniff window is reported on the record it
// interrupts, as before.
func TestDecodeReaderReadError(t *testing.T) {
	data := realisticNDJSON(t, 100)
	boom := errors.New("boom")
	cut := ndjsonSniff + 1000
	rs := collect(DecodeReader(io.MultiReader(bytes.NewReader(data[:cut]), iotest.ErrReader(boom)), "f"))
	last := rs[len(rs)-1]
	if !errors.Is(last.Err, boom) {
		t.Fatalf("last result %+v, want the read error", last)
	}
	want := collect(streamSeq(NewStream(io.MultiReader(bytes.NewReader(data[:cut]), iotest.ErrReader(boom)), "f")))
	sameResults(t, "read error", rs, want)
}

// TestFastStateOwnership: values handed out from the stream's chunks are the caller's — changing
// or appending to one record's tags, events or raw bytes never shows in another.
func TestFastStateOwnership(t *testing.T) {
	data := realisticNDJSON(t, 50)
	rs := collect(DecodeReader(bytes.NewReader(data), "f"))
	var ok []Result
	for _, r := range rs {
		if r.Err == nil && r.Skip == "" {
			ok = append(ok, r)
		}
	}
	a, b := ok[0], ok[1]
	bIP := b.Events[0].Tags[TagSourceIP][0]
	bRaw := bytes.Clone(b.Raw)
	bEv := b.Events[0]
	a.Events[0].Tags[TagSourceIP] = append(a.Events[0].Tags[TagSourceIP], "x", "y", "z")
	_ = append(a.Events, Event{MessageID: "intruder"})
	_ = append(a.Raw, "garbage"...)
	for i := range a.Raw {
		a.Raw[i] = 'X'
	}
	if b.Events[0].Tags[TagSourceIP][0] != bIP || !bytes.Equal(b.Raw, bRaw) || !reflect.DeepEqual(b.Events[0], bEv) {
		t.Fatal("a change to one record's result showed in the next")
	}
}
