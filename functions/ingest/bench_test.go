package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/engine/detect"
	"github.com/sesguard/sesguard/shared/policy"
	"github.com/sesguard/sesguard/shared/testsupport/cputime"
	"github.com/sesguard/sesguard/shared/testsupport/sescorpus"
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

// BenchmarkHandleSQSRealistic is BenchmarkHandleSQS on records of the realistic corpus
// (shared/testsupport/sescorpus: mail.headers, commonHeaders, 7+ tags, 1–10 KB, Send + Delivery), ten per
// batch in EventBridge bodies, under the corpus's policy; it reports CPU per record.
func BenchmarkHandleSQSRealistic(b *testing.B) {
	p, err := policy.Load([]byte(sescorpus.Policy), "corpus.yaml")
	if err != nil {
		b.Fatal(err)
	}
	d, err := detect.New(p, detect.NewMemoryState())
	if err != nil {
		b.Fatal(err)
	}
	h := &Handler{Detector: d, Publisher: &fakePublisher{}, Network: p, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	var corpus bytes.Buffer
	const batches = 500
	if _, err := sescorpus.Write(&corpus, sescorpus.Options{Seed: 2, Records: 10 * batches}); err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(corpus.String()), "\n")
	payloads := make([][]byte, batches)
	for i := range payloads {
		bodies := make([]string, 10)
		for j := range bodies {
			bodies[j] = `{"version":"0","id":"e","detail-type":"Email Sent","source":"aws.ses","account":"111122223333","time":"2026-05-04T09:15:28Z","region":"eu-west-1","detail":` + lines[10*i+j] + `}`
		}
		payloads[i] = sqsEvent(bodies...)
	}
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cputime.Self()
	n := 0
	for b.Loop() {
		if _, err := h.Handle(ctx, payloads[n%batches]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if cpu := cputime.Self() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(n*10), "cpu-µs/record")
	}
}
