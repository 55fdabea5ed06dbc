package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/sesguard/sesguard/shared/detect"
	"github.com/sesguard/sesguard/shared/policy"
)

// BenchmarkHandleSQS is the in-process cost of one SQS batch of ten Send records (EventBridge
// bodies, one from outside the approved network): sniff, decode, detect with in-memory state,
// publish to a fake. It excludes AWS round trips; see functions/e2e BenchmarkIngestBatch for the
// binary against moto.
func BenchmarkHandleSQS(b *testing.B) {
	p, err := policy.Load([]byte(testPolicy), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	d, err := detect.New(p, detect.NewMemoryState())
	if err != nil {
		b.Fatal(err)
	}
	h := &Handler{Detector: d, Publisher: &fakePublisher{}, Network: p, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	payloads := make([][]byte, b.N)
	for i := range payloads {
		var bodies []string
		for j := range 10 {
			ip := "10.1.2.3"
			if j == 9 {
				ip = "198.51.100.7"
			}
			rec := sendRecord(fmt.Sprintf("m-%d-%d", i, j), "app", ip)
			bodies = append(bodies, `{"version":"0","id":"e","detail-type":"Email Sent","source":"aws.ses","account":"123456789012","time":"2026-05-04T09:15:28Z","region":"us-east-1","detail":`+rec+`}`)
		}
		payloads[i] = sqsEvent(bodies...)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := h.Handle(ctx, payloads[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*10)/1000, "µs/record")
}
