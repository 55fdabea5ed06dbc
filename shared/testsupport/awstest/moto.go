// Package awstest runs moto_server on a free loopback port behind a small reverse proxy, so tests
// drive the real AWS SDK v2 clients over HTTP. The proxy is where the harness fills moto's gaps
// (SESv2 operations, seeded GetAccessKeyLastUsed answers) and injects faults. Tests only.
package awstest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region and Account are what moto answers with by default.
const (
	Region  = "us-east-1"
	Account = "123456789012"
)

// Moto is a running moto_server behind the harness proxy.
type Moto struct {
	// Endpoint is the proxy URL to give the SDK (AWS_ENDPOINT_URL).
	Endpoint string
	// MotoURL is moto itself, bypassing the proxy.
	MotoURL string

	proxy *httptest.Server
	cmd   *exec.Cmd
	rp    *httputil.ReverseProxy

	mu       sync.Mutex
	handlers []Handler

	// Built-in layers in front of moto, in this order: faults, test handlers (Handle), seeded
	// GetAccessKeyLastUsed answers, the SESv2 gap filler, the CloudWatch CBOR translator
	// (cloudwatch.go). Each stateful one is reset by Reset.
	faults   *faults
	lastUsed *lastUsedTable
	ses      *sesv2Filler
}

// Handler may answer a request in place of moto. It returns false to pass the request on.
type Handler func(w http.ResponseWriter, r *http.Request) bool

// Start launches moto_server for the test (or benchmark) and stops it at cleanup. When moto_server
// is not installed the test fails under CI=true and is skipped loudly otherwise. Under
// `go test -short` every moto test is skipped: the short tier is the seconds-long inner loop.
func Start(tb testing.TB) *Moto {
	tb.Helper()
	if testing.Short() {
		tb.Skip("short: skipping a moto test (run without -short for the integration tier)")
	}
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		msg := "moto_server not found on PATH: install it with `pip install \"moto[server]\"` (see README prerequisites)"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip("SKIPPING: " + msg)
	}
	port, err := freePort()
	if err != nil {
		tb.Fatalf("awstest: free port: %v", err)
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true")
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("awstest: start moto_server: %v", err)
	}
	m := &Moto{MotoURL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
	if err := waitReady(m.MotoURL, 30*time.Second); err != nil {
		tb.Fatalf("awstest: moto_server not ready: %v", err)
	}
	target, _ := url.Parse(m.MotoURL)
	m.rp = httputil.NewSingleHostReverseProxy(target)
	m.faults = &faults{}
	m.lastUsed = &lastUsedTable{m: m}
	m.ses = newSESv2Filler(m)
	m.proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.faults.serve(w, r) {
			return
		}
		m.mu.Lock()
		hs := append([]Handler(nil), m.handlers...)
		m.mu.Unlock()
		for _, h := range hs {
			if h(w, r) {
				return
			}
		}
		if m.lastUsed.serve(w, r) || m.ses.serve(w, r) || serveCloudWatchCBOR(m.MotoURL, w, r) {
			return
		}
		m.rp.ServeHTTP(w, r)
	}))
	tb.Cleanup(m.proxy.Close)
	m.Endpoint = m.proxy.URL
	return m
}

// Handle installs h in front of moto; handlers run in the order installed.
func (m *Moto) Handle(h Handler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handlers = append(m.handlers, h)
}

// Reset wipes moto's state (all services) and the harness's own: SESv2 filler state, seeded
// GetAccessKeyLastUsed answers and fault rules. Handlers installed with Handle stay.
func (m *Moto) Reset(tb testing.TB) {
	tb.Helper()
	m.faults.reset()
	m.lastUsed.reset()
	m.ses.reset()
	resp, err := http.Post(m.MotoURL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		tb.Fatalf("awstest: reset: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// Env returns the environment variables that point the SDK's standard config chain at the
// harness, for child processes (Lambda binaries, the CLI) and for t.Setenv.
func (m *Moto) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":      m.Endpoint,
		"AWS_ACCESS_KEY_ID":     "test",
		"AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION":            Region,
		"AWS_DEFAULT_REGION":    Region,
		// Keep the SDK away from ~/.aws and IMDS.
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
}

// Setenv applies Env with t.Setenv, so config.LoadDefaultConfig in the code under test finds moto.
func (m *Moto) Setenv(t *testing.T) {
	t.Helper()
	for k, v := range m.Env() {
		t.Setenv(k, v)
	}
}

// Config returns an aws.Config aimed at the harness with static test credentials and the
// SDK's standard retryer, as production code would build it.
func (m *Moto) Config(tb testing.TB) aws.Config {
	tb.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithBaseEndpoint(m.Endpoint),
	)
	if err != nil {
		tb.Fatalf("awstest: load config: %v", err)
	}
	return cfg
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitReady(base string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error = errors.New("timeout")
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
			last = fmt.Errorf("status %d", resp.StatusCode)
		} else {
			last = err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return last
}

// ConfigFastRetry is Config with the SDK's standard retryer capped at maxAttempts and a 20 ms
// maximum backoff, so fault tests exercise the real retry logic without waiting seconds.
func (m *Moto) ConfigFastRetry(tb testing.TB, maxAttempts int) aws.Config {
	tb.Helper()
	cfg := m.Config(tb)
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = maxAttempts
			o.MaxBackoff = 20 * time.Millisecond
		})
	}
	return cfg
}
