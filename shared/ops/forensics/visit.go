package forensics

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// Opener opens an input that is not a local file (an S3 object). It returns the reader and the
// name errors carry (s3://bucket/key).
type Opener func(ctx context.Context, in Input) (io.ReadCloser, error)

// VisitOptions wire Visit to its environment.
type VisitOptions struct {
	Stdin    io.Reader
	Progress *Progress
	Workers  int
	OnError  func(error)
	// Open opens inputs that are not local paths (nil: local files and stdin only).
	Open Opener
}

// Visit decodes every input in order and hands each decoded result to fn: the shared read loop
// of the commands that are not aggregations (policy suggest, policy preflight). It stops early
// only when ctx is done; bad records go to OnError and the rest is read.
func Visit(ctx context.Context, inputs []Input, opt VisitOptions, fn func(*sesevent.Result)) error {
	p := opt.Progress
	if p == nil {
		p = &Progress{}
	}
	onErr := opt.OnError
	if onErr == nil {
		onErr = func(error) {}
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	for _, in := range inputs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := visitOne(ctx, in, opt, workers, p, onErr, fn); err != nil {
			return err
		}
		p.Files.Add(1)
	}
	return ctx.Err()
}

// visitOne reads one input; it returns only ctx's error.
func visitOne(ctx context.Context, in Input, opt VisitOptions, workers int, p *Progress, onErr func(error), fn func(*sesevent.Result)) error {
	var r io.Reader
	name := in.Path
	switch {
	case in.Path == Stdin:
		if opt.Stdin == nil {
			onErr(fmt.Errorf("stdin: not available"))
			return nil
		}
		r, name = opt.Stdin, "<stdin>"
	case IsRemote(in.Path):
		if opt.Open == nil {
			onErr(fmt.Errorf("%s: no opener for remote inputs", in.Path))
			return nil
		}
		rc, err := opt.Open(ctx, in)
		if err != nil {
			p.Errors.Add(1)
			onErr(err)
			return nil
		}
		defer rc.Close()
		r = rc
	default:
		f, err := os.Open(in.Path)
		if err != nil {
			p.Errors.Add(1)
			onErr(fmt.Errorf("open %s: %w", in.Path, err))
			return nil
		}
		defer f.Close()
		r = f
	}
	n := 0
	for res := range sesevent.DecodeReaderWith(&countingReader{r: r, n: &p.Bytes}, name, sesevent.Options{NoRaw: true, NoTags: true, NoRef: true, Workers: workers}) {
		p.Records.Add(1)
		if res.Err != nil {
			p.Errors.Add(1)
			onErr(res.Err)
		}
		fn(&res)
		if n++; n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// IsRemote reports whether path names an S3 location rather than a local file.
func IsRemote(path string) bool { return strings.HasPrefix(path, "s3://") }
