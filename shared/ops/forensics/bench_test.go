package forensics

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/testsupport/cputime"
	"github.com/sesguard/sesguard/shared/testsupport/sescorpus"
)

// BenchmarkAggregate measures Add alone (the join and the group update) on decoded events.
func BenchmarkAggregate(b *testing.B) {
	var evs []sesevent.Event
	for i := range 10000 {
		who := "svc-" + strconv.Itoa(i%50)
		id := "m" + strconv.Itoa(i)
		evs = append(evs, mk(sesevent.TypeSend, id, who, "10.20.0.5", time.Duration(i)*time.Second),
			mk(sesevent.TypeDelivery, id, who, "10.20.0.5", time.Duration(i)*time.Second))
	}
	a, err := New(Options{By: ByPrincipal, MaxJoin: 5000})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.Add(&evs[i%len(evs)])
	}
}

// BenchmarkRun measures decode + aggregate through Run (MB/s via SetBytes) on 20,000 records of
// the realistic corpus (shared/testsupport/sescorpus), with decoding on -cpu goroutines:
// go test ./shared/ops/forensics -run '^$' -bench BenchmarkRun -benchtime 10x -cpu 1,2
func BenchmarkRun(b *testing.B) {
	var buf bytes.Buffer
	if _, err := sescorpus.Write(&buf, sescorpus.Options{Seed: 1, Records: 20000}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := cputime.Self()
	for b.Loop() {
		a, _ := New(Options{By: ByPrincipal})
		if err := Run(context.Background(), a, []Input{{Path: Stdin}}, RunOptions{Stdin: bytes.NewReader(data)}); err != nil {
			b.Fatal(err)
		}
	}
	if cpu := cputime.Self() - cpu0; cpu > 0 {
		b.ReportMetric(float64(len(data))*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}

// TestGenerateBenchmarkArchive writes the archive for the README benchmark. It runs only when
// SESGUARD_BENCH_ARCHIVE names the output file (never in normal test runs):
//
//	SESGUARD_BENCH_ARCHIVE=/tmp/ses-1g.ndjson SESGUARD_BENCH_ARCHIVE_MB=1024 \
//	  go test ./shared/ops/forensics -run TestGenerateBenchmarkArchive -v
func TestGenerateBenchmarkArchive(t *testing.T) {
	path := os.Getenv("SESGUARD_BENCH_ARCHIVE")
	if path == "" {
		t.Skip("set SESGUARD_BENCH_ARCHIVE=/path/to/out.ndjson to generate the benchmark archive")
	}
	mb := 1024
	if v := os.Getenv("SESGUARD_BENCH_ARCHIVE_MB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("SESGUARD_BENCH_ARCHIVE_MB=%q: want a positive integer", v)
		}
		mb = n
	}
	// Size one message's records, then write enough messages in one pass.
	var probe bytes.Buffer
	start := time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)
	per, err := genArchive(&probe, 1000, start)
	if err != nil {
		t.Fatal(err)
	}
	messages := int(int64(mb) << 20 / (per / 1000))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := genArchive(f, messages, start)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d messages, %d bytes (%.1f MiB)", path, messages, n, float64(n)/(1<<20))
}
