package main

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/shared/deliver/alert"
	"github.com/sesguard/sesguard/shared/slack/approval"
	"github.com/sesguard/sesguard/shared/slack/slackauth"
)

// Enqueuer hands an approved click to respond (approval.Queue).
type Enqueuer interface {
	Send(ctx context.Context, r *approval.Request) error
}

var _ Enqueuer = (*approval.Queue)(nil)

// Secret supplies the signing secret (approval.SigningSecret): the value, and whether it was
// just read from Secrets Manager.
type Secret interface {
	Get(ctx context.Context, refresh bool) ([]byte, bool, error)
}

var _ Secret = (*approval.SigningSecret)(nil)

// Approvals reads approvals and is the replay cache (approval.Store).
type Approvals interface {
	Get(ctx context.Context, ref string) (*approval.Approval, error)
	slackauth.ReplayCache
}

var _ Approvals = (*approval.Store)(nil)

// Responder posts to a response_url (alert.ResponsePoster).
type Responder interface {
	Post(ctx context.Context, responseURL string, msg alert.SlackMessage) error
}

var _ Responder = (*alert.ResponsePoster)(nil)

// Budget is the time interact gives itself to answer: Slack shows the user an error after 3 s,
// and the network to and from Slack needs some of that.
const Budget = 2500 * time.Millisecond

// Handler is the interact function behind the Function URL: authenticate, authorise, enqueue.
type Handler struct {
	Secret    Secret
	Approvals Approvals
	Queue     Enqueuer
	Slack     Responder
	// Approver reports whether a Slack user id is in response.approvers.
	Approver func(slackUserID string) bool
	Now      func() time.Time
	Log      *slog.Logger
}

func respond(status int, body string) events.LambdaFunctionURLResponse {
	r := events.LambdaFunctionURLResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}}
	if body != "" {
		r.Body = body
	}
	return r
}

func header(h map[string]string, name string) string {
	if v, ok := h[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Handle answers one HTTP request. Every refusal is logged as an audit line with the reason
// and the caller's address; nothing is enqueued unless the signature, the replay check, the
// payload, the approver list and the approval all pass. The HTTP answer never says more than
// Slack needs (no detail for unauthenticated callers).
func (h *Handler) Handle(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, Budget)
	defer cancel()
	log := fnenv.ForInvocation(ctx, h.Log).With("source_ip", req.RequestContext.HTTP.SourceIP, "user_agent", clip(req.RequestContext.HTTP.UserAgent, 120))
	refuse := func(status int, reason string, err error) (events.LambdaFunctionURLResponse, error) {
		attrs := []any{"status", status, "reason", reason, "ms", time.Since(start).Milliseconds()}
		if err != nil {
			attrs = append(attrs, "error", err.Error())
		}
		log.Warn("interact: audit: request refused", attrs...)
		return respond(status, http.StatusText(status)), nil
	}
	if req.RequestContext.HTTP.Method != http.MethodPost {
		return refuse(http.StatusMethodNotAllowed, "method "+clip(req.RequestContext.HTTP.Method, 10), nil)
	}
	if len(req.Body) > 2*slackauth.MaxBody {
		return refuse(http.StatusRequestEntityTooLarge, "body too large", nil)
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return refuse(http.StatusBadRequest, "body is not base64", err)
		}
		body = b
	}
	ts, sig := header(req.Headers, slackauth.HeaderTimestamp), header(req.Headers, slackauth.HeaderSignature)
	if ts == "" || sig == "" {
		// Checked before the secret is read: an unsigned request costs no Secrets Manager call.
		err := slackauth.ErrNoSignature
		if ts == "" {
			err = slackauth.ErrNoTimestamp
		}
		return refuse(http.StatusUnauthorized, "unsigned", err)
	}
	ver, err := h.verify(ctx, ts, sig, body)
	if err != nil {
		if errors.Is(err, approval.ErrNoSigningSecret) {
			return refuse(http.StatusServiceUnavailable, "not configured", err)
		}
		return refuse(http.StatusUnauthorized, "signature", err)
	}
	in, err := slackauth.Parse(header(req.Headers, "Content-Type"), body)
	if err != nil {
		return refuse(http.StatusBadRequest, "payload", err)
	}
	a := in.Actions[0]
	log = log.With("slack_user", in.User.ID, "slack_team", in.Team.ID, "action_id", a.ActionID, "slack_request", slackauth.ReplayKey(ver))
	ack := func(msg string, attrs ...any) (events.LambdaFunctionURLResponse, error) {
		log.Info(msg, append(attrs, "ms", time.Since(start).Milliseconds())...)
		return respond(http.StatusOK, ""), nil
	}
	// From here the request is Slack's: answer 200 (Slack shows an error for anything else) and
	// tell the user in Slack why nothing happens.
	kind, kindErr := approval.ParseAction(a.ActionID, a.Value)
	if kind == "" {
		return ack("interact: audit: click ignored", "reason", "not a sesguard button")
	}
	tell := func(reason, text, detail string) (events.LambdaFunctionURLResponse, error) {
		if err := h.Slack.Post(ctx, in.ResponseURL, alert.SlackEphemeral(text, detail)); err != nil {
			log.Warn("interact: could not tell the Slack user", "error", err.Error())
		}
		log.Warn("interact: audit: click refused", "reason", reason, "approval_ref", clip(a.Value, 40), "ms", time.Since(start).Milliseconds())
		return respond(http.StatusOK, ""), nil
	}
	if kindErr != nil {
		return tell(kindErr.Error(), "This button cannot be used; nothing was changed. Reason:", kindErr.Error())
	}
	if !h.Approver(in.User.ID) {
		return tell("not in response.approvers", "You are not in response.approvers; nothing was changed. Slack user id:", in.User.ID)
	}
	ap, err := h.Approvals.Get(ctx, a.Value)
	switch {
	case errors.Is(err, approval.ErrNotFound):
		return tell("unknown approval reference", "This button is unknown or expired; nothing was changed.", "")
	case err != nil:
		log.Error("interact: cannot read the approval", "error", err.Error())
		return respond(http.StatusInternalServerError, "Internal Server Error"), nil
	}
	if err := ap.Usable(kind, ver.Timestamp); err != nil {
		return tell(err.Error(), "This button cannot be used; nothing was changed. Reason:", err.Error())
	}
	msg := approval.Request{
		Schema: approval.SchemaRequest, Kind: kind, Ref: ap.Ref, SlackUser: in.User.ID, SlackTeam: in.Team.ID,
		ClickedAt: ver.Timestamp.UTC(), ResponseURL: in.ResponseURL, RequestID: slackauth.ReplayKey(ver),
	}
	if err := h.Queue.Send(ctx, &msg); err != nil {
		// Slack shows the user an error; a new click is a new signed request.
		log.Error("interact: could not enqueue the approved click", "approval_ref", ap.Ref, "error", err.Error())
		return respond(http.StatusInternalServerError, "Internal Server Error"), nil
	}
	return ack("interact: audit: click accepted", "approval_ref", ap.Ref, "kind", kind, fnenv.LogFindingID, ap.FindingID)
}

// verify checks the signature and the replay cache. A mismatch with a cached secret older than
// secretRecheck re-reads it once (the secret may just have been rotated).
func (h *Handler) verify(ctx context.Context, ts, sig string, body []byte) (slackauth.Verified, error) {
	secret, fresh, err := h.Secret.Get(ctx, false)
	if err != nil {
		return slackauth.Verified{}, err
	}
	v := &slackauth.Verifier{Secret: secret, Now: h.Now}
	if _, err := v.Verify(ts, sig, body); errors.Is(err, slackauth.ErrSignatureMismatch) && !fresh {
		if again, reread, gerr := h.Secret.Get(ctx, true); gerr == nil && reread {
			v.Secret = again
		}
	}
	return v.Check(ctx, h.Approvals, ts, sig, body)
}

func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "?")
}
