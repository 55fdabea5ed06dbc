package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// The SQS trigger (EventBridge rule or SNS subscription bodies): a partial batch response.

// handleSQS answers with a partial batch response naming only the failed messages.
func (h *Handler) handleSQS(ctx context.Context, log *slog.Logger, top *topLevel) (events.SQSEventResponse, error) {
	b := sqsBatch{
		results: make([]sesevent.Result, len(top.Records)),
		ids:     make([]string, len(top.Records)),
		counts:  make([]string, len(top.Records)),
	}
	for i, raw := range top.Records {
		var m events.SQSMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			b.ids[i] = stringField(raw, "messageId")
			b.results[i] = sesevent.Result{Ref: "sqs:" + b.ids[i], Err: &sesevent.DecodeError{Ref: "sqs:" + b.ids[i], Err: err}}
			continue
		}
		b.set(i, m)
	}
	return h.answerSQS(ctx, log, b)
}

// sqsBatch is an SQS batch decoded: per message its Result, id and ApproximateReceiveCount.
type sqsBatch struct {
	results     []sesevent.Result
	ids, counts []string
}

func (b sqsBatch) set(i int, m events.SQSMessage) {
	b.ids[i] = m.MessageId
	b.counts[i] = m.Attributes["ApproximateReceiveCount"]
	b.results[i] = sesevent.DecodeSQS(events.SQSEvent{Records: []events.SQSMessage{m}})[0]
}

// sqsRecords is the batch of messages read by sesevent.ParseSQSEvent.
func sqsRecords(msgs []events.SQSMessage) sqsBatch {
	b := sqsBatch{results: make([]sesevent.Result, len(msgs)), ids: make([]string, len(msgs)), counts: make([]string, len(msgs))}
	for i, m := range msgs {
		b.set(i, m)
	}
	return b
}

// answerSQS processes a decoded batch and answers with the partial batch response.
func (h *Handler) answerSQS(ctx context.Context, log *slog.Logger, b sqsBatch) (events.SQSEventResponse, error) {
	results, ids, counts := b.results, b.ids, b.counts
	// Only a message received before can have findings kept for it.
	outs := h.process(ctx, log, results, delivery{redelivered: func(i int) bool { return counts[i] != "" && counts[i] != "1" }})
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for i, o := range outs {
		if o.failed == nil {
			continue
		}
		if ids[i] == "" {
			// Without a message id the failure cannot be named; failing the invocation makes
			// SQS redeliver the whole batch rather than lose the record.
			return resp, fmt.Errorf("ingest: SQS record %d failed and has no messageId: %w", i, o.failed)
		}
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ids[i]})
	}
	summary(log, "sqs", outs)
	return resp, nil
}
