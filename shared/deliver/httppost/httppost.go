// Package httppost is the retrying HTTP poster every webhook-style destination shares: bounded
// retries of 429 (honouring Retry-After up to a cap), 5xx and transport errors with exponential
// backoff, a fail-fast cool-down after giving up, and a URL that never appears in errors or logs
// (webhook URLs are credentials). Destinations own their rendering; this package posts bytes.
package httppost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sesguard/sesguard/shared/core/sanitize"
)

// Poster defaults.
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

// HTTPError is a non-2xx answer from the receiver.
type HTTPError struct {
	Target     string // what answered, e.g. "slack webhook"
	StatusCode int
	// Body is the receiver's short error (Slack: invalid_blocks, no_service), cleaned and capped.
	Body string
	// RetryAfter is set on 429 answers.
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s answered HTTP %d", e.Target, e.StatusCode)
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

// Poster posts payloads to a URL from URLs. It retries 429 (waiting Retry-After, but giving up
// at once when the receiver asks for more than MaxRetryAfter, so the queue's visibility timeout
// does the long wait) and 5xx and transport errors with exponential backoff, never past
// MaxElapsed or the context's deadline. Other 4xx answers are permanent errors. After a Post gives
// up on a temporary failure, later Posts fail at once for CoolDown (or the Retry-After), so a
// batch behind an outage fails fast and its records' other destinations and retries are not
// starved. The URL never appears in errors or logs.
type Poster struct {
	Target        string // names the receiver in errors; default "webhook"
	URLs          URLSource
	Client        *http.Client                                     // default: timeout DefaultHTTPTimeout
	MaxAttempts   int                                              // default DefaultMaxAttempts
	MaxRetryAfter time.Duration                                    // default DefaultMaxRetryAfter
	Backoff       time.Duration                                    // first 5xx wait, doubling; default DefaultBackoff
	Sleep         func(ctx context.Context, d time.Duration) error // default: a timer that honours ctx
	Now           func() time.Time                                 // for HTTP-date Retry-After and the cool-down; default time.Now
	MaxElapsed    time.Duration                                    // one Post, retries included; default DefaultMaxElapsed
	CoolDown      time.Duration                                    // fail-fast period after giving up; default DefaultCoolDown, < 0 disables
	ContentType   string                                           // default "application/json; charset=utf-8"

	mu        sync.Mutex
	downUntil time.Time
	downErr   string
}

// URLSource supplies the URL to post to. The URL is a credential: implementations never log it
// or put it in an error.
type URLSource interface {
	URL(ctx context.Context) (string, error)
}

// Invalidator is implemented by sources that cache; the poster calls it when the receiver says
// the URL is gone (403/404/410) so the next attempt re-reads a rotated secret.
type Invalidator interface{ Invalidate() }

// Post delivers one payload.
func (w *Poster) Post(ctx context.Context, payload []byte) error {
	if err := w.coolingDown(); err != nil {
		return err
	}
	maxElapsed := w.MaxElapsed
	if maxElapsed <= 0 {
		maxElapsed = DefaultMaxElapsed
	}
	ctx, cancel := context.WithTimeout(ctx, maxElapsed)
	defer cancel()
	err := w.post(ctx, payload)
	if err != nil && Temporary(err) {
		w.trip(err)
	}
	return err
}

func (w *Poster) target() string {
	if w.Target == "" {
		return "webhook"
	}
	return w.Target
}

// coolingDown returns an error while a recent Post's temporary failure is fresh.
func (w *Poster) coolingDown() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now := w.now(); now.Before(w.downUntil) {
		return &coolDownError{msg: fmt.Sprintf("%s: not attempted, cooling down for %s after: %s", w.target(), w.downUntil.Sub(now).Round(time.Second), w.downErr)}
	}
	return nil
}

// trip starts the cool-down: Slack's Retry-After when it gave one, else CoolDown.
func (w *Poster) trip(err error) {
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
	w.downUntil, w.downErr = w.now().Add(d), sanitize.Clip(err.Error(), 300)
}

// Temporary reports whether err is a failure a later Post may not repeat: 429, 5xx, network
// errors and timeouts. Permanent 4xx answers and a cool-down refusal are not.
func Temporary(err error) bool {
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

func (w *Poster) post(ctx context.Context, payload []byte) error {
	if w.URLs == nil {
		return fmt.Errorf("%s: no URL source configured", w.target())
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
			return fmt.Errorf("%s: giving up after %d attempts: %w", w.target(), attempt, last)
		}
		if dl, ok := ctx.Deadline(); ok && wait >= time.Until(dl) {
			// Waiting would only run into the deadline: give the time back to the batch.
			return fmt.Errorf("%s: giving up after %d attempts, no time left to wait %s: %w", w.target(), attempt, wait, last)
		}
		if err := w.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s: %w (while waiting to retry: %v)", w.target(), last, err)
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// once makes one attempt. It returns the wait before the next attempt, or -1 for "do not retry".
func (w *Poster) once(ctx context.Context, u string, payload []byte, backoff, capWait time.Duration) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return -1, fmt.Errorf("build %s request for %s: %s", w.target(), RedactURL(u), scrub(err.Error(), u))
	}
	ct := w.ContentType
	if ct == "" {
		ct = "application/json; charset=utf-8"
	}
	req.Header.Set("Content-Type", ct)
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
		return backoff, &transportError{msg: fmt.Sprintf("post to %s %s: %s", w.target(), RedactURL(u), scrub(cause.Error(), u)), timeout: isTimeout(err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, nil
	}
	he := &HTTPError{Target: w.target(), StatusCode: resp.StatusCode, Body: sanitize.Clip(sanitize.Line(scrub(string(body), u)), 200)}
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
		if inv, ok := w.URLs.(Invalidator); ok {
			inv.Invalidate()
		}
	}
	return -1, he
}

func (w *Poster) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Poster) sleep(ctx context.Context, d time.Duration) error {
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
	s = strings.ReplaceAll(s, u, RedactURL(u))
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

// RedactURL keeps a URL's scheme and host: enough to say where a post went, never the secret path.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "[redacted]"
	}
	return u.Scheme + "://" + u.Host + "/[redacted]"
}
