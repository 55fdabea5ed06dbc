package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/testsupport/sescorpus"
)

// TestParallelDecodeSameOutput: replay and investigate print exactly the same thing whether
// records are decoded on one goroutine or on several (decoding follows GOMAXPROCS), on the
// realistic corpus with bad records mixed in.
func TestParallelDecodeSameOutput(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	if _, err := sescorpus.Write(&buf, sescorpus.Options{Seed: 4, Records: 3000}); err != nil {
		t.Fatal(err)
	}
	var data []byte
	for i, l := range bytes.SplitAfter(buf.Bytes(), []byte("\n")) {
		if i%211 == 17 {
			data = append(data, l[:len(l)/3]...)
			data = append(data, '\n')
		}
		data = append(data, l...)
	}
	corpus, pol := filepath.Join(dir, "corpus.ndjson"), filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(corpus, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pol, []byte(sescorpus.Policy), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(procs int, args ...string) string {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		var stdout, stderr bytes.Buffer
		e := env{stdin: bytes.NewReader(nil), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		code := commands()[args[0]].run(context.Background(), e, args[1:])
		return strings.Join([]string{string(rune('0' + code)), stdout.String(), stderr.String()}, "\n--\n")
	}
	for _, args := range [][]string{
		{"replay", "--policy", pol, corpus},
		{"replay", "--format", "json", "--policy", pol, corpus},
		{"investigate", corpus, "--by", "principal", "--policy", pol, "--quiet"},
		{"investigate", corpus, "--by", "hour", "--format", "json", "--quiet"},
	} {
		seq := run(1, args...)
		if !strings.Contains(seq, "finding") && args[0] == "replay" || !strings.Contains(seq, "line 18") {
			t.Fatalf("%v: sequential run lacks findings or the bad record:\n%s", args, seq)
		}
		for _, procs := range []int{2, 3} {
			if par := run(procs, args...); par != seq {
				t.Fatalf("%v: GOMAXPROCS=%d output differs from the sequential run:\n%s\n----\n%s", args, procs, par, seq)
			}
		}
	}
}
