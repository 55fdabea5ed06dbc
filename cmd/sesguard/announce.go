package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/engine/contain"
)

// envFindingsTopic is the findings topic restore announces on when --findings-topic is not given.
const envFindingsTopic = "SESGUARD_FINDINGS_TOPIC_ARN"

// restoreResult is the containment result a restore announces: the one restored action of the
// ledger row's finding, so notify tells the channel and export resolves the Security Hub finding.
func restoreResult(rec *contain.Record, ar finding.ActionResult, actor string, now time.Time) *finding.Result {
	return &finding.Result{
		Schema: finding.SchemaResult, FindingID: rec.FindingID, Rule: rec.Rule,
		Principal: finding.Principal{Kind: finding.KindUnknown},
		Mode:      contain.ModeEnforce, Actor: actor, Time: now.UTC(),
		Actions: []finding.ActionResult{ar},
	}
}

// announceRestore publishes the restore's result on the findings topic with the message
// attributes functions/internal/topic sets (type, rule, mode), so subscriptions filter it the same.
func announceRestore(ctx context.Context, topicARN, table, actionID, actor string, ar finding.ActionResult) error {
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("AWS config: %w", err)
	}
	rec, err := contain.NewLedger(dynamodb.NewFromConfig(awsCfg), table).Get(ctx, actionID)
	if err != nil {
		return fmt.Errorf("read ledger row %s: %w", actionID, err)
	}
	r := restoreResult(rec, ar, actor, time.Now())
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	attr := func(v string) snstypes.MessageAttributeValue {
		return snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	attrs := map[string]snstypes.MessageAttributeValue{"type": attr(finding.TypeResult), "mode": attr(r.Mode)}
	if r.Rule != "" {
		attrs["rule"] = attr(r.Rule)
	}
	if _, err := sns.NewFromConfig(awsCfg).Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topicARN), Message: aws.String(string(body)), MessageAttributes: attrs}); err != nil {
		return fmt.Errorf("publish to %s: %w", topicARN, err)
	}
	return nil
}
