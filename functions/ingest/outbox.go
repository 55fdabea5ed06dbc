package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/statekeys"
)

// Outbox keeps findings whose publish failed after detection had already counted their events.
// A redelivered record is then a duplicate to the detector and would produce nothing, so the
// finding is saved under the record's ref and published when the record comes back.
type Outbox interface {
	// Save keeps f for the record ref.
	Save(ctx context.Context, ref string, f *finding.Finding) error
	// Pending returns the findings kept for ref.
	Pending(ctx context.Context, ref string) ([]finding.Finding, error)
	// Done forgets one finding of ref once it is published.
	Done(ctx context.Context, ref, findingID string) error
}

// DynamoOutboxAPI is the part of the DynamoDB client the outbox uses: item reads and updates
// only (no Query), which the ingest role already has for detection state.
type DynamoOutboxAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var (
	_ DynamoOutboxAPI = (*dynamodb.Client)(nil)
	_ Outbox          = (*DynamoOutbox)(nil)
)

// Outbox item layout in the shared state table: one item per record, pk
// "ingest-outbox#<record ref>", sk "outbox", one attribute "finding#<id>" per kept finding (its
// JSON), expiring with the longest SQS retention.
const (
	outboxHashKey   = statekeys.HashKey
	outboxRangeKey  = statekeys.SortKey
	outboxSortValue = "outbox"
	outboxAttr      = "finding#"
	outboxTTLAttr   = statekeys.TTLAttr
	outboxRetention = 14 * 24 * time.Hour
)

// DynamoOutbox is an Outbox in the state table.
type DynamoOutbox struct {
	API   DynamoOutboxAPI
	Table string
	Now   func() time.Time // default time.Now
}

func outboxKey(ref string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		outboxHashKey:  &ddbtypes.AttributeValueMemberS{Value: statekeys.IngestOutbox + ref},
		outboxRangeKey: &ddbtypes.AttributeValueMemberS{Value: outboxSortValue},
	}
}

func (o *DynamoOutbox) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Save implements Outbox.
func (o *DynamoOutbox) Save(ctx context.Context, ref string, f *finding.Finding) error {
	body, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("outbox: encode finding %s: %w", f.ID, err)
	}
	_, err = o.API.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(o.Table),
		Key:                      outboxKey(ref),
		UpdateExpression:         aws.String("SET #f = :f, #ttl = :ttl"),
		ExpressionAttributeNames: map[string]string{"#f": outboxAttr + f.ID, "#ttl": outboxTTLAttr},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":f":   &ddbtypes.AttributeValueMemberS{Value: string(body)},
			":ttl": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(o.now().Add(outboxRetention).Unix(), 10)},
		},
	})
	if err != nil {
		return fmt.Errorf("outbox: save finding %s for %s: %w", f.ID, ref, err)
	}
	return nil
}

// Pending implements Outbox.
func (o *DynamoOutbox) Pending(ctx context.Context, ref string) ([]finding.Finding, error) {
	out, err := o.API.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(o.Table), Key: outboxKey(ref), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("outbox: pending for %s: %w", ref, err)
	}
	names := make([]string, 0, len(out.Item))
	for name := range out.Item {
		if strings.HasPrefix(name, outboxAttr) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	fs := make([]finding.Finding, 0, len(names))
	for _, name := range names {
		v, ok := out.Item[name].(*ddbtypes.AttributeValueMemberS)
		if !ok {
			return nil, fmt.Errorf("outbox: %s of %s is not a string", name, ref)
		}
		var f finding.Finding
		if err := json.Unmarshal([]byte(v.Value), &f); err != nil {
			return nil, fmt.Errorf("outbox: decode %s of %s: %w", name, ref, err)
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// Done implements Outbox.
func (o *DynamoOutbox) Done(ctx context.Context, ref, findingID string) error {
	_, err := o.API.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(o.Table),
		Key:                      outboxKey(ref),
		UpdateExpression:         aws.String("REMOVE #f"),
		ExpressionAttributeNames: map[string]string{"#f": outboxAttr + findingID},
	})
	if err != nil {
		return fmt.Errorf("outbox: forget finding %s for %s: %w", findingID, ref, err)
	}
	return nil
}
