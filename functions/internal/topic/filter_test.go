package topic

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// respondFilterPolicy is the filter policy and delivery of respond's subscription in the CDK app
// (infra/functions.go; infra's TestEventSources pins the same JSON).
const respondFilterPolicy = `{"type":["finding"],"actionable":["true"]}`

// TestRespondSubscriptionFilter publishes what ingest, coverage and respond publish through a
// subscription configured as the CDK app configures respond's: only the actionable finding may
// reach respond, and its raw body unwraps to the finding.
func TestRespondSubscriptionFilter(t *testing.T) {
	m := awstest.Start(t)
	cfg := m.Config(t)
	ctx := context.Background()
	sn, sq := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	tp, err := sn.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("findings")})
	if err != nil {
		t.Fatal(err)
	}
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("respond")})
	if err != nil {
		t.Fatal(err)
	}
	qa, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sn.Subscribe(ctx, &sns.SubscribeInput{TopicArn: tp.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(qa.Attributes["QueueArn"]),
		Attributes: map[string]string{"RawMessageDelivery": "true", "FilterPolicy": respondFilterPolicy}}); err != nil {
		t.Fatal(err)
	}

	p := New(sn, aws.ToString(tp.TopicArn))
	principal := finding.Principal{Name: "ses-smtp-user.1", Kind: finding.KindUser}
	for _, f := range []*finding.Finding{
		{ID: "actionable", Rule: "network.outside_approved", Severity: finding.SeverityHigh, Principal: principal, Actions: []string{"deactivate_keys"}, Mode: "enforce"},
		{ID: "no-actions", Rule: "sender.from_unapproved", Severity: finding.SeverityLow, Principal: principal, Actions: []string{}, Mode: "enforce"},
		{ID: "cov-1", Rule: "coverage.set_unmonitored", Severity: finding.SeverityMedium, Principal: finding.Principal{Kind: finding.KindUnknown}, Actions: []string{}},
	} {
		if _, err := p.PublishFinding(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.PublishResult(ctx, &finding.Result{FindingID: "actionable", Rule: "network.outside_approved", Principal: principal, Mode: "enforce", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}

	var got []string
	for range 3 { // drain: moto may hand out fewer than ten per receive
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range out.Messages {
			data, err := Unwrap(aws.ToString(msg.Body))
			if err != nil {
				t.Fatal(err)
			}
			f, r, err := finding.Decode(data)
			if err != nil {
				t.Fatalf("respond could not decode %s: %v", aws.ToString(msg.Body), err)
			}
			if r != nil {
				got = append(got, "result:"+r.FindingID)
				continue
			}
			got = append(got, f.ID)
		}
	}
	if !slices.Equal(got, []string{"actionable"}) {
		t.Errorf("respond's subscription delivered %v, want only the actionable finding", got)
	}
}
