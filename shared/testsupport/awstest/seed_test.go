package awstest

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func TestSeedHelpers(t *testing.T) {
	m := Start(t)
	ctx := context.Background()
	cfg := m.Config(t)

	arn := m.SeedRole(t, "mailer-task-role")
	if arn != "arn:aws:iam::123456789012:role/mailer-task-role" {
		t.Fatalf("role arn = %s", arn)
	}
	if _, err := iam.NewFromConfig(cfg).GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("mailer-task-role"), PolicyName: aws.String("send")}); err != nil {
		t.Fatalf("role policy: %v", err)
	}

	tq := m.SeedTopicQueue(t, "findings", "findings-q", true)
	if _, err := sns.NewFromConfig(cfg).Publish(ctx, &sns.PublishInput{TopicArn: aws.String(tq.TopicARN), Message: aws.String(`{"x":1}`)}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	msgs, err := sqs.NewFromConfig(cfg).ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(tq.QueueURL), WaitTimeSeconds: 1})
	if err != nil || len(msgs.Messages) != 1 || aws.ToString(msgs.Messages[0].Body) != `{"x":1}` {
		t.Fatalf("receive = %+v, %v", msgs, err)
	}

	m.SeedStateTable(t, "state")
	ddb := dynamodb.NewFromConfig(cfg)
	put := &dynamodb.PutItemInput{
		TableName:           aws.String("state"),
		Item:                map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}, "sk": &types.AttributeValueMemberS{Value: "b"}},
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}
	if _, err := ddb.PutItem(ctx, put); err != nil {
		t.Fatalf("first put: %v", err)
	}
	var ccf *types.ConditionalCheckFailedException
	if _, err := ddb.PutItem(ctx, put); !errors.As(err, &ccf) {
		t.Fatalf("second put: err = %v, want ConditionalCheckFailedException", err)
	}
}
