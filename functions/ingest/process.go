package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/engine/contain"
	"github.com/sesguard/sesguard/shared/engine/detect"
)

// Processing shared by every trigger: detect one batch of decoded results, publish what it
// found (through the outbox), and summarise the outcome per record.

// outcome is what happened to one input record.
type outcome struct {
	res      sesevent.Result
	failed   error    // decode, detection or publish failure: retry / report this record
	findings []string // ids of findings this record's events are evidence of
}

// process runs detection over the decoded results as one batch and publishes the findings the
// detector marks for publishing (new ones, and counts crossing a power of ten).
//
// A detection (state) failure fails every decoded record: the detector rolled its dedup marks
// back, so the retry reprocesses them. A publish failure fails the records whose messages are
// in the finding's evidence (all decoded records if the sample does not name them).
// delivery says how a source redelivers failed records.
type delivery struct {
	// redelivered reports whether record i may have been delivered before (so the outbox is
	// worth checking); nil: the source's retries cannot be told apart (Kinesis, Firehose).
	redelivered func(i int) bool
}

func (h *Handler) process(ctx context.Context, log *slog.Logger, results []sesevent.Result, dl delivery) []outcome {
	outs := make([]outcome, len(results))
	var events []sesevent.Event
	var calls []cloudtrail.Event
	byMessage := map[string][]int{}
	var decoded, decodedCalls []int
	ownerErrs := h.resolveKeyUsers(ctx, log, results)
	for i, res := range results {
		outs[i].res = res
		rlog := log.With(fnenv.LogRecord, res.Ref)
		switch {
		case res.Err != nil:
			outs[i].failed = res.Err
			rlog.Error("ingest: record rejected", "error", res.Err.Error())
			continue
		case ownerErrs[i] != nil:
			outs[i].failed = ownerErrs[i]
			rlog.Error("ingest: the user of a key AWS Health names could not be looked up; the record will be retried", "error", ownerErrs[i].Error())
			continue
		case res.Skip != "":
			rlog.Info("ingest: record skipped", "reason", res.Skip)
			continue
		}
		if res.APICall != nil {
			decodedCalls = append(decodedCalls, i)
			calls = append(calls, *res.APICall)
			// Findings name CloudTrail records by event id (and sends by message id).
			byMessage[res.APICall.EventID] = append(byMessage[res.APICall.EventID], i)
			continue
		}
		decoded = append(decoded, i)
		for _, ev := range res.Events {
			events = append(events, ev)
			byMessage[ev.MessageID] = append(byMessage[ev.MessageID], i)
		}
	}
	// Publishes run under pub (the deadline less the reserve); detection and the outbox under
	// ctx, so a rollback or a save still has the reserve to run in.
	h.emitDecoded(log, results, events)
	pub, cancel := fnenv.WithReserve(ctx, h.Reserve)
	defer cancel()
	h.flushOutbox(ctx, pub, log, outs, dl)
	// SES events and CloudTrail calls are detected apart, each failing only its own records: a
	// state error on one must not make the other's already-counted records look new on retry.
	if len(calls) > 0 {
		batch, err := h.Detector.ProcessCalls(ctx, calls)
		if err != nil {
			log.Error("ingest: detection of API calls failed; their records will be retried", "calls", len(calls), "error", err.Error())
			for _, i := range decodedCalls {
				outs[i].failed = fmt.Errorf("record %s: %w", outs[i].res.Ref, err)
			}
		} else {
			h.publishUpdates(ctx, pub, log, outs, batch, byMessage, decodedCalls, dl)
		}
	}
	if len(events) == 0 {
		return outs
	}
	batch, err := h.Detector.Process(ctx, events)
	if err != nil {
		log.Error("ingest: detection failed; batch will be retried", "events", len(events), "error", err.Error())
		for _, i := range decoded {
			outs[i].failed = fmt.Errorf("record %s: %w", outs[i].res.Ref, err)
		}
		return outs
	}
	h.publishUpdates(ctx, pub, log, outs, batch, byMessage, decoded, dl)
	return outs
}

// publishUpdates publishes the updates of one detection batch; decoded are the records the batch
// came from (blamed for a failed publish whose evidence names none of them).
func (h *Handler) publishUpdates(ctx, pub context.Context, log *slog.Logger, outs []outcome, batch detect.Batch, byMessage map[string][]int, decoded []int, dl delivery) {
	if batch.Duplicates > 0 {
		log.Info("ingest: redelivered events skipped", "duplicates", batch.Duplicates)
	}
	h.emitFindings(log, batch.Updates)
	for _, u := range batch.Updates {
		f := u.Finding
		var contributors []int
		for _, id := range slices.Concat(f.Evidence.MessageIDs, f.Evidence.EventIDs) {
			for _, i := range byMessage[id] {
				if !slices.Contains(contributors, i) {
					contributors = append(contributors, i)
					outs[i].findings = append(outs[i].findings, f.ID)
				}
			}
		}
		// One line per finding and batch names the batch's messages in its evidence sample (a
		// line per message made a flood's logs cost ~20x the realistic case's).
		var inBatch []string
		for _, id := range f.Evidence.MessageIDs {
			if _, ok := byMessage[id]; ok {
				inBatch = append(inBatch, id)
			}
		}
		flog := log.With(fnenv.LogFindingID, f.ID, "rule", f.Rule, "severity", f.Severity, "principal", f.Principal.Name, "count", f.Evidence.Count,
			fnenv.LogMessageID+"s", inBatch)
		if !u.Publish {
			flog.Info("ingest: finding updated (not republished below the next power of ten)")
			continue
		}
		if h.Plan != nil {
			if plan, err := contain.PlanResults(&f, h.Plan); err == nil {
				f.Plan = plan
			}
		}
		msgID, err := h.Publisher.PublishFinding(pub, &f)
		if err != nil {
			// The detector has already counted these events, so to it a redelivery is a
			// duplicate that publishes nothing: keep the finding for the redelivery, and log it
			// in full so it is never lost silently.
			body, _ := json.Marshal(f)
			flog.Error("ingest: publish failed", "error", err.Error(), "finding", string(body))
			if len(contributors) == 0 {
				contributors = decoded
			}
			for _, i := range contributors {
				if outs[i].failed == nil {
					outs[i].failed = fmt.Errorf("record %s: %w", outs[i].res.Ref, err)
				}
				if h.Outbox != nil && dl.redelivered != nil {
					if oerr := h.Outbox.Save(ctx, outs[i].res.Ref, &f); oerr != nil {
						flog.Error("ingest: finding not kept for redelivery", fnenv.LogRecord, outs[i].res.Ref, "error", oerr.Error())
					}
				}
			}
			continue
		}
		flog.Info("ingest: finding published", "new", u.New, "sns_message_id", msgID)
	}
}

// flushOutbox publishes the findings kept for redelivered records; a record whose kept
// findings cannot be read or published fails again (and keeps them).
func (h *Handler) flushOutbox(ctx, pub context.Context, log *slog.Logger, outs []outcome, dl delivery) {
	if h.Outbox == nil || dl.redelivered == nil {
		return
	}
	for i := range outs {
		ref := outs[i].res.Ref
		if outs[i].res.Err != nil || !dl.redelivered(i) {
			continue
		}
		pending, err := h.Outbox.Pending(ctx, ref)
		if err != nil {
			outs[i].failed = fmt.Errorf("record %s: %w", ref, err)
			log.Error("ingest: outbox unreadable", fnenv.LogRecord, ref, "error", err.Error())
			continue
		}
		for k := range pending {
			f := &pending[k]
			if _, err := h.Publisher.PublishFinding(pub, f); err != nil {
				outs[i].failed = fmt.Errorf("record %s: kept finding %s: %w", ref, f.ID, err)
				log.Error("ingest: kept finding still not published", fnenv.LogRecord, ref, fnenv.LogFindingID, f.ID, "error", err.Error())
				continue
			}
			if err := h.Outbox.Done(ctx, ref, f.ID); err != nil {
				// Published; at worst the next redelivery publishes the same finding id again.
				log.Warn("ingest: kept finding published but not cleared", fnenv.LogRecord, ref, fnenv.LogFindingID, f.ID, "error", err.Error())
			}
			outs[i].findings = append(outs[i].findings, f.ID)
			log.Info("ingest: kept finding published on redelivery", fnenv.LogRecord, ref, fnenv.LogFindingID, f.ID)
		}
	}
}

func summary(log *slog.Logger, source string, outs []outcome) {
	var failed, skipped, findings int
	for _, o := range outs {
		switch {
		case o.failed != nil:
			failed++
		case o.res.Skip != "":
			skipped++
		}
		findings += len(o.findings)
	}
	log.Info("ingest: batch done", "source", source, "records", len(outs), "failed", failed, "skipped", skipped, "finding_hits", findings)
}

func firstFailure(outs []outcome) error {
	var errs []error
	for _, o := range outs {
		if o.failed != nil {
			errs = append(errs, o.failed)
		}
	}
	return errors.Join(errs...)
}
