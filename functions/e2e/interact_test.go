package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sesguard/sesguard/shared/deliver/alert"
	"github.com/sesguard/sesguard/shared/engine/contain"
	"github.com/sesguard/sesguard/shared/slack/approval"
	"github.com/sesguard/sesguard/shared/slack/slackauth"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
	"github.com/sesguard/sesguard/shared/testsupport/lambdatest"
)

const (
	e2eApprover    = "U0E2EAPPROVE"
	e2eTeam        = "T0E2ETEAM"
	signingSecret  = "e2e-signing-secret-0123456789abcdef"
	responsePrefix = "https://hooks.slack.com/actions/" + e2eTeam + "/1780000000123/"
)

// hooksStandIn is hooks.slack.com for the functions: an HTTPS server with a certificate for that
// name (trusted through SSL_CERT_FILE) reached through a CONNECT proxy (HTTPS_PROXY), so the
// functions' response_url validation runs unchanged and only hooks.slack.com:443 is tunnelled.
type hooksStandIn struct {
	srv, proxy *httptest.Server
	certPEM    []byte
	mu         sync.Mutex
	posts      []string // bodies posted to /actions/…
	tunnels    []string // CONNECT targets asked for
}

func newHooksStandIn(t *testing.T) *hooksStandIn {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hooks.slack.com"}, DNSNames: []string{"hooks.slack.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	h := &hooksStandIn{certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/actions/") || !json.Valid(b) {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.posts = append(h.posts, string(b))
		h.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	h.srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	h.srv.StartTLS()
	t.Cleanup(h.srv.Close)
	h.proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.tunnels = append(h.tunnels, r.Host)
		h.mu.Unlock()
		if r.Method != http.MethodConnect || r.Host != "hooks.slack.com:443" {
			http.Error(w, "only hooks.slack.com:443 is tunnelled", http.StatusForbidden)
			return
		}
		up, err := net.Dial("tcp", h.srv.Listener.Addr().String())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			up.Close()
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() { _, _ = io.Copy(up, buf); up.Close() }()
		go func() { _, _ = io.Copy(conn, up); conn.Close() }()
	}))
	t.Cleanup(h.proxy.Close)
	return h
}

func (h *hooksStandIn) messages() []alert.SlackMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []alert.SlackMessage
	for _, p := range h.posts {
		var m alert.SlackMessage
		if json.Unmarshal([]byte(p), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// buttonValue returns the value of the first button with the action_id prefix actionID.
func buttonValue(msgs []alert.SlackMessage, actionID, label string) string {
	for _, m := range msgs {
		for _, b := range m.Blocks {
			for _, e := range b.Buttons {
				if e.ActionID == approval.ButtonID(actionID, e.Value) && strings.Contains(e.Text.Text, label) {
					return e.Value
				}
			}
		}
	}
	return ""
}

// slackClick is the Function URL event Slack's POST of a block_actions payload becomes.
func slackClick(t *testing.T, actionID, value, user string, ts time.Time, sign bool) events.LambdaFunctionURLRequest {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "api_app_id": "A0E2E", "trigger_id": "1.2.3",
		"user": map[string]any{"id": user, "username": "e2e", "team_id": e2eTeam}, "team": map[string]any{"id": e2eTeam, "domain": "e2e"},
		"container":    map[string]any{"type": "message", "message_ts": "1780000000.000100", "channel_id": "C0E2E"},
		"response_url": responsePrefix + strconv.FormatInt(ts.UnixNano(), 36),
		"actions":      []any{map[string]any{"action_id": actionID, "block_id": "sesguard_buttons", "type": "button", "value": value, "action_ts": "1780000001.000200"}},
	})
	body := url.Values{"payload": {string(payload)}}.Encode()
	headers := map[string]string{"content-type": "application/x-www-form-urlencoded", "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
	if sign {
		headers["x-slack-request-timestamp"] = strconv.FormatInt(ts.Unix(), 10)
		headers["x-slack-signature"] = slackauth.Sign([]byte(signingSecret), ts.Unix(), []byte(body))
	}
	return events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: "/", Headers: headers, Body: body,
		RequestContext: events.LambdaFunctionURLRequestContext{
			AccountID: "anonymous", DomainName: "abc123.lambda-url.us-east-1.on.aws", RequestID: "req-" + strconv.FormatInt(ts.UnixNano(), 36),
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST", Path: "/", Protocol: "HTTP/1.1", SourceIP: "198.51.100.7", UserAgent: "Slackbot 1.0"},
		},
	}
}

// TestSlackButtonsEndToEnd: the real binaries against moto. A dry-run finding reaches Slack with
// Contain now; a signed click POSTed to interact (Function URL event, through the Runtime API
// harness) is enqueued, respond applies the plan (key Inactive in moto's IAM) and replaces the
// message with the outcome and Undo buttons; Undo makes the key Active again. Unsigned and stale
// requests change nothing and are logged.
func TestSlackButtonsEndToEnd(t *testing.T) {
	w := newWorld(t)
	if _, ok := bins["interact"]; !ok {
		t.Fatal("interact binary not built")
	}
	ctx := context.Background()
	hooks := newHooksStandIn(t)

	// The policy with an approver, trust for both Slack stand-ins, the proxy to hooks.slack.com.
	pol := strings.Replace(e2ePolicy, "  max_actions_per_hour: 20\n", "  max_actions_per_hour: 20\n  approvers: ["+e2eApprover+"]\n  approval_expiry: 1h\n", 1)
	if pol == e2ePolicy {
		t.Fatal("e2e policy changed shape; cannot add approvers")
	}
	if err := os.WriteFile(w.policy, []byte(pol), 0o644); err != nil {
		t.Fatal(err)
	}
	webhookCA, err := os.ReadFile(w.certFile)
	if err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(certs, append(webhookCA, hooks.certPEM...), 0o644); err != nil {
		t.Fatal(err)
	}
	sec, err := secretsmanager.NewFromConfig(w.cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("sesguard/slack-signing-secret"), SecretString: aws.String(signingSecret)})
	if err != nil {
		t.Fatal(err)
	}
	sqsc := sqs.NewFromConfig(w.cfg)
	q, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("sesguard-interact")})
	if err != nil {
		t.Fatal(err)
	}
	qa, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	interactQ := awstest.TopicQueue{QueueURL: aws.ToString(q.QueueUrl), QueueARN: qa.Attributes["QueueArn"]}
	fn := func(name string, extra map[string]string) *lambdatest.Runtime {
		env := w.env("")
		env["SSL_CERT_FILE"] = certs
		env["HTTPS_PROXY"] = hooks.proxy.URL
		for k, v := range extra {
			env[k] = v
		}
		rt, err := lambdatest.New(lambdatest.Options{Binary: bins[name], FunctionName: "sesguard-" + name, Env: env, Timeout: 2 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s logs:\n%s", name, rt.Logs())
			}
			rt.Close()
		})
		return rt
	}
	ingest, respond, notify := fn("ingest", nil), fn("respond", nil), fn("notify", nil)
	interact := fn("interact", map[string]string{"SESGUARD_SLACK_SIGNING_SECRET_ARN": aws.ToString(sec.ARN), "SESGUARD_INTERACT_QUEUE_URL": interactQ.QueueURL})

	// Dry run: the finding, the plan, and the Slack message with Contain now.
	sc := newScenario("btn")
	invoke[events.SQSEventResponse](t, ingest, sc.event)
	if got := failureIDs(invoke[events.SQSEventResponse](t, respond, w.drain(w.findings))); len(got) != 0 {
		t.Fatalf("dry-run respond failures %v", got)
	}
	_ = w.drain(w.findings)
	if got := failureIDs(invoke[events.SQSEventResponse](t, notify, w.drain(w.notifyQ))); len(got) != 0 {
		t.Fatalf("notify failures %v", got)
	}
	var posted []alert.SlackMessage
	for _, s := range w.slack.messages() {
		var m alert.SlackMessage
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("slack message %s: %v", s, err)
		}
		posted = append(posted, m)
	}
	ref := buttonValue(posted, approval.ActionContain, "Contain now")
	if !approval.ValidRef(ref) {
		t.Fatalf("no Contain now button in the Slack messages: %v", w.slack.messages())
	}
	if w.keyStatus()[w.smtpKey] != iamtypes.StatusTypeActive || w.calls.get("UpdateAccessKey") != 0 {
		t.Fatal("dry run changed the key")
	}
	// The button carries a reference, never the plan.
	for _, s := range w.slack.messages() {
		if strings.Contains(s, `"value":"`) && strings.Contains(s, `"value":"`+ref+`"`) && strings.Contains(s, `"value":"{`) {
			t.Fatalf("a button value carries JSON: %s", s)
		}
	}

	// Refused requests first: unsigned, stale, a forged signature, an unauthorised user. None is
	// enqueued, none changes anything, each leaves an audit line.
	refusals := []struct {
		name   string
		req    events.LambdaFunctionURLRequest
		status int
	}{
		{"unsigned", slackClick(t, approval.ActionContain, ref, e2eApprover, time.Now(), false), 401},
		{"stale (6 minutes old)", slackClick(t, approval.ActionContain, ref, e2eApprover, time.Now().Add(-6*time.Minute), true), 401},
		{"future (6 minutes ahead)", slackClick(t, approval.ActionContain, ref, e2eApprover, time.Now().Add(6*time.Minute), true), 401},
	}
	forged := slackClick(t, approval.ActionContain, ref, e2eApprover, time.Now(), true)
	forged.Headers["x-slack-signature"] = slackauth.Sign([]byte("guessed-secret"), time.Now().Unix(), []byte(forged.Body))
	refusals = append(refusals, struct {
		name   string
		req    events.LambdaFunctionURLRequest
		status int
	}{"wrong secret", forged, 401})
	off := interact.LogOffset()
	var latencies []time.Duration
	for _, r := range refusals {
		start := time.Now()
		resp := invoke[events.LambdaFunctionURLResponse](t, interact, r.req)
		latencies = append(latencies, time.Since(start))
		if resp.StatusCode != r.status {
			t.Errorf("%s: status %d, want %d", r.name, resp.StatusCode, r.status)
		}
	}
	unauth := invoke[events.LambdaFunctionURLResponse](t, interact, slackClick(t, approval.ActionContain, ref, "U0NOTALLOWED", time.Now(), true))
	if unauth.StatusCode != 200 {
		t.Errorf("unauthorised user: status %d (Slack needs 200 to show the refusal)", unauth.StatusCode)
	}
	if n := len(w.drain(interactQ).Records); n != 0 {
		t.Fatalf("%d refused requests were enqueued", n)
	}
	logs := interact.LogsSince(off)
	if got := strings.Count(logs, "interact: audit: request refused"); got != len(refusals) {
		t.Errorf("%d refusal audit lines for %d refused requests:\n%s", got, len(refusals), logs)
	}
	for _, want := range []string{"header missing", "too old", "in the future", "does not match", "not in response.approvers"} {
		if !strings.Contains(logs, want) {
			t.Errorf("no log line saying %q", want)
		}
	}
	if w.keyStatus()[w.smtpKey] != iamtypes.StatusTypeActive || w.calls.get("UpdateAccessKey") != 0 || w.denyPolicyExists() {
		t.Fatal("a refused request changed IAM")
	}
	var told bool
	for _, m := range hooks.messages() {
		if m.ResponseType == "ephemeral" && strings.Contains(m.Text, "not in response.approvers") {
			told = true
		}
	}
	if !told {
		t.Error("the unauthorised user was not told (ephemeral message)")
	}

	// Contain now: signed click → interact (ack) → queue → respond → key Inactive.
	click := slackClick(t, approval.ActionContain, ref, e2eApprover, time.Now(), true)
	start := time.Now()
	ack := invoke[events.LambdaFunctionURLResponse](t, interact, click)
	latencies = append(latencies, time.Since(start))
	if ack.StatusCode != 200 {
		t.Fatalf("approved click: status %d\n%s", ack.StatusCode, interact.Logs())
	}
	// The same signed request again (a replay) is refused and not enqueued twice.
	if replay := invoke[events.LambdaFunctionURLResponse](t, interact, click); replay.StatusCode != 401 {
		t.Errorf("replayed request: status %d, want 401", replay.StatusCode)
	}
	clicks := w.drain(interactQ)
	if len(clicks.Records) != 1 {
		t.Fatalf("%d requests enqueued for one click (and its replay), want 1", len(clicks.Records))
	}
	if got := failureIDs(invoke[events.SQSEventResponse](t, respond, clicks)); len(got) != 0 {
		t.Fatalf("respond failed the click: %v", got)
	}
	keys := w.keyStatus()
	if keys[w.smtpKey] != iamtypes.StatusTypeInactive || keys[w.otherKey] != iamtypes.StatusTypeActive || !w.denyPolicyExists() {
		t.Fatalf("after Contain now: keys %v, deny policy %v; want %s Inactive, the other Active, the policy attached", keys, w.denyPolicyExists(), w.smtpKey)
	}
	if n := w.calls.get("UpdateAccessKey"); n != 1 {
		t.Errorf("%d UpdateAccessKey calls, want 1", n)
	}
	keysID := contain.ActionID(findingIDOf(t, w, ref), contain.ActionDeactivateKeys, smtpUserName)
	rec, err := w.ledger().Get(ctx, keysID)
	if err != nil || rec.Status != contain.StatusApplied || rec.ApprovedBy == nil || rec.ApprovedBy.SlackUser != e2eApprover || rec.ApprovedBy.SlackTeam != e2eTeam || rec.ApprovedBy.At.IsZero() {
		t.Fatalf("ledger row %+v, %v", rec, err)
	}
	var replaced *alert.SlackMessage
	for _, m := range hooks.messages() {
		if m.ReplaceOriginal {
			replaced = &m
		}
	}
	if replaced == nil {
		t.Fatalf("the original message was not replaced; hooks.slack.com got %d posts, tunnels %v", len(hooks.messages()), hooks.tunnels)
	}
	b, _ := json.Marshal(replaced)
	if !strings.Contains(string(b), e2eApprover) || !strings.Contains(string(b), "APPLIED") {
		t.Errorf("replaced message does not say who approved and the outcome: %s", b)
	}
	undoRef := buttonValue([]alert.SlackMessage{*replaced}, approval.ActionUndo, contain.ActionDeactivateKeys)
	if !approval.ValidRef(undoRef) {
		t.Fatalf("no Undo button for deactivate_keys: %s", b)
	}

	// Undo: the key is Active again.
	if resp := invoke[events.LambdaFunctionURLResponse](t, interact, slackClick(t, approval.ButtonID(approval.ActionUndo, undoRef), undoRef, e2eApprover, time.Now(), true)); resp.StatusCode != 200 {
		t.Fatalf("undo click: status %d", resp.StatusCode)
	}
	if got := failureIDs(invoke[events.SQSEventResponse](t, respond, w.drain(interactQ))); len(got) != 0 {
		t.Fatalf("respond failed the undo: %v", got)
	}
	if st := w.keyStatus()[w.smtpKey]; st != iamtypes.StatusTypeActive {
		t.Fatalf("after Undo: key %s is %s, want Active", w.smtpKey, st)
	}
	rec, _ = w.ledger().Get(ctx, keysID)
	if rec.Status != contain.StatusRestored || rec.RestoreApprovedBy == nil || rec.RestoreApprovedBy.SlackUser != e2eApprover {
		t.Errorf("restored row %+v", rec)
	}
	for _, tn := range hooks.tunnels {
		if tn != "hooks.slack.com:443" {
			t.Errorf("a function asked the proxy for %q", tn)
		}
	}

	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	t.Logf("interact ack latency through the Runtime API harness (%d requests, first is the cold start): min %v, median %v, max %v; init %v",
		len(latencies), latencies[0], latencies[len(latencies)/2], latencies[len(latencies)-1], interact.InitDurations())
	if latencies[len(latencies)-1] > 3*time.Second {
		t.Errorf("an interact answer took %v, over Slack's 3 s", latencies[len(latencies)-1])
	}
}

// findingIDOf reads the finding id of an approval from the state table.
func findingIDOf(t *testing.T, w *world, ref string) string {
	t.Helper()
	a, err := (&approval.Store{DB: dynamodbClient(w), Table: tableName}).Get(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(a.ActionIDs, contain.ActionID(a.FindingID, contain.ActionDeactivateKeys, smtpUserName)) {
		t.Fatalf("approval %s does not plan deactivate_keys: %+v", ref, a.ActionIDs)
	}
	return a.FindingID
}

func dynamodbClient(w *world) *dynamodb.Client { return dynamodb.NewFromConfig(w.cfg) }
