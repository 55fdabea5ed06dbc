package main

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// The EventBridge trigger (a rule targeting the function): an error fails the invocation.

// handleEventBridge processes an EventBridge event delivered straight to the function.
func (h *Handler) handleEventBridge(ctx context.Context, log *slog.Logger, payload []byte) error {
	var ev events.CloudWatchEvent
	var res sesevent.Result
	if err := json.Unmarshal(payload, &ev); err != nil {
		ref := "eventbridge:" + stringField(payload, "id")
		res = sesevent.Result{Ref: ref, Err: &sesevent.DecodeError{Ref: ref, Err: err}}
	} else {
		res = sesevent.DecodeEventBridge(ev)
	}
	outs := h.process(ctx, log, []sesevent.Result{res}, delivery{redelivered: func(int) bool { return true }})
	summary(log, "eventbridge", outs)
	return firstFailure(outs)
}
