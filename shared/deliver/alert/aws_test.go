package alert

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// topicWithQueue creates an SNS topic with an SQS subscription and returns the topic ARN and
// the queue URL. raw selects raw message delivery; filter is an optional filter policy.
func topicWithQueue(t *testing.T, snsc *sns.Client, sqsc *sqs.Client, name string, raw bool, filter string) (string, string) {
	t.Helper()
	ctx := context.Background()
	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	q, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-q")})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	qa, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("queue arn: %v", err)
	}
	attrs := map[string]string{}
	if raw {
		attrs["RawMessageDelivery"] = "true"
	}
	if filter != "" {
		attrs["FilterPolicy"] = filter
	}
	if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(qa.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]), Attributes: attrs}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return aws.ToString(topic.TopicArn), aws.ToString(q.QueueUrl)
}

func receive(t *testing.T, sqsc *sqs.Client, queue string, want int, wait time.Duration) []sqstypes.Message {
	t.Helper()
	var got []sqstypes.Message
	deadline := time.Now().Add(wait)
	for len(got) < want && time.Now().Before(deadline) {
		out, err := sqsc.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queue),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		got = append(got, out.Messages...)
	}
	return got
}

// snsEnvelope is the non-raw SNS notification as delivered to SQS.
type snsEnvelope struct {
	Subject           string
	Message           string
	MessageAttributes map[string]struct{ Type, Value string }
}

func TestSNSPublisherOnMoto(t *testing.T) {
	m := awstest.Start(t)
	cfg := m.Config(t)
	snsc, sqsc := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	ctx := context.Background()

	t.Run("text with attributes", func(t *testing.T) {
		topic, queue := topicWithQueue(t, snsc, sqsc, "alerts-text", false, "")
		f := hostileFinding("ses-smtp-user <!channel>\u202E\n")
		f.Principal.Name = "ses-smtp-user.2026"
		p := &SNSPublisher{Client: snsc, TopicARN: topic}
		if err := p.Send(ctx, Alert{Kind: KindPage, Finding: f}); err != nil {
			t.Fatalf("send: %v", err)
		}
		msgs := receive(t, sqsc, queue, 1, 5*time.Second)
		if len(msgs) != 1 {
			t.Fatalf("got %d messages", len(msgs))
		}
		var env snsEnvelope
		if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &env); err != nil {
			t.Fatalf("decode SNS envelope: %v", err)
		}
		want := SNSFinding(f)
		if env.Subject != want.Subject || env.Message != want.Body {
			t.Errorf("delivered subject %q, want %q (or the body differs)", env.Subject, want.Subject)
		}
		for k, v := range map[string]string{"rule": "network.outside_approved", "severity": "high",
			"account": "111122223333", "principal": "ses-smtp-user.2026", "type": "finding", "alert": "page"} {
			if a := env.MessageAttributes[k]; a.Type != "String" || a.Value != v {
				t.Errorf("attribute %s = %+v, want String %q", k, a, v)
			}
		}
	})

	t.Run("raw delivery carries SQS message attributes", func(t *testing.T) {
		topic, queue := topicWithQueue(t, snsc, sqsc, "alerts-raw", true, "")
		p := &SNSPublisher{Client: snsc, TopicARN: topic}
		if err := p.Send(ctx, Alert{Kind: KindResult, Result: sampleResult("enforce")}); err != nil {
			t.Fatalf("send: %v", err)
		}
		msgs := receive(t, sqsc, queue, 1, 5*time.Second)
		if len(msgs) != 1 {
			t.Fatalf("got %d messages", len(msgs))
		}
		if got := aws.ToString(msgs[0].Body); !strings.Contains(got, "undo: sesguard restore act-7f3a9c") {
			t.Errorf("raw body = %q", got)
		}
		a := msgs[0].MessageAttributes
		if aws.ToString(a["type"].StringValue) != finding.TypeResult || aws.ToString(a["type"].DataType) != "String" ||
			aws.ToString(a["alert"].StringValue) != "result" {
			t.Errorf("attributes = %+v", a)
		}
	})

	t.Run("filter policy on severity", func(t *testing.T) {
		topic, queue := topicWithQueue(t, snsc, sqsc, "alerts-critical", true, `{"severity":["critical"]}`)
		p := &SNSPublisher{Client: snsc, TopicARN: topic}
		high := sampleFinding()
		crit := sampleFinding()
		crit.ID, crit.Severity = "f-critical", finding.SeverityCritical
		for _, f := range []*finding.Finding{high, crit} {
			if err := p.Send(ctx, Alert{Kind: KindPage, Finding: f}); err != nil {
				t.Fatal(err)
			}
		}
		msgs := receive(t, sqsc, queue, 2, 1500*time.Millisecond)
		// SNS to SQS is at-least-once: a redelivered copy of the critical alert is not a filter
		// failure, the high one getting through is. Judge distinct bodies.
		bodies := map[string]bool{}
		for _, m := range msgs {
			bodies[aws.ToString(m.Body)] = true
		}
		var critical int
		for b := range bodies {
			if strings.Contains(b, high.ID) {
				t.Errorf("filter policy let the high finding through: %q", b)
			}
			if strings.Contains(b, "f-critical") {
				critical++
			}
		}
		if critical != 1 || len(bodies) != 1 {
			t.Fatalf("filter policy delivered %d messages (%d distinct), want only the critical one: %v", len(msgs), len(bodies), bodies)
		}
	})

	t.Run("chatbot format", func(t *testing.T) {
		topic, queue := topicWithQueue(t, snsc, sqsc, "alerts-chatbot", true, "")
		p := &SNSPublisher{Client: snsc, TopicARN: topic, Format: FormatChatbot}
		if err := p.Send(ctx, Alert{Kind: KindPage, Finding: sampleFinding()}); err != nil {
			t.Fatal(err)
		}
		msgs := receive(t, sqsc, queue, 1, 5*time.Second)
		if len(msgs) != 1 {
			t.Fatalf("got %d messages", len(msgs))
		}
		var n ChatbotNotification
		if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &n); err != nil {
			t.Fatalf("chatbot body is not JSON: %v", err)
		}
		if n.Version != "1.0" || n.Source != "custom" || n.Content.Description == "" || n.Metadata.ThreadID == "" {
			t.Errorf("chatbot notification = %+v", n)
		}
	})

	t.Run("publish error is returned", func(t *testing.T) {
		p := &SNSPublisher{Client: snsc, TopicARN: "arn:aws:sns:us-east-1:123456789012:no-such-topic"}
		if err := p.Send(ctx, Alert{Kind: KindPage, Finding: sampleFinding()}); err == nil || !strings.Contains(err.Error(), "no-such-topic") {
			t.Fatalf("err = %v", err)
		}
	})
}

// countingSecrets wraps the real client to count calls.
type countingSecrets struct {
	c     *secretsmanager.Client
	calls int
}

func (c *countingSecrets) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.calls++
	return c.c.GetSecretValue(ctx, in, opts...)
}

func TestSecretURLOnMoto(t *testing.T) {
	m := awstest.Start(t)
	sm := secretsmanager.NewFromConfig(m.Config(t))
	ctx := context.Background()
	create := func(name, value string) {
		t.Helper()
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}); err != nil {
			t.Fatalf("create secret: %v", err)
		}
	}
	const hook = "https://hooks.slack.com/services/T000/B000/SECRETTOKEN"
	create("sesguard/slack", hook)
	create("sesguard/slack-json", `{"webhook_url":"`+hook+`"}`)
	create("sesguard/slack-bad", "http://hooks.slack.com/services/T000/B000/SECRETTOKEN")
	create("sesguard/slack-nokey", `{"token":"SECRETTOKEN"}`)

	t.Run("raw URL, cached for TTL, then re-read after rotation", func(t *testing.T) {
		clk := &clock{t: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)}
		cs := &countingSecrets{c: sm}
		s := &SecretURL{Client: cs, SecretID: "sesguard/slack", Now: clk.Now}
		for range 3 {
			if u, err := s.URL(ctx); err != nil || u != hook {
				t.Fatalf("URL = %q, %v", u, err)
			}
		}
		if cs.calls != 1 {
			t.Errorf("GetSecretValue called %d times within TTL, want 1", cs.calls)
		}
		rotated := "https://hooks.slack.com/services/T000/B000/ROTATED"
		if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("sesguard/slack"), SecretString: aws.String(rotated)}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(DefaultSecretTTL + time.Second)
		if u, _ := s.URL(ctx); u != rotated || cs.calls != 2 {
			t.Errorf("after TTL: URL = %q, calls = %d", u, cs.calls)
		}
		s.Invalidate()
		if _, _ = s.URL(ctx); cs.calls != 3 {
			t.Errorf("Invalidate did not force a re-read (calls %d)", cs.calls)
		}
	})
	t.Run("JSON secret", func(t *testing.T) {
		if u, err := NewSecretURL(sm, "sesguard/slack-json").URL(ctx); err != nil || u != hook {
			t.Fatalf("URL = %q, %v", u, err)
		}
	})
	for _, id := range []string{"sesguard/slack-bad", "sesguard/slack-nokey", "sesguard/missing"} {
		t.Run("error "+id, func(t *testing.T) {
			_, err := NewSecretURL(sm, id).URL(ctx)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "SECRETTOKEN") || !strings.Contains(err.Error(), id) {
				t.Errorf("error = %v (must name the secret, never its value)", err)
			}
		})
	}
}
