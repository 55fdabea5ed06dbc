package sesevent

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func parallelResults(data []byte, r io.Reader, workers, blockSize int, noRaw bool) []Result {
	var out []Result
	decodeParallel(data, r, "f", Options{Workers: workers, blockSize: blockSize, NoRaw: noRaw}, func(res Result) bool {
		out = append(out, res)
		return true
	})
	return out
}

func sequentialResults(r io.Reader, noRaw bool) []Result {
	s := NewStream(r, "f")
	s.setOptions(Options{NoRaw: noRaw})
	return collect(streamSeq(s))
}

// TestParallelMatchesSequential: parallel decoding gives exactly the sequential Results for
// every block size and worker count, with bad lines, a read error, an unterminated last line and
// a line longer than the splitter buffers.
func TestParallelMatchesSequential(t *testing.T) {
	data := realisticNDJSON(t, 300)
	want := sequentialResults(bytes.NewReader(data), false)
	for _, bs := range []int{1, 100, 4 << 10, 64 << 10, defaultBlockSize} {
		for _, w := range []int{2, 3} {
			sameResults(t, "parallel", parallelResults(data, bytes.NewReader(nil), w, bs, false), want)
		}
	}
	// Through DecodeReaderWith, reading one byte at a time.
	got := collect(DecodeReaderWith(iotest.OneByteReader(bytes.NewReader(data)), "f", Options{Workers: 2, blockSize: 3000}))
	sameResults(t, "DecodeReaderWith", got, want)
	noRaw := collect(DecodeReaderWith(bytes.NewReader(data), "f", Options{Workers: 2, NoRaw: true}))
	sameResults(t, "NoRaw", noRaw, sequentialResults(bytes.NewReader(data), true))

	// A read error part-way, and an input that ends without a newline.
	boom := errors.New("boom")
	for _, cut := range []int{len(data) / 3, len(data)/2 + 7, len(data) - 1} {
		want := sequentialResults(io.MultiReader(bytes.NewReader(data[:cut]), iotest.ErrReader(boom)), false)
		got := parallelResults(data[:100], io.MultiReader(bytes.NewReader(data[100:cut]), iotest.ErrReader(boom)), 2, 5000, false)
		sameResults(t, "read error", got, want)
		if !errors.Is(got[len(got)-1].Err, boom) {
			t.Fatalf("cut %d: last result %v, want the read error", cut, got[len(got)-1].Err)
		}
		want = sequentialResults(bytes.NewReader(data[:cut]), false)
		sameResults(t, "no final newline", parallelResults(data[:cut], bytes.NewReader(nil), 3, 7000, false), want)
	}

	// A line longer than maxBlockLine: the rest is decoded sequentially.
	long := append([]byte(sendA+"\n"+sendB+"\n"+`{"eventType":"Send","x":"`), bytes.Repeat([]byte("a"), maxBlockLine+10)...)
	long = append(long, "\"}\n"...)
	long = append(long, data[:20000]...)
	want = sequentialResults(bytes.NewReader(long), false)
	sameResults(t, "long line", parallelResults(long[:64], bytes.NewReader(long[64:]), 2, 1000, false), want)
	if !strings.Contains(want[2].Err.Error(), "limit") {
		t.Fatalf("long line: %v", want[2].Err)
	}
}

// TestParallelStopsEarly: a consumer that stops part-way gets no more Results and nothing hangs.
func TestParallelStopsEarly(t *testing.T) {
	data := realisticNDJSON(t, 300)
	for _, stop := range []int{1, 50, 299} {
		n := 0
		decodeParallel(data, bytes.NewReader(nil), "f", Options{Workers: 2, blockSize: 2000}, func(Result) bool {
			n++
			return n < stop
		})
		if n != stop {
			t.Fatalf("stop at %d: yielded %d", stop, n)
		}
	}
}

// FuzzParallelMatchesSequential: for any input whose first line is one whole JSON object (the
// inputs DecodeReaderWith decodes in parallel), block decoding equals one Stream.
func FuzzParallelMatchesSequential(f *testing.F) {
	f.Add([]byte(sendA+"\n"+sendB+"\n"), uint8(7))
	f.Add([]byte(sendA+"\n{\"eventType\":\n"+sendB+"\nnot json\n\n  "+sendA), uint8(1))
	f.Add([]byte(sendA+"\n"+strings.ReplaceAll(sendB, `,"`, ",\n\""+"\n")+sendA), uint8(30))
	f.Add([]byte(sendA+"\n\x1f\x8b\n\xef\xbb\xbf"+sendB+"\n"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, bs uint8) {
		if !ndjsonHead(data) {
			return
		}
		want := sequentialResults(bytes.NewReader(data), false)
		got := parallelResults(data[:min(len(data), 10)], bytes.NewReader(data[min(len(data), 10):]), 2, int(bs)+1, false)
		sameResults(t, "parallel", got, want)
	})
}

// TestTransientReusesEvents: with Options.Transient a sequential decode hands out the same Event
// memory for every fast-path record, and a caller that copies each event out before asking for
// the next gets exactly what a decode without it gives. With Workers > 1 the option is ignored:
// Results made ahead of the caller keep their own events.
func TestTransientReusesEvents(t *testing.T) {
	data := realisticNDJSON(t, 300)
	want := collect(DecodeReaderWith(bytes.NewReader(data), "f", Options{NoRaw: true}))

	var got []Result
	addrs := map[*Event]bool{}
	for res := range DecodeReaderWith(bytes.NewReader(data), "f", Options{NoRaw: true, Transient: true}) {
		if len(res.Events) == 1 {
			addrs[&res.Events[0]] = true
		}
		res.Events = append([]Event(nil), res.Events...) // what replay does with each event
		got = append(got, res)
	}
	sameResults(t, "Transient", got, want)
	if len(addrs) != 1 {
		t.Fatalf("Transient: events at %d addresses, want one reused Event", len(addrs))
	}

	kept := collect(DecodeReaderWith(bytes.NewReader(data), "f", Options{NoRaw: true, Transient: true, Workers: 2, blockSize: 4 << 10}))
	sameResults(t, "Transient with workers", kept, want)
}
