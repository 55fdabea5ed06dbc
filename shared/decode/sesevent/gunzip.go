package sesevent

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// errGzipTruncated replaces io.ErrUnexpectedEOF from the gzip reader: callers read with
// io.ReadFull, which returns that same error for a short read and would take a truncated member
// for a short file.
var errGzipTruncated = errors.New("gzip: input ends inside a member (truncated file)")

// gunzipReader reads the gzip members of src one after another (as gzip -d does) and reports
// whatever follows the last member as an error: compress/gzip's multistream mode ignores fewer
// than 10 trailing bytes (it reads them as a short header and stops) and names 10 or more only as
// an "invalid header".
type gunzipReader struct {
	src     *bufio.Reader
	z       *gzip.Reader
	members int
	err     error
}

// newGunzip starts reading the gzip data in r.
func newGunzip(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10) // a flate.Reader: gzip reads no further than each member
	z, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	z.Multistream(false)
	return &gunzipReader{src: br, z: z, members: 1}, nil
}

func (g *gunzipReader) Read(p []byte) (int, error) {
	for g.err == nil {
		n, err := g.z.Read(p)
		switch {
		case err == io.EOF:
			g.next()
		case errors.Is(err, io.ErrUnexpectedEOF):
			g.err = fmt.Errorf("gzip member %d: %w", g.members, errGzipTruncated)
		case err != nil:
			g.err = fmt.Errorf("gzip member %d: %w", g.members, err)
		}
		if n > 0 {
			return n, nil
		}
	}
	return 0, g.err
}

// next moves past the end of a member: to the next member, the end of the input, or an error
// saying how many bytes follow the last member.
func (g *gunzipReader) next() {
	head, err := g.src.Peek(2)
	switch {
	case len(head) == 0 && errors.Is(err, io.EOF):
		g.err = io.EOF
	case len(head) == 0:
		g.err = err
	case len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b:
		g.members++
		if err := g.z.Reset(g.src); err != nil {
			g.err = fmt.Errorf("gzip member %d: %w", g.members, err)
			return
		}
		g.z.Multistream(false)
	default:
		const most = 1 << 20
		n, err := io.CopyN(io.Discard, g.src, most+1)
		what := fmt.Sprintf("%d bytes", n)
		if n > most {
			what = "more than 1 MiB"
		}
		if err != nil && !errors.Is(err, io.EOF) {
			what += " (then read: " + err.Error() + ")"
		}
		g.err = fmt.Errorf("gzip: %s after the last gzip member (%d), not a gzip member: %q", what, g.members, head)
	}
}
