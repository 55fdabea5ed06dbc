package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/sesguard/sesguard/shared/deliver/alert"
)

// optionalSlack is the Slack destination behind a webhook secret that may not have a value yet.
// The CDK app creates the secret empty (the URL never passes through a template) and the user
// stores it later; until then Slack is "not configured": the alert goes to the other
// destinations and the record succeeds, instead of every finding failing into the DLQ. Any other
// failure to read the secret (no such secret, access denied, a value that is not a webhook URL)
// is still an error.
type optionalSlack struct {
	Slack  alert.Destination
	URLs   alert.URLSource
	Secret string // for the log line
	Log    *slog.Logger
}

var _ alert.Destination = (*optionalSlack)(nil)

// Name is the wrapped destination's, so dedup keys do not change.
func (s *optionalSlack) Name() string { return s.Slack.Name() }

// Send skips Slack while the secret has no value, else delivers.
func (s *optionalSlack) Send(ctx context.Context, a alert.Alert) error {
	if _, err := s.URLs.URL(ctx); err != nil {
		if secretHasNoValue(err) {
			s.Log.WarnContext(ctx, "notify: Slack webhook secret has no value yet; Slack skipped, alert sent to the alerts topic only (aws secretsmanager put-secret-value --secret-id SECRET --secret-string https://hooks.slack.com/...)",
				"secret", s.Secret)
			return nil
		}
		return err
	}
	return s.Slack.Send(ctx, a)
}

// secretHasNoValue reports Secrets Manager's answer for a secret that exists but has no
// AWSCURRENT version: ResourceNotFoundException "can't find the specified secret value for
// staging label: AWSCURRENT" (a missing secret says "can't find the specified secret.").
func secretHasNoValue(err error) bool {
	var nf *smtypes.ResourceNotFoundException
	return errors.As(err, &nf) && strings.Contains(nf.ErrorMessage(), "secret value")
}

// secretsAPI is the Secrets Manager call the Slack destination makes.
type secretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ secretsAPI = (*secretsmanager.Client)(nil)

// slackDestination is the Slack destination for secret (an ARN or name). A message Slack
// refuses for good (4xx) is reported with Slack's reason through report (the alerts topic)
// rather than retried into the dead-letter queue.
func slackDestination(sm secretsAPI, secret string, report alert.Reporter, log *slog.Logger) alert.Destination {
	urls := alert.NewSecretURL(sm, secret)
	hook := &alert.ReportRejections{Dest: alert.NewSlackWebhook(urls), Report: report, Log: log}
	return &optionalSlack{Slack: hook, URLs: urls, Secret: secret, Log: log}
}
