package slackauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/sesguard/sesguard/shared/core/jsonstrict"
)

// MaxBody caps the request body Parse accepts. A block_actions payload carries the whole
// message it came from; sesguard's messages stay under ~13 k characters of text, so 256 KiB
// leaves ample room and refuses anything that is not a Slack interaction.
const MaxBody = 256 << 10

// MaxValue caps a button value (Slack's own limit is 2000 characters).
const MaxValue = 2000

// TypeBlockActions is the only payload type sesguard handles (a click on a Block Kit button).
const TypeBlockActions = "block_actions"

// Errors Parse returns, wrapped with the field and value at fault.
var (
	ErrTooLarge     = errors.New("slackauth: body too large")
	ErrContentType  = errors.New("slackauth: content type is not application/x-www-form-urlencoded")
	ErrForm         = errors.New("slackauth: body is not a form")
	ErrNoPayload    = errors.New("slackauth: form has no single payload field")
	ErrPayloadJSON  = errors.New("slackauth: payload is not valid JSON")
	ErrPayloadType  = errors.New("slackauth: unsupported payload type")
	ErrUser         = errors.New("slackauth: bad user.id")
	ErrTeam         = errors.New("slackauth: bad team.id")
	ErrNoAction     = errors.New("slackauth: payload has no action")
	ErrAction       = errors.New("slackauth: bad action")
	ErrResponseURL  = errors.New("slackauth: response_url is not a Slack response URL")
	errPayloadShape = errors.New("slackauth: payload has the wrong shape")
)

// Interaction is the part of a block_actions payload sesguard uses.
type Interaction struct {
	Type string `json:"type"`
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		TeamID   string `json:"team_id"`
	} `json:"user"`
	Team struct {
		ID     string `json:"id"`
		Domain string `json:"domain"`
	} `json:"team"`
	APIAppID    string   `json:"api_app_id"`
	ResponseURL string   `json:"response_url"`
	TriggerID   string   `json:"trigger_id"`
	Actions     []Action `json:"actions"`
	Container   struct {
		Type      string `json:"type"`
		MessageTS string `json:"message_ts"`
		ChannelID string `json:"channel_id"`
	} `json:"container"`
}

// Action is one clicked element.
type Action struct {
	ActionID string `json:"action_id"`
	BlockID  string `json:"block_id"`
	Type     string `json:"type"`
	Value    string `json:"value"`
	ActionTS string `json:"action_ts"`
}

// Slack ids: users U…/W… (W: Enterprise Grid), teams T…/E… (E: an enterprise), upper-case
// alphanumerics. Anchored and length-bounded so an id is safe to log and to render.
var (
	userIDPattern = regexp.MustCompile(`^[UW][A-Z0-9]{2,30}$`)
	teamIDPattern = regexp.MustCompile(`^[TE][A-Z0-9]{2,30}$`)
	actionPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,255}$`)
)

// ValidUserID reports whether s is a Slack user id (U… or W…).
func ValidUserID(s string) bool { return userIDPattern.MatchString(s) }

// ValidTeamID reports whether s is a Slack team or enterprise id (T… or E…).
func ValidTeamID(s string) bool { return teamIDPattern.MatchString(s) }

// Parse decodes the body of an interactivity request: a form (application/x-www-form-urlencoded)
// with exactly one field payload holding the JSON. Only block_actions is accepted, with a valid
// user and team id, at least one action with an action_id and a value within MaxValue, and a
// response_url that ValidateResponseURL accepts. Call it only on a body whose signature was
// verified: it trusts nothing, but it is not the authentication.
func Parse(contentType string, body []byte) (*Interaction, error) {
	if len(body) > MaxBody {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, len(body), MaxBody)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, fmt.Errorf("%w: %q", ErrContentType, clip(contentType, 80))
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrForm, err)
	}
	vals := form["payload"]
	if len(vals) != 1 || vals[0] == "" {
		return nil, fmt.Errorf("%w (%d payload fields)", ErrNoPayload, len(vals))
	}
	raw := vals[0]
	if !json.Valid([]byte(raw)) {
		return nil, ErrPayloadJSON
	}
	var in Interaction
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		return nil, fmt.Errorf("%w: %v", errPayloadShape, err)
	}
	// One reading only: encoding/json would take "Response_URL" for response_url and keep the
	// last of two "value"s.
	if field, err := jsonstrict.Check([]byte(raw), reflect.TypeOf(in)); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errPayloadShape, field, err)
	}
	if in.Type != TypeBlockActions {
		return nil, fmt.Errorf("%w: type %q (want %s)", ErrPayloadType, clip(in.Type, 40), TypeBlockActions)
	}
	if !ValidUserID(in.User.ID) {
		return nil, fmt.Errorf("%w: %q", ErrUser, clip(in.User.ID, 40))
	}
	if !ValidTeamID(in.Team.ID) {
		return nil, fmt.Errorf("%w: %q", ErrTeam, clip(in.Team.ID, 40))
	}
	if len(in.Actions) == 0 {
		return nil, ErrNoAction
	}
	for i, a := range in.Actions {
		switch {
		case !actionPattern.MatchString(a.ActionID):
			return nil, fmt.Errorf("%w: actions[%d].action_id %q", ErrAction, i, clip(a.ActionID, 40))
		case a.Value == "" || len(a.Value) > MaxValue || !utf8.ValidString(a.Value):
			return nil, fmt.Errorf("%w: actions[%d].value is empty, not UTF-8 or longer than %d", ErrAction, i, MaxValue)
		}
	}
	if err := ValidateResponseURL(in.ResponseURL); err != nil {
		return nil, err
	}
	return &in, nil
}

// ValidateResponseURL accepts only https://hooks.slack.com/… (default port, no credentials, no
// fragment): the functions POST to this URL, and a payload could otherwise point them at
// anything reachable from the function (instance metadata, internal services: SSRF).
// Enterprise Grid and GovSlack use other hosts; they are not supported here.
func ValidateResponseURL(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty", ErrResponseURL)
	}
	if len(s) > 2048 {
		return fmt.Errorf("%w: %d characters", ErrResponseURL, len(s))
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrResponseURL, err)
	}
	switch {
	case u.Scheme != "https":
		return fmt.Errorf("%w: scheme %q", ErrResponseURL, clip(u.Scheme, 20))
	case u.Host != "hooks.slack.com": // u.Host includes any port, so :8443 fails too
		return fmt.Errorf("%w: host %q", ErrResponseURL, clip(u.Host, 80))
	case u.User != nil:
		return fmt.Errorf("%w: has credentials", ErrResponseURL)
	case u.Fragment != "" || u.Opaque != "":
		return fmt.Errorf("%w: has a fragment or opaque part", ErrResponseURL)
	case !strings.HasPrefix(u.Path, "/actions/") && !strings.HasPrefix(u.Path, "/commands/"):
		return fmt.Errorf("%w: path is not /actions/… or /commands/…", ErrResponseURL)
	case !responseURLPattern.MatchString(s):
		// Only the canonical form Slack sends: a client or proxy may resolve dot segments
		// ("/actions/../../x", "%2e%2e"), merge or split on "//" and "\", or pass a query on,
		// so the URL posted to could be another path of hooks.slack.com (an incoming webhook).
		return fmt.Errorf("%w: not in Slack's form https://hooks.slack.com/actions/<ids> (path segments of letters, digits, '-' and '_'; no query, dot segment, escape or empty segment): %q", ErrResponseURL, clip(s, 120))
	}
	return nil
}

// responseURLPattern is the whole text of a response URL as Slack writes it
// (https://hooks.slack.com/actions/T0001/1780000000123/abcdefABCDEF0123).
var responseURLPattern = regexp.MustCompile(`^https://hooks\.slack\.com/(?:actions|commands)(?:/[A-Za-z0-9_-]+){1,8}$`)

// clip bounds attacker-supplied text in errors (and so in logs).
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
