package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
	"github.com/sesguard/sesguard/shared/testsupport/lambdatest"
)

// The binaries are built once per test run (the first test that gets past awstest.Start builds
// them): ingest, respond, notify and coverage as Lambda bootstraps for the host, plus the CLI.
var (
	buildDir  string
	buildOnce sync.Once
	buildErr  error
	bins      map[string]string
	buildTime time.Duration
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("short: skipping the end-to-end tests (real binaries against moto)")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "sesguard-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binaries builds (once) and returns the bootstrap paths by function name and "sesguard".
func binaries(t testing.TB) map[string]string {
	t.Helper()
	buildOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		start := time.Now()
		bins, buildErr = lambdatest.Build(ctx, buildDir,
			"github.com/sesguard/sesguard/functions/ingest",
			"github.com/sesguard/sesguard/functions/respond",
			"github.com/sesguard/sesguard/functions/notify",
			"github.com/sesguard/sesguard/functions/coverage",
			"github.com/sesguard/sesguard/functions/interact",
			"github.com/sesguard/sesguard/cmd/sesguard",
		)
		buildTime = time.Since(start)
	})
	if buildErr != nil {
		t.Fatalf("build binaries: %v", buildErr)
	}
	return bins
}

// Names used by the seeded world.
const (
	smtpUserName  = "ses-smtp-user.20260112-101500"
	roleName      = "mailer-task-role"
	identity      = "mail.example.com"
	configSet     = "prod-outbound"
	tableName     = "sesguard-state"
	findingsTopic = "sesguard-findings"
	alertsTopic   = "sesguard-alerts"
	attackerIP    = "203.0.113.77"
)

// e2ePolicy is bundled as the functions' SESGUARD_POLICY. Its mode is dry-run; the enforce run
// overrides it with SESGUARD_MODE, as the CDK app does.
const e2ePolicy = `version: 1
network:
  cidrs: [10.20.0.0/16]
senders:
  principals: ["ses-smtp-user.2026*", "mailer-task-role"]
  from: ["*@mail.example.com"]
  identities: ["mail.example.com"]
  configuration_sets: ["prod-outbound"]
recipients:
  domains: ["*"]
response:
  mode: dry-run
  protected_principals: ["break-glass-*"]
  max_actions_per_hour: 20
  on:
    network.outside_approved: [deactivate_keys, deny_send_policy]
alerts:
  min_severity: low
`

// world is moto seeded as the issue describes, plus the Slack stand-in and call counters.
type world struct {
	t        testing.TB
	m        *awstest.Moto
	cfg      aws.Config
	user     awstest.SMTPUser
	smtpKey  string // last used for ses-smtp: the one containment must pick
	otherKey string
	findings awstest.TopicQueue // findings topic → respond queue
	notifyQ  awstest.TopicQueue // findings topic → notify queue
	alerts   awstest.TopicQueue // alerts topic → inbox queue
	secret   string
	slack    *slackStandIn
	certFile string
	policy   string
	calls    *callCounter
}

func newWorld(t testing.TB) *world {
	t.Helper()
	m := awstest.Start(t) // skips (or fails under CI=true) without moto_server
	binaries(t)
	w := &world{t: t, m: m, cfg: m.Config(t), calls: &callCounter{n: map[string]int{}}}
	m.Handle(w.calls.observe)

	w.user = m.SeedSMTPUser(t, smtpUserName)
	w.otherKey, w.smtpKey = w.user.KeyIDs[0], w.user.KeyIDs[1]
	m.SeedKeyLastUsed(w.smtpKey, "ses-smtp", awstest.Region, time.Now().Add(-2*time.Minute))
	m.SeedRole(t, roleName)
	m.SeedIdentity(t, identity, configSet)
	m.SeedStateTable(t, tableName)
	w.findings = m.SeedTopicQueue(t, findingsTopic, "sesguard-respond", true)
	w.notifyQ = m.SeedTopicQueue(t, findingsTopic, "sesguard-notify", true)
	if w.notifyQ.TopicARN != w.findings.TopicARN {
		t.Fatalf("findings topic created twice: %s vs %s", w.findings.TopicARN, w.notifyQ.TopicARN)
	}
	w.alerts = m.SeedTopicQueue(t, alertsTopic, "alerts-inbox", true)

	w.slack = newSlackStandIn(t)
	w.certFile = filepath.Join(t.TempDir(), "slack-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.slack.srv.Certificate().Raw})
	if err := os.WriteFile(w.certFile, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	sec, err := secretsmanager.NewFromConfig(w.cfg).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String("sesguard/slack"), SecretString: aws.String(w.slack.srv.URL + "/services/T000/B000/e2e"),
	})
	if err != nil {
		t.Fatalf("seed slack secret: %v", err)
	}
	w.secret = aws.ToString(sec.ARN)

	w.calls.reset() // count only what the functions and the CLI do, not the seeding

	w.policy = filepath.Join(t.TempDir(), "sesguard.yaml")
	if err := os.WriteFile(w.policy, []byte(e2ePolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

// env is the Lambda environment the CDK app sets, pointed at moto.
func (w *world) env(mode string) map[string]string {
	env := maps.Clone(w.m.Env())
	maps.Copy(env, map[string]string{
		fnenv.EnvPolicy:           w.policy,
		fnenv.EnvTable:            tableName,
		fnenv.EnvFindingsTopicARN: w.findings.TopicARN,
		fnenv.EnvAlertsTopicARN:   w.alerts.TopicARN,
		fnenv.EnvSlackSecretARN:   w.secret,
		"SSL_CERT_FILE":           w.certFile, // trust the Slack stand-in's certificate
	})
	if mode != "" {
		env[fnenv.EnvMode] = mode
	}
	return env
}

// function starts the Runtime API harness for one binary.
func (w *world) function(name, mode string) *lambdatest.Runtime {
	w.t.Helper()
	rt, err := lambdatest.New(lambdatest.Options{Binary: bins[name], FunctionName: "sesguard-" + name, Env: w.env(mode), Timeout: 2 * time.Minute})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		if w.t.Failed() {
			w.t.Logf("%s logs:\n%s", name, rt.Logs())
		}
		rt.Close()
	})
	return rt
}

// invoke calls the function and requires success.
func invoke[T any](t testing.TB, rt *lambdatest.Runtime, payload any) T {
	t.Helper()
	var body []byte
	switch p := payload.(type) {
	case []byte:
		body = p
	default:
		var err error
		if body, err = json.Marshal(p); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, fnErr, err := rt.Invoke(ctx, body)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	if fnErr != nil {
		t.Fatalf("function error: %v\nlogs:\n%s", fnErr, rt.Logs())
	}
	var v T
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("response %q: %v", out, err)
	}
	return v
}

// drain receives every message now in the queue (deleting them) and returns them as the SQS
// event Lambda's event source mapping would deliver.
func (w *world) drain(q awstest.TopicQueue) events.SQSEvent {
	w.t.Helper()
	c := sqs.NewFromConfig(w.cfg)
	ctx := context.Background()
	var ev events.SQSEvent
	for {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			w.t.Fatalf("receive %s: %v", q.QueueURL, err)
		}
		if len(out.Messages) == 0 {
			return ev
		}
		var del []sqstypes.DeleteMessageBatchRequestEntry
		for _, m := range out.Messages {
			ev.Records = append(ev.Records, events.SQSMessage{
				MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
				EventSource: "aws:sqs", EventSourceARN: q.QueueARN, AWSRegion: awstest.Region,
				Attributes: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": fmt.Sprint(time.Now().UnixMilli())},
			})
			del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: m.MessageId, ReceiptHandle: m.ReceiptHandle})
		}
		if _, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.QueueURL), Entries: del}); err != nil {
			w.t.Fatalf("delete from %s: %v", q.QueueURL, err)
		}
	}
}

// cli runs the sesguard CLI binary with the functions' environment.
func (w *world) cli(args ...string) (string, int) {
	w.t.Helper()
	cmd := exec.Command(bins["sesguard"], args...)
	cmd.Dir = w.t.TempDir()
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + cmd.Dir}
	for k, v := range w.env("") {
		env = append(env, k+"="+v)
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			w.t.Fatalf("run sesguard %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

// callCounter counts AWS operations that change state, as seen by the moto proxy.
type callCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *callCounter) observe(_ http.ResponseWriter, r *http.Request) bool {
	op := awstest.Operation(r)
	switch op {
	case "UpdateAccessKey", "PutUserPolicy", "DeleteUserPolicy", "PutRolePolicy":
		c.mu.Lock()
		c.n[op]++
		c.mu.Unlock()
	}
	return false
}

func (c *callCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.n)
}

func (c *callCounter) get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[op]
}

// slackStandIn is a local HTTPS server in place of Slack's incoming webhook.
type slackStandIn struct {
	srv  *httptest.Server
	mu   sync.Mutex
	msgs []string
	down bool // answer 500 (Slack having a bad day)
	hits int  // every POST, failed or not
}

func newSlackStandIn(t testing.TB) *slackStandIn {
	s := &slackStandIn{}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/services/") || !json.Valid(b) {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.hits++
		if s.down {
			http.Error(w, "internal_error", http.StatusInternalServerError)
			return
		}
		s.msgs = append(s.msgs, string(b))
		_, _ = io.WriteString(w, "ok")
	}))
	s.srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

func (s *slackStandIn) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *slackStandIn) attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

func (s *slackStandIn) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}
