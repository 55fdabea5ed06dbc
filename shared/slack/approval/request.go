package approval

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/sesguard/sesguard/shared/core/jsonstrict"
	"github.com/sesguard/sesguard/shared/slack/slackauth"
)

// SchemaRequest identifies an approved click on the interact → respond queue.
const SchemaRequest = "sesguard.interaction/v1"

// Request is one approved click, as functions/interact enqueues it for functions/respond: who
// (Slack user and team), when (the signed request time), which approval, and where to report.
// respond re-checks all of it (approver list, expiry, kind) before acting.
type Request struct {
	Schema      string    `json:"schema"`
	Kind        string    `json:"kind"`
	Ref         string    `json:"ref"`
	SlackUser   string    `json:"slack_user"`
	SlackTeam   string    `json:"slack_team"`
	ClickedAt   time.Time `json:"clicked_at"`
	ResponseURL string    `json:"response_url"`
	// RequestID identifies the signed Slack request (slackauth.ReplayKey) in both functions' logs.
	RequestID string `json:"request_id"`
}

// Validate checks every field the way interact did, so a message that did not come from it (or
// was altered) is refused, naming the field.
func (r *Request) Validate() error {
	switch {
	case r.Schema != SchemaRequest:
		return fmt.Errorf("%w: request schema %q", ErrInvalid, r.Schema)
	case r.Kind != KindContain && r.Kind != KindUndo:
		return fmt.Errorf("%w: request field kind %q", ErrInvalid, r.Kind)
	case !ValidRef(r.Ref):
		return fmt.Errorf("%w: request field ref %q", ErrInvalid, clipRef(r.Ref))
	case !slackauth.ValidUserID(r.SlackUser):
		return fmt.Errorf("%w: request field slack_user %q", ErrInvalid, clipRef(r.SlackUser))
	case !slackauth.ValidTeamID(r.SlackTeam):
		return fmt.Errorf("%w: request field slack_team %q", ErrInvalid, clipRef(r.SlackTeam))
	case r.ClickedAt.IsZero():
		return fmt.Errorf("%w: request field clicked_at is missing", ErrInvalid)
	}
	if err := slackauth.ValidateResponseURL(r.ResponseURL); err != nil {
		return fmt.Errorf("%w: request field response_url: %w", ErrInvalid, err)
	}
	return nil
}

// DecodeRequest parses and validates a queue message body.
func DecodeRequest(b []byte) (*Request, error) {
	var r Request
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: request: %v", ErrInvalid, err)
	}
	if field, err := jsonstrict.Check(b, reflect.TypeOf(r)); err != nil {
		return nil, fmt.Errorf("%w: request field %s: %v", ErrInvalid, field, err)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// IsRequest reports whether a message body claims the request schema (respond's queue carries
// findings too).
func IsRequest(b []byte) bool {
	var env struct {
		Schema string `json:"schema"`
	}
	return json.Unmarshal(b, &env) == nil && env.Schema == SchemaRequest
}
