package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/sesguard/sesguard/shared/deliver/httppost"
)

// Webhook defaults (shared/deliver/httppost).
const (
	DefaultHTTPTimeout   = httppost.DefaultHTTPTimeout
	DefaultMaxAttempts   = httppost.DefaultMaxAttempts
	DefaultMaxRetryAfter = httppost.DefaultMaxRetryAfter
	DefaultBackoff       = httppost.DefaultBackoff
	DefaultMaxElapsed    = httppost.DefaultMaxElapsed
	DefaultCoolDown      = httppost.DefaultCoolDown
)

// HTTPError is a non-2xx answer from Slack (httppost.HTTPError).
type HTTPError = httppost.HTTPError

// SlackWebhook posts alerts to a Slack incoming webhook: it renders Block Kit and leaves the
// retries, the cool-down and URL redaction to the shared poster (shared/deliver/httppost).
type SlackWebhook struct {
	httppost.Poster
}

var _ Destination = (*SlackWebhook)(nil)

// NewSlackWebhook returns a webhook sender with defaults.
func NewSlackWebhook(urls URLSource) *SlackWebhook {
	return &SlackWebhook{httppost.Poster{Target: "slack webhook", URLs: urls, Client: &http.Client{Timeout: DefaultHTTPTimeout}}}
}

// Name identifies the destination in dedup keys and logs.
func (w *SlackWebhook) Name() string { return "slack" }

// Send renders and posts an alert.
func (w *SlackWebhook) Send(ctx context.Context, a Alert) error {
	if err := a.Validate(); err != nil {
		return err
	}
	return w.Post(ctx, a.Slack())
}

// Post delivers one message.
func (w *SlackWebhook) Post(ctx context.Context, msg SlackMessage) error {
	payload, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode slack message: %w", err)
	}
	return w.Poster.Post(ctx, payload)
}
