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
	"github.com/sesguard/sesguard/shared/deliver/alert"
	"github.com/sesguard/sesguard/shared/render/emf"
)

// Notifier sends alerts for findings and containment results (alert.Notifier: Slack, SNS, with
// per-finding dedup).
type Notifier interface {
	NotifyFinding(ctx context.Context, f *finding.Finding) error
	NotifyResult(ctx context.Context, r *finding.Result) error
}

var _ Notifier = (*alert.Notifier)(nil)

// Handler is the notify function: one SQS batch of findings-topic messages in, alerts out.
type Handler struct {
	Notifier Notifier
	// MinSeverity: findings (and results of findings) below it are not alerted.
	MinSeverity finding.Severity
	Log         *slog.Logger
	// Reserve is kept back from the invocation deadline so the partial batch response is
	// returned even when a destination hangs (Slack retries alone can outlast the function
	// timeout); default fnenv.DefaultReserve. A timed-out invocation would return the whole
	// batch, including the records already delivered, to the queue.
	Reserve time.Duration
	// Metrics receives the EMF records (stdout in Lambda); nil emits none.
	Metrics *emf.Writer
}

// Handle alerts on each message; a message that cannot be decoded or delivered is named in
// batchItemFailures so SQS retries it and finally moves it to the DLQ.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	log := fnenv.ForInvocation(ctx, h.Log)
	ctx, cancel := fnenv.WithReserve(ctx, h.Reserve)
	defer cancel()
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	var sent, skipped int
	for _, m := range ev.Records {
		rlog := log.With(fnenv.LogRecord, "sqs:"+m.MessageId)
		if ctx.Err() != nil {
			rlog.Error("notify: out of time; message left for the redelivery", "error", ctx.Err().Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		done, err := h.one(ctx, rlog, m)
		if err != nil {
			rlog.Error("notify: message failed", "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		if done {
			sent++
		} else {
			skipped++
		}
	}
	if err := h.Metrics.Emit(emf.MetricAlerts, float64(sent), nil); err != nil {
		log.Warn("notify: metric not emitted", "error", err.Error())
	}
	log.Info("notify: batch done", "records", len(ev.Records), "notified", sent, "below_min_severity", skipped, "failed", len(resp.BatchItemFailures))
	return resp, nil
}

// one handles a message; it reports false when the message was deliberately not alerted.
func (h *Handler) one(ctx context.Context, log *slog.Logger, m events.SQSMessage) (bool, error) {
	data, err := topic.Unwrap(m.Body)
	if err != nil {
		return false, fmt.Errorf("record sqs:%s: body: %w", m.MessageId, err)
	}
	f, r, err := finding.Decode(data)
	if err != nil {
		return false, fmt.Errorf("record sqs:%s: %w", m.MessageId, err)
	}
	if f != nil {
		log = log.With(fnenv.LogFindingID, f.ID, "rule", f.Rule, "severity", f.Severity)
		h.warnUnranked(log, f.Severity)
		if h.below(f.Severity) {
			log.Info("notify: finding below alerts.min_severity", "min_severity", h.MinSeverity)
			return false, nil
		}
		if err := h.Notifier.NotifyFinding(ctx, f); err != nil {
			return false, err
		}
		log.Info("notify: finding notified", "count", f.Evidence.Count)
		return true, nil
	}
	log = log.With(fnenv.LogFindingID, r.FindingID, "rule", r.Rule, "severity", r.Severity, "mode", r.Mode)
	h.warnUnranked(log, r.Severity)
	if h.below(r.Severity) {
		log.Info("notify: result below alerts.min_severity", "min_severity", h.MinSeverity)
		return false, nil
	}
	if err := h.Notifier.NotifyResult(ctx, r); err != nil {
		return false, err
	}
	log.Info("notify: containment result notified", "actions", len(r.Actions))
	return true, nil
}

// warnUnranked notes a severity the min_severity filter cannot rank (it is alerted anyway).
func (h *Handler) warnUnranked(log *slog.Logger, s finding.Severity) {
	if h.MinSeverity.Rank() > 0 && s.Rank() == 0 {
		log.Warn("notify: unknown severity; alerted regardless of alerts.min_severity", "min_severity", h.MinSeverity)
	}
}

// below reports whether s is under MinSeverity. A missing or unknown severity is never below:
// a finding the filter cannot rank is alerted rather than silently dropped.
func (h *Handler) below(s finding.Severity) bool {
	return h.MinSeverity.Rank() > 0 && s.Rank() > 0 && s.Rank() < h.MinSeverity.Rank()
}
