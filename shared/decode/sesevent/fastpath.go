package sesevent

import (
	"bytes"
	"strconv"
)

// The fast path decodes a well-formed bare SES record without reflection: it reads the JSON into
// a Record (only the fields Normalize reads are kept; every other field of the record model is
// type-checked and dropped, mail.headers and unknown fields are validated and skipped) and runs
// Normalize on it. It handles only the success path: on anything it is not sure encoding/json
// would decode to the same Record — any syntax or type error, a duplicate or case-folded member
// name, an escaped member name, a null array element, a lone UTF-16 surrogate, invalid UTF-8 in a
// kept string, deeper nesting than fastMaxDepth, a Normalize error — it declines and the caller
// runs the encoding/json path, which produces every error message exactly as before.
// FuzzFastPathMatchesSlow checks that both paths agree.

// fastMaxDepth bounds nesting on the fast path; it is below the stream scanner's MaxDepth, so a
// record the fast path accepts is never one the scanner would reject.
const fastMaxDepth = 32

// fastDecodeRecord decodes data (a trimmed JSON object) as a bare SES record and normalises it
// with hint; ok is false when the fast path declines.
func fastDecodeRecord(data []byte, hint Envelope) (ev Event, ok bool) {
	return fastDecodeRecordState(nil, data, hint)
}

// fastDecodeRecordState is fastDecodeRecord sharing st (nil: none) with earlier records.
func fastDecodeRecordState(st *fastState, data []byte, hint Envelope) (ev Event, ok bool) {
	if len(data) == 0 || len(data) > MaxRecordSize || data[0] != '{' {
		return Event{}, false
	}
	d := fastDecoder{data: data, bareTop: true, st: st}
	var f *fastRecord
	if st != nil {
		// Nothing in an Event points into the Record, so one is reused for every record; nothing
		// kept points into the unescaping buffer (text's result is copied), so it is reused too.
		f = &st.rec
		*f = fastRecord{}
		d.scratch = st.scratch
		defer func() { st.scratch = d.scratch }()
	} else {
		f = new(fastRecord)
	}
	if !d.record(f) {
		return Event{}, false
	}
	if d.ws(); d.pos != len(d.data) {
		return Event{}, false // trailing data: encoding/json's error
	}
	var kt *knownTags
	if d.tagsRead {
		kt = &d.known
	}
	ev, err := normalize(&f.rec, hint, kt, st)
	if err != nil {
		return Event{}, false
	}
	return ev, true
}

// fastDocument decodes a whole document that is one well-formed bare SES record, surrounded by
// nothing but white space the Stream skips, to the Result the Stream would give it ("<name>:<line>"
// of its first byte); ok is false when decodeDocument must sniff it.
func fastDocument(data []byte, name string) (Result, bool) {
	start, end := 0, len(data)
	for start < end && isJSONSpace(data[start]) {
		start++
	}
	for end > start && isJSONSpace(data[end-1]) {
		end--
	}
	rec := data[start:end]
	ev, ok := fastDecodeRecord(rec, Envelope{})
	if !ok {
		return Result{}, false
	}
	ref := name + ":" + strconv.Itoa(1+bytes.Count(data[:start], []byte{'\n'}))
	return Result{Ref: ref, Events: []Event{ev}, Raw: bytes.Clone(rec)}, true
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// fastEventBridge is decodeMessage for data that is an EventBridge event (what an SQS body holds
// when EventBridge delivers SES events to a queue): the envelope is read without reflection and
// the detail goes to decodeRecordResult, fast path first. ok is false when the envelope is not
// plainly one — any member of the SNS or bare-record shapes, a missing or null detail-type or
// detail, a detail that is not an object, anything the fast path declines — and decodeMessage
// must use encoding/json.
func fastEventBridge(data []byte, carrier, ref string, outer Envelope) (Result, bool) {
	if len(data) == 0 || len(data) > MaxRecordSize || data[0] != '{' {
		return Result{}, false
	}
	d := fastDecoder{data: data}
	p := ebParts{ref: ref, carrier: joinField(carrier, "detail")}
	var hasType, hasDetail bool
	ok := d.objectUpTo(func(i int) bool {
		var ok bool
		switch i {
		case 0:
			p.id, ok = d.str() // the caller names the record; notices use the id
		case 1:
			p.detailType, ok = d.str()
			hasType = true
		case 2:
			p.source, ok = d.str()
		case 3:
			p.account, ok = d.str()
		case 4:
			p.region, ok = d.str()
		case 5:
			var t string
			t, ok = d.str()
			p.time = parseEnvTime(t)
		case 6:
			p.resources, ok = d.strs(true)
		case 7:
			if d.peek() != '{' {
				return false
			}
			start := d.pos
			ok = d.skip()
			p.detail, hasDetail = d.data[start:d.pos], true
		}
		return ok
	}, 8, []string{"id", "detail-type", "source", "account", "region", "time", "resources", "detail",
		"Type", "MessageId", "TopicArn", "Message", "Timestamp",
		"eventType", "notificationType", "mail", "send", "reject", "bounce", "complaint", "delivery",
		"open", "click", "failure", "deliveryDelay", "subscription"})
	if !ok || !hasType || !hasDetail {
		return Result{}, false
	}
	if d.ws(); d.pos != len(d.data) {
		return Result{}, false
	}
	return decodeEventBridgeParts(p, outer), true
}

// fastRecord holds a Record and the objects every record has in one allocation; the event
// object is allocated only when present.
type fastRecord struct {
	rec       Record
	mail      Mail
	common    CommonHeaders
	bounce    Bounce
	complaint Complaint
	delivery  Delivery
}
