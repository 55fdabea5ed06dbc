package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/functions/internal/topic"
	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/deliver/export"
)

// Destination is one place findings go (export.Hub, export.Bus, Lake).
type Destination interface {
	Export(ctx context.Context, items []export.Item) export.Failures
}

var (
	_ Destination = (*export.Hub)(nil)
	_ Destination = (*export.Bus)(nil)
	_ Destination = (*Lake)(nil)
)

// Handler is the export function: one SQS batch of findings-topic messages in, Security Hub
// and/or EventBridge out. A record fails (batchItemFailures) when it cannot be decoded or any
// destination did not take it; SQS redelivers it, finally to the DLQ. Redelivery is safe: an
// import of the same finding state is idempotent and a repeated note/workflow update is the same.
type Handler struct {
	Destinations []Destination
	Log          *slog.Logger
	Reserve      time.Duration
}

// Handle exports the batch.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	log := fnenv.ForInvocation(ctx, h.Log)
	ctx, cancel := fnenv.WithReserve(ctx, h.Reserve)
	defer cancel()
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	failed := map[string]bool{}
	fail := func(id string, err error) {
		if !failed[id] {
			failed[id] = true
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
		}
		log.Error("export: message failed", fnenv.LogRecord, "sqs:"+id, "error", err.Error())
	}
	var items []export.Item
	for _, m := range ev.Records {
		it, err := decode(m)
		if err != nil {
			fail(m.MessageId, err)
			continue
		}
		items = append(items, it)
	}
	for _, d := range h.Destinations {
		if ctx.Err() != nil {
			for _, it := range items {
				fail(it.Key, fmt.Errorf("out of time before every destination: %w", ctx.Err()))
			}
			break
		}
		for key, err := range d.Export(ctx, items) {
			fail(key, err)
		}
	}
	log.Info("export: batch done", "records", len(ev.Records), "exported", len(ev.Records)-len(resp.BatchItemFailures), "failed", len(resp.BatchItemFailures))
	return resp, nil
}

func decode(m events.SQSMessage) (export.Item, error) {
	data, err := topic.Unwrap(m.Body)
	if err != nil {
		return export.Item{}, fmt.Errorf("record sqs:%s: body: %w", m.MessageId, err)
	}
	f, r, err := finding.Decode(data)
	if err != nil {
		return export.Item{}, fmt.Errorf("record sqs:%s: %w", m.MessageId, err)
	}
	return export.Item{Key: m.MessageId, Finding: f, Result: r, Raw: data}, nil
}
