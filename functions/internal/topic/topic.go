// Package topic publishes findings and containment results to the findings SNS topic, with the
// message attributes subscriptions filter on (type, rule, severity, principal, account): respond
// subscribes to actionable findings only, notify to everything.
package topic

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// Message attribute names on the findings topic.
const (
	AttrType       = "type"
	AttrRule       = "rule"
	AttrSeverity   = "severity"
	AttrPrincipal  = "principal"
	AttrAccount    = "account"
	AttrActionable = "actionable" // "true" when the finding maps to containment actions
	AttrMode       = "mode"
)

// SNSAPI is the part of the SNS client the publisher uses.
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ SNSAPI = (*sns.Client)(nil)

// Publisher publishes to one topic. It is safe for concurrent use.
type Publisher struct {
	api      SNSAPI
	topicARN string
}

// New returns a Publisher for topicARN.
func New(api SNSAPI, topicARN string) *Publisher {
	return &Publisher{api: api, topicARN: topicARN}
}

// PublishFinding publishes f as JSON with type=finding and returns the SNS message id.
func (p *Publisher) PublishFinding(ctx context.Context, f *finding.Finding) (string, error) {
	if f.Schema == "" {
		f.Schema = finding.SchemaFinding
	}
	attrs := map[string]string{
		AttrType:       finding.TypeFinding,
		AttrRule:       f.Rule,
		AttrSeverity:   string(f.Severity),
		AttrPrincipal:  f.Principal.Name,
		AttrAccount:    f.Account,
		AttrActionable: strconv.FormatBool(f.Actionable()),
		AttrMode:       f.Mode,
	}
	id, err := p.publish(ctx, f, attrs)
	if err != nil {
		return "", fmt.Errorf("publish finding %s: %w", f.ID, err)
	}
	return id, nil
}

// PublishResult publishes r as JSON with type=containment_result and returns the SNS message id.
func (p *Publisher) PublishResult(ctx context.Context, r *finding.Result) (string, error) {
	if r.Schema == "" {
		r.Schema = finding.SchemaResult
	}
	attrs := map[string]string{
		AttrType:      finding.TypeResult,
		AttrRule:      r.Rule,
		AttrSeverity:  string(r.Severity),
		AttrPrincipal: r.Principal.Name,
		AttrAccount:   r.Account,
		AttrMode:      r.Mode,
	}
	id, err := p.publish(ctx, r, attrs)
	if err != nil {
		return "", fmt.Errorf("publish containment result for %s: %w", r.FindingID, err)
	}
	return id, nil
}

func (p *Publisher) publish(ctx context.Context, v any, attrs map[string]string) (string, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode: %w", err)
	}
	ma := make(map[string]snstypes.MessageAttributeValue, len(attrs))
	for k, v := range attrs {
		if v == "" { // SNS rejects empty attribute values
			continue
		}
		ma[k] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	out, err := p.api.Publish(ctx, &sns.PublishInput{
		TopicArn:          aws.String(p.topicARN),
		Message:           aws.String(string(body)),
		MessageAttributes: ma,
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.MessageId), nil
}
