package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// snsAPI is the one SNS call the notifier needs.
type snsAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Format selects what an SNSPublisher puts in the message body.
type Format string

// Formats.
const (
	// FormatText is a human-readable body with a subject, for e-mail and generic subscribers.
	FormatText Format = "text"
	// FormatChatbot is an AWS Chatbot custom-notification JSON body, for a topic mapped to a
	// chat channel (no webhook needed).
	FormatChatbot Format = "chatbot"
)

// SNSPublisher publishes alerts to one topic in one format, with the String message attributes
// rule, severity, account, principal, type and alert for subscription filter policies.
type SNSPublisher struct {
	Client   snsAPI
	TopicARN string
	Format   Format // default FormatText
}

var _ Destination = (*SNSPublisher)(nil)

// Name identifies the destination in dedup keys and logs.
func (p *SNSPublisher) Name() string { return "sns-" + string(p.format()) + ":" + p.TopicARN }

func (p *SNSPublisher) format() Format {
	if p.Format == "" {
		return FormatText
	}
	return p.Format
}

// Send renders and publishes an alert.
func (p *SNSPublisher) Send(ctx context.Context, a Alert) error {
	if err := a.Validate(); err != nil {
		return err
	}
	m := a.SNS()
	switch p.format() {
	case FormatText:
	case FormatChatbot:
		body, err := json.Marshal(a.Chatbot())
		if err != nil {
			return fmt.Errorf("encode chatbot notification: %w", err)
		}
		m.Subject, m.Body = "", string(body)
	default:
		return fmt.Errorf("sns publisher %s: unknown format %q", p.TopicARN, p.Format)
	}
	_, err := p.Publish(ctx, m)
	return err
}

// Publish sends one rendered message and returns the SNS message id. The subject is
// re-sanitised here so a hand-built SNSMessage cannot break SNS's subject rules.
func (p *SNSPublisher) Publish(ctx context.Context, m SNSMessage) (string, error) {
	if p.Client == nil || p.TopicARN == "" {
		return "", errors.New("sns publisher: client or topic ARN not configured")
	}
	in := &sns.PublishInput{
		TopicArn:          aws.String(p.TopicARN),
		Message:           aws.String(m.Body),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{},
	}
	if s := ascii(m.Subject, SNSMaxSubject); s != "" {
		in.Subject = aws.String(s)
	}
	if m.Body == "" {
		return "", fmt.Errorf("publish to %s: empty message body", p.TopicARN)
	}
	names := make([]string, 0, len(m.Attributes))
	for k := range m.Attributes {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		in.MessageAttributes[k] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(attrValue(m.Attributes[k]))}
	}
	out, err := p.Client.Publish(ctx, in)
	if err != nil {
		return "", fmt.Errorf("publish alert to %s: %w", p.TopicARN, err)
	}
	return aws.ToString(out.MessageId), nil
}
