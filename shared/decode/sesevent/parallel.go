package sesevent

import (
	"bytes"
	"errors"
	"io"
)

// Parallel NDJSON decoding. Once a Stream has read a record that fits on one line it is in
// NDJSON mode, and from then on every line is framed on its own: a record never spans a line
// break, errors resynchronise at the next line, and the only state carried from one line to the
// next is the line number. So the input is cut into blocks of whole lines, each block is decoded
// by a Stream that starts in NDJSON mode at the block's first line, and the blocks' Results are
// handed out in input order: the same Results, in the same order, with the same Refs, as one
// Stream reading the whole input. decodeParallel is used only when the first line is one whole
// JSON object (ndjsonHead), which puts the sequential Stream in NDJSON mode after line 1.

const (
	defaultBlockSize = 256 << 10
	// maxBlockLine is the longest line the block splitter buffers; past it the rest of the input
	// is decoded sequentially (such a line is a record over MaxRecordSize, an error anyway).
	maxBlockLine = 2*MaxRecordSize + 64<<10
)

type block struct {
	data []byte
	line int       // line number of data's first byte
	rest io.Reader // what follows data (EOF, or the read error); nil: nothing
	out  chan []Result
}

// decodeParallel decodes head followed by r on workers goroutines (see above) and yields the
// Results in order. It returns when the input is exhausted or yield returns false.
func decodeParallel(head []byte, r io.Reader, name string, opt Options, yield func(Result) bool) {
	bs := opt.blockSize
	if bs <= 0 {
		bs = defaultBlockSize
	}
	done := make(chan struct{})
	defer close(done)
	order := make(chan *block, 2*opt.Workers)
	jobs := make(chan *block, opt.Workers)
	// Block buffers are reused once decoded (nothing a Result holds points into them), so the
	// input is not copied into ever new, zeroed memory.
	free := make(chan []byte, 3*opt.Workers+2)
	go func() {
		defer close(jobs)
		defer close(order)
		splitBlocks(head, r, name, bs, opt, free, func(b *block) bool {
			select {
			case order <- b:
			case <-done:
				return false
			}
			if b.data == nil {
				return true // already decoded (sequential tail)
			}
			select {
			case jobs <- b:
				return true
			case <-done:
				return false
			}
		})
	}()
	for range opt.Workers {
		go func() {
			var w blockDecoder
			for b := range jobs {
				out := w.decode(b, name, opt)
				select {
				case free <- b.data[:0]:
				default:
				}
				b.out <- out
			}
		}()
	}
	for b := range order {
		for _, res := range <-b.out {
			if !yield(res) {
				return
			}
		}
	}
}

// splitBlocks cuts head+r into blocks of whole lines of about bs bytes and sends them in order.
// A line longer than maxBlockLine ends the splitting: the rest of the input is decoded here,
// sequentially, and sent as already decoded blocks. send returns false to stop.
func splitBlocks(head []byte, r io.Reader, name string, bs int, opt Options, free chan []byte, send func(*block) bool) {
	line := 1
	// Blocks have room for a block and a line's tail; decoded blocks come back through free.
	room := bs + 64<<10
	buffer := func(n int) []byte {
		select {
		case b := <-free:
			if cap(b) >= n {
				return b[:n]
			}
		default:
		}
		return make([]byte, n, max(room, n+bs))
	}
	pending := buffer(len(head))
	copy(pending, head)
	var rerr error
	for empty := 0; ; {
		if len(pending) < bs || bytes.IndexByte(pending, '\n') < 0 {
			if len(pending) > maxBlockLine {
				sequentialTail(pending, r, name, line, opt, send)
				return
			}
			if rerr == nil {
				if cap(pending)-len(pending) < max(bs/2, 4<<10) {
					grown := make([]byte, len(pending), 2*cap(pending)+4<<10)
					copy(grown, pending)
					pending = grown
				}
				n, err := r.Read(pending[len(pending):cap(pending)])
				pending = pending[:len(pending)+n]
				switch {
				case err != nil:
					rerr = err
				case n == 0:
					if empty++; empty == 100 {
						rerr = io.ErrNoProgress
					}
				default:
					empty = 0
				}
				continue
			}
		}
		if rerr != nil {
			// The last block: everything left, then EOF or the read error where it happened.
			var rest io.Reader = eofReader{}
			if !errors.Is(rerr, io.EOF) {
				rest = &errReader{err: rerr}
			}
			send(&block{data: pending, line: line, rest: rest, out: make(chan []Result, 1)})
			return
		}
		cut := bytes.LastIndexByte(pending, '\n') + 1
		next := buffer(len(pending) - cut)
		copy(next, pending[cut:])
		b := &block{data: pending[:cut], line: line, out: make(chan []Result, 1)}
		line += bytes.Count(b.data, []byte{'\n'})
		if !send(b) {
			return
		}
		pending = next
	}
}

// sequentialTail decodes pending+r with one Stream in NDJSON mode from line, sending the
// Results in batches as decoded blocks.
func sequentialTail(pending []byte, r io.Reader, name string, line int, opt Options, send func(*block) bool) {
	s := blockStream(io.MultiReader(bytes.NewReader(pending), r), name, line, opt, nil)
	for {
		var rs []Result
		for len(rs) < 256 {
			res, ok := s.Next()
			if !ok {
				break
			}
			rs = append(rs, res)
		}
		if len(rs) == 0 {
			return
		}
		out := make(chan []Result, 1)
		out <- rs
		if !send(&block{out: out}) {
			return
		}
	}
}

// blockStream is a Stream over r that starts at line in NDJSON mode, with no gzip or BOM
// sniffing (those were done on the whole input).
func blockStream(r io.Reader, name string, line int, opt Options, buf []byte) *Stream {
	s := NewStream(r, name)
	s.started, s.r, s.line, s.mode = true, r, line, 1
	s.setOptions(opt)
	if buf == nil {
		buf = make([]byte, s.bufSize)
	}
	s.buf = buf
	return s
}

// blockDecoder decodes blocks on one worker, keeping the fast path's state between them.
type blockDecoder struct {
	fast fastState
}

// decode decodes b.data in place: the Stream's read buffer is the block itself, then what
// follows it (b.rest).
func (w *blockDecoder) decode(b *block, name string, opt Options) []Result {
	var r io.Reader = eofReader{}
	if b.rest != nil {
		r = b.rest
	}
	s := blockStream(r, name, b.line, opt, b.data)
	s.end = len(b.data)
	s.fast = w.fast
	s.fast.skipTags = opt.NoTags
	out := make([]Result, 0, 256)
	for {
		res, ok := s.Next()
		if !ok {
			break
		}
		out = append(out, res)
	}
	w.fast = s.fast
	return out
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
