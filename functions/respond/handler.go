package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/functions/internal/topic"
	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/engine/contain"
	"github.com/sesguard/sesguard/shared/render/emf"
	"github.com/sesguard/sesguard/shared/slack/approval"
)

// Container plans and applies (or dry-runs) containment for a finding and records it in the
// ledger (contain.Executor). extra are findings containment itself raises (rate cap reached).
type Container interface {
	Contain(ctx context.Context, f *finding.Finding) (res *finding.Result, extra []finding.Finding, err error)
}

var _ Container = (*contain.Executor)(nil)

// Publisher publishes to the findings topic.
type Publisher interface {
	PublishFinding(ctx context.Context, f *finding.Finding) (string, error)
	PublishResult(ctx context.Context, r *finding.Result) (string, error)
}

// Handler is the respond function: one SQS batch of findings in, containment results out.
type Handler struct {
	Container Container
	Publisher Publisher
	// Buttons offers and carries out Slack approvals; nil when response.approvers is empty.
	Buttons *Buttons
	// Slack posts to interactions' response_url (outcomes and refusals).
	Slack Responder
	Log   *slog.Logger
	// Metrics receives the EMF records (stdout in Lambda); nil emits none.
	Metrics *emf.Writer
}

// Handle contains each actionable finding and publishes its result. A record fails (and SQS
// retries it, then moves it to the DLQ) when it cannot be decoded, containment cannot run, the
// result cannot be published, or an action failed: the retry re-plans, skips what is already
// contained (ledger) and tries the failed action again.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	log := fnenv.ForInvocation(ctx, h.Log)
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	actions := emf.NewCounter(emf.MetricActions)
	defer func() {
		if err := actions.Flush(h.Metrics); err != nil {
			log.Warn("respond: metric not emitted", "error", err.Error())
		}
	}()
	for _, m := range ev.Records {
		rlog := log.With(fnenv.LogRecord, "sqs:"+m.MessageId)
		if err := h.one(ctx, rlog, m, actions); err != nil {
			rlog.Error("respond: message failed", "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	log.Info("respond: batch done", "records", len(ev.Records), "failed", len(resp.BatchItemFailures))
	return resp, nil
}

// errActionFailed marks a record whose result was published but had a failed action.
var errActionFailed = errors.New("a containment action failed")

func (h *Handler) one(ctx context.Context, log *slog.Logger, m events.SQSMessage, actions *emf.Counter) error {
	data, err := topic.Unwrap(m.Body)
	if err != nil {
		return fmt.Errorf("record sqs:%s: body: %w", m.MessageId, err)
	}
	if approval.IsRequest(data) {
		// An approved Slack click, from functions/interact's queue.
		if err := h.interaction(ctx, log, data); err != nil {
			return fmt.Errorf("record sqs:%s: %w", m.MessageId, err)
		}
		return nil
	}
	f, r, err := finding.Decode(data)
	if err != nil {
		return fmt.Errorf("record sqs:%s: %w", m.MessageId, err)
	}
	if r != nil {
		// The subscription filters on type=finding; a result here is harmless but says the filter
		// is missing.
		log.Warn("respond: ignoring a containment result (subscription filter type=finding missing?)", fnenv.LogFindingID, r.FindingID)
		return nil
	}
	log = log.With(fnenv.LogFindingID, f.ID, "rule", f.Rule, "principal", f.Principal.Name)
	if !f.Actionable() {
		log.Info("respond: finding has no containment actions")
		return nil
	}
	res, extra, err := h.Container.Contain(ctx, f)
	if err != nil {
		return fmt.Errorf("contain finding %s: %w", f.ID, err)
	}
	for i := range extra {
		if _, err := h.Publisher.PublishFinding(ctx, &extra[i]); err != nil {
			return err
		}
		log.Warn("respond: containment raised a finding", "extra_finding_id", extra[i].ID, "extra_rule", extra[i].Rule)
	}
	if h.Buttons != nil {
		h.Buttons.attach(ctx, log, f, res)
	}
	if _, err := h.Publisher.PublishResult(ctx, res); err != nil {
		return err
	}
	for _, a := range res.Actions {
		actions.Add(1, map[string]string{emf.DimAction: a.Action, emf.DimOutcome: string(a.Outcome)})
		log.Info("respond: action", "mode", res.Mode, "action", a.Action, "target", a.Target, "outcome", a.Outcome,
			"action_id", a.ActionID, "changes", a.Changes, "reason", a.Reason, "error", a.Error)
	}
	if res.Failed() {
		return fmt.Errorf("finding %s: %w (result published)", f.ID, errActionFailed)
	}
	return nil
}
