package sesevent

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/shared/testsupport/sescorpus"
)

// checkParseSQSEvent fails t when ParseSQSEvent accepts data but encoding/json reads it
// differently; it reports whether ParseSQSEvent accepted.
func checkParseSQSEvent(t *testing.T, data []byte) bool {
	t.Helper()
	msgs, ok := ParseSQSEvent(data)
	if !ok {
		return false
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatalf("ParseSQSEvent accepted %q, encoding/json: %v", data, err)
	}
	if !reflect.DeepEqual(msgs, ev.Records) {
		t.Fatalf("ParseSQSEvent and encoding/json differ for %q:\nfast %#v\nslow %#v", data, msgs, ev.Records)
	}
	return true
}

// realisticSQSEvent is a Lambda SQS event of n corpus records in EventBridge bodies, as an
// EventBridge rule with an SQS target delivers them.
func realisticSQSEvent(t testing.TB, n int) []byte {
	t.Helper()
	var corpus bytes.Buffer
	if _, err := sescorpus.Write(&corpus, sescorpus.Options{Seed: 5, Records: n}); err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	for i, line := range strings.Split(strings.TrimSpace(corpus.String()), "\n") {
		body := `{"version":"0","id":"e","detail-type":"Email Sent","source":"aws.ses","account":"111122223333","time":"2026-05-04T09:15:28Z","region":"eu-west-1","resources":[],"detail":` + line + `}`
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: "m-" + string(rune('a'+i%26)), ReceiptHandle: "AQEB" + strings.Repeat("x", 40), Body: body,
			Attributes: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1777886128000",
				"SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1777886128010"},
			MessageAttributes: map[string]events.SQSMessageAttribute{}, Md5OfBody: "0123456789abcdef0123456789abcdef",
			EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:eu-west-1:111122223333:sesguard-ingest", AWSRegion: "eu-west-1",
		})
	}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseSQSEvent(t *testing.T) {
	realistic := realisticSQSEvent(t, 10)
	tests := []struct {
		name string
		data string
		want bool
	}{
		{"realistic batch", string(realistic), true},
		{"white space", " \n" + `{ "Records" : [ { "messageId" : "a", "body" : "{}", "eventSource" : "aws:sqs" } ] }` + "\n", true},
		{"null members", `{"Records":[{"messageId":"a","body":null,"attributes":null,"messageAttributes":null,"eventSource":"aws:sqs"}]}`, true},
		{"unknown members", `{"Records":[{"messageId":"a","x":[1,{"y":null}],"eventSource":"aws:sqs"}],"z":true}`, true},
		{"escaped body", `{"Records":[{"messageId":"a","body":"{\"k\":\"\u00e9\\n\"}","eventSource":"aws:sqs"}]}`, true},
		{"not SQS", `{"Records":[{"messageId":"a","eventSource":"aws:kinesis"}]}`, false},
		{"no records", `{"Records":[]}`, false},
		{"null record", `{"Records":[null]}`, false},
		{"firehose member", `{"Records":[{"eventSource":"aws:sqs"}],"records":[]}`, false},
		{"case-folded name", `{"Records":[{"MessageId":"a","eventSource":"aws:sqs"}]}`, false},
		{"duplicate name", `{"Records":[{"body":"a","body":"b","eventSource":"aws:sqs"}]}`, false},
		{"duplicate attribute", `{"Records":[{"attributes":{"a":"1","a":"2"},"eventSource":"aws:sqs"}]}`, false},
		{"number body", `{"Records":[{"body":1,"eventSource":"aws:sqs"}]}`, false},
		{"message attributes", `{"Records":[{"messageAttributes":{"a":{"dataType":"String","stringValue":"x"}},"eventSource":"aws:sqs"}]}`, false},
		{"lone surrogate", `{"Records":[{"body":"\ud800","eventSource":"aws:sqs"}]}`, false},
		{"invalid UTF-8", "{\"Records\":[{\"body\":\"\xff\",\"eventSource\":\"aws:sqs\"}]}", false},
		{"trailing data", `{"Records":[{"eventSource":"aws:sqs"}]} x`, false},
		{"truncated", `{"Records":[{"eventSource":"aws:sqs"}]`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkParseSQSEvent(t, []byte(tc.data)); got != tc.want {
				t.Errorf("accepted = %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzParseSQSEvent: what ParseSQSEvent accepts, encoding/json reads identically.
func FuzzParseSQSEvent(f *testing.F) {
	seedFiles(f, "sqs/", "bad/sqs-", "cloudtrail/sqs-")
	f.Add(realisticSQSEvent(f, 3))
	f.Add([]byte(`{"Records":[{"messageId":"a","body":"{\"k\":\"\u00e9\"}","attributes":{"a":"1"},"messageAttributes":{},"eventSource":"aws:sqs"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParseSQSEvent(t, data)
	})
}

// The SQS fixtures (real shapes) take the fast path.
func TestParseSQSEventFixtures(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(eventsDir, "sqs", "*.json"))
	if len(files) == 0 {
		t.Fatal("no SQS fixtures")
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !checkParseSQSEvent(t, data) {
			t.Errorf("%s: declined", filepath.Base(file))
		}
	}
}
