package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// TestSlackRefusalIsReported: a 4xx from Slack (the message is refused and a retry is refused
// again) becomes a notice on the alerts topic naming the refusal, and the record succeeds; a 5xx
// is still an error for the queue to retry; a refusal that cannot be reported fails the record.
func TestSlackRefusalIsReported(t *testing.T) {
	m := awstest.Start(t)
	cfg := m.Config(t)
	snsc, sqsc := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	ctx := context.Background()
	tests := []struct {
		name     string
		reason   string
		answer   func(http.ResponseWriter)
		format   Format
		wantErr  bool
		rejected bool // a refusal notice on the topic
	}{
		{"400 invalid_blocks", "invalid_blocks", status(400, "invalid_blocks"), FormatText, false, true},
		{"404 no_service (revoked webhook)", "no_service", status(404, "no_service"), FormatText, false, true},
		{"410 channel_is_archived, chatbot topic", "channel_is_archived", status(410, "channel_is_archived"), FormatChatbot, false, true},
		{"500: retried by the queue, not reported", "", status(500, "oops"), FormatText, true, false},
		{"429: retried by the queue, not reported", "", status(429, "rate_limited", "Retry-After", "60"), FormatText, true, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			topic, queue := topicWithQueue(t, snsc, sqsc, "alerts-rejected-"+string(rune('a'+i)), true, "")
			fs := newFakeSlack(t, tc.answer, tc.answer, tc.answer, tc.answer)
			hook := newHook(fs, &staticURL{url: fs.srv.URL + secretPath}, &sleeps{})
			hook.CoolDown = -1
			pub := &SNSPublisher{Client: snsc, TopicARN: topic, Format: tc.format}
			var logs bytes.Buffer
			n := &Notifier{Destinations: []Destination{&ReportRejections{Dest: hook, Report: pub, Log: slog.New(slog.NewJSONHandler(&logs, nil))}, pub}}
			err := n.NotifyResult(ctx, enforceWithUndo())
			if (err != nil) != tc.wantErr {
				t.Fatalf("notify: %v, want error %v", err, tc.wantErr)
			}
			want := 1
			if tc.rejected {
				want = 2
			}
			msgs := receive(t, sqsc, queue, want, 5*time.Second)
			var notices []string
			for _, msg := range msgs {
				if aws.ToString(msg.MessageAttributes["alert"].StringValue) == string(KindRejected) {
					notices = append(notices, aws.ToString(msg.Body))
				}
			}
			if len(msgs) != want || len(notices) != want-1 {
				t.Fatalf("%d messages, %d refusal notices; want %d and %d", len(msgs), len(notices), want, want-1)
			}
			if !tc.rejected {
				return
			}
			body := notices[0]
			if tc.format == FormatChatbot {
				var cn ChatbotNotification
				if err := json.Unmarshal([]byte(body), &cn); err != nil || cn.Version != "1.0" || cn.Source != "custom" {
					t.Fatalf("chatbot notice %q: %v", body, err)
				}
				body = cn.Content.Title + "\n" + cn.Content.Description
			}
			for _, w := range []string{"slack", tc.reason, sampleResult("enforce").FindingID} {
				if !strings.Contains(body, w) {
					t.Errorf("notice lacks %q:\n%s", w, body)
				}
			}
			if strings.Contains(body, "SECRET") || strings.Contains(logs.String(), "SECRET") {
				t.Errorf("the webhook URL leaked:\n%s\n%s", body, logs.String())
			}
			if !strings.Contains(logs.String(), "refusal reported") {
				t.Errorf("no log line: %s", logs.String())
			}
		})
	}

	t.Run("refusal that cannot be reported fails the record", func(t *testing.T) {
		fs := newFakeSlack(t, status(400, "invalid_blocks"))
		hook := newHook(fs, &staticURL{url: fs.srv.URL + secretPath}, &sleeps{})
		broken := &SNSPublisher{Client: snsc, TopicARN: "arn:aws:sns:us-east-1:123456789012:does-not-exist"}
		err := (&ReportRejections{Dest: hook, Report: broken}).Send(ctx, Alert{Kind: KindPage, Finding: sampleFinding()})
		var he *HTTPError
		if !errors.As(err, &he) || he.StatusCode != 400 || !strings.Contains(err.Error(), "report the refusal") {
			t.Fatalf("err = %v", err)
		}
	})
}
