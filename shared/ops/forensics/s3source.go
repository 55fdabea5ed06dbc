package forensics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is what the S3 source needs of the SDK client.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// ParseS3URL splits s3://bucket/prefix.
func ParseS3URL(u string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URL", u)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q names no bucket", u)
	}
	return bucket, prefix, nil
}

// S3Expansion is what ExpandS3 listed.
type S3Expansion struct {
	Inputs         []Input // Path s3://bucket/key, in key order
	Lists          int     // ListObjectsV2 requests made
	PrunedPrefixes int     // Firehose YYYY/MM/DD/HH (or dt=) prefixes skipped for --since/--until
}

// UntilSlack is how long after --until a Firehose prefix is still read: a message sent before
// until has its Bounce, Complaint or DeliveryDelay events arrive later (a soft bounce after SES's
// retries, a complaint when the recipient clicks), and investigate joins them to their Send.
// Outcomes arriving later than this are not read (a local walk, which does not prune on until,
// would still join them).
const UntilSlack = 24 * time.Hour

// ExpandS3 lists the objects under url. With since or until set it walks the prefix tree one
// level at a time and skips Firehose period prefixes (YYYY/, MM/, DD/, HH/, dt=YYYY-MM-DD/) that
// end PruneSlack or more before since or start UntilSlack or more after until, so a one-day
// question over a year of archive lists about two days; otherwise it lists flat. Pagination is
// followed.
func ExpandS3(ctx context.Context, api S3API, url string, since, until time.Time) (S3Expansion, error) {
	var exp S3Expansion
	bucket, prefix, err := ParseS3URL(url)
	if err != nil {
		return exp, err
	}
	prune := !since.IsZero() || !until.IsZero()
	var walk func(p string) error
	walk = func(p string) error {
		in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(p)}
		if prune {
			in.Delimiter = aws.String("/")
		}
		pager := s3.NewListObjectsV2Paginator(api, in)
		var subs []string
		for pager.HasMorePages() {
			exp.Lists++
			page, err := pager.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("list s3://%s/%s: %w", bucket, p, err)
			}
			for _, o := range page.Contents {
				key := aws.ToString(o.Key)
				if strings.HasSuffix(key, "/") {
					continue // a console-made "folder"
				}
				exp.Inputs = append(exp.Inputs, Input{Path: "s3://" + bucket + "/" + key, Size: aws.ToInt64(o.Size)})
			}
			for _, cp := range page.CommonPrefixes {
				subs = append(subs, aws.ToString(cp.Prefix))
			}
		}
		for _, sub := range subs {
			if start, end, ok := prefixPeriod(strings.TrimPrefix(sub, prefix)); ok {
				if (!since.IsZero() && !end.Add(PruneSlack).After(since)) || (!until.IsZero() && !start.Add(-UntilSlack).Before(until)) {
					exp.PrunedPrefixes++
					continue
				}
			}
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(prefix); err != nil {
		return exp, err
	}
	slices.SortFunc(exp.Inputs, func(a, b Input) int { return strings.Compare(a.Path, b.Path) })
	return exp, nil
}

// prefixPeriod recognises a prefix ending in YYYY/[MM/[DD/[HH/]]] or dt=YYYY-MM-DD[-HH]/ (the
// Firehose default and Hive-style partitions) and returns the period it covers.
func prefixPeriod(rel string) (start, end time.Time, ok bool) {
	parts := strings.Split(strings.Trim(rel, "/"), "/")
	last := parts[len(parts)-1]
	if v, found := strings.CutPrefix(last, "dt="); found {
		seg := strings.Split(v, "-")
		if len(seg) < 3 || len(seg) > 4 {
			return start, end, false
		}
		return parsePeriod(seg)
	}
	for n := min(4, len(parts)); n >= 1; n-- {
		if s, e, ok := parsePeriod(parts[len(parts)-n:]); ok {
			return s, e, true
		}
	}
	return start, end, false
}

// S3Opener reads S3 objects for Visit/Run: while one object is decoded, the next Ahead are
// fetched, each into at most MaxBuffer bytes (a larger object streams the rest from its open
// body), so memory is bounded by Ahead × MaxBuffer whatever the archive size.
type S3Opener struct {
	api       S3API
	inputs    []Input
	index     map[string]int
	ahead     int
	maxBuffer int64

	mu      sync.Mutex
	pending map[int]*prefetch
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

type prefetch struct {
	done chan struct{}
	buf  []byte
	body io.ReadCloser // the rest, when the object was larger than maxBuffer
	err  error
}

// NewS3Opener prepares reading inputs (as listed by ExpandS3) with ahead GETs in flight.
func NewS3Opener(ctx context.Context, api S3API, inputs []Input, ahead int, maxBuffer int64) *S3Opener {
	ctx, cancel := context.WithCancel(ctx)
	o := &S3Opener{api: api, inputs: inputs, index: map[string]int{}, ahead: max(ahead, 1), maxBuffer: max(maxBuffer, 64<<10),
		pending: map[int]*prefetch{}, ctx: ctx, cancel: cancel}
	for i, in := range inputs {
		if IsRemote(in.Path) {
			o.index[in.Path] = i
		}
	}
	return o
}

// Close stops the fetches in flight and waits for them.
func (o *S3Opener) Close() {
	o.cancel()
	o.wg.Wait()
	for _, p := range o.pending {
		if p.body != nil {
			p.body.Close()
		}
	}
}

func (o *S3Opener) start(i int) {
	if i >= len(o.inputs) || !IsRemote(o.inputs[i].Path) {
		return
	}
	if _, ok := o.pending[i]; ok {
		return
	}
	p := &prefetch{done: make(chan struct{})}
	o.pending[i] = p
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer close(p.done)
		path := o.inputs[i].Path
		bucket, key, _ := ParseS3URL(path)
		out, err := o.api.GetObject(o.ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			p.err = fmt.Errorf("get %s: %w", path, err)
			return
		}
		var b bytes.Buffer
		n, err := io.Copy(&b, io.LimitReader(out.Body, o.maxBuffer))
		if err != nil {
			out.Body.Close()
			p.err = fmt.Errorf("read %s: %w", path, err)
			return
		}
		p.buf = b.Bytes()
		if n == o.maxBuffer {
			p.body = out.Body // larger: the rest streams when the decoder gets there
			return
		}
		out.Body.Close()
	}()
}

// Open returns the reader of in, starting the fetches of the inputs after it.
func (o *S3Opener) Open(ctx context.Context, in Input) (io.ReadCloser, error) {
	o.mu.Lock()
	i, ok := o.index[in.Path]
	if !ok {
		o.mu.Unlock()
		return nil, fmt.Errorf("%s: not listed", in.Path)
	}
	for j := i; j <= i+o.ahead; j++ {
		o.start(j)
	}
	p := o.pending[i]
	o.mu.Unlock()
	select {
	case <-p.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	o.mu.Lock()
	delete(o.pending, i)
	o.mu.Unlock()
	if p.err != nil {
		return nil, p.err
	}
	r := &objectReader{r: bytes.NewReader(p.buf), body: p.body, name: in.Path}
	return r, nil
}

// objectReader is one object: the prefetched head, then the rest of the body.
type objectReader struct {
	r    *bytes.Reader
	body io.ReadCloser
	name string
}

func (r *objectReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if errors.Is(err, io.EOF) && r.body != nil {
		if n > 0 {
			return n, nil
		}
		n, err = r.body.Read(b)
		if err != nil && !errors.Is(err, io.EOF) {
			err = fmt.Errorf("read %s: %w", r.name, err)
		}
	}
	return n, err
}

func (r *objectReader) Close() error {
	if r.body != nil {
		return r.body.Close()
	}
	return nil
}
