package sesevent

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// bareSend has no sendingAccountId, sourceArn or tags: everything must come from the envelope.
const bareSend = `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27.418Z","messageId":"m-1"},"send":{}}`

func TestDecodeEventBridgeCases(t *testing.T) {
	at := time.Date(2026, 5, 4, 9, 16, 0, 0, time.UTC)
	tests := []struct {
		name  string
		ev    events.CloudWatchEvent
		want  string // outcome prefix
		check func(t *testing.T, e Event)
	}{
		{"sending event", events.CloudWatchEvent{ID: "1", Source: "aws.ses", DetailType: "Email Sent", AccountID: "111122223333", Region: "eu-west-1", Time: at, Detail: json.RawMessage(bareSend)}, "ok:m-1",
			func(t *testing.T, e Event) {
				if e.Account != "111122223333" || e.Region != "eu-west-1" || !e.EventTime.Equal(at) {
					t.Errorf("envelope not applied: %q %q %v", e.Account, e.Region, e.EventTime)
				}
			}},
		{"region and account from the configuration-set ARN", events.CloudWatchEvent{ID: "2", Source: "aws.ses", DetailType: "Email Sent",
			Resources: []string{"arn:aws:ses:ap-southeast-2:444455556666:configuration-set/prod-outbound"}, Detail: json.RawMessage(bareSend)}, "ok:m-1",
			func(t *testing.T, e Event) {
				if e.Account != "444455556666" || e.Region != "ap-southeast-2" {
					t.Errorf("ARN not used: %q %q", e.Account, e.Region)
				}
			}},
		{"replayed through a custom source", events.CloudWatchEvent{ID: "3", Source: "sesguard.replay", DetailType: "anything", Detail: json.RawMessage(bareSend)}, "ok:m-1", nil},
		{"other SES event", events.CloudWatchEvent{ID: "4", Source: "aws.ses", DetailType: "Advisor Recommendation Status Open", Detail: json.RawMessage(`{}`)}, "skip", nil},
		// SES pausing sending is a notice sesguard alerts on (it was skipped as "not a sending event").
		{"SES sending status", events.CloudWatchEvent{ID: "4b", Source: "aws.ses", DetailType: "Sending Status Disabled", Time: time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC), Detail: json.RawMessage(`{}`)}, "call:Sending Status Disabled", nil},
		{"SES sending status without a time", events.CloudWatchEvent{ID: "4c", Source: "aws.ses", DetailType: "Sending Status Disabled", Detail: json.RawMessage(`{}`)}, "err:record eventbridge:4c: field detail.data.record.lastUpdatedTimestamp: missing", nil},
		{"AWS Health event of another type", events.CloudWatchEvent{ID: "4d", Source: "aws.health", DetailType: "AWS Health Event", Detail: json.RawMessage(`{"eventTypeCode":"AWS_EC2_OPERATIONAL_ISSUE"}`)}, "skip", nil},
		{"AWS Health event without a type", events.CloudWatchEvent{ID: "4e", Source: "aws.health", DetailType: "AWS Health Event", Detail: json.RawMessage(`{"affectedEntities":[]}`)}, "err:record eventbridge:4e: field detail.eventTypeCode: missing", nil},
		{"no detail", events.CloudWatchEvent{ID: "5", Source: "aws.ses", DetailType: "Email Sent"}, "err:record eventbridge:5: field detail: missing", nil},
		{"detail not a record", events.CloudWatchEvent{ID: "6", Source: "aws.ses", DetailType: "Email Sent", Detail: json.RawMessage(`[1]`)}, "err:record eventbridge:6: field detail: want a JSON object", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := DecodeEventBridge(tt.ev)
			checkInvariants(t, r)
			if got := outcome(r); !strings.HasPrefix(got, tt.want) || r.Ref != "eventbridge:"+tt.ev.ID {
				t.Fatalf("got %s %q, want %q", r.Ref, got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, r.Events[0])
			}
		})
	}
}

func TestDecodeSNSCases(t *testing.T) {
	rec := func(id, typ, msg string) events.SNSEventRecord {
		return events.SNSEventRecord{SNS: events.SNSEntity{MessageID: id, Type: typ, Message: msg,
			TopicArn: "arn:aws:sns:eu-west-1:111122223333:ses-events", Timestamp: time.Date(2026, 5, 4, 9, 15, 28, 0, time.UTC)}}
	}
	got := DecodeSNS(events.SNSEvent{Records: []events.SNSEventRecord{
		rec("a", "Notification", bareSend+"\n"),
		rec("b", "Notification", "Successfully validated SNS topic for Amazon SES event publishing."),
		rec("c", "SubscriptionConfirmation", "You have chosen to subscribe..."),
		rec("d", "Telegram", bareSend),
		rec("e", "Notification", `{"notificationType":"AmazonSnsSubscriptionSucceeded","message":"You have successfully subscribed"}`),
		rec("", "Notification", "{"),
	}})
	want := []string{"sns:a ok:m-1", "sns:b skip", "sns:c skip", "sns:d err:record sns:d: field Type: unknown SNS message type", "sns:e skip", "sns:Records[5] err:record sns:Records[5]: field Sns.Message: truncated JSON"}
	checkOutcomes(t, got, want)
	e := got[0].Events[0]
	if e.Account != "111122223333" || e.Region != "eu-west-1" || !e.EventTime.Equal(time.Date(2026, 5, 4, 9, 15, 28, 0, time.UTC)) {
		t.Errorf("topic ARN / timestamp not used: %q %q %v", e.Account, e.Region, e.EventTime)
	}
	if string(got[0].Raw) != bareSend {
		t.Errorf("Raw %q, want the record without its trailing newline", got[0].Raw)
	}
}

func TestDecodeSQSCases(t *testing.T) {
	notification := func(msg string) string {
		b, _ := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "n", "TopicArn": "arn:aws:sns:us-east-2:777788889999:t", "Message": msg, "Timestamp": "2026-05-04T09:15:29.000Z"})
		return string(b)
	}
	msg := func(id, body string) events.SQSMessage {
		return events.SQSMessage{MessageId: id, Body: body, AWSRegion: "eu-west-1",
			EventSourceARN: "arn:aws:sqs:eu-west-1:111122223333:q", Attributes: map[string]string{"SentTimestamp": "1777886130000"}}
	}
	got := DecodeSQS(events.SQSEvent{Records: []events.SQSMessage{
		msg("raw", bareSend),
		msg("sns", notification(bareSend+"\n")),
		msg("validation", notification("Successfully validated SNS topic for Amazon SES event publishing.")),
		msg("eb", `{"version":"0","id":"x","detail-type":"Email Sent","source":"aws.ses","account":"222233334444","time":"2026-05-04T09:16:00Z","region":"eu-central-1","resources":[],"detail":`+bareSend+`}`),
		msg("empty", ""),
		msg("", "   "),
		msg("nested garbage", notification(`"{\"eventType\"`)),
	}})
	want := []string{"sqs:raw ok:m-1", "sqs:sns ok:m-1", "sqs:validation skip", "sqs:eb ok:m-1",
		"sqs:empty err:record sqs:empty: field body: empty input", "sqs:Records[5] err:record sqs:Records[5]: field body: empty input",
		"sqs:nested garbage err:record sqs:nested garbage: field body.Message: want a JSON object, got a JSON string"}
	checkOutcomes(t, got, want)
	// The innermost transport wins: queue < topic < EventBridge.
	for i, w := range []struct {
		account, region string
		at              time.Time
	}{
		{"111122223333", "eu-west-1", time.UnixMilli(1777886130000).UTC()},
		{"777788889999", "us-east-2", time.Date(2026, 5, 4, 9, 15, 29, 0, time.UTC)},
		{},
		{"222233334444", "eu-central-1", time.Date(2026, 5, 4, 9, 16, 0, 0, time.UTC)},
	} {
		if w.account == "" {
			continue
		}
		e := got[i].Events[0]
		if e.Account != w.account || e.Region != w.region || !e.EventTime.Equal(w.at) {
			t.Errorf("%s: got %q %q %v, want %q %q %v", got[i].Ref, e.Account, e.Region, e.EventTime, w.account, w.region, w.at)
		}
	}
}

func TestDecodeFirehoseAndKinesis(t *testing.T) {
	fh := DecodeFirehose(events.KinesisFirehoseEvent{
		DeliveryStreamArn: "arn:aws:firehose:eu-west-1:111122223333:deliverystream/s",
		Records: []events.KinesisFirehoseEventRecord{
			{RecordID: "1", Data: []byte(bareSend + "\n")},
			{RecordID: "2", Data: []byte("not json\n")},
			{Data: []byte(bareSend)},
		},
	})
	checkOutcomes(t, fh, []string{"firehose:1 ok:m-1", "firehose:2 err:record firehose:2: field data: want a JSON object", "firehose:records[2] ok:m-1"})
	if e := fh[0].Events[0]; e.Region != "eu-west-1" || e.Account != "111122223333" || string(fh[0].Raw) != bareSend {
		t.Errorf("firehose envelope: %q %q raw %q", e.Region, e.Account, fh[0].Raw)
	}
	kin := DecodeKinesis(events.KinesisEvent{Records: []events.KinesisEventRecord{
		{EventSourceArn: "arn:aws:kinesis:eu-west-1:111122223333:stream/s", Kinesis: events.KinesisRecord{SequenceNumber: "9", Data: []byte(bareSend)}},
		{Kinesis: events.KinesisRecord{SequenceNumber: "10", Data: nil}},
	}})
	checkOutcomes(t, kin, []string{"kinesis:9 ok:m-1", "kinesis:10 err:record kinesis:10: field kinesis.data: empty input"})
	if e := kin[0].Events[0]; e.Region != "eu-west-1" || e.Account != "111122223333" {
		t.Errorf("kinesis envelope: %q %q", e.Region, e.Account)
	}
	if got := DecodeSQS(events.SQSEvent{}); len(got) != 0 {
		t.Errorf("empty batch gave %d results", len(got))
	}
}

func TestDecodeAnyShapes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"unsupported Lambda source", `{"Records":[{"eventSource":"aws:s3","s3":{}}]}`, []string{"f:Records[0] err:record f:Records[0]: field eventSource: unsupported Lambda event source \"aws:s3\""}},
		{"Records not an array", `{"Records":5}`, []string{"f:0 err:record f:0: field Records: wrong JSON type"}},
		{"one bad Lambda record", `{"Records":[{"messageId":"a","body":` + jsonString(bareSend) + `},{"messageId":"b","body":{}},{"eventSource":"aws:sqs","messageId":"c","body":` + jsonString(bareSend) + `}]}`,
			[]string{"sqs:a ok:m-1", "sqs:b err:record sqs:b: field body: wrong JSON type", "sqs:c ok:m-1"}},
		{"SNS notification document", `{"Type":"Notification","MessageId":"n1","TopicArn":"arn:aws:sns:eu-west-1:111122223333:t","Message":` + jsonString(bareSend) + `}`, []string{"sns:n1 ok:m-1"}},
		{"bare record", bareSend, []string{"f:1 ok:m-1"}},
		{"NDJSON", bareSend + "\n" + bareSend + "\n", []string{"f:1 ok:m-1", "f:2 ok:m-1"}},
		{"plain text", "hello", []string{"f:1 err:record f:1: want a JSON object, got non-JSON text"}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkOutcomes(t, DecodeAny([]byte(tt.in), "f"), tt.want)
		})
	}
}

func TestDecodeReaderAndFile(t *testing.T) {
	// A gzip'd Lambda event is still recognised as one.
	sqs := `{"Records":[{"messageId":"a","eventSource":"aws:sqs","body":` + jsonString(bareSend) + `}]}`
	checkOutcomes(t, collect(DecodeReader(bytes.NewReader(gz([]byte(sqs))), "f")), []string{"sqs:a ok:m-1"})

	// Larger than MaxDocumentSize: streamed, one result per line.
	var big bytes.Buffer
	n := 0
	for big.Len() <= MaxDocumentSize {
		big.WriteString(bareSend + "\n")
		n++
	}
	got := collect(DecodeReader(&big, "big"))
	if len(got) != n || got[n-1].Ref != "big:"+strconv.Itoa(n) || got[n-1].Err != nil {
		t.Fatalf("got %d results (last %v), want %d", len(got), outcomes(got[len(got)-1:]), n)
	}

	// Files.
	dir := t.TempDir()
	p := filepath.Join(dir, "x.ndjson")
	if err := os.WriteFile(p, []byte(bareSend+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	checkOutcomes(t, collect(DecodeFile(p)), []string{p + ":1 ok:m-1"})
	missing := collect(DecodeFile(filepath.Join(dir, "missing.json")))
	if len(missing) != 1 || missing[0].Err == nil || !strings.Contains(missing[0].Err.Error(), "no such file") {
		t.Fatalf("missing file: %v", outcomes(missing))
	}
	// Stopping early is honoured.
	for range DecodeFile(filepath.Join(eventsDir, "sqs", "raw-types.json")) {
		break
	}
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

func checkOutcomes(t *testing.T, got []Result, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d: %v", len(got), len(want), outcomes(got))
	}
	for i, r := range got {
		checkInvariants(t, r)
		if s := r.Ref + " " + outcome(r); !strings.HasPrefix(s, want[i]) {
			t.Errorf("result %d: got %q, want prefix %q", i, s, want[i])
		}
	}
}
