package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// The Kinesis trigger: a partial batch response by sequence number.

// handleKinesis answers with a partial batch response naming the failed sequence numbers.
func (h *Handler) handleKinesis(ctx context.Context, log *slog.Logger, top *topLevel) (events.KinesisEventResponse, error) {
	results := make([]sesevent.Result, len(top.Records))
	seqs := make([]string, len(top.Records))
	for i, raw := range top.Records {
		var r events.KinesisEventRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			var k struct {
				Kinesis json.RawMessage `json:"kinesis"`
			}
			_ = json.Unmarshal(raw, &k)
			seqs[i] = stringField(k.Kinesis, "sequenceNumber")
			results[i] = sesevent.Result{Ref: "kinesis:" + seqs[i], Err: &sesevent.DecodeError{Ref: "kinesis:" + seqs[i], Err: err}}
			continue
		}
		seqs[i] = r.Kinesis.SequenceNumber
		results[i] = sesevent.DecodeKinesis(events.KinesisEvent{Records: []events.KinesisEventRecord{r}})[0]
	}
	// Kinesis retries carry no redelivery mark: no outbox (a failed publish is logged in full).
	outs := h.process(ctx, log, results, delivery{})
	resp := events.KinesisEventResponse{BatchItemFailures: []events.KinesisBatchItemFailure{}}
	for i, o := range outs {
		if o.failed == nil {
			continue
		}
		if seqs[i] == "" {
			return resp, fmt.Errorf("ingest: Kinesis record %d failed and has no sequence number: %w", i, o.failed)
		}
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: seqs[i]})
	}
	summary(log, "kinesis", outs)
	return resp, nil
}
