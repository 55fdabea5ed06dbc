package awstest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesguard/sesguard/shared/core/statekeys"
)

// State table key attribute names used by SeedStateTable (sesguard's single-table layout).
const (
	StateHashKey  = statekeys.HashKey
	StateRangeKey = statekeys.SortKey
	StateTTLAttr  = statekeys.TTLAttr
)

// SeedStateTable creates an on-demand DynamoDB table with string keys pk (hash) and sk (range),
// TTL on "ttl", and waits until it is active.
func (m *Moto) SeedStateTable(tb testing.TB, name string) {
	tb.Helper()
	ctx := context.Background()
	c := dynamodb.NewFromConfig(m.Config(tb))
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(StateHashKey), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(StateRangeKey), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(StateHashKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(StateRangeKey), KeyType: types.KeyTypeRange},
		},
	})
	if err != nil {
		tb.Fatalf("awstest: seed table %s: %v", name, err)
	}
	if _, err := c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(StateTTLAttr), Enabled: aws.Bool(true)},
	}); err != nil {
		tb.Fatalf("awstest: seed table %s ttl: %v", name, err)
	}
}
