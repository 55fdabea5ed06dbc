package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesguard/sesguard/shared/finding"
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

// DynamoOutboxAPI is the part of the DynamoDB client the outbox uses.
type DynamoOutboxAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

var (
	_ DynamoOutboxAPI = (*dynamodb.Client)(nil)
	_ Outbox          = (*DynamoOutbox)(nil)
)

// Outbox item layout in the shared state table: pk "ingest-outbox#<record ref>", sk
// "finding#<id>", the finding JSON in "finding", expiring with the longest SQS retention.
const (
	outboxHashKey   = "pk"
	outboxRangeKey  = "sk"
	outboxTTLAttr   = "ttl" // the state table's TTL attribute (shared/detect, shared/alert)
	outboxRetention = 14 * 24 * time.Hour
)

// DynamoOutbox is an Outbox in the state table.
type DynamoOutbox struct {
	API   DynamoOutboxAPI
	Table string
	Now   func() time.Time // default time.Now
}

func outboxPK(ref string) ddbtypes.AttributeValue {
	return &ddbtypes.AttributeValueMemberS{Value: "ingest-outbox#" + ref}
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
	_, err = o.API.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(o.Table),
		Item: map[string]ddbtypes.AttributeValue{
			outboxHashKey:  outboxPK(ref),
			outboxRangeKey: &ddbtypes.AttributeValueMemberS{Value: "finding#" + f.ID},
			"finding":      &ddbtypes.AttributeValueMemberS{Value: string(body)},
			outboxTTLAttr:  &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(o.now().Add(outboxRetention).Unix(), 10)},
		},
	})
	if err != nil {
		return fmt.Errorf("outbox: save finding %s for %s: %w", f.ID, ref, err)
	}
	return nil
}

// Pending implements Outbox.
func (o *DynamoOutbox) Pending(ctx context.Context, ref string) ([]finding.Finding, error) {
	var out []finding.Finding
	p := dynamodb.NewQueryPaginator(o.API, &dynamodb.QueryInput{
		TableName:                 aws.String(o.Table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": outboxHashKey},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": outboxPK(ref)},
		ConsistentRead:            aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("outbox: pending for %s: %w", ref, err)
		}
		for _, item := range page.Items {
			v, ok := item["finding"].(*ddbtypes.AttributeValueMemberS)
			if !ok {
				return nil, fmt.Errorf("outbox: item for %s has no finding attribute", ref)
			}
			var f finding.Finding
			if err := json.Unmarshal([]byte(v.Value), &f); err != nil {
				return nil, fmt.Errorf("outbox: decode finding for %s: %w", ref, err)
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// Done implements Outbox.
func (o *DynamoOutbox) Done(ctx context.Context, ref, findingID string) error {
	_, err := o.API.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(o.Table),
		Key: map[string]ddbtypes.AttributeValue{
			outboxHashKey:  outboxPK(ref),
			outboxRangeKey: &ddbtypes.AttributeValueMemberS{Value: "finding#" + findingID},
		},
	})
	if err != nil {
		return fmt.Errorf("outbox: forget finding %s for %s: %w", findingID, ref, err)
	}
	return nil
}
