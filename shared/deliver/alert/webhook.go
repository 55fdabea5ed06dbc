package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Webhook defaults.
const (
	DefaultHTTPTimeout   = 10 * time.Second
	DefaultMaxAttempts   = 4
	DefaultMaxRetryAfter = 20 * time.Second
	DefaultBackoff       = 500 * time.Millisecond
	maxBackoff           = 8 * time.Second
	// DefaultMaxElapsed bounds one Post, retries included, well inside the notify function's
	// 30 s timeout, so one message to a hanging Slack cannot use up a whole batch's time.
	DefaultMaxElapsed = 12 * time.Second
	// DefaultCoolDown is how long Posts fail fast after one gave up on a temporary failure.
	DefaultCoolDown = 30 * time.Second
)

// HTTPError is a non-2xx answer from the Slack webhook.
type HTTPError struct {
	StatusCode int
	// Body is Slack's short error code (e.g. invalid_blocks, no_service), cleaned and capped.
	Body string
	// RetryAfter is set on 429 answers.
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("slack webhook answered HTTP %d", e.StatusCode)
	if e.Body != "" {
		s += ": " + e.Body
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

// Temporary reports whether a later retry may succeed (429 and 5xx).
func (e *HTTPError) Temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// SlackWebhook posts messages to a Slack incoming webhook. It retries 429 (waiting Retry-After,
// but giving up at once when Slack asks for more than MaxRetryAfter, so the queue's visibility
// timeout does the long wait) and 5xx and transport errors with exponential backoff, never past
// MaxElapsed or the context's deadline. Other 4xx answers are permanent errors. After a Post gives
// up on a temporary failure, later Posts fail at once for CoolDown (or Slack's Retry-After), so a
// batch behind a Slack outage fails fast and its records' other destinations and retries are not
// starved. The webhook URL never appears in errors or logs.
type SlackWebhook struct {
	URLs          URLSource
	Client        *http.Client                                     // default: timeout DefaultHTTPTimeout
	MaxAttempts   int                                              // default DefaultMaxAttempts
	MaxRetryAfter time.Duration                                    // default DefaultMaxRetryAfter
	Backoff       time.Duration                                    // first 5xx wait, doubling; default DefaultBackoff
	Sleep         func(ctx context.Context, d time.Duration) error // default: a timer that honours ctx
	Now           func() time.Time                                 // for HTTP-date Retry-After and the cool-down; default time.Now
	MaxElapsed    time.Duration                                    // one Post, retries included; default DefaultMaxElapsed
	CoolDown      time.Duration                                    // fail-fast period after giving up; default DefaultCoolDown, < 0 disables

	mu        sync.Mutex
	downUntil time.Time
	downErr   string
}

var _ Destination = (*SlackWebhook)(nil)

// NewSlackWebhook returns a webhook sender with defaults.
func NewSlackWebhook(urls URLSource) *SlackWebhook {
	return &SlackWebhook{URLs: urls, Client: &http.Client{Timeout: DefaultHTTPTimeout}}
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
	if err := w.coolingDown(); err != nil {
		return err
	}
	maxElapsed := w.MaxElapsed
	if maxElapsed <= 0 {
		maxElapsed = DefaultMaxElapsed
	}
	ctx, cancel := context.WithTimeout(ctx, maxElapsed)
	defer cancel()
	err := w.post(ctx, msg)
	if err != nil && temporary(err) {
		w.trip(err)
	}
	return err
}

// coolingDown returns an error while a recent Post's temporary failure is fresh.
func (w *SlackWebhook) coolingDown() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now := w.now(); now.Before(w.downUntil) {
		return &coolDownError{msg: fmt.Sprintf("slack webhook: not attempted, cooling down for %s after: %s", w.downUntil.Sub(now).Round(time.Second), w.downErr)}
	}
	return nil
}

// trip starts the cool-down: Slack's Retry-After when it gave one, else CoolDown.
func (w *SlackWebhook) trip(err error) {
	d := w.CoolDown
	if d == 0 {
		d = DefaultCoolDown
	}
	if d < 0 {
		return
	}
	var he *HTTPError
	if errors.As(err, &he) && he.RetryAfter > 0 {
		d = he.RetryAfter
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.downUntil, w.downErr = w.now().Add(d), clip(err.Error(), 300)
}

// temporary reports whether err is a failure a later Post may not repeat: 429, 5xx, network
// errors and timeouts. Permanent 4xx answers and a cool-down refusal are not.
func temporary(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Temporary()
	}
	var cd *coolDownError
	if errors.As(err, &cd) {
		return false
	}
	var te *transportError
	return errors.As(err, &te) || errors.Is(err, context.DeadlineExceeded)
}

// coolDownError is Post refusing to try during a cool-down.
type coolDownError struct{ msg string }

func (e *coolDownError) Error() string { return e.msg }

func (w *SlackWebhook) post(ctx context.Context, msg SlackMessage) error {
	if w.URLs == nil {
		return errors.New("slack webhook: no URL source configured")
	}
	payload, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode slack message: %w", err)
	}
	attempts := w.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	backoff := w.Backoff
	if backoff <= 0 {
		backoff = DefaultBackoff
	}
	capWait := w.MaxRetryAfter
	if capWait <= 0 {
		capWait = DefaultMaxRetryAfter
	}
	var last error
	for attempt := 1; ; attempt++ {
		// Re-read each attempt: a cache invalidated by a 404 picks up a rotated secret.
		u, err := w.URLs.URL(ctx)
		if err != nil {
			return err
		}
		wait, err := w.once(ctx, u, payload, backoff, capWait)
		if err == nil {
			return nil
		}
		last = err
		var he *HTTPError
		if errors.As(err, &he) && !he.Temporary() {
			return err
		}
		if wait < 0 || ctx.Err() != nil {
			return err
		}
		if attempt >= attempts {
			return fmt.Errorf("slack webhook: giving up after %d attempts: %w", attempt, last)
		}
		if dl, ok := ctx.Deadline(); ok && wait >= time.Until(dl) {
			// Waiting would only run into the deadline: give the time back to the batch.
			return fmt.Errorf("slack webhook: giving up after %d attempts, no time left to wait %s: %w", attempt, wait, last)
		}
		if err := w.sleep(ctx, wait); err != nil {
			return fmt.Errorf("slack webhook: %w (while waiting to retry: %v)", last, err)
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// once makes one attempt. It returns the wait before the next attempt, or -1 for "do not retry".
func (w *SlackWebhook) once(ctx context.Context, u string, payload []byte, backoff, capWait time.Duration) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return -1, fmt.Errorf("build slack webhook request for %s: %s", redactURL(u), scrub(err.Error(), u))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error embeds the full URL: keep only the cause, scrubbed.
		var ue *url.Error
		cause := err
		if errors.As(err, &ue) {
			cause = ue.Err
		}
		return backoff, &transportError{msg: fmt.Sprintf("post to slack webhook %s: %s", redactURL(u), scrub(cause.Error(), u)), timeout: isTimeout(err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, nil
	}
	he := &HTTPError{StatusCode: resp.StatusCode, Body: clip(clean(scrub(string(body), u)), 200)}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), w.now())
		if !ok {
			return backoff, he
		}
		he.RetryAfter = ra
		if ra > capWait {
			return -1, he
		}
		return ra, he
	case resp.StatusCode >= 500:
		return backoff, he
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		// Revoked or rotated URL (no_service, channel_is_archived): re-read the secret next time.
		if inv, ok := w.URLs.(invalidator); ok {
			inv.Invalidate()
		}
	}
	return -1, he
}

func (w *SlackWebhook) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *SlackWebhook) sleep(ctx context.Context, d time.Duration) error {
	if w.Sleep != nil {
		return w.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// transportError is a network-level failure with the URL removed.
type transportError struct {
	msg     string
	timeout bool
}

func (e *transportError) Error() string { return e.msg }

// Timeout reports whether the attempt timed out.
func (e *transportError) Timeout() bool { return e.timeout }

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// scrub removes every occurrence of the URL and of its path from s.
func scrub(s, u string) string {
	if u == "" {
		return s
	}
	s = strings.ReplaceAll(s, u, redactURL(u))
	if p, err := url.Parse(u); err == nil && len(p.Path) > 1 {
		s = strings.ReplaceAll(s, p.Path, "/[redacted]")
	}
	return s
}

// parseRetryAfter reads delta-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > 86400 {
			n = 86400
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}
