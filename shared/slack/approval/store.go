package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesguard/sesguard/shared/core/statekeys"
	"github.com/sesguard/sesguard/shared/slack/slackauth"
)

// State-table layout (string keys pk, sk; TTL attribute ttl). The partition-key prefixes are
// also the IAM condition (dynamodb:LeadingKeys) that limits functions/interact to these rows.
const (
	PrefixApproval = statekeys.Approval
	PrefixReplay   = statekeys.InteractReplay
	sortApproval   = "approval"
	sortReplay     = "replay"
	// keepExpired keeps an expired approval readable for a day, so a late click is told
	// "expired" rather than "unknown"; DynamoDB TTL deletes it afterwards.
	keepExpired = 24 * time.Hour
)

// DynamoAPI is the part of DynamoDB the store uses.
type DynamoAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

var _ DynamoAPI = (*dynamodb.Client)(nil)

// Store keeps approvals and the replay cache in the state table.
type Store struct {
	DB    DynamoAPI
	Table string
	// Now is the clock of the replay cache; default time.Now.
	Now func() time.Time
}

var _ slackauth.ReplayCache = (*Store)(nil)

func key(pk, sk string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		statekeys.HashKey: &ddbtypes.AttributeValueMemberS{Value: pk},
		statekeys.SortKey: &ddbtypes.AttributeValueMemberS{Value: sk},
	}
}

func unix(t time.Time) ddbtypes.AttributeValue {
	return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(t.Unix(), 10)}
}

// Put stores a new approval. References are random, so an existing row means a bug or an
// attack; the conditional write refuses to overwrite it.
func (s *Store) Put(ctx context.Context, a *Approval) error {
	if !ValidRef(a.Ref) {
		return fmt.Errorf("%w: reference %q", ErrInvalid, a.Ref)
	}
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("approval %s: encode: %w", a.Ref, err)
	}
	item := key(PrefixApproval+a.Ref, sortApproval)
	item["approval"] = &ddbtypes.AttributeValueMemberS{Value: string(b)}
	item["kind"] = &ddbtypes.AttributeValueMemberS{Value: a.Kind}
	item["finding_id"] = &ddbtypes.AttributeValueMemberS{Value: a.FindingID}
	item[statekeys.TTLAttr] = unix(a.Expires.Add(keepExpired))
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table), Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": statekeys.HashKey},
	})
	if err != nil {
		return fmt.Errorf("approval %s: store: %w", a.Ref, err)
	}
	return nil
}

// Get reads an approval; ErrNotFound when the reference is unknown (or its row is gone).
func (s *Store) Get(ctx context.Context, ref string) (*Approval, error) {
	if !ValidRef(ref) {
		return nil, fmt.Errorf("%w: reference %q", ErrNotFound, clipRef(ref))
	}
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(PrefixApproval+ref, sortApproval), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("approval %s: read: %w", ref, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	v, ok := out.Item["approval"].(*ddbtypes.AttributeValueMemberS)
	if !ok {
		return nil, fmt.Errorf("approval %s: row has no approval attribute", ref)
	}
	var a Approval
	if err := json.Unmarshal([]byte(v.Value), &a); err != nil {
		return nil, fmt.Errorf("approval %s: decode: %w", ref, err)
	}
	if a.Ref != ref {
		return nil, fmt.Errorf("approval %s: row names reference %q", ref, clipRef(a.Ref))
	}
	return &a, nil
}

// Claim is the replay cache (slackauth.ReplayCache): a conditional write that succeeds for a
// key never seen or whose entry has passed its time. The condition checks the time itself
// because DynamoDB's TTL deletes expired rows only eventually.
func (s *Store) Claim(ctx context.Context, k string, until time.Time) (bool, error) {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	item := key(PrefixReplay+k, sortReplay)
	item[statekeys.TTLAttr] = unix(until)
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table), Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #ttl < :now"),
		ExpressionAttributeNames:  map[string]string{"#pk": statekeys.HashKey, "#ttl": statekeys.TTLAttr},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":now": unix(now)},
	})
	var ccf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("replay cache: %w", err)
	}
	return true, nil
}

func clipRef(s string) string {
	if len(s) > 48 {
		return s[:48] + "…"
	}
	return s
}
