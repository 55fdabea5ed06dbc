package sesevent

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// TestMemberNameRule: member names are exact-case and appear once. A case variant of a known
// member or a duplicate is an error naming the member, on every path that reads a record — the
// fast path declines it, the encoding/json path refuses it — so no reader of the same bytes
// (Python's json keeps exact names and the last duplicate) sees another event.
func TestMemberNameRule(t *testing.T) {
	const mail = `"mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"}`
	for _, tc := range []struct {
		name, rec, field, err string
	}{
		{"case-variant type", `{"eventType":"Send","EventType":"Delivery",` + mail + `}`, "EventType", "another case"},
		{"case-variant type alone", `{"EventType":"Delivery",` + mail + `}`, "EventType", "another case"},
		{"duplicate type", `{"eventType":"Send","eventType":"Delivery",` + mail + `}`, "eventType", "duplicate"},
		{"escaped duplicate type", `{"eventType":"Send","event\u0054ype":"Delivery",` + mail + `}`, "eventType", "duplicate"},
		{"duplicate mail", `{"eventType":"Send",` + mail + `,` + mail + `}`, "mail", "duplicate"},
		{"nested case variant", `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","MessageId":"n"}}`, "mail.MessageId", "another case"},
		{"unicode-folded member", `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","me\u017fsageId":"n","messageId":"m"}}`, "mail.meſsageId", "another case"},
		{"duplicate source-ip tag", `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","tags":{"ses:source-ip":["192.0.2.1"],"ses:source-ip":["203.0.113.9"]}}}`, "mail.tags.ses:source-ip", "duplicate"},
		{"escaped duplicate tag", `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","tags":{"ses:source-ip":["192.0.2.1"],"ses:source\u002dip":["203.0.113.9"]}}}`, "mail.tags.ses:source-ip", "duplicate"},
		{"duplicate recipient member", `{"eventType":"Bounce",` + mail + `,"bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"a@x"},{"emailAddress":"b@x","emailAddress":"c@x"}],"timestamp":"2026-05-04T09:15:28Z"}}`, "bounce.bouncedRecipients[1].emailAddress", "duplicate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(how string, res Result) {
				t.Helper()
				if res.Err == nil {
					t.Fatalf("%s: decoded %+v, want an error naming %s", how, res, tc.field)
				}
				msg := res.Err.Error()
				if !strings.Contains(msg, tc.field) || !strings.Contains(msg, tc.err) {
					t.Fatalf("%s: error %q, want one naming %s (%s)", how, msg, tc.field, tc.err)
				}
			}
			_, err := DecodeRecord([]byte(tc.rec))
			check("DecodeRecord", Result{Err: err})
			check("decodeMessage", decodeMessage([]byte(tc.rec), "body", "r", Envelope{}))
			check("DecodeAny", one(t, DecodeAny([]byte(tc.rec), "f")))
			check("stream", one(t, collect(DecodeReader(strings.NewReader(tc.rec+"\n"+tc.rec+"\n"), "f"))[:1]))
			sns := `{"Type":"Notification","MessageId":"s","TopicArn":"arn:aws:sns:eu-west-1:111122223333:t","Message":` + strconv.Quote(tc.rec) + `}`
			check("SNS", decodeMessage([]byte(sns), "body", "r", Envelope{}))
			eb := `{"id":"e","detail-type":"Email Sent","source":"aws.ses","detail":` + tc.rec + `}`
			check("EventBridge", decodeMessage([]byte(eb), "body", "r", Envelope{}))
		})
	}
}

// TestEnvelopeMemberNameRule: the envelopes decodeDocument reads follow the same rule.
func TestEnvelopeMemberNameRule(t *testing.T) {
	rec := strconv.Quote(`{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"}}`)
	for _, tc := range []struct{ name, doc, field string }{
		{"two Records", `{"Records":[],"Records":[{"messageId":"q","body":` + rec + `}]}`, "Records"},
		{"sqs body case variant", `{"Records":[{"messageId":"q","eventSource":"aws:sqs","body":` + rec + `,"Body":"{}"}]}`, "Body"},
		{"sqs duplicate body", `{"Records":[{"messageId":"q","eventSource":"aws:sqs","body":"{}","body":` + rec + `}]}`, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := one(t, DecodeAny([]byte(tc.doc), "f"))
			if res.Err == nil || !strings.Contains(res.Err.Error(), tc.field) {
				t.Fatalf("got %+v, want an error naming %s", res, tc.field)
			}
		})
	}
}

func one(t *testing.T, rs []Result) Result {
	t.Helper()
	if len(rs) != 1 {
		t.Fatalf("%d results, want 1: %+v", len(rs), rs)
	}
	return rs[0]
}

// keyVariants returns data with a member duplicated, with a case variant of a member added and
// with a tag repeated, for the differential fuzzers: every input then also exercises the rule.
func keyVariants(data []byte) [][]byte {
	var out [][]byte
	i := bytes.IndexByte(data, '"')
	if i < 0 {
		return nil
	}
	j := bytes.IndexByte(data[i+1:], '"')
	if j <= 0 {
		return nil
	}
	name := data[i+1 : i+1+j]
	folded := bytes.Clone(name)
	if c := folded[0]; c >= 'a' && c <= 'z' {
		folded[0] = c - 'a' + 'A'
	} else if c >= 'A' && c <= 'Z' {
		folded[0] = c - 'A' + 'a'
	}
	for _, extra := range []string{`"` + string(name) + `":"Delivery",`, `"` + string(folded) + `":"Delivery",`} {
		out = append(out, append(append(bytes.Clone(data[:i]), extra...), data[i:]...))
	}
	if k := bytes.Index(data, []byte(`"tags":{`)); k >= 0 {
		k += len(`"tags":{`)
		out = append(out, append(append(bytes.Clone(data[:k]), `"ses:source-ip":["203.0.113.9"],`...), data[k:]...))
	}
	return out
}
