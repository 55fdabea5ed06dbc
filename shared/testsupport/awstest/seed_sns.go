package awstest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TopicQueue is an SNS topic with an SQS queue subscribed to it.
type TopicQueue struct {
	TopicARN string
	QueueURL string
	QueueARN string
}

// SeedTopicQueue creates an SNS topic and an SQS queue subscribed to it. With raw true the
// subscription delivers raw messages (RawMessageDelivery), else the SNS JSON envelope.
func (m *Moto) SeedTopicQueue(tb testing.TB, topic, queue string, raw bool) TopicQueue {
	tb.Helper()
	ctx := context.Background()
	cfg := m.Config(tb)
	sn, sq := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	t, err := sn.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(topic)})
	if err != nil {
		tb.Fatalf("awstest: seed topic %s: %v", topic, err)
	}
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(queue)})
	if err != nil {
		tb.Fatalf("awstest: seed queue %s: %v", queue, err)
	}
	attrs, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		tb.Fatalf("awstest: seed queue %s arn: %v", queue, err)
	}
	out := TopicQueue{TopicARN: aws.ToString(t.TopicArn), QueueURL: aws.ToString(q.QueueUrl), QueueARN: attrs.Attributes["QueueArn"]}
	in := &sns.SubscribeInput{TopicArn: t.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(out.QueueARN)}
	if raw {
		in.Attributes = map[string]string{"RawMessageDelivery": "true"}
	}
	if _, err := sn.Subscribe(ctx, in); err != nil {
		tb.Fatalf("awstest: subscribe %s to %s: %v", queue, topic, err)
	}
	return out
}
