package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"
)

type options struct {
	out    string // output directory
	arch   string // GOARCH
	src    string // directory of function packages
	policy string // optional policy file bundled as policy.yaml
}

// artifact is one built function.
type artifact struct {
	name      string
	bootstrap string
	zip       string
	rawSize   int64
	zipSize   int64
	elapsed   time.Duration
}

// zipEpoch is the fixed timestamp written into zips so identical binaries give identical archives
// (and the CDK asset hash does not change on every build).
var zipEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// discover lists the function packages: every directory under src holding a main.go.
func discover(src string) ([]string, error) {
	entries, err := os.ReadDir(src)
	if err != nil {
		return nil, fmt.Errorf("list functions: %w", err)
	}
	var fns []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(src, e.Name(), "main.go")); err == nil {
			fns = append(fns, e.Name())
		}
	}
	if len(fns) == 0 {
		return nil, fmt.Errorf("no function packages (dir/main.go) under %s", src)
	}
	slices.Sort(fns)
	return fns, nil
}

// buildAll builds the functions one after another: on a small machine parallel links only
// compete for memory, and go build already compiles packages in parallel.
func buildAll(ctx context.Context, o options, fns []string, log io.Writer) ([]artifact, error) {
	var policy []byte
	if o.policy != "" {
		var err error
		if policy, err = os.ReadFile(o.policy); err != nil {
			return nil, fmt.Errorf("read policy: %w", err)
		}
	}
	arts := make([]artifact, 0, len(fns))
	for _, fn := range fns {
		a, err := buildOne(ctx, o, fn, policy, log)
		if err != nil {
			return nil, err
		}
		arts = append(arts, a)
	}
	return arts, nil
}

func buildOne(ctx context.Context, o options, fn string, policy []byte, log io.Writer) (artifact, error) {
	start := time.Now()
	pkg := "./" + filepath.ToSlash(filepath.Join(o.src, fn))
	dir := filepath.Join(o.out, fn)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return artifact{}, fmt.Errorf("%s: %w", fn, err)
	}
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", //nolint:gosec // runs the go tool on a package path this command discovered under functions/
		"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+o.arch, "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return artifact{}, fmt.Errorf("go build %s: %w", pkg, err)
	}
	files := []zipFile{{name: "bootstrap", path: bin, mode: 0o755}}
	pf := filepath.Join(dir, "policy.yaml")
	if policy == nil {
		// A policy.yaml left by an earlier -policy build would still ride along in <out>/<fn>/
		// (the CDK asset) and be loaded whenever SESGUARD_POLICY is unset.
		if err := os.Remove(pf); err != nil && !os.IsNotExist(err) {
			return artifact{}, fmt.Errorf("%s: remove stale policy: %w", fn, err)
		}
	} else {
		if err := os.WriteFile(pf, policy, 0o644); err != nil {
			return artifact{}, fmt.Errorf("%s: bundle policy: %w", fn, err)
		}
		files = append(files, zipFile{name: "policy.yaml", path: pf, mode: 0o644})
	}
	zp := filepath.Join(o.out, fn+".zip")
	if err := writeZip(zp, files); err != nil {
		return artifact{}, fmt.Errorf("%s: %w", fn, err)
	}
	raw, err := os.Stat(bin)
	if err != nil {
		return artifact{}, err
	}
	z, err := os.Stat(zp)
	if err != nil {
		return artifact{}, err
	}
	return artifact{name: fn, bootstrap: bin, zip: zp, rawSize: raw.Size(), zipSize: z.Size(), elapsed: time.Since(start)}, nil
}

type zipFile struct {
	name string
	path string
	mode os.FileMode
}

// writeZip writes files into a deterministic archive; Lambda needs bootstrap to keep its
// executable bit, which lives in the zip entry's Unix mode.
func writeZip(dst string, files []zipFile) (err error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		data, err := os.ReadFile(f.path)
		if err != nil {
			return fmt.Errorf("zip %s: %w", f.name, err)
		}
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: zipEpoch}
		h.SetMode(f.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("zip %s: %w", f.name, err)
		}
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("zip %s: %w", f.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}

func printSizes(w io.Writer, arts []artifact) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "function\tbootstrap\tbytes\tzip\tzip bytes\tbuild\t")
	for _, a := range arts {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t\n", a.name, mib(a.rawSize), a.rawSize, mib(a.zipSize), a.zipSize, a.elapsed.Round(100*time.Millisecond))
	}
	_ = tw.Flush()
	for _, a := range arts {
		fmt.Fprintf(w, "%s -> %s, %s\n", a.name, a.bootstrap, a.zip)
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
