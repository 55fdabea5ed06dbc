package detect

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesguard/sesguard/shared/core/statekeys"
)

// DynamoAPI is the part of the DynamoDB client DynamoState uses.
type DynamoAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

var _ DynamoAPI = (*dynamodb.Client)(nil)

// State table layout (shared with the containment ledger; see infra): string keys pk (hash) and
// sk (range), TTL attribute "ttl" (epoch seconds). Detection items use pk "detect#<key>" and sk
// DynamoSortKey, so they never collide with other users of the table.
const (
	DynamoHashKey = statekeys.HashKey
	DynamoSortKey = statekeys.SortKey
	DynamoTTLAttr = statekeys.TTLAttr
	dynamoSK      = "detect"
	dynamoPrefix  = statekeys.Detect
)

// DynamoState is a State in one DynamoDB table. Marks are conditional puts
// (attribute_not_exists), counters and aggregates are atomic ADD updates, so concurrent Lambda
// invocations never lose or double a count; every item has a TTL.
type DynamoState struct {
	api   DynamoAPI
	table string
}

var (
	_ State           = (*DynamoState)(nil)
	_ concurrentState = (*DynamoState)(nil)
	_ itemCounters    = (*DynamoState)(nil)
)

// MarkConcurrency lets Process issue a batch's dedup marks concurrently: each is an independent
// conditional PutItem, and one round trip per event was most of ingest's per-record latency.
func (s *DynamoState) MarkConcurrency() int { return 16 }

// NewDynamoState returns a State over table.
func NewDynamoState(api DynamoAPI, table string) *DynamoState {
	return &DynamoState{api: api, table: table}
}

func (s *DynamoState) key(k string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		DynamoHashKey: &types.AttributeValueMemberS{Value: dynamoPrefix + k},
		DynamoSortKey: &types.AttributeValueMemberS{Value: dynamoSK},
	}
}

func epoch(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.Unix(), 10)}
}

// Mark implements State with a conditional PutItem.
func (s *DynamoState) Mark(ctx context.Context, key string, info SendInfo, expires time.Time) (bool, error) {
	item := s.key(key)
	item[DynamoTTLAttr] = epoch(expires)
	for name, v := range map[string]string{"account": info.Account, "principal": info.Principal, "identity": info.Identity,
		"access_key_id": info.AccessKeyID, "vpc_endpoint_id": info.VPCEndpointID, "message_id": info.MessageID} {
		if v != "" {
			item[name] = &types.AttributeValueMemberS{Value: v}
		}
	}
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": DynamoHashKey},
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("state mark %s: %w", key, err)
	}
	return true, nil
}

// Unmark implements State.
func (s *DynamoState) Unmark(ctx context.Context, key string) error {
	if _, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: s.key(key)}); err != nil {
		return fmt.Errorf("state unmark %s: %w", key, err)
	}
	return nil
}

// SendInfo implements State with a consistent read.
func (s *DynamoState) SendInfo(ctx context.Context, key string) (SendInfo, bool, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: s.key(key), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return SendInfo{}, false, fmt.Errorf("state get %s: %w", key, err)
	}
	if out.Item == nil {
		return SendInfo{}, false, nil
	}
	return SendInfo{Account: str(out.Item["account"]), Principal: str(out.Item["principal"]), Identity: str(out.Item["identity"]),
		AccessKeyID: str(out.Item["access_key_id"]), VPCEndpointID: str(out.Item["vpc_endpoint_id"]), MessageID: str(out.Item["message_id"])}, true, nil
}

// Add implements State with an atomic ADD.
func (s *DynamoState) Add(ctx context.Context, key string, delta int64, expires time.Time) (int64, error) {
	out, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      s.key(key),
		UpdateExpression:         aws.String("ADD #c :d SET #ttl = :ttl"),
		ExpressionAttributeNames: map[string]string{"#c": "count", "#ttl": DynamoTTLAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":d": &types.AttributeValueMemberN{Value: strconv.FormatInt(delta, 10)}, ":ttl": epoch(expires),
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("state add %s: %w", key, err)
	}
	n, err := num(out.Attributes["count"])
	if err != nil {
		return 0, fmt.Errorf("state add %s: %w", key, err)
	}
	return n, nil
}

// Get implements State with a consistent read.
func (s *DynamoState) Get(ctx context.Context, key string) (int64, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: s.key(key), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, fmt.Errorf("state get %s: %w", key, err)
	}
	if out.Item == nil {
		return 0, nil
	}
	n, err := num(out.Item["count"])
	if err != nil {
		return 0, fmt.Errorf("state get %s: %w", key, err)
	}
	return n, nil
}

// Tally implements State: ADD to the count, first seen kept from the first writer, in one update.
func (s *DynamoState) Tally(ctx context.Context, key string, n int64, first time.Time, expires time.Time) (Aggregate, error) {
	out, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      s.key(key),
		UpdateExpression:         aws.String("ADD #c :n SET #first = if_not_exists(#first, :first), #ttl = :ttl"),
		ExpressionAttributeNames: map[string]string{"#c": "count", "#first": "first_seen", "#ttl": DynamoTTLAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n":     &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)},
			":first": &types.AttributeValueMemberS{Value: first.UTC().Format(time.RFC3339Nano)},
			":ttl":   epoch(expires),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return Aggregate{}, fmt.Errorf("state tally %s: %w", key, err)
	}
	c, err := num(out.Attributes["count"])
	if err != nil {
		return Aggregate{}, fmt.Errorf("state tally %s: %w", key, err)
	}
	fs, err := time.Parse(time.RFC3339Nano, str(out.Attributes["first_seen"]))
	if err != nil {
		return Aggregate{}, fmt.Errorf("state tally %s: first_seen: %w", key, err)
	}
	return Aggregate{Count: c, FirstSeen: fs}, nil
}

func str(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

func num(v types.AttributeValue) (int64, error) {
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, errors.New("count attribute missing or not a number")
	}
	return strconv.ParseInt(n.Value, 10, 64)
}

// AddItem implements itemCounters: one UpdateItem ADDs every delta to its attribute of the item
// and returns the item's numeric attributes after the update. Several counters of one principal
// in one small item cost one write unit instead of one each.
func (s *DynamoState) AddItem(ctx context.Context, item string, deltas []AttrDelta, expires time.Time) (map[string]int64, error) {
	names := map[string]string{"#ttl": DynamoTTLAttr}
	values := map[string]types.AttributeValue{":ttl": epoch(expires)}
	var expr strings.Builder
	expr.WriteString("ADD ")
	for i, d := range deltas {
		if i > 0 {
			expr.WriteString(", ")
		}
		n, v := "#a"+strconv.Itoa(i), ":d"+strconv.Itoa(i)
		names[n] = d.Attr
		values[v] = &types.AttributeValueMemberN{Value: strconv.FormatInt(d.Delta, 10)}
		expr.WriteString(n + " " + v)
	}
	// expires is the item's (the latest of its counters'), and never earlier than a previous writer's.
	expr.WriteString(" SET #ttl = :ttl")
	out, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       s.key(item),
		UpdateExpression:          aws.String(expr.String()),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err != nil {
		return nil, fmt.Errorf("state add %s: %w", item, err)
	}
	got := make(map[string]int64, len(out.Attributes))
	for k, v := range out.Attributes {
		if k == DynamoTTLAttr {
			continue
		}
		if n, ok := v.(*types.AttributeValueMemberN); ok {
			x, err := strconv.ParseInt(n.Value, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("state add %s: attribute %s: %w", item, k, err)
			}
			got[k] = x
		}
	}
	return got, nil
}

// GetAttr implements itemCounters with a consistent read of one attribute (0 when absent).
func (s *DynamoState) GetAttr(ctx context.Context, item, attr string) (int64, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: s.key(item), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("#a"), ExpressionAttributeNames: map[string]string{"#a": attr}})
	if err != nil {
		return 0, fmt.Errorf("state get %s %s: %w", item, attr, err)
	}
	v, ok := out.Item[attr]
	if !ok {
		return 0, nil
	}
	n, err := num(v)
	if err != nil {
		return 0, fmt.Errorf("state get %s %s: %w", item, attr, err)
	}
	return n, nil
}
