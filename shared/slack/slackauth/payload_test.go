package slackauth

import (
	"encoding/json"
	"errors"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"
)

const formType = "application/x-www-form-urlencoded"

// clickPayload is a block_actions payload as Slack sends it for a button in an app's message,
// trimmed to the fields sesguard reads plus a few it ignores.
func clickPayload(mut func(m map[string]any)) map[string]any {
	m := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": "U0123ABCD", "username": "alice", "team_id": "T0001"},
		"api_app_id":   "A0001",
		"token":        "legacy-verification-token-ignored",
		"container":    map[string]any{"type": "message", "message_ts": "1780000000.000100", "channel_id": "C0001", "is_ephemeral": false},
		"trigger_id":   "123.456.abc",
		"team":         map[string]any{"id": "T0001", "domain": "example"},
		"channel":      map[string]any{"id": "C0001", "name": "sec-alerts"},
		"message":      map[string]any{"type": "message", "text": "DRY-RUN", "blocks": []any{}},
		"response_url": "https://hooks.slack.com/actions/T0001/1780000000123/abcdefABCDEF0123",
		"actions": []any{map[string]any{
			"action_id": "sesguard_contain", "block_id": "sesguard_actions", "type": "button",
			"value": "ap-0123456789abcdef0123456789abcdef", "action_ts": "1780000001.000200",
			"text": map[string]any{"type": "plain_text", "text": "Contain now"},
		}},
	}
	if mut != nil {
		mut(m)
	}
	return m
}

func formBody(payload any) []byte {
	b, _ := json.Marshal(payload)
	return []byte(url.Values{"payload": {string(b)}}.Encode())
}

func TestParse(t *testing.T) {
	set := func(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
	action := func(k string, v any) func(map[string]any) {
		return func(m map[string]any) { m["actions"].([]any)[0].(map[string]any)[k] = v }
	}
	tests := []struct {
		name        string
		contentType string
		body        []byte
		want        error
	}{
		{"valid click", formType, formBody(clickPayload(nil)), nil},
		{"valid with charset", formType + "; charset=utf-8", formBody(clickPayload(nil)), nil},
		{"enterprise ids", formType, formBody(clickPayload(func(m map[string]any) {
			m["user"] = map[string]any{"id": "W0123ABCD"}
			m["team"] = map[string]any{"id": "E0001"}
		})), nil},
		{"json content type", "application/json", formBody(clickPayload(nil)), ErrContentType},
		{"no content type", "", formBody(clickPayload(nil)), ErrContentType},
		{"too large", formType, append(formBody(clickPayload(nil)), make([]byte, MaxBody)...), ErrTooLarge},
		{"not a form", formType, []byte("payload=%zz"), ErrForm},
		{"no payload field", formType, []byte("command=%2Fsesguard"), ErrNoPayload},
		{"two payload fields", formType, append(formBody(clickPayload(nil)), []byte("&payload=%7B%7D")...), ErrNoPayload},
		{"payload not json", formType, []byte("payload=%7Bnope"), ErrPayloadJSON},
		{"payload is a list", formType, []byte("payload=%5B%5D"), errPayloadShape},
		{"view_submission", formType, formBody(clickPayload(set("type", "view_submission"))), ErrPayloadType},
		{"no user", formType, formBody(clickPayload(set("user", nil))), ErrUser},
		{"user id lower case", formType, formBody(clickPayload(set("user", map[string]any{"id": "u0123"}))), ErrUser},
		{"user id with mention syntax", formType, formBody(clickPayload(set("user", map[string]any{"id": "U01|<!channel>"}))), ErrUser},
		{"user id is a bot", formType, formBody(clickPayload(set("user", map[string]any{"id": "B0123"}))), ErrUser},
		{"no team", formType, formBody(clickPayload(set("team", nil))), ErrTeam},
		{"team id garbage", formType, formBody(clickPayload(set("team", map[string]any{"id": "T 1"}))), ErrTeam},
		{"no actions", formType, formBody(clickPayload(set("actions", []any{}))), ErrNoAction},
		{"action without id", formType, formBody(clickPayload(action("action_id", ""))), ErrAction},
		{"action id with spaces", formType, formBody(clickPayload(action("action_id", "a b"))), ErrAction},
		{"action without value", formType, formBody(clickPayload(action("value", ""))), ErrAction},
		{"action value too long", formType, formBody(clickPayload(action("value", strings.Repeat("a", MaxValue+1)))), ErrAction},
		{"action value wrong type", formType, formBody(clickPayload(action("value", 7))), errPayloadShape},
		{"no response_url", formType, formBody(clickPayload(set("response_url", ""))), ErrResponseURL},
		{"response_url http", formType, formBody(clickPayload(set("response_url", "http://hooks.slack.com/actions/T/1/x"))), ErrResponseURL},
		{"response_url metadata service (SSRF)", formType, formBody(clickPayload(set("response_url", "https://169.254.169.254/latest/meta-data/"))), ErrResponseURL},
		{"response_url look-alike host", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com.evil.example/actions/T/1/x"))), ErrResponseURL},
		{"response_url with credentials", formType, formBody(clickPayload(set("response_url", "https://x@hooks.slack.com/actions/T/1/x"))), ErrResponseURL},
		{"response_url with port", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com:8443/actions/T/1/x"))), ErrResponseURL},
		{"response_url incoming webhook path", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com/services/T/B/x"))), ErrResponseURL},
		{"response_url userinfo trick", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com@evil.example/actions/x"))), ErrResponseURL},
		{"response_url dot segments", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com/actions/../../services/T/B/x"))), ErrResponseURL},
		{"response_url single dot segment", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com/actions/./T/1/x"))), ErrResponseURL},
		{"response_url trailing dot-dot", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com/actions/T/1/.."))), ErrResponseURL},
		{"response_url encoded dots", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com/actions/%2e%2e/%2E%2E/services/T/B/x"))), ErrResponseURL},
		{"response_url encoded slash", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com/actions/T%2F..%2F..%2Fservices/x"))), ErrResponseURL},
		{"response_url double slash", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com/actions//T/1/x"))), ErrResponseURL},
		{"response_url trailing slash", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com/actions/T/1/x/"))), ErrResponseURL},
		{"response_url backslash", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com/actions/T\\..\\..\\services/x"))), ErrResponseURL},
		{"response_url query", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com/actions/T/1/x?redirect=https://evil.example/"))), ErrResponseURL},
		{"response_url empty query", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com/actions/T/1/x?"))), ErrResponseURL},
		{"response_url fragment", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com/actions/T/1/x#y"))), ErrResponseURL},
		{"response_url empty port", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com:/actions/T/1/x"))), ErrResponseURL},
		{"response_url port 443", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com:443/actions/T/1/x"))), ErrResponseURL},
		{"response_url upper-case host", formType, formBody(clickPayload(set("response_url", "https://HOOKS.SLACK.COM/actions/T/1/x"))), ErrResponseURL},
		{"response_url upper-case scheme", formType, formBody(clickPayload(set("response_url", "HTTPS://hooks.slack.com/actions/T/1/x"))), ErrResponseURL},
		{"response_url trailing dot host", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com./actions/T/1/x"))), ErrResponseURL},
		{"response_url empty userinfo", formType, formBody(clickPayload(set("response_url", "https://@hooks.slack.com/actions/T/1/x"))), ErrResponseURL},
		{"response_url space", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com/actions/T/1/x y"))), ErrResponseURL},
		{"response_url tab", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com/actions/T/1/x\t"))), ErrResponseURL},
		{"response_url semicolon parameter", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com/actions/T/1/x;a=b"))), ErrResponseURL},
		{"response_url no id", formType, formBody(clickPayload(set("response_url", "https://hooks.slack.com/actions/"))), ErrResponseURL},
		{"response_url scheme-relative", formType, formBody(clickPayload(set("response_url", "//hooks.slack.com/actions/T/1/x"))), ErrResponseURL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := Parse(tc.contentType, tc.body)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Parse = %v, want %v", err, tc.want)
			}
			if err != nil {
				return
			}
			a := in.Actions[0]
			if in.User.ID == "" || in.Team.ID == "" || a.ActionID != "sesguard_contain" || a.Value != "ap-0123456789abcdef0123456789abcdef" || in.ResponseURL == "" {
				t.Errorf("parsed %+v", in)
			}
		})
	}
}

// FuzzParse: Parse never panics, and whatever it accepts satisfies every promise it makes.
func FuzzParse(f *testing.F) {
	f.Add(formType, formBody(clickPayload(nil)))
	f.Add(formType, []byte("payload=%7B%7D"))
	f.Add(formType, []byte("payload="))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\n"))
	f.Add(formType, formBody(clickPayload(func(m map[string]any) { m["response_url"] = "https://hooks.slack.com/actions/../../x" })))
	f.Add(formType, formBody(clickPayload(func(m map[string]any) { m["response_url"] = "https://hooks.slack.com/actions/%2e%2e/x" })))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		in, err := Parse(contentType, body)
		if err != nil {
			if in != nil {
				t.Fatal("error with a result")
			}
			return
		}
		if in.Type != TypeBlockActions || !ValidUserID(in.User.ID) || !ValidTeamID(in.Team.ID) || len(in.Actions) == 0 {
			t.Fatalf("accepted %+v", in)
		}
		if ValidateResponseURL(in.ResponseURL) != nil {
			t.Fatalf("accepted response_url %q", in.ResponseURL)
		}
		u, _ := url.Parse(in.ResponseURL)
		if u.Hostname() != "hooks.slack.com" || u.Port() != "" || u.Scheme != "https" || u.RawQuery != "" || u.String() != in.ResponseURL ||
			path.Clean(u.Path) != u.Path || strings.ContainsAny(in.ResponseURL, "%\\") {
			t.Fatalf("accepted response_url %q", in.ResponseURL)
		}
		for _, a := range in.Actions {
			if a.Value == "" || len(a.Value) > MaxValue || a.ActionID == "" {
				t.Fatalf("accepted action %+v", a)
			}
		}
	})
}

// FuzzVerify: Verify never panics and never accepts a body other than the one signed.
func FuzzVerify(f *testing.F) {
	f.Add(ts(now), Sign(secret, now.Unix(), body), body)
	f.Add("", "", []byte{})
	f.Add("0", "v0=", []byte("x"))
	v := &Verifier{Secret: secret, Now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, timestamp, signature string, b []byte) {
		got, err := v.Verify(timestamp, signature, b)
		if err != nil {
			return
		}
		if Sign(secret, got.Timestamp.Unix(), b) != strings.ToLower(strings.TrimSpace(signature)) {
			t.Fatalf("accepted a signature that is not the body's: %q", signature)
		}
	})
}

// TestParseMemberNameRule: a payload member in another case or repeated is refused, not read
// one way by sesguard (encoding/json folds case, keeps the last) and another by anyone else.
func TestParseMemberNameRule(t *testing.T) {
	b, _ := json.Marshal(clickPayload(nil))
	good := string(b)
	for _, tc := range []struct{ name, payload, field string }{
		{"response_url case variant", strings.Replace(good, `"response_url":`, `"Response_URL":"https://hooks.slack.com/actions/T0001/9/evil","response_url":`, 1), "Response_URL"},
		{"duplicate response_url", strings.Replace(good, `"response_url":`, `"response_url":"https://hooks.slack.com/actions/T0001/9/evil","response_url":`, 1), "response_url"},
		{"duplicate action value", strings.Replace(good, `"value":`, `"value":"apr-ffffffffffffffffffffffffffffffff","value":`, 1), "actions[0].value"},
		{"user id case variant", strings.Replace(good, `"id":"U0123ABCD"`, `"id":"U0123ABCD","ID":"U0999EVIL"`, 1), "user.ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.payload == good {
				t.Fatal("test payload unchanged")
			}
			in, err := Parse(formType, []byte(url.Values{"payload": {tc.payload}}.Encode()))
			if !errors.Is(err, errPayloadShape) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Parse = %+v, %v; want a payload-shape error naming %s", in, err, tc.field)
			}
		})
	}
}
