package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sesguard/sesguard/shared/testsupport/cputime"
	"github.com/sesguard/sesguard/shared/testsupport/sescorpus"
)

// benchCorpus writes n records of the realistic corpus and its policy to a temporary folder.
func benchCorpus(b *testing.B, n int) (corpus, pol string, size int64) {
	b.Helper()
	dir := b.TempDir()
	corpus, pol = filepath.Join(dir, "corpus.ndjson"), filepath.Join(dir, "policy.yaml")
	f, err := os.Create(corpus)
	if err != nil {
		b.Fatal(err)
	}
	st, err := sescorpus.Write(f, sescorpus.Options{Seed: 1, Records: n})
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(pol, []byte(sescorpus.Policy), 0o644); err != nil {
		b.Fatal(err)
	}
	return corpus, pol, st.Bytes
}

// BenchmarkReplayRealistic is `sesguard replay --format json` in-process on 20,000 records of the
// realistic corpus (shared/testsupport/sescorpus). Profile with
// go test ./cmd/sesguard -run '^$' -bench ReplayRealistic -benchtime 5x -cpu 1 -cpuprofile /tmp/replay.prof
func BenchmarkReplayRealistic(b *testing.B) {
	const n = 20000
	corpus, pol, size := benchCorpus(b, n)
	benchCLI(b, n, size, "replay", "--format", "json", "--policy", pol, corpus)
}

// BenchmarkInvestigateRealistic is `sesguard investigate --by principal` in-process on the same
// corpus.
func BenchmarkInvestigateRealistic(b *testing.B) {
	const n = 20000
	corpus, _, size := benchCorpus(b, n)
	benchCLI(b, n, size, "investigate", corpus, "--by", "principal", "--quiet")
}

func benchCLI(b *testing.B, records int, size int64, args ...string) {
	var stderr bytes.Buffer
	e := env{stdin: bytes.NewReader(nil), stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
	cmd := commands()[args[0]]
	b.SetBytes(size)
	b.ReportAllocs()
	cpu0 := cputime.Self()
	for b.Loop() {
		stderr.Reset()
		if code := cmd.run(context.Background(), e, args[1:]); code != exitOK {
			b.Fatalf("exit %d: %s", code, stderr.String())
		}
	}
	if cpu := cputime.Self() - cpu0; cpu > 0 {
		b.ReportMetric(float64(records)*float64(b.N)/cpu.Seconds(), "records/cpu-s")
	}
}
