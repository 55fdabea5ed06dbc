package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sesguard/sesguard/shared/ops/forensics"
)

// cliInputs expands PATH arguments (local files and folders, - for stdin, s3://bucket/prefix/)
// into inputs, and returns the opener for the remote ones. Firehose hour folders (local) and
// prefixes (S3) outside [since, until) are pruned before they are listed.
func cliInputs(ctx context.Context, e env, cmd string, paths []string, since, until time.Time, quiet bool) ([]forensics.Input, forensics.Opener, func(), error) {
	var inputs []forensics.Input
	exp, err := forensics.Expand(localPaths(paths), since)
	if err != nil {
		return nil, nil, func() {}, err
	}
	inputs = append(inputs, exp.Inputs...)
	for _, err := range exp.Errors {
		fmt.Fprintf(e.stderr, "%s: skipped: %v\n", cmd, err)
	}
	return s3Inputs(ctx, e, cmd, paths, inputs, since, until, quiet)
}

// localPaths are the arguments that are not s3:// URLs.
func localPaths(paths []string) []string {
	var out []string
	for _, p := range paths {
		if !forensics.IsRemote(p) {
			out = append(out, p)
		}
	}
	return out
}

// relabel rewrites the "investigate: " prefix of the shared progress lines (progressLine) for
// other commands; each progress line is one Write.
type relabel struct {
	w     io.Writer
	label string
}

func (r relabel) Write(b []byte) (int, error) {
	if rest, ok := bytes.CutPrefix(b, []byte("investigate: ")); ok {
		if _, err := io.WriteString(r.w, r.label+": "+string(rest)); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return r.w.Write(b)
}
