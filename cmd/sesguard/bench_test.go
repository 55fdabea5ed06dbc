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
	return benchShapeCorpus(b, n, sescorpus.Shape{}, 1, sescorpus.Policy)
}

// benchShapeCorpus writes n records of a corpus of the shape and the policy to a temporary folder.
func benchShapeCorpus(b *testing.B, n int, shape sescorpus.Shape, seed uint64, policy string) (corpus, pol string, size int64) {
	b.Helper()
	dir := b.TempDir()
	corpus, pol = filepath.Join(dir, "corpus.ndjson"), filepath.Join(dir, "policy.yaml")
	f, err := os.Create(corpus)
	if err != nil {
		b.Fatal(err)
	}
	st, err := sescorpus.Write(f, sescorpus.Options{Seed: seed, Records: n, Shape: shape})
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(pol, []byte(policy), 0o644); err != nil {
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

// BenchmarkReplayShapes is replay on 20,000 records of every corpus shape cmd/bench runs, with
// the corpus's policy and with the flood policy every send breaks (issue 21's targets: the flood
// within 1.3x). Profile one with
// go test ./cmd/sesguard -run '^$' -bench 'ReplayShapes/independent/flood' -benchtime 5x -cpu 1 -cpuprofile /tmp/flood.prof
func BenchmarkReplayShapes(b *testing.B) {
	const n = 20000
	for i, name := range sescorpus.ShapeNames() {
		shape, _ := sescorpus.LookupShape(name)
		for _, pc := range []struct{ name, policy string }{{"policy", sescorpus.Policy}, {"flood", sescorpus.FloodPolicy}} {
			b.Run(name+"/"+pc.name, func(b *testing.B) {
				corpus, pol, size := benchShapeCorpus(b, n, shape, uint64(i)+1, pc.policy) //nolint:gosec // three shapes
				benchCLI(b, n, size, "replay", "--format", "json", "--policy", pol, corpus)
			})
		}
	}
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
