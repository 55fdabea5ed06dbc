package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// The SNS trigger (a direct subscription): an error fails the invocation for SNS to retry.

// handleSNS processes an SNS delivery (one record in practice). SNS invokes asynchronously, so
// a failure is an error: Lambda retries, then hands the event to the on-failure destination.
func (h *Handler) handleSNS(ctx context.Context, log *slog.Logger, top *topLevel) error {
	results := make([]sesevent.Result, len(top.Records))
	for i, raw := range top.Records {
		var r events.SNSEventRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			ref := fmt.Sprintf("sns:Records[%d]", i)
			results[i] = sesevent.Result{Ref: ref, Err: &sesevent.DecodeError{Ref: ref, Err: err}}
			continue
		}
		results[i] = sesevent.DecodeSNS(events.SNSEvent{Records: []events.SNSEventRecord{r}})[0]
	}
	// Asynchronous invokes carry no retry count; one record per event, so always look.
	outs := h.process(ctx, log, results, delivery{redelivered: func(int) bool { return true }})
	summary(log, "sns", outs)
	return firstFailure(outs)
}
