package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/engine/detect"
	"github.com/sesguard/sesguard/shared/render/emf"
)

// Detector runs a batch of normalised events through the rules (detect.Detector with DynamoDB
// state). It deduplicates redelivered events itself; on a state error it rolls the batch's dedup
// marks back and fails, so the whole batch can be retried.
type Detector interface {
	Process(ctx context.Context, events []sesevent.Event) (detect.Batch, error)
	// ProcessCalls is Process for CloudTrail SES API calls.
	ProcessCalls(ctx context.Context, calls []cloudtrail.Event) (detect.Batch, error)
}

var _ Detector = (*detect.Detector)(nil)

// Publisher publishes a finding to the findings topic.
type Publisher interface {
	PublishFinding(ctx context.Context, f *finding.Finding) (string, error)
}

// Attributor resolves a caller name to a principal (IAM lookups behind a cache). Only the
// Firehose transformation needs it, to annotate archived records.
type Attributor interface {
	Attribute(ctx context.Context, account, name string) finding.Principal
}

// NetworkJudge says whether a source address is in the approved networks.
type NetworkJudge interface {
	NetworkApproved(ip netip.Addr) bool
}

// Handler is the ingest function: decode whatever envelope SES events arrive in, detect, publish
// findings, and answer in the shape the event source expects.
type Handler struct {
	Detector  Detector
	Publisher Publisher
	// Outbox keeps findings whose publish failed, for the record's redelivery (SQS, SNS,
	// EventBridge). nil: such a finding is only logged in full at ERROR.
	Outbox     Outbox
	Attributor Attributor // nil: Firehose annotations carry the caller name only
	// KeyOwner resolves the user of a key an AWS Health event names (IAM); nil: such a key's
	// user stays unresolved and containment skips it.
	KeyOwner KeyOwner
	Network  NetworkJudge // nil: Firehose annotations carry no network verdict
	Log      *slog.Logger
	// Reserve is kept back from the invocation deadline for publishes (default
	// fnenv.DefaultReserve): a publish that hangs gives up in time for its finding to be kept in
	// the Outbox. Timing out after the detector has counted the events would lose the finding,
	// since the redelivery is a duplicate to the detector.
	Reserve time.Duration
	// Metrics receives the EMF records (stdout in Lambda); nil emits none.
	Metrics *emf.Writer

	slowSQS bool // read SQS batches with encoding/json only (tests compare both ways)
}

// errUnknownShape is returned for a payload that is none of the supported event sources.
var errUnknownShape = errors.New("ingest: unsupported event: want an SQS, SNS, Kinesis, Firehose transformation or EventBridge event")

// Handle is the Lambda entry point. The event shape is sniffed from the raw payload.
func (h *Handler) Handle(ctx context.Context, payload json.RawMessage) (any, error) {
	log := fnenv.ForInvocation(ctx, h.Log)
	if !h.slowSQS {
		// An SQS batch as SQS sends it is read without reflection; anything else (and any
		// payload the fast reader declines) goes through encoding/json below.
		if msgs, ok := sesevent.ParseSQSEvent(payload); ok {
			return h.answerSQS(ctx, log, sqsRecords(msgs))
		}
	}
	kind, top, err := sniff(payload)
	if err != nil {
		log.Error("ingest: cannot read event", "error", err.Error())
		return nil, err
	}
	switch kind {
	case kindSQS:
		return h.handleSQS(ctx, log, top)
	case kindKinesis:
		return h.handleKinesis(ctx, log, top)
	case kindSNS:
		return nil, h.handleSNS(ctx, log, top)
	case kindFirehose:
		return h.handleFirehose(ctx, log, payload)
	case kindEventBridge:
		return nil, h.handleEventBridge(ctx, log, payload)
	}
	log.Error("ingest: unsupported event", "error", errUnknownShape.Error())
	return nil, errUnknownShape
}

type eventKind int

const (
	kindUnknown eventKind = iota
	kindSQS
	kindKinesis
	kindSNS
	kindFirehose
	kindEventBridge
)

// topLevel is the raw top level of a Lambda event; records stay raw so one malformed record
// cannot fail the unmarshalling of the whole batch.
type topLevel struct {
	Records []json.RawMessage // SQS, SNS, Kinesis ("Records")
}

// envelopeKeys are the top-level keys that tell the event sources apart. One decode of the
// payload fills them; records stay raw so one malformed record cannot fail the whole batch.
// (encoding/json prefers the exact-case key, so "Records" and "records" do not collide.)
type envelopeKeys struct {
	Records           []json.RawMessage `json:"Records"`
	FirehoseRecords   json.RawMessage   `json:"records"`
	DeliveryStreamArn *string           `json:"deliveryStreamArn"`
	InvocationID      *string           `json:"invocationId"`
	DetailType        *string           `json:"detail-type"`
	Detail            json.RawMessage   `json:"detail"`
}

// sniff classifies the payload by its keys, the way the event sources shape them.
func sniff(payload []byte) (eventKind, *topLevel, error) {
	var top envelopeKeys
	if err := json.Unmarshal(payload, &top); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return kindUnknown, nil, fmt.Errorf("ingest: field %s: %w", ute.Field, err)
		}
		return kindUnknown, nil, fmt.Errorf("ingest: event is not a JSON object: %w", err)
	}
	switch {
	case top.Records != nil:
		t := &topLevel{Records: top.Records}
		if len(t.Records) == 0 {
			return kindSQS, t, nil // nothing to do; any batch response shape is fine
		}
		var first struct {
			Lower string          `json:"eventSource"`
			Upper string          `json:"EventSource"`
			SNS   json.RawMessage `json:"Sns"`
		}
		_ = json.Unmarshal(t.Records[0], &first)
		switch {
		case first.Lower == "aws:sqs":
			return kindSQS, t, nil
		case first.Lower == "aws:kinesis":
			return kindKinesis, t, nil
		case first.Upper == "aws:sns" || first.SNS != nil:
			return kindSNS, t, nil
		}
		return kindUnknown, nil, fmt.Errorf("%w (Records[0].eventSource %q)", errUnknownShape, first.Lower+first.Upper)
	case top.FirehoseRecords != nil && (top.DeliveryStreamArn != nil || top.InvocationID != nil):
		return kindFirehose, nil, nil
	case top.DetailType != nil && top.Detail != nil:
		return kindEventBridge, nil, nil
	}
	return kindUnknown, nil, errUnknownShape
}

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

func firstFailure(outs []outcome) error {
	var errs []error
	for _, o := range outs {
		if o.failed != nil {
			errs = append(errs, o.failed)
		}
	}
	return errors.Join(errs...)
}

// handleFirehose is a Firehose data transformation: every record gets a result. Decoded records
// are re-encoded with a "sesguard" member (attribution and finding ids) for the archive; records
// that do not decode are ProcessingFailed (Firehose writes them to its error prefix) and the SES
// validation text is Dropped. A detection or publish failure fails the invocation, so Firehose
// retries it instead of archiving records whose findings were lost.
func (h *Handler) handleFirehose(ctx context.Context, log *slog.Logger, payload []byte) (events.KinesisFirehoseResponse, error) {
	var ev events.KinesisFirehoseEvent
	var resp events.KinesisFirehoseResponse
	if err := json.Unmarshal(payload, &ev); err != nil {
		return resp, fmt.Errorf("ingest: Firehose event: %w", err)
	}
	results := sesevent.DecodeFirehose(ev)
	outs := h.process(ctx, log, results, delivery{})
	resp.Records = make([]events.KinesisFirehoseResponseRecord, len(outs))
	for i, o := range outs {
		rec := ev.Records[i]
		out := events.KinesisFirehoseResponseRecord{RecordID: rec.RecordID, Data: rec.Data}
		switch {
		case o.res.Err != nil:
			out.Result = events.KinesisFirehoseTransformedStateProcessingFailed
		case o.failed != nil:
			summary(log, "firehose", outs)
			return events.KinesisFirehoseResponse{}, fmt.Errorf("ingest: Firehose record %s: %w", rec.RecordID, o.failed)
		case o.res.Skip != "":
			out.Result = events.KinesisFirehoseTransformedStateDropped
		default:
			data, err := annotate(o.res.Raw, h.annotation(ctx, o))
			if err != nil {
				out.Result = events.KinesisFirehoseTransformedStateProcessingFailed
				log.Error("ingest: re-encode failed", fnenv.LogRecord, o.res.Ref, "error", err.Error())
				break
			}
			if bytes.HasSuffix(rec.Data, []byte("\n")) {
				data = append(data, '\n')
			}
			out.Result, out.Data = events.KinesisFirehoseTransformedStateOk, data
		}
		resp.Records[i] = out
	}
	summary(log, "firehose", outs)
	return resp, nil
}

// Annotation is the "sesguard" member added to archived records.
type Annotation struct {
	Principal finding.Principal `json:"principal"`
	SourceIP  string            `json:"source_ip,omitempty"`
	// Network is approved, outside or unknown (no source IP).
	Network  string   `json:"network,omitempty"`
	Findings []string `json:"findings,omitempty"`
}

func (h *Handler) annotation(ctx context.Context, o outcome) Annotation {
	var a Annotation
	if len(o.res.Events) == 0 {
		return a
	}
	ev := &o.res.Events[0]
	a.Principal = finding.Principal{Name: ev.CallerIdentity, Kind: finding.KindUnknown}
	if h.Attributor != nil && ev.CallerIdentity != "" {
		a.Principal = h.Attributor.Attribute(ctx, ev.Account, ev.CallerIdentity)
	}
	if ev.SourceIP.IsValid() {
		a.SourceIP = ev.SourceIP.String()
	}
	if h.Network != nil {
		switch {
		case !ev.SourceIP.IsValid():
			a.Network = "unknown"
		case h.Network.NetworkApproved(ev.SourceIP):
			a.Network = "approved"
		default:
			a.Network = "outside"
		}
	}
	a.Findings = o.findings
	return a
}

// annotate adds "sesguard": a to the JSON object raw, keeping every byte of the original record.
func annotate(raw []byte, a Annotation) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '{' || raw[len(raw)-1] != '}' {
		return nil, errors.New("record is not a JSON object")
	}
	extra, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	body := bytes.TrimSpace(raw[1 : len(raw)-1])
	out := make([]byte, 0, len(raw)+len(extra)+16)
	out = append(out, '{')
	if len(body) > 0 {
		out = append(out, body...)
		out = append(out, ',')
	}
	out = append(out, `"sesguard":`...)
	out = append(out, extra...)
	out = append(out, '}')
	return out, nil
}

// stringField extracts a string member of a JSON object, best effort, to name a broken record.
func stringField(obj []byte, key string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return ""
	}
	var s string
	_ = json.Unmarshal(m[key], &s)
	return s
}
