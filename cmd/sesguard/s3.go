package main

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/ops/forensics"
)

// s3Ahead GETs are in flight while one object is decoded, each buffered up to s3MaxBuffer:
// memory for S3 input stays under s3Ahead × s3MaxBuffer (64 MiB) whatever the archive size.
const (
	s3Ahead     = 4
	s3MaxBuffer = 16 << 20
)

// s3Inputs lists the s3:// arguments among paths (SDK standard credentials and region;
// AWS_ENDPOINT_URL points it elsewhere, e.g. at moto) and appends their objects to local, in
// argument order. The returned opener reads them; done releases it.
func s3Inputs(ctx context.Context, e env, cmd string, paths []string, local []forensics.Input, since, until time.Time, quiet bool) ([]forensics.Input, forensics.Opener, func(), error) {
	var urls []string
	for _, p := range paths {
		if forensics.IsRemote(p) {
			urls = append(urls, p)
		}
	}
	if len(urls) == 0 {
		return local, nil, func() {}, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, nil, func() {}, fmt.Errorf("load AWS config for S3: %w", err)
	}
	api := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = e.getenv("AWS_ENDPOINT_URL") != ""
		// Firehose objects carry no checksum: do not log a line per GET about it.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	return s3InputsWith(ctx, e, cmd, api, urls, local, since, until, quiet)
}

func s3InputsWith(ctx context.Context, e env, cmd string, api forensics.S3API, urls []string, local []forensics.Input, since, until time.Time, quiet bool) ([]forensics.Input, forensics.Opener, func(), error) {
	inputs := local
	for _, u := range urls {
		exp, err := forensics.ExpandS3(ctx, api, u, since, until)
		if err != nil {
			return nil, nil, func() {}, err
		}
		if !quiet {
			var size int64
			for _, in := range exp.Inputs {
				size += in.Size
			}
			fmt.Fprintf(e.stderr, "%s: %s: %d object(s), %s in %d LIST request(s); %d Firehose prefix(es) outside --since/--until not listed\n",
				cmd, u, len(exp.Inputs), mib(size), exp.Lists, exp.PrunedPrefixes)
		}
		inputs = append(inputs, exp.Inputs...)
	}
	op := forensics.NewS3Opener(ctx, api, inputs, s3Ahead, s3MaxBuffer)
	return inputs, op.Open, op.Close, nil
}

// replayInputs is replaySources for one PATH argument, with s3://bucket/prefix/ read from S3:
// objects in key order, each a source named s3://bucket/key (so record errors carry key:line).
func replayInputs(ctx context.Context, e env, path string, dec sesevent.Options) iter.Seq[replaySource] {
	if !forensics.IsRemote(path) {
		return replaySources(ctx, e, path, dec)
	}
	return func(yield func(replaySource) bool) {
		inputs, open, done, err := s3Inputs(ctx, e, "replay", []string{path}, nil, time.Time{}, time.Time{}, false)
		defer done()
		if err != nil {
			yield(replaySource{name: path, err: err})
			return
		}
		for _, in := range inputs {
			rc, err := open(ctx, in)
			if err != nil {
				if !yield(replaySource{name: in.Path, err: err}) {
					return
				}
				continue
			}
			ok := yield(replaySource{name: in.Path, results: sesevent.DecodeReaderWith(forensics.Interruptible(ctx, rc), in.Path, dec)})
			rc.Close()
			if !ok {
				return
			}
		}
	}
}
