package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/engine/contain"
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
	// Plan, when set, is the containment configuration whose pure plan (each action, outcome
	// and reason; no AWS call) every published finding carries, so automation on the topic
	// reads it without parsing text. respond still plans against AWS state itself.
	Plan *contain.Config

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
