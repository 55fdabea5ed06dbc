package alert

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/sesguard/sesguard/shared/deliver/httppost"
	"github.com/sesguard/sesguard/shared/slack/slackauth"
)

// ResponseTimeout bounds one response_url post, retries included: the refusal is posted inside
// Slack's 3-second acknowledgement window, the outcome from respond's own budget.
const ResponseTimeout = 2 * time.Second

// ResponsePoster posts messages to an interaction's response_url (ephemeral refusals, the
// updated original message). The URL is checked again here, whoever passes it in: only
// https://hooks.slack.com/… is ever requested, so a forged payload cannot turn the functions
// into a proxy (SSRF). Like webhook URLs, a response_url never appears in errors or logs.
type ResponsePoster struct {
	// Client is the HTTP client; default one with ResponseTimeout.
	Client *http.Client
	// Timeout bounds one Post (default ResponseTimeout).
	Timeout time.Duration
}

// fixedURL is a URLSource for one response_url.
type fixedURL string

func (u fixedURL) URL(context.Context) (string, error) { return string(u), nil }

// Post sends msg to responseURL.
func (p *ResponsePoster) Post(ctx context.Context, responseURL string, msg SlackMessage) error {
	if err := slackauth.ValidateResponseURL(responseURL); err != nil {
		return err
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = ResponseTimeout
	}
	client := p.Client
	if client == nil {
		client = &http.Client{Timeout: timeout}
	}
	w := &SlackWebhook{httppost.Poster{Target: "slack response_url", URLs: fixedURL(responseURL), Client: client, MaxAttempts: 2, Backoff: 200 * time.Millisecond,
		MaxRetryAfter: time.Second, MaxElapsed: timeout, CoolDown: -1}}
	if err := w.Post(ctx, msg); err != nil {
		return fmt.Errorf("slack response_url: %w", err)
	}
	return nil
}
