package forensics

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// OpenInput opens path for reading so that neither the open nor any read outlives ctx: opening a
// FIFO blocks until a writer appears, and reading a FIFO, a terminal or a device such as
// /dev/zero may block or never end, while a command must stop within a second of Ctrl-C. On
// cancellation the error is ctx's (context.Cause); a blocked open or read is left to finish in
// its goroutine (the file is then closed), which is fine in a process about to exit.
func OpenInput(ctx context.Context, path string) (io.ReadCloser, error) {
	type opened struct {
		f   *os.File
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		ch <- opened{f, err}
	}()
	select {
	case o := <-ch:
		if o.err != nil {
			return nil, o.err
		}
		return &fileInput{f: o.f, r: Interruptible(ctx, o.f)}, nil
	case <-ctx.Done():
		go func() {
			if o := <-ch; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, fmt.Errorf("open %s: %w", path, context.Cause(ctx))
	}
}

type fileInput struct {
	f *os.File
	r io.Reader
}

func (in *fileInput) Read(p []byte) (int, error) { return in.r.Read(p) }

// Close closes the file; a read still blocked in it then returns.
func (in *fileInput) Close() error { return in.f.Close() }

// Interruptible returns a reader of r whose Read returns ctx's error (context.Cause) once ctx is
// done. A regular file is read directly, ctx checked before each read (a read of one never blocks
// for long); anything else (a pipe, a FIFO, a terminal, a device, any io.Reader) is read on a
// goroutine so that a blocked Read is abandoned on cancellation.
func Interruptible(ctx context.Context, r io.Reader) io.Reader {
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			return &checkedReader{ctx: ctx, r: r}
		}
	}
	return &ctxReader{ctx: ctx, r: r}
}

type checkedReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

type readResult struct {
	n   int
	err error
}

// ctxReader reads r on a goroutine, one Read at a time, into its own buffer (a Read abandoned on
// cancellation must not write into the caller's slice later).
type ctxReader struct {
	ctx       context.Context
	r         io.Reader
	buf       []byte
	done      chan readResult
	abandoned bool
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if c.abandoned || c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if cap(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	buf := c.buf[:len(p)]
	if c.done == nil {
		c.done = make(chan readResult, 1)
	}
	go func() {
		n, err := c.r.Read(buf)
		c.done <- readResult{n, err}
	}()
	select {
	case res := <-c.done:
		return copy(p, buf[:res.n]), res.err
	case <-c.ctx.Done():
		c.abandoned = true
		return 0, context.Cause(c.ctx)
	}
}

// SkippedKind names what a walk skips that is not a regular file or a folder, "" for a regular
// file: reading a FIFO or a device would block or never end.
func SkippedKind(mode fs.FileMode) string {
	switch t := mode.Type(); {
	case t.IsRegular():
		return ""
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a block device"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "not a regular file"
}
