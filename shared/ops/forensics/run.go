package forensics

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// Progress is updated while Run reads, for a progress line on another goroutine.
type Progress struct {
	Bytes   atomic.Int64 // bytes read from the inputs (compressed bytes for gzip)
	Records atomic.Int64 // records decoded (events, skips and errors)
	Errors  atomic.Int64 // records that failed to decode
	Files   atomic.Int64 // inputs finished
}

// RunOptions wires Run to its environment.
type RunOptions struct {
	Stdin    io.Reader
	Progress *Progress // may be nil
	// Workers decode records in parallel (0: GOMAXPROCS); aggregation stays in input order, so
	// the report does not depend on it.
	Workers int
	// OnError is called for every record that fails to decode (a *sesevent.DecodeError naming the
	// file and line) and for inputs that cannot be opened; Run carries on with the next record.
	OnError func(err error)
	// Open opens s3:// inputs (see S3Opener); nil reads local files and stdin only.
	Open Opener
}

// Run streams every input through the aggregator. It stops early only when ctx is done.
func Run(ctx context.Context, agg *Aggregator, inputs []Input, opt RunOptions) error {
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
		if IsRemote(in.Path) {
			// Remote inputs share Visit's read loop, aggregated the same way.
			err := visitOne(ctx, in, VisitOptions{Open: opt.Open}, workers, p, onErr, func(res *sesevent.Result) {
				for i := range res.Events {
					agg.Add(&res.Events[i])
				}
				if res.APICall != nil {
					agg.AddCall(res.APICall)
				}
			})
			if err != nil {
				return err
			}
			p.Files.Add(1)
			continue
		}
		if err := runOne(ctx, agg, in, opt.Stdin, workers, p, onErr); err != nil {
			return err
		}
		p.Files.Add(1)
	}
	return ctx.Err()
}

// runOne streams one input; it returns only ctx's error (context.Cause), as soon as ctx is done
// even while a read blocks.
func runOne(ctx context.Context, agg *Aggregator, in Input, stdin io.Reader, workers int, p *Progress, onErr func(error)) error {
	var r io.Reader
	name := in.Path
	if in.Path == Stdin {
		if stdin == nil {
			onErr(fmt.Errorf("stdin: not available"))
			return nil
		}
		r, name = Interruptible(ctx, stdin), "<stdin>"
	} else {
		f, err := OpenInput(ctx, in.Path)
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if err != nil {
			p.Errors.Add(1)
			onErr(fmt.Errorf("open %s: %w", in.Path, err))
			return nil
		}
		defer f.Close()
		r = f
	}
	for res := range sesevent.DecodeReaderWith(&countingReader{r: r, n: &p.Bytes}, name, sesevent.Options{NoRaw: true, NoTags: true, NoRef: true, Workers: workers}) {
		if res.Err != nil && ctx.Err() != nil {
			// Once ctx is done every read fails at once, after what was already read has been
			// decoded: that read error is the interruption, not a bad record.
			return context.Cause(ctx)
		}
		p.Records.Add(1)
		if res.Err != nil {
			p.Errors.Add(1)
			onErr(res.Err)
		}
		for i := range res.Events {
			agg.Add(&res.Events[i])
		}
		if res.APICall != nil {
			agg.AddCall(res.APICall)
		}
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}
