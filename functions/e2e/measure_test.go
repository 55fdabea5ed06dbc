package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// TestInitTimes measures each binary's init duration (process start → first /next, Lambda's
// "Init Duration") over a few cold starts against moto, and checks each cold start answers.
func TestInitTimes(t *testing.T) {
	w := newWorld(t)
	const starts = 3
	for _, name := range []string{"ingest", "respond", "notify", "coverage"} {
		var inits []time.Duration
		for range starts {
			rt := w.function(name, "dry-run")
			payload := []byte(`{"Records":[]}`)
			if name == "coverage" {
				payload = []byte(`{"version":"0","id":"tick","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			_, fnErr, err := rt.Invoke(ctx, payload)
			cancel()
			if err != nil || fnErr != nil {
				t.Fatalf("%s cold invoke: %v %v\n%s", name, err, fnErr, rt.Logs())
			}
			inits = append(inits, rt.InitDurations()...)
			rt.Close()
		}
		if len(inits) != starts {
			t.Fatalf("%s: %d init durations for %d cold starts", name, len(inits), starts)
		}
		slices.Sort(inits)
		// Loose bound: a Go bootstrap that takes seconds to init is doing I/O at init it should not.
		if inits[len(inits)/2] > 5*time.Second {
			t.Errorf("%s: median init %v", name, inits[len(inits)/2])
		}
		t.Logf("init %-8s median %6.1f ms (min %.1f, max %.1f, %d cold starts, host build)", name,
			ms(inits[len(inits)/2]), ms(inits[0]), ms(inits[len(inits)-1]), starts)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkIngestBatch sends SQS batches of ten approved sends (fresh message ids each time)
// through a warm ingest process against moto: decode, dedup marks and window state in DynamoDB.
// Reports ms per record.
func BenchmarkIngestBatch(b *testing.B) {
	w := newWorld(b)
	ingest := w.function("ingest", "dry-run")
	warm := newScenario("warm")
	warm.event.Records = warm.event.Records[:len(warm.event.Records)-1] // no garbage record
	_ = invoke[events.SQSEventResponse](b, ingest, warm.event)          // cold start outside the timing
	batches := make([]events.SQSEvent, b.N)
	for i := range batches {
		sc := newScenario(fmt.Sprintf("b%d", i))
		// Ten approved sends: drop the attack and the garbage record, add two more approved ones.
		var recs []events.SQSMessage
		for _, r := range sc.event.Records {
			if r.MessageId != sc.garbageID && !containsMsg(r.Body, sc.attackMsg) {
				recs = append(recs, r)
			}
		}
		more := newScenario(fmt.Sprintf("m%d", i))
		recs = append(recs, more.event.Records[0], more.event.Records[1])
		batches[i] = events.SQSEvent{Records: recs}
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		resp := invoke[events.SQSEventResponse](b, ingest, batches[i])
		if len(resp.BatchItemFailures) != 0 {
			b.Fatalf("failures: %v", resp.BatchItemFailures)
		}
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(elapsed.Microseconds())/1000/float64(b.N*10), "ms/record")
	b.ReportMetric(float64(elapsed.Microseconds())/1000/float64(b.N), "ms/batch")
}

func containsMsg(body, id string) bool {
	return id != "" && len(body) > 0 && strings.Contains(body, `"`+id+`"`)
}
