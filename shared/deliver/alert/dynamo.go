package alert

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesguard/sesguard/shared/core/statekeys"
)

// dynamoAPI is the subset of DynamoDB the dedup store needs.
type dynamoAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// DynamoStore is a Store in the shared sesguard state table (string keys pk and sk, TTL attribute
// "ttl" — the layout shared/engine/detect and shared/engine/contain use). Each key is one item
// pk "alert#<key>", sk "alert" holding the announced count, the pending claim, its lease and an
// expiry for DynamoDB TTL. All writes are conditional, so concurrent
// invocations agree on who sends.
//
// Items past their expiry but not yet deleted by DynamoDB TTL (which is lazy) still count as
// announced: the effective window is then a little longer than TTL, never shorter.
type DynamoStore struct {
	Client dynamoAPI
	Table  string
	// KeyAttr is the table's partition key attribute (string). Default "pk".
	KeyAttr string
	// SortKeyAttr is the table's sort key attribute (string), set to "alert" on every item.
	// Default "sk"; set HashOnly for a table without a sort key.
	SortKeyAttr string
	HashOnly    bool
	// TTLAttr is the attribute the table's TTL is configured on (epoch seconds). Default "ttl".
	TTLAttr string
	Lease   time.Duration    // default DefaultLease
	TTL     time.Duration    // default DefaultDedupTTL
	Now     func() time.Time // default time.Now
}

var _ Store = (*DynamoStore)(nil)

// Attribute names of the dedup items (besides the key and TTL attributes).
const (
	attrAlerted = "alerted"
	attrPending = "pending"
	attrLease   = "lease_until"
)

func (s *DynamoStore) names() map[string]string {
	k, t := s.KeyAttr, s.TTLAttr
	if k == "" {
		k = statekeys.HashKey
	}
	if t == "" {
		t = statekeys.TTLAttr
	}
	return map[string]string{"#pk": k, "#ttl": t, "#alerted": attrAlerted, "#pending": attrPending, "#lease": attrLease}
}

func (s *DynamoStore) key(k string) map[string]ddbtypes.AttributeValue {
	key := map[string]ddbtypes.AttributeValue{s.names()["#pk"]: &ddbtypes.AttributeValueMemberS{Value: statekeys.Alert + k}}
	if !s.HashOnly {
		sk := s.SortKeyAttr
		if sk == "" {
			sk = statekeys.SortKey
		}
		key[sk] = &ddbtypes.AttributeValueMemberS{Value: "alert"}
	}
	return key
}

func (s *DynamoStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func num(n int64) ddbtypes.AttributeValue {
	return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// Claim implements Store.
func (s *DynamoStore) Claim(ctx context.Context, key string, count, maxPrev int64) (Decision, int64, error) {
	now := s.now()
	lease, ttl := s.Lease, s.TTL
	if lease <= 0 {
		lease = DefaultLease
	}
	if ttl <= 0 {
		ttl = DefaultDedupTTL
	}
	out, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(s.Table),
		Key:              s.key(key),
		UpdateExpression: aws.String("SET #pending = :c, #lease = :lease, #ttl = :ttl"),
		ConditionExpression: aws.String("attribute_not_exists(#pk) OR " +
			"((attribute_not_exists(#lease) OR #lease < :now) AND (attribute_not_exists(#alerted) OR #alerted <= :maxPrev))"),
		ExpressionAttributeNames: s.names(),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":c": num(count), ":lease": num(now.Add(lease).Unix()), ":ttl": num(now.Add(ttl).Unix()),
			":now": num(now.Unix()), ":maxPrev": num(maxPrev),
		},
		ReturnValues: ddbtypes.ReturnValueAllOld,
	})
	if err == nil {
		prev, ok, err := intAttr(out.Attributes, attrAlerted)
		if err != nil {
			return Suppress, 0, fmt.Errorf("dedup claim %s: %w", key, err)
		}
		if !ok {
			return Page, 0, nil
		}
		return Update, prev, nil
	}
	var ccf *ddbtypes.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return Suppress, 0, fmt.Errorf("dedup claim %s: %w", key, err)
	}
	// Lost the condition: find out whether because of a live lease (retry later) or because the
	// count has not grown enough (nothing to send).
	got, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: s.key(key), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Suppress, 0, fmt.Errorf("dedup claim %s: read after conflict: %w", key, err)
	}
	prev, _, err := intAttr(got.Item, attrAlerted)
	if err != nil {
		return Suppress, 0, fmt.Errorf("dedup claim %s: %w", key, err)
	}
	if until, ok, _ := intAttr(got.Item, attrLease); ok && until >= now.Unix() {
		return Suppress, prev, ErrInFlight
	}
	return Suppress, prev, nil
}

// Commit implements Store.
func (s *DynamoStore) Commit(ctx context.Context, key string, count int64) error {
	ttl := s.TTL
	if ttl <= 0 {
		ttl = DefaultDedupTTL
	}
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       s.key(key),
		UpdateExpression:          aws.String("SET #alerted = :c, #ttl = :ttl REMOVE #pending, #lease"),
		ConditionExpression:       aws.String("#pending = :c"),
		ExpressionAttributeNames:  commitNames(s.names()),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":c": num(count), ":ttl": num(s.now().Add(ttl).Unix())},
	})
	return ignoreConflict(err, "dedup commit "+key)
}

// Release implements Store.
func (s *DynamoStore) Release(ctx context.Context, key string, count int64) error {
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       s.key(key),
		UpdateExpression:          aws.String("REMOVE #pending, #lease"),
		ConditionExpression:       aws.String("#pending = :c"),
		ExpressionAttributeNames:  map[string]string{"#pending": attrPending, "#lease": attrLease},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":c": num(count)},
	})
	return ignoreConflict(err, "dedup release "+key)
}

// commitNames drops #pk, which the commit expression does not use (DynamoDB rejects unused names).
func commitNames(n map[string]string) map[string]string {
	delete(n, "#pk")
	return n
}

// ignoreConflict treats a failed condition as success: the claim expired and another invocation
// took it over; that holder records its own outcome.
func ignoreConflict(err error, what string) error {
	if err == nil {
		return nil
	}
	var ccf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

func intAttr(item map[string]ddbtypes.AttributeValue, name string) (int64, bool, error) {
	v, ok := item[name]
	if !ok {
		return 0, false, nil
	}
	n, ok := v.(*ddbtypes.AttributeValueMemberN)
	if !ok {
		return 0, false, fmt.Errorf("attribute %s is not a number", name)
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("attribute %s: %w", name, err)
	}
	return i, true, nil
}
