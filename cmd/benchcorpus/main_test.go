package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/testsupport/sescorpus"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	out, pol := filepath.Join(dir, "c.ndjson"), filepath.Join(dir, "p.yaml")
	var stderr bytes.Buffer
	if code := run([]string{"-records", "50", "-seed", "3", "-o", out, "-policy", pol}, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if _, err := sescorpus.Write(&want, sescorpus.Options{Seed: 3, Records: 50}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) || bytes.Count(got, []byte("\n")) != 50 {
		t.Fatalf("file is not the seed-3 corpus of 50 records (%d bytes)", len(got))
	}
	if p, _ := os.ReadFile(pol); string(p) != sescorpus.Policy {
		t.Fatal("policy file differs from sescorpus.Policy")
	}
	if !strings.Contains(stderr.String(), "50 records") {
		t.Fatalf("stderr %q", stderr.String())
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{{"-records", "0"}, {"extra"}, {"-nope"}, {"-shape", "huge"}} {
		if code := run(args, &bytes.Buffer{}, &bytes.Buffer{}); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
