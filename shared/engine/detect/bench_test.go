package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/testsupport/cputime"
)

// benchRecords builds n distinct Send records (NDJSON) from the SMTP-via-VPC fixture; every
// tenth comes from a public IP so the network rule keeps firing.
func benchRecords(tb testing.TB, n int) []byte {
	tb.Helper()
	raw, err := os.ReadFile("../../../events/record/send-smtp-vpc.json")
	if err != nil {
		tb.Skipf("fixture: %v", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		tb.Fatal(err)
	}
	tmpl := compact.String()
	var rec struct {
		Mail struct {
			MessageID string `json:"messageId"`
			Tags      struct {
				IP []string `json:"ses:source-ip"`
			} `json:"tags"`
		} `json:"mail"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil || rec.Mail.MessageID == "" || len(rec.Mail.Tags.IP) == 0 {
		tb.Fatalf("fixture shape: %v", err)
	}
	var out bytes.Buffer
	for i := range n {
		s := strings.Replace(tmpl, rec.Mail.MessageID, fmt.Sprintf("%s-%08d", rec.Mail.MessageID, i), 1)
		if i%10 == 0 {
			s = strings.Replace(s, `"`+rec.Mail.Tags.IP[0]+`"`, `"203.0.113.77"`, 1)
		}
		out.WriteString(s)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// BenchmarkDecodeDetectSend measures the replay path per Send event: NDJSON stream decoding,
// normalisation and detection with in-memory state, in chunks of 512. Run with -cpu 1 for the
// per-core figure.
func BenchmarkDecodeDetectSend(b *testing.B) {
	const perCycle = 20000
	data := benchRecords(b, perCycle)
	p := examplePolicy(b)
	ctx := context.Background()
	batch := make([]sesevent.Event, 0, 512)
	b.SetBytes(int64(len(data) / perCycle))
	cpu0 := cputime.Self()
	b.ReportAllocs()
	b.ResetTimer()
	done := 0
	for done < b.N {
		d, err := New(p, NewMemoryState(), WithClock(func() time.Time { return t0 }))
		if err != nil {
			b.Fatal(err)
		}
		s := sesevent.NewStream(bytes.NewReader(data), "bench")
		for done < b.N {
			res, ok := s.Next()
			if !ok {
				break
			}
			if res.Err != nil {
				b.Fatal(res.Err)
			}
			batch = append(batch, res.Events...)
			done++
			if len(batch) == cap(batch) {
				if _, err := d.Process(ctx, batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		if _, err := d.Process(ctx, batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	reportRates(b, cpu0)
}

// BenchmarkDetectSend measures detection alone on decoded Send events (every tenth violating).
func BenchmarkDetectSend(b *testing.B) {
	const perCycle = 20000
	p := examplePolicy(b)
	ctx := context.Background()
	evs := make([]sesevent.Event, perCycle)
	for j := range evs {
		evs[j] = goodSend(j)
		if j%10 == 0 {
			evs[j].ConfigurationSet = "marketing"
		}
	}
	const chunk = 512
	cpu0 := cputime.Self()
	b.ReportAllocs()
	b.ResetTimer()
	done := 0
	for done < b.N {
		d, _ := New(p, NewMemoryState(), WithClock(func() time.Time { return t0 }))
		for off := 0; off < perCycle && done < b.N; off += chunk {
			n := min(chunk, perCycle-off, b.N-done)
			if _, err := d.Process(ctx, evs[off:off+n]); err != nil {
				b.Fatal(err)
			}
			done += n
		}
	}
	reportRates(b, cpu0)
}

// reportRates reports events per wall-clock second and per CPU second of this process: on a
// shared machine the latter is the per-core figure.
func reportRates(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if cpu := cputime.Self() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	}
}
