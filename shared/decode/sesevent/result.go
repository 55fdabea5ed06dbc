package sesevent

import (
	"errors"
	"fmt"
	"time"

	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
)

// Size limits. SES records are small (headers are truncated above 10 KB), so anything bigger is
// either not SES or hostile; refusing it early bounds memory and CPU per record.
const (
	// MaxRecordSize caps one record: an SES record, an SQS body, an SNS message, a Firehose or
	// Kinesis data blob, or one value of an NDJSON/concatenated stream. SQS bodies are capped at
	// 1 MiB by SQS itself; Firehose records at 1,000 KiB.
	MaxRecordSize = 1 << 20
	// MaxDocumentSize caps a whole document decoded in memory by DecodeAny/DecodeReader (a Lambda
	// event file). Lambda's synchronous payload limit is 6 MB; larger inputs are streamed.
	MaxDocumentSize = 8 << 20
	// MaxDepth caps JSON nesting in streams. SES records nest about six levels deep.
	MaxDepth = 64
)

// Result is one input record's outcome; a batch yields exactly one Result per input record, in
// order. Exactly one of Err, Skip, Events and APICall is set.
type Result struct {
	// Ref names the record: "sqs:<messageId>", "sns:<MessageId>", "eventbridge:<id>",
	// "firehose:<recordId>", "kinesis:<sequenceNumber>", "<file>:<line>", or "record".
	Ref string
	// Events are the decoded events (exactly one for every input SES knows today).
	Events []Event
	// Raw is the SES record JSON as found, surrounding white space trimmed (so no trailing
	// newline), for re-encoding by a Firehose transformation; nil on error or skip. It never
	// aliases a buffer the decoder reuses.
	Raw []byte
	// APICall is set instead of Events for a CloudTrail record of an SES API call (an EventBridge
	// "AWS API Call via CloudTrail" event, a bare record, a CloudTrail log file's Records[i]);
	// Raw is then the CloudTrail record.
	APICall *cloudtrail.Event
	// Skip is non-empty when the record was intentionally skipped (for example SES's SNS
	// validation text); Err is nil then.
	Skip string
	// Err is a *DecodeError naming Ref and the field; nil on success.
	Err error
}

// DecodeError is a record that could not be decoded. Field is a dotted JSON path: inside the SES
// record it is relative to the record ("mail.timestamp"); for envelope failures it names the
// carrier ("body", "Sns.Message", "body.Message", "detail", "data", "kinesis.data").
type DecodeError struct {
	Ref   string
	Field string
	Err   error
}

// Error implements error: `record sqs:abc: field mail.timestamp: ...`.
func (e *DecodeError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("record %s: %v", e.Ref, e.Err)
	}
	return fmt.Sprintf("record %s: field %s: %v", e.Ref, e.Field, e.Err)
}

// Unwrap returns the underlying error.
func (e *DecodeError) Unwrap() error { return e.Err }

// Envelope carries what the transport knows about a record; Normalize uses it where the record
// itself is silent.
type Envelope struct {
	Account string
	Region  string
	Time    time.Time
}

// merge fills the empty fields of inner from outer: the innermost transport (closest to SES) wins.
func (inner Envelope) merge(outer Envelope) Envelope {
	if inner.Account == "" {
		inner.Account = outer.Account
	}
	if inner.Region == "" {
		inner.Region = outer.Region
	}
	if inner.Time.IsZero() {
		inner.Time = outer.Time
	}
	return inner
}

// errorResult builds a failed Result, reusing a *DecodeError's field when err already is one.
func errorResult(ref, field string, err error) Result {
	var de *DecodeError
	if errors.As(err, &de) {
		f := de.Field
		if f == "" {
			f = field
		}
		return Result{Ref: ref, Err: &DecodeError{Ref: ref, Field: f, Err: de.Err}}
	}
	return Result{Ref: ref, Err: &DecodeError{Ref: ref, Field: field, Err: err}}
}
