package alert

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const secretPath = "/services/T0000SECRET/B0000SECRET/XXXXSECRETTOKENXXXX"

// fakeSlack is an httptest stand-in for Slack's webhook: it answers from a script of statuses
// and records every payload.
type fakeSlack struct {
	mu       sync.Mutex
	script   []func(w http.ResponseWriter)
	payloads []SlackMessage
	paths    []string
	srv      *httptest.Server
}

func newFakeSlack(t *testing.T, script ...func(w http.ResponseWriter)) *fakeSlack {
	f := &fakeSlack{script: script}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m SlackMessage
		if err := json.Unmarshal(body, &m); err != nil || r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.payloads = append(f.payloads, m)
		f.paths = append(f.paths, r.URL.Path)
		var step func(http.ResponseWriter)
		if len(f.script) > 0 {
			step, f.script = f.script[0], f.script[1:]
		}
		f.mu.Unlock()
		if step == nil {
			_, _ = io.WriteString(w, "ok")
			return
		}
		step(w)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.payloads)
}

func status(code int, body string, hdr ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// staticURL is a URLSource that counts reads and invalidations.
type staticURL struct {
	url                string
	reads, invalidated int
}

func (s *staticURL) URL(context.Context) (string, error) { s.reads++; return s.url, nil }
func (s *staticURL) Invalidate()                         { s.invalidated++ }

// sleeps records requested waits instead of sleeping.
type sleeps struct{ got []time.Duration }

func (s *sleeps) Sleep(_ context.Context, d time.Duration) error {
	s.got = append(s.got, d)
	return nil
}

func newHook(f *fakeSlack, src *staticURL, sl *sleeps) *SlackWebhook {
	w := NewSlackWebhook(src)
	w.Client = f.srv.Client()
	w.Client.Timeout = 2 * time.Second
	w.Sleep = sl.Sleep
	w.Now = func() time.Time { return time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC) }
	return w
}

func TestSlackWebhook(t *testing.T) {
	msg := SlackFinding(sampleFinding())
	tests := []struct {
		name       string
		script     []func(http.ResponseWriter)
		wantErr    string // substring; "" = success
		wantCalls  int
		wantSleeps []time.Duration
		wantInval  int
	}{
		{name: "ok", wantCalls: 1},
		{name: "429 honours Retry-After then succeeds",
			script:    []func(http.ResponseWriter){status(429, "rate_limited", "Retry-After", "3")},
			wantCalls: 2, wantSleeps: []time.Duration{3 * time.Second}},
		{name: "429 with an HTTP-date Retry-After",
			script:    []func(http.ResponseWriter){status(429, "rate_limited", "Retry-After", "Mon, 04 May 2026 09:00:07 GMT")},
			wantCalls: 2, wantSleeps: []time.Duration{7 * time.Second}},
		{name: "429 without Retry-After backs off",
			script:    []func(http.ResponseWriter){status(429, "rate_limited")},
			wantCalls: 2, wantSleeps: []time.Duration{DefaultBackoff}},
		{name: "429 asking longer than the cap gives up at once for the queue to retry",
			script:  []func(http.ResponseWriter){status(429, "rate_limited", "Retry-After", "120")},
			wantErr: "HTTP 429: rate_limited (retry after 2m0s)", wantCalls: 1},
		{name: "5xx retried with exponential backoff",
			script:    []func(http.ResponseWriter){status(500, "oops"), status(503, "unavailable")},
			wantCalls: 3, wantSleeps: []time.Duration{DefaultBackoff, 2 * DefaultBackoff}},
		{name: "persistent 5xx gives up after MaxAttempts",
			script:  []func(http.ResponseWriter){status(500, "a"), status(502, "b"), status(503, "c"), status(504, "d")},
			wantErr: "giving up after 4 attempts: slack webhook answered HTTP 504: d", wantCalls: 4,
			wantSleeps: []time.Duration{DefaultBackoff, 2 * DefaultBackoff, 4 * DefaultBackoff}},
		{name: "permanent 400 is not retried",
			script:  []func(http.ResponseWriter){status(400, "invalid_blocks")},
			wantErr: "HTTP 400: invalid_blocks", wantCalls: 1},
		{name: "404 invalidates the cached URL",
			script:  []func(http.ResponseWriter){status(404, "no_service")},
			wantErr: "HTTP 404: no_service", wantCalls: 1, wantInval: 1},
		{name: "410 archived channel",
			script:  []func(http.ResponseWriter){status(410, "channel_is_archived")},
			wantErr: "HTTP 410", wantCalls: 1, wantInval: 1},
		{name: "an error body echoing the URL is scrubbed",
			script:  []func(http.ResponseWriter){status(400, "bad request to "+secretPath)},
			wantErr: "bad request to /[redacted]", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t, tt.script...)
			src := &staticURL{url: f.srv.URL + secretPath}
			sl := &sleeps{}
			err := newHook(f, src, sl).Post(context.Background(), msg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Post: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Post error = %v, want containing %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error leaks the webhook URL: %v", err)
			}
			if f.calls() != tt.wantCalls {
				t.Errorf("calls = %d, want %d", f.calls(), tt.wantCalls)
			}
			if len(sl.got) != len(tt.wantSleeps) {
				t.Fatalf("sleeps = %v, want %v", sl.got, tt.wantSleeps)
			}
			for i := range sl.got {
				if sl.got[i] != tt.wantSleeps[i] {
					t.Errorf("sleep %d = %s, want %s", i, sl.got[i], tt.wantSleeps[i])
				}
			}
			if src.invalidated != tt.wantInval {
				t.Errorf("invalidated = %d, want %d", src.invalidated, tt.wantInval)
			}
			// What Slack received is exactly the rendered message, on the secret path.
			for i, p := range f.payloads {
				if f.paths[i] != secretPath || mustJSON(t, p) != mustJSON(t, msg) {
					t.Errorf("payload %d differs from the rendered message", i)
				}
			}
			var he *HTTPError
			if tt.wantErr != "" && strings.Contains(tt.wantErr, "HTTP") && !errors.As(err, &he) {
				t.Errorf("error %v is not an *HTTPError", err)
			}
		})
	}
}

func TestSlackWebhookTransportErrorsAreRedacted(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		f := newFakeSlack(t)
		u := f.srv.URL + secretPath
		f.srv.Close()
		sl := &sleeps{}
		err := newHook(f, &staticURL{url: u}, sl).Post(context.Background(), SlackMessage{Text: "x"})
		if err == nil {
			t.Fatal("post to a closed server succeeded")
		}
		if strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "/[redacted]") {
			t.Errorf("error = %v", err)
		}
		if len(sl.got) != DefaultMaxAttempts-1 {
			t.Errorf("transport errors retried %d times, want %d", len(sl.got), DefaultMaxAttempts-1)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		block := make(chan struct{})
		f := newFakeSlack(t, func(w http.ResponseWriter) { <-block })
		defer close(block)
		h := newHook(f, &staticURL{url: f.srv.URL + secretPath}, &sleeps{})
		h.Client.Timeout = 100 * time.Millisecond
		h.MaxAttempts = 1
		err := h.Post(context.Background(), SlackMessage{Text: "x"})
		var te interface{ Timeout() bool }
		if err == nil || !errors.As(err, &te) || !te.Timeout() {
			t.Fatalf("err = %v, want a timeout", err)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("error leaks the URL: %v", err)
		}
	})
	t.Run("cancelled context stops retrying", func(t *testing.T) {
		f := newFakeSlack(t, status(500, "x"), status(500, "x"))
		h := newHook(f, &staticURL{url: f.srv.URL + secretPath}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		h.Sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
		err := h.Post(ctx, SlackMessage{Text: "x"})
		if err == nil || f.calls() != 1 {
			t.Fatalf("err = %v, calls = %d", err, f.calls())
		}
	})
}

// TestSlackWebhookCoolDown: after a Post gives up on a temporary failure, the next Posts fail at
// once without touching Slack (so a batch behind an outage does not spend its time on Slack)
// until the cool-down — or Slack's Retry-After — has passed. Permanent errors do not trip it.
func TestSlackWebhookCoolDown(t *testing.T) {
	now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		script   []func(http.ResponseWriter)
		calls    int           // after the failing Post
		coolDown time.Duration // 0: a second Post goes straight to Slack
	}{
		{"persistent 5xx", []func(http.ResponseWriter){status(500, "a"), status(500, "b"), status(500, "c"), status(500, "d")}, 4, DefaultCoolDown},
		{"429 beyond the cap uses Retry-After", []func(http.ResponseWriter){status(429, "rate_limited", "Retry-After", "120")}, 1, 120 * time.Second},
		{"permanent 400 does not trip", []func(http.ResponseWriter){status(400, "invalid_blocks")}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := now
			f := newFakeSlack(t, tt.script...)
			h := newHook(f, &staticURL{url: f.srv.URL + secretPath}, &sleeps{})
			h.Now = func() time.Time { return clk }
			msg := SlackMessage{Text: "x"}
			if err := h.Post(context.Background(), msg); err == nil || f.calls() != tt.calls {
				t.Fatalf("first post: err %v, calls %d", err, f.calls())
			}
			err := h.Post(context.Background(), msg)
			if tt.coolDown == 0 {
				if err != nil || f.calls() != tt.calls+1 {
					t.Fatalf("after a permanent error: err %v, calls %d; want a normal post", err, f.calls())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "cooling down") || f.calls() != tt.calls {
				t.Fatalf("during cool-down: err %v, calls %d; want a fast failure without a request", err, f.calls())
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("cool-down error leaks the URL: %v", err)
			}
			clk = clk.Add(tt.coolDown - time.Second)
			if err := h.Post(context.Background(), msg); err == nil || f.calls() != tt.calls {
				t.Fatalf("1 s before the end: err %v, calls %d", err, f.calls())
			}
			clk = clk.Add(time.Second)
			if err := h.Post(context.Background(), msg); err != nil || f.calls() != tt.calls+1 {
				t.Fatalf("after the cool-down: err %v, calls %d", err, f.calls())
			}
		})
	}
}

// TestSlackWebhookTimeBounded: one Post, retries included, ends within MaxElapsed even when every
// request hangs, and never starts a wait that would outlast the caller's deadline.
func TestSlackWebhookTimeBounded(t *testing.T) {
	t.Run("hanging server", func(t *testing.T) {
		block := make(chan struct{})
		f := newFakeSlack(t, func(http.ResponseWriter) { <-block }, func(http.ResponseWriter) { <-block },
			func(http.ResponseWriter) { <-block }, func(http.ResponseWriter) { <-block })
		defer close(block)
		h := newHook(f, &staticURL{url: f.srv.URL + secretPath}, &sleeps{})
		h.Client.Timeout = 2 * time.Second // 4 attempts would take 8 s
		h.MaxElapsed = 300 * time.Millisecond
		start := time.Now()
		err := h.Post(context.Background(), SlackMessage{Text: "x"})
		if took := time.Since(start); err == nil || took > 1500*time.Millisecond {
			t.Fatalf("err %v after %s; want a failure within MaxElapsed", err, took)
		}
	})
	t.Run("Retry-After past the deadline", func(t *testing.T) {
		f := newFakeSlack(t, status(429, "rate_limited", "Retry-After", "5"))
		h := newHook(f, &staticURL{url: f.srv.URL + secretPath}, nil)
		h.Sleep = nil // real timer
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		err := h.Post(ctx, SlackMessage{Text: "x"})
		if took := time.Since(start); err == nil || took > time.Second || f.calls() != 1 {
			t.Fatalf("err %v after %s, calls %d; want an immediate failure", err, took, f.calls())
		}
	})
}
