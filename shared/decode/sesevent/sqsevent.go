package sesevent

import (
	"github.com/aws/aws-lambda-go/events"
)

// ParseSQSEvent reads a whole Lambda SQS event document (what the ingest Lambda is invoked with)
// without reflection: the messages as json.Unmarshal into events.SQSEvent gives them, body
// unescaped once. It handles only what SQS sends: ok is false — and the caller must use
// encoding/json, which gives every error as before — for anything it is not sure encoding/json
// reads the same way: invalid JSON, a type error, a duplicate, escaped or case-folded member
// name, a null record or attribute, non-empty messageAttributes, invalid UTF-8 or a lone
// surrogate in a string, a top-level member of another event source ("records", "detail", ...),
// no records, or a first record whose eventSource is not "aws:sqs". FuzzParseSQSEvent checks
// the equivalence.
func ParseSQSEvent(payload []byte) ([]events.SQSMessage, bool) {
	if len(payload) > MaxDocumentSize {
		return nil, false
	}
	d := fastDecoder{data: payload}
	var msgs []events.SQSMessage
	d.ws()
	ok := d.objectIn(func(int) bool {
		return d.objects(func() bool {
			msgs = append(msgs, events.SQSMessage{})
			return d.sqsMessage(&msgs[len(msgs)-1])
		})
	}, sqsEventFields)
	if !ok || len(msgs) == 0 || msgs[0].EventSource != "aws:sqs" {
		return nil, false
	}
	if d.ws(); d.pos != len(d.data) {
		return nil, false
	}
	return msgs, true
}

var (
	// sqsEventFields: the names after "Records" are the other event sources' top-level members
	// the ingest Lambda tells apart (declined).
	sqsEventFields = newFieldTable(1, []string{"Records", "records", "deliveryStreamArn", "invocationId", "detail-type", "detail"},
		"Records")
	sqsMessageFields = newFieldTable(10, []string{"messageId", "receiptHandle", "body", "md5OfBody", "md5OfMessageAttributes",
		"attributes", "messageAttributes", "eventSourceARN", "eventSource", "awsRegion"},
		"messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfMessageAttributes", "md5OfBody",
		"eventSource", "eventSourceARN", "awsRegion")
)

func (d *fastDecoder) sqsMessage(m *events.SQSMessage) bool {
	return d.objectIn(func(i int) bool {
		var ok bool
		switch i {
		case 0:
			m.MessageId, ok = d.str()
		case 1:
			m.ReceiptHandle, ok = d.str()
		case 2:
			m.Body, ok = d.str()
		case 3:
			m.Md5OfBody, ok = d.str()
		case 4:
			m.Md5OfMessageAttributes, ok = d.str()
		case 5:
			m.Attributes, ok = d.strMap()
		case 6:
			// Only the empty object: attribute values need base64 and type checks.
			if ok = d.open('{') && d.peek() == '}'; ok {
				d.pos++
				d.depth--
				m.MessageAttributes = map[string]events.SQSMessageAttribute{}
			}
		case 7:
			m.EventSourceARN, ok = d.str()
		case 8:
			m.EventSource, ok = d.str()
		case 9:
			m.AWSRegion, ok = d.str()
		}
		return ok
	}, sqsMessageFields)
}

// strMap reads a map[string]string whose names are plain (unescaped, ASCII), distinct and whose
// values are strings.
func (d *fastDecoder) strMap() (map[string]string, bool) {
	if !d.open('{') {
		return nil, false
	}
	out := make(map[string]string, 8)
	for n := 0; ; {
		key, more, ok := d.member(&n)
		if !ok || more && (d.keyEsc || d.keyHigh) {
			return nil, false
		}
		if !more {
			return out, true
		}
		if _, dup := out[string(key)]; dup || d.peek() != '"' {
			return nil, false
		}
		v, ok := d.str()
		if !ok {
			return nil, false
		}
		out[string(key)] = v
	}
}
