package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/engine/detect"
	"github.com/sesguard/sesguard/shared/policy"
)

// sendRecord is an SES Send record from caller at ip.
func sendRecord(msgID, caller, ip string) string {
	return fmt.Sprintf(`{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27.418Z","source":"billing@mail.example.com",`+
		`"sourceArn":"arn:aws:ses:us-east-1:123456789012:identity/mail.example.com","sendingAccountId":"123456789012",`+
		`"messageId":%q,"destination":["customer@example.net"],"commonHeaders":{"from":["billing@mail.example.com"],"subject":"hi"},`+
		`"tags":{"ses:operation":["SendRawEmail"],"ses:configuration-set":["prod-outbound"],"ses:source-ip":[%q],`+
		`"ses:from-domain":["mail.example.com"],"ses:caller-identity":[%q]}},"send":{}}`, msgID, ip, caller)
}

var approved = netip.MustParsePrefix("10.0.0.0/8")

const testPolicy = `version: 1
network: { cidrs: [10.0.0.0/8] }
senders:
  principals: ["*"]
  from: ["*@mail.example.com"]
  identities: ["mail.example.com"]
  configuration_sets: ["prod-outbound"]
recipients: { domains: ["*"] }
response:
  on:
    network.outside_approved: [deactivate_keys]
`

// failingState is detection state that fails Tally (the state table being unavailable).
type failingState struct {
	*detect.MemoryState
	fail bool
}

func (s *failingState) Tally(ctx context.Context, key string, n int64, first, expires time.Time) (detect.Aggregate, error) {
	if s.fail {
		return detect.Aggregate{}, errors.New("state table unavailable")
	}
	return s.MemoryState.Tally(ctx, key, n, first, expires)
}

// newDetector is the real detector over in-memory state.
func newDetector(t *testing.T, failState bool) *detect.Detector {
	t.Helper()
	p, err := policy.Load([]byte(testPolicy), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := detect.New(p, &failingState{MemoryState: detect.NewMemoryState(), fail: failState}, detect.WithAttributor(fakeAttributor{}))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (p *fakePublisher) names() []string {
	var out []string
	for _, f := range p.got {
		out = append(out, f.Rule+" "+f.Principal.Name)
	}
	return out
}

type fakePublisher struct {
	mu   sync.Mutex
	got  []finding.Finding
	fail bool
}

func (p *fakePublisher) PublishFinding(_ context.Context, f *finding.Finding) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return "", errors.New("sns throttled")
	}
	p.got = append(p.got, *f)
	return "sns-" + f.ID, nil
}

type network struct{}

func (network) NetworkApproved(ip netip.Addr) bool { return approved.Contains(ip) }

type fakeAttributor struct{}

func (fakeAttributor) Attribute(_ context.Context, _, name string) finding.Principal {
	return finding.Principal{Name: name, Kind: finding.KindUser, ARN: "arn:aws:iam::123456789012:user/" + name}
}

func newHandler(d Detector, p *fakePublisher, logs io.Writer) *Handler {
	if logs == nil {
		logs = io.Discard
	}
	return &Handler{Detector: d, Publisher: p, Attributor: fakeAttributor{}, Network: network{}, Log: slog.New(slog.NewJSONHandler(logs, nil))}
}

func sqsEvent(bodies ...string) []byte {
	var recs []map[string]any
	for i, b := range bodies {
		recs = append(recs, map[string]any{
			"messageId": fmt.Sprintf("m-%d", i), "body": b, "eventSource": "aws:sqs",
			"eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ses-events", "awsRegion": "us-east-1",
		})
	}
	out, _ := json.Marshal(map[string]any{"Records": recs})
	return out
}

func invoke(t *testing.T, h *Handler, payload []byte) (any, error) {
	t.Helper()
	return h.Handle(context.Background(), payload)
}

func failures(t *testing.T, v any) []string {
	t.Helper()
	var ids []string
	switch r := v.(type) {
	case events.SQSEventResponse:
		for _, f := range r.BatchItemFailures {
			ids = append(ids, f.ItemIdentifier)
		}
	case events.KinesisEventResponse:
		for _, f := range r.BatchItemFailures {
			ids = append(ids, f.ItemIdentifier)
		}
	default:
		t.Fatalf("response %T is not a batch response", v)
	}
	return ids
}

func TestSQSPartialBatch(t *testing.T) {
	tests := []struct {
		name          string
		payload       []byte
		detectFail    bool
		publishFail   bool
		wantFailures  []string
		wantPublished []string
	}{
		{
			name: "garbage record fails alone, findings deduplicated",
			payload: sqsEvent(sendRecord("a", "app", "10.1.2.3"), `{"eventType":`, sendRecord("b", "thief", "198.51.100.7"),
				sendRecord("c", "thief", "198.51.100.8")),
			wantFailures:  []string{"m-1"},
			wantPublished: []string{"network.outside_approved thief"},
		},
		{
			name:          "record with wrong JSON types fails alone",
			payload:       []byte(`{"Records":[{"messageId":"x1","eventSource":"aws:sqs","body":42},{"messageId":"x2","eventSource":"aws:sqs","body":` + quote(sendRecord("d", "app", "10.0.0.1")) + `}]}`),
			wantFailures:  []string{"x1"},
			wantPublished: nil,
		},
		{
			name:         "state failure fails every decoded record for a retry",
			payload:      sqsEvent(sendRecord("a", "app", "10.1.2.3"), "garbage", sendRecord("b", "thief", "198.51.100.7")),
			detectFail:   true,
			wantFailures: []string{"m-0", "m-1", "m-2"},
		},
		{
			name:         "publish failure fails every contributing record",
			payload:      sqsEvent(sendRecord("a", "thief", "198.51.100.7"), sendRecord("b", "app", "10.1.2.3"), sendRecord("c", "thief", "198.51.100.9")),
			publishFail:  true,
			wantFailures: []string{"m-0", "m-2"},
		},
		{
			name:         "SES SNS validation message is skipped",
			payload:      sqsEvent(`{"Type":"Notification","MessageId":"v","TopicArn":"arn:aws:sns:us-east-1:123456789012:t","Message":"Successfully validated SNS topic for Amazon SES event publishing."}`),
			wantFailures: nil,
		},
		{name: "empty batch", payload: []byte(`{"Records":[]}`)},
	}
	for _, tt := range tests {
		for _, slow := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/slowSQS=%v", tt.name, slow), func(t *testing.T) {
				d, p := newDetector(t, tt.detectFail), &fakePublisher{fail: tt.publishFail}
				h := newHandler(d, p, nil)
				h.slowSQS = slow
				resp, err := invoke(t, h, tt.payload)
				if err != nil {
					t.Fatal(err)
				}
				if got := failures(t, resp); !slices.Equal(got, tt.wantFailures) {
					t.Errorf("batchItemFailures = %v, want %v", got, tt.wantFailures)
				}
				if pub := p.names(); !slices.Equal(pub, tt.wantPublished) {
					t.Errorf("published = %v, want %v", pub, tt.wantPublished)
				}
			})
		}
	}
}

func TestPublishesLargestAggregate(t *testing.T) {
	p := &fakePublisher{}
	h := newHandler(newDetector(t, false), p, nil)
	batch := sqsEvent(sendRecord("a", "thief", "198.51.100.7"), sendRecord("b", "thief", "198.51.100.7"))
	if _, err := invoke(t, h, batch); err != nil {
		t.Fatal(err)
	}
	if len(p.got) != 1 || p.got[0].Evidence.Count != 2 {
		t.Fatalf("published %+v, want one finding with count 2", p.got)
	}
	// The same batch again (SQS redelivery): duplicates, nothing new published, nothing failed.
	resp, err := invoke(t, h, batch)
	if err != nil {
		t.Fatal(err)
	}
	if f := failures(t, resp); len(f) != 0 || len(p.got) != 1 {
		t.Errorf("redelivery: failures %v, published %d; want none and still 1", f, len(p.got))
	}
}

func TestBatchResponseJSONNamesOnlyFailures(t *testing.T) {
	resp, err := invoke(t, newHandler(newDetector(t, false), &fakePublisher{}, nil), sqsEvent(sendRecord("a", "app", "10.1.2.3")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(resp)
	if string(b) != `{"batchItemFailures":[]}` {
		t.Errorf("response JSON = %s", b)
	}
}

func TestKinesisPartialBatch(t *testing.T) {
	rec := func(seq, data string) map[string]any {
		return map[string]any{"eventSource": "aws:kinesis", "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/ses",
			"kinesis": map[string]any{"sequenceNumber": seq, "partitionKey": "p", "data": base64.StdEncoding.EncodeToString([]byte(data))}}
	}
	payload, _ := json.Marshal(map[string]any{"Records": []any{
		rec("100", sendRecord("a", "thief", "198.51.100.7")), rec("101", "not json"), rec("102", sendRecord("b", "app", "10.0.0.9")),
	}})
	p := &fakePublisher{}
	resp, err := invoke(t, newHandler(newDetector(t, false), p, nil), payload)
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(t, resp); !slices.Equal(got, []string{"101"}) {
		t.Errorf("batchItemFailures = %v, want [101]", got)
	}
	if len(p.got) != 1 {
		t.Errorf("published %d findings, want 1", len(p.got))
	}
}

func snsEvent(msg string) []byte {
	out, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"EventSource": "aws:sns", "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:ses:1",
		"Sns": map[string]any{"Type": "Notification", "MessageId": "sns-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses", "Message": msg, "Timestamp": "2026-05-04T09:16:02.311Z"},
	}}})
	return out
}

func TestSNSAndEventBridge(t *testing.T) {
	eb := func(detail string) []byte {
		return []byte(`{"version":"0","id":"eb-1","detail-type":"Email Sent","source":"aws.ses","account":"123456789012","time":"2026-05-04T09:16:02Z","region":"us-east-1","resources":[],"detail":` + detail + `}`)
	}
	tests := []struct {
		name      string
		payload   []byte
		wantErr   string
		published int
	}{
		{"sns finding", snsEvent(sendRecord("a", "thief", "198.51.100.7")), "", 1},
		{"sns approved", snsEvent(sendRecord("a", "app", "10.0.0.7")), "", 0},
		{"sns garbage", snsEvent("{{{"), "record sns:sns-1", 0},
		{"sns validation text", snsEvent("Successfully validated SNS topic for Amazon SES event publishing."), "", 0},
		{"eventbridge finding", eb(sendRecord("a", "thief", "198.51.100.7")), "", 1},
		{"eventbridge missing mail", eb(`{"eventType":"Send"}`), "eventbridge:eb-1", 0},
		{"unknown shape", []byte(`{"hello":"world"}`), "unsupported event", 0},
		{"unknown records", []byte(`{"Records":[{"eventSource":"aws:s3"}]}`), `eventSource "aws:s3"`, 0},
		{"not an object", []byte(`[1,2]`), "not a JSON object", 0},
		{"Records not an array", []byte(`{"Records":5}`), "field Records", 0},
		{"firehose without records", []byte(`{"invocationId":"i","deliveryStreamArn":"arn:aws:firehose:us-east-1:1:deliverystream/x"}`), "unsupported event", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePublisher{}
			_, err := invoke(t, newHandler(newDetector(t, false), p, nil), tt.payload)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if len(p.got) != tt.published {
				t.Errorf("published %d, want %d", len(p.got), tt.published)
			}
		})
	}
}

func TestFirehoseTransformation(t *testing.T) {
	rec := func(id, data string) map[string]any {
		return map[string]any{"recordId": id, "approximateArrivalTimestamp": 1777886162511, "data": base64.StdEncoding.EncodeToString([]byte(data))}
	}
	thief := sendRecord("a", "thief", "198.51.100.7") + "\n"
	app := sendRecord("b", "app", "10.0.0.9") // no newline: none added
	payload, _ := json.Marshal(map[string]any{
		"invocationId": "inv", "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/ses", "region": "us-east-1",
		"records": []any{rec("r1", thief), rec("r2", "garbage\n"), rec("r3", app)},
	})
	var logs bytes.Buffer
	p := &fakePublisher{}
	out, err := invoke(t, newHandler(newDetector(t, false), p, &logs), payload)
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(events.KinesisFirehoseResponse)
	if len(resp.Records) != 3 {
		t.Fatalf("got %d records", len(resp.Records))
	}
	wantResult := []string{"Ok", "ProcessingFailed", "Ok"}
	for i, r := range resp.Records {
		if r.RecordID != fmt.Sprintf("r%d", i+1) || r.Result != wantResult[i] {
			t.Errorf("record %d = %s %s, want r%d %s", i, r.RecordID, r.Result, i+1, wantResult[i])
		}
	}
	if string(resp.Records[1].Data) != "garbage\n" {
		t.Errorf("failed record data changed: %q", resp.Records[1].Data)
	}
	d0 := resp.Records[0].Data
	if !bytes.HasSuffix(d0, []byte("}\n")) || bytes.Count(d0, []byte("\n")) != 1 {
		t.Errorf("Ok record lost its single trailing newline: %q", d0)
	}
	if bytes.HasSuffix(resp.Records[2].Data, []byte("\n")) {
		t.Errorf("newline added to a record that had none: %q", resp.Records[2].Data)
	}
	var got struct {
		EventType string          `json:"eventType"`
		Mail      json.RawMessage `json:"mail"`
		SESGuard  Annotation      `json:"sesguard"`
	}
	if err := json.Unmarshal(d0, &got); err != nil {
		t.Fatalf("re-encoded record is not JSON: %v\n%s", err, d0)
	}
	want := Annotation{
		Principal: finding.Principal{Name: "thief", Kind: finding.KindUser, ARN: "arn:aws:iam::123456789012:user/thief"},
		SourceIP:  "198.51.100.7", Network: "outside", Findings: []string{p.got[0].ID},
	}
	if got.EventType != "Send" || len(got.Mail) == 0 || !equalAnnotation(got.SESGuard, want) {
		t.Errorf("re-encoded record = %+v, want annotation %+v", got, want)
	}
	// The original record's bytes survive verbatim ahead of the annotation.
	if !bytes.HasPrefix(d0, []byte(strings.TrimSuffix(thief, "}\n"))) {
		t.Errorf("original record bytes not kept:\n%s", d0)
	}
	if len(p.got) != 1 {
		t.Errorf("published %d findings, want 1", len(p.got))
	}
}

func TestFirehoseDetectionFailureFailsInvocation(t *testing.T) {
	payload, _ := json.Marshal(map[string]any{"invocationId": "inv", "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/ses",
		"records": []any{map[string]any{"recordId": "r1", "data": base64.StdEncoding.EncodeToString([]byte(sendRecord("a", "x", "198.51.100.1")))}}})
	_, err := invoke(t, newHandler(newDetector(t, true), &fakePublisher{}, nil), payload)
	if err == nil || !strings.Contains(err.Error(), "r1") {
		t.Fatalf("err = %v, want failure naming r1", err)
	}
}

func TestLogsCarryIDs(t *testing.T) {
	var logs bytes.Buffer
	p := &fakePublisher{}
	_, err := invoke(t, newHandler(newDetector(t, false), p, &logs), sqsEvent(sendRecord("msg-42", "thief", "198.51.100.7"), "{"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.got) != 1 {
		t.Fatalf("published %d findings", len(p.got))
	}
	var sawFinding, sawReject bool
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line not JSON: %q", line)
		}
		ids, _ := m["ses_message_ids"].([]any)
		sawFinding = sawFinding || (len(ids) == 1 && ids[0] == "msg-42" && m["finding_id"] == p.got[0].ID && m["request_id"] == nil)
		sawReject = sawReject || (m["msg"] == "ingest: record rejected" && m["record"] == "sqs:m-1")
	}
	if !sawFinding || !sawReject {
		t.Errorf("logs lack ids:\n%s", logs.String())
	}
}

func TestAnnotate(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":1}`, `{"a":1,"sesguard":{"principal":{"name":"","kind":""}}}`},
		{` {} `, `{"sesguard":{"principal":{"name":"","kind":""}}}`},
		{`[1]`, ``},
	}
	for _, tt := range tests {
		got, err := annotate([]byte(tt.in), Annotation{})
		if tt.want == "" {
			if err == nil {
				t.Errorf("annotate(%s): want error", tt.in)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("annotate(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func equalAnnotation(a, b Annotation) bool {
	return a.Principal == b.Principal && a.SourceIP == b.SourceIP && a.Network == b.Network && slices.Equal(a.Findings, b.Findings)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestSendDataEventsEnv(t *testing.T) {
	for _, c := range []struct {
		v    string
		want bool
		err  string
	}{{"", false, ""}, {"true", true, ""}, {"false", false, ""}, {"yes", false, `SESGUARD_SEND_DATA_EVENTS="yes": want true or false`}} {
		got, err := sendDataEvents(func(string) string { return c.v })
		if got != c.want || (err == nil) != (c.err == "") || (err != nil && err.Error() != c.err) {
			t.Errorf("%q: %v %v", c.v, got, err)
		}
	}
}

// A flood logs one line per finding and batch, naming the batch's messages in the finding's
// evidence sample, not one line per message.
func TestFloodLogsOneLinePerFinding(t *testing.T) {
	var logs bytes.Buffer
	p := &fakePublisher{}
	var bodies []string
	for i := range 8 {
		bodies = append(bodies, sendRecord(fmt.Sprintf("msg-%d", i), "thief", "198.51.100.7"))
	}
	if _, err := invoke(t, newHandler(newDetector(t, false), p, &logs), sqsEvent(bodies...)); err != nil {
		t.Fatal(err)
	}
	if len(p.got) != 1 {
		t.Fatalf("published %d findings", len(p.got))
	}
	lines := 0
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line not JSON: %q", line)
		}
		if m["finding_id"] != p.got[0].ID {
			continue
		}
		lines++
		if ids, _ := m["ses_message_ids"].([]any); len(ids) != 8 {
			t.Errorf("finding line names %d messages, want 8: %s", len(ids), line)
		}
	}
	if lines != 1 {
		t.Errorf("%d log lines for the finding, want 1:\n%s", lines, logs.String())
	}
}
