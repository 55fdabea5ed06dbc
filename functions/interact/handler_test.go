package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/deliver/alert"
	"github.com/sesguard/sesguard/shared/slack/approval"
	"github.com/sesguard/sesguard/shared/slack/slackauth"
)

const (
	approverID = "U0123ABCD"
	respURL    = "https://hooks.slack.com/actions/T0001/1780000000123/abc"
)

var (
	signing = []byte("8f742231b10e8888abcd99yyyzzz85a5")
	now     = time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC)
)

type fakeSecrets struct {
	value string
	reads int
	err   error
}

func (s *fakeSecrets) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	s.reads++
	if s.err != nil {
		return nil, s.err
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(s.value)}, nil
}

type fakeApprovals struct {
	mu   sync.Mutex
	byID map[string]*approval.Approval
	seen map[string]bool
}

func (a *fakeApprovals) Get(_ context.Context, ref string) (*approval.Approval, error) {
	if ap, ok := a.byID[ref]; ok {
		return ap, nil
	}
	return nil, approval.ErrNotFound
}

func (a *fakeApprovals) Claim(_ context.Context, key string, _ time.Time) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen[key] {
		return false, nil
	}
	a.seen[key] = true
	return true, nil
}

type fakeQueue struct{ bodies []string }

func (q *fakeQueue) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	q.bodies = append(q.bodies, aws.ToString(in.MessageBody))
	return &sqs.SendMessageOutput{MessageId: aws.String("m")}, nil
}

type fakeSlack struct{ msgs []alert.SlackMessage }

func (s *fakeSlack) Post(_ context.Context, u string, m alert.SlackMessage) error {
	if u != respURL {
		return errors.New("wrong url")
	}
	s.msgs = append(s.msgs, m)
	return nil
}

var (
	_ approval.SecretsAPI = (*fakeSecrets)(nil)
	_ approval.QueueAPI   = (*fakeQueue)(nil)
	_ Approvals           = (*fakeApprovals)(nil)
	_ Responder           = (*fakeSlack)(nil)
)

type rig struct {
	h       *Handler
	secrets *fakeSecrets
	queue   *fakeQueue
	slack   *fakeSlack
	logs    *bytes.Buffer
	contain *approval.Approval
	undo    *approval.Approval
	expired *approval.Approval
}

func newRig(t *testing.T) *rig {
	f := &finding.Finding{Schema: finding.SchemaFinding, ID: "sgf-1", Rule: "network.outside_approved", Actions: []string{"deactivate_keys"}}
	c, _ := approval.NewContain(f, []string{"sg-1"}, now.Add(-time.Hour), 24*time.Hour)
	u, _ := approval.NewUndo("sgf-1", "sg-1", now.Add(-time.Hour), 24*time.Hour)
	x, _ := approval.NewContain(f, []string{"sg-1"}, now.Add(-25*time.Hour), 24*time.Hour)
	r := &rig{secrets: &fakeSecrets{value: string(signing)}, queue: &fakeQueue{}, slack: &fakeSlack{}, logs: &bytes.Buffer{}, contain: c, undo: u, expired: x}
	clock := func() time.Time { return now }
	r.h = &Handler{
		Secret:    &approval.SigningSecret{API: r.secrets, SecretID: "sesguard/slack-signing", Now: clock},
		Approvals: &fakeApprovals{byID: map[string]*approval.Approval{c.Ref: c, u.Ref: u, x.Ref: x}, seen: map[string]bool{}},
		Queue:     &approval.Queue{API: r.queue, URL: "https://sqs.us-east-1.amazonaws.com/123456789012/interact"},
		Slack:     r.slack,
		Approver:  func(id string) bool { return id == approverID },
		Now:       clock,
		Log:       slog.New(slog.NewJSONHandler(r.logs, nil)),
	}
	return r
}

func payload(user, actionID, value string) string {
	b, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user}, "team": map[string]any{"id": "T0001"},
		"response_url": respURL, "actions": []any{map[string]any{"action_id": actionID, "value": value, "type": "button"}},
	})
	return url.Values{"payload": {string(b)}}.Encode()
}

// request builds the Function URL event for body signed with secret at ts.
func request(body string, secret []byte, ts time.Time) events.LambdaFunctionURLRequest {
	return events.LambdaFunctionURLRequest{
		RawPath: "/", Body: body,
		Headers: map[string]string{
			"content-type":              "application/x-www-form-urlencoded",
			"x-slack-request-timestamp": strconv.FormatInt(ts.Unix(), 10),
			"x-slack-signature":         slackauth.Sign(secret, ts.Unix(), []byte(body)),
		},
		RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST", SourceIP: "198.51.100.7", UserAgent: "Slackbot 1.0"}},
	}
}

func TestHandle(t *testing.T) {
	type want struct {
		status   int
		enqueued string // kind of the enqueued request, "" for none
		told     bool   // an ephemeral message to the user
		audit    string // reason in the audit line
	}
	tests := []struct {
		name string
		req  func(r *rig) events.LambdaFunctionURLRequest
		want want
	}{
		{"valid Contain now", func(r *rig) events.LambdaFunctionURLRequest {
			return request(payload(approverID, approval.ActionContain, r.contain.Ref), signing, now)
		}, want{200, approval.KindContain, false, "click accepted"}},
		{"valid Undo", func(r *rig) events.LambdaFunctionURLRequest {
			return request(payload(approverID, approval.ActionUndo, r.undo.Ref), signing, now.Add(-time.Minute))
		}, want{200, approval.KindUndo, false, "click accepted"}},
		{"valid Contain now, action_id with its reference", func(r *rig) events.LambdaFunctionURLRequest {
			return request(payload(approverID, approval.ButtonID(approval.ActionContain, r.contain.Ref), r.contain.Ref), signing, now)
		}, want{200, approval.KindContain, false, "click accepted"}},
		{"valid Undo, action_id with its reference", func(r *rig) events.LambdaFunctionURLRequest {
			return request(payload(approverID, approval.ButtonID(approval.ActionUndo, r.undo.Ref), r.undo.Ref), signing, now)
		}, want{200, approval.KindUndo, false, "click accepted"}},
		{"valid, body base64-encoded by the Function URL", func(r *rig) events.LambdaFunctionURLRequest {
			q := request(payload(approverID, approval.ActionContain, r.contain.Ref), signing, now)
			q.Body, q.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(q.Body)), true
			return q
		}, want{200, approval.KindContain, false, "click accepted"}},
		{"wrong secret", func(r *rig) events.LambdaFunctionURLRequest {
			return request(payload(approverID, approval.ActionContain, r.contain.Ref), []byte("not-the-secret"), now)
		}, want{401, "", false, "signature"}},
		{"stale timestamp", func(r *rig) events.LambdaFunctionURLRequest {
			return request(payload(approverID, approval.ActionContain, r.contain.Ref), signing, now.Add(-6*time.Minute))
		}, want{401, "", false, "too old"}},
		{"future timestamp", func(r *rig) events.LambdaFunctionURLRequest {
			return request(payload(approverID, approval.ActionContain, r.contain.Ref), signing, now.Add(6*time.Minute))
		}, want{401, "", false, "in the future"}},
		{"body modified", func(r *rig) events.LambdaFunctionURLRequest {
			q := request(payload(approverID, approval.ActionContain, r.contain.Ref), signing, now)
			q.Body = payload("U0EVIL", approval.ActionContain, r.contain.Ref)
			return q
		}, want{401, "", false, "does not match"}},
		{"signature header missing", func(r *rig) events.LambdaFunctionURLRequest {
			q := request(payload(approverID, approval.ActionContain, r.contain.Ref), signing, now)
			delete(q.Headers, "x-slack-signature")
			return q
		}, want{401, "", false, "unsigned"}},
		{"timestamp header missing", func(r *rig) events.LambdaFunctionURLRequest {
			q := request(payload(approverID, approval.ActionContain, r.contain.Ref), signing, now)
			delete(q.Headers, "x-slack-request-timestamp")
			return q
		}, want{401, "", false, "unsigned"}},
		{"GET", func(r *rig) events.LambdaFunctionURLRequest {
			q := request("", signing, now)
			q.RequestContext.HTTP.Method = "GET"
			return q
		}, want{405, "", false, "method"}},
		{"signed but not a form", func(r *rig) events.LambdaFunctionURLRequest {
			q := request(`{"type":"block_actions"}`, signing, now)
			return q
		}, want{400, "", false, "payload"}},
		{"unauthorised user", func(r *rig) events.LambdaFunctionURLRequest {
			return request(payload("U0999EVIL", approval.ActionContain, r.contain.Ref), signing, now)
		}, want{200, "", true, "not in response.approvers"}},
		{"expired approval", func(r *rig) events.LambdaFunctionURLRequest {
			return request(payload(approverID, approval.ActionContain, r.expired.Ref), signing, now)
		}, want{200, "", true, "expired"}},
		{"unknown reference", func(r *rig) events.LambdaFunctionURLRequest {
			return request(payload(approverID, approval.ActionContain, "apr-00000000000000000000000000000000"), signing, now)
		}, want{200, "", true, "unknown approval reference"}},
		{"Undo button with a Contain reference", func(r *rig) events.LambdaFunctionURLRequest {
			return request(payload(approverID, approval.ActionUndo, r.contain.Ref), signing, now)
		}, want{200, "", true, "do not match"}},
		{"Undo button whose action_id names another reference than its value", func(r *rig) events.LambdaFunctionURLRequest {
			return request(payload(approverID, approval.ButtonID(approval.ActionUndo, r.contain.Ref), r.undo.Ref), signing, now)
		}, want{200, "", true, "different references"}},
		{"a button that is not sesguard's", func(r *rig) events.LambdaFunctionURLRequest {
			return request(payload(approverID, "other_app_button", r.contain.Ref), signing, now)
		}, want{200, "", false, "not a sesguard button"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			resp, err := r.h.Handle(context.Background(), tc.req(r))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.want.status {
				t.Errorf("status %d, want %d\n%s", resp.StatusCode, tc.want.status, r.logs)
			}
			if (tc.want.enqueued == "") != (len(r.queue.bodies) == 0) {
				t.Fatalf("enqueued %v, want %q", r.queue.bodies, tc.want.enqueued)
			}
			if tc.want.enqueued != "" {
				req, err := approval.DecodeRequest([]byte(r.queue.bodies[0]))
				if err != nil || req.Kind != tc.want.enqueued || req.SlackUser != approverID || req.SlackTeam != "T0001" || req.ResponseURL != respURL || req.ClickedAt.IsZero() {
					t.Errorf("enqueued %+v, %v", req, err)
				}
			}
			if told := len(r.slack.msgs) > 0; told != tc.want.told || (told && r.slack.msgs[0].ResponseType != "ephemeral") {
				t.Errorf("told the user %+v, want %v", r.slack.msgs, tc.want.told)
			}
			if !strings.Contains(r.logs.String(), "audit") || !strings.Contains(r.logs.String(), tc.want.audit) {
				t.Errorf("no audit line with %q:\n%s", tc.want.audit, r.logs)
			}
			if strings.Contains(r.logs.String(), string(signing)) || strings.Contains(r.logs.String(), "/actions/T0001/1780000000123/abc") {
				t.Error("the signing secret or the response_url was logged")
			}
		})
	}
}

// TestReplayedBody: the same signed request twice is enqueued once.
func TestReplayedBody(t *testing.T) {
	r := newRig(t)
	q := request(payload(approverID, approval.ActionContain, r.contain.Ref), signing, now)
	for i, want := range []int{200, 401} {
		resp, _ := r.h.Handle(context.Background(), q)
		if resp.StatusCode != want {
			t.Fatalf("delivery %d: status %d, want %d", i, resp.StatusCode, want)
		}
	}
	if len(r.queue.bodies) != 1 || !strings.Contains(r.logs.String(), "already seen") {
		t.Fatalf("enqueued %d times; logs:\n%s", len(r.queue.bodies), r.logs)
	}
}

// TestReplayedBodyOtherCase: the same signed request re-sent with its signature in upper-case
// (or mixed-case) hex is the same request: hex decoding ignores case, the replay key must too.
func TestReplayedBodyOtherCase(t *testing.T) {
	r := newRig(t)
	q := request(payload(approverID, approval.ActionContain, r.contain.Ref), signing, now)
	sig := q.Headers["x-slack-signature"]
	for i, s := range []string{sig, "v0=" + strings.ToUpper(sig[3:]), "v0=" + strings.ToUpper(sig[3:35]) + sig[35:]} {
		q.Headers["x-slack-signature"] = s
		resp, _ := r.h.Handle(context.Background(), q)
		if want := map[bool]int{true: 200, false: 401}[i == 0]; resp.StatusCode != want {
			t.Fatalf("delivery %d (%s): status %d, want %d", i, s, resp.StatusCode, want)
		}
	}
	if len(r.queue.bodies) != 1 {
		t.Fatalf("enqueued %d times; logs:\n%s", len(r.queue.bodies), r.logs)
	}
}

// TestSigningSecret: an empty secret answers 503 (not configured); unsigned requests never read
// the secret; a rotated secret is picked up on the first mismatch instead of after the cache TTL.
func TestSigningSecret(t *testing.T) {
	r := newRig(t)
	r.secrets.err = &smtypes.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret value for staging label: AWSCURRENT")}
	resp, _ := r.h.Handle(context.Background(), request(payload(approverID, approval.ActionContain, r.contain.Ref), signing, now))
	if resp.StatusCode != 503 || len(r.queue.bodies) != 0 {
		t.Fatalf("empty secret: status %d", resp.StatusCode)
	}
	r = newRig(t)
	unsigned := request(payload(approverID, approval.ActionContain, r.contain.Ref), signing, now)
	delete(unsigned.Headers, "x-slack-signature")
	r.h.Handle(context.Background(), unsigned)
	if r.secrets.reads != 0 {
		t.Errorf("an unsigned request read the secret %d times", r.secrets.reads)
	}
	// Warm the cache, rotate, and let the recheck interval pass.
	r.h.Handle(context.Background(), request(payload(approverID, approval.ActionContain, r.contain.Ref), signing, now))
	rotated := []byte("the-new-signing-secret")
	r.secrets.value = string(rotated)
	later := now.Add(time.Minute)
	r.h.Secret.(*approval.SigningSecret).Now = func() time.Time { return later }
	r.h.Now = func() time.Time { return later }
	resp, _ = r.h.Handle(context.Background(), request(payload(approverID, approval.ActionContain, r.contain.Ref), rotated, later))
	if resp.StatusCode != 200 || len(r.queue.bodies) != 2 {
		t.Fatalf("rotated secret: status %d, enqueued %d\n%s", resp.StatusCode, len(r.queue.bodies), r.logs)
	}
}
