package alert

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sesguard/sesguard/shared/slack/slackauth"
)

// TestResponsePosterRefusesNonSlackURLs: nothing is requested unless the URL is Slack's; a genuine
// one is posted (through a client whose transport stands in for hooks.slack.com).
func TestResponsePosterRefusesNonSlackURLs(t *testing.T) {
	var hits atomic.Int32
	var got string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		got = r.Host + r.URL.Path
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	// Dial every host to the stand-in, so a URL that passed validation is observable.
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}
	tr.TLSClientConfig.InsecureSkipVerify = true
	p := &ResponsePoster{Client: &http.Client{Transport: tr}}
	ctx := context.Background()
	for _, bad := range []string{"http://hooks.slack.com/actions/T/1/x", "https://169.254.169.254/latest", "https://hooks.slack.com.evil.example/actions/x", ""} {
		if err := p.Post(ctx, bad, SlackEphemeral("x", "")); !errors.Is(err, slackauth.ErrResponseURL) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("%d requests to refused URLs", hits.Load())
	}
	url := "https://hooks.slack.com/actions/T0001/123/secretpart"
	if err := p.Post(ctx, url, SlackEphemeral("refused", "")); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 1 || got != "hooks.slack.com/actions/T0001/123/secretpart" {
		t.Errorf("hits %d, got %q", hits.Load(), got)
	}
	// A failure does not leak the URL.
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "expired_url", http.StatusNotFound) })
	err := p.Post(ctx, url, SlackEphemeral("x", ""))
	if err == nil || strings.Contains(err.Error(), "secretpart") {
		t.Errorf("error %v", err)
	}
}
