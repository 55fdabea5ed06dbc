package approval

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

var t0 = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

func sampleFinding() *finding.Finding {
	return &finding.Finding{Schema: finding.SchemaFinding, ID: "sgf-1", Rule: "network.outside_approved", Actions: []string{"deactivate_keys"}}
}

func TestRefs(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		r, err := NewRef()
		if err != nil {
			t.Fatal(err)
		}
		if !ValidRef(r) || seen[r] {
			t.Fatalf("ref %q invalid or repeated", r)
		}
		seen[r] = true
	}
	for _, bad := range []string{"", "apr-", "apr-0123", "APR-0123456789abcdef0123456789abcdef", "apr-0123456789ABCDEF0123456789abcdef", "apr-0123456789abcdef0123456789abcdef\n", `{"plan":"x"}`} {
		if ValidRef(bad) {
			t.Errorf("%q accepted as a reference", bad)
		}
	}
}

func TestUsable(t *testing.T) {
	c, err := NewContain(sampleFinding(), []string{"sg-1"}, t0, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	u, err := NewUndo("sgf-1", "sg-1", t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	broken := *c
	broken.ActionIDs = nil
	tests := []struct {
		name string
		a    *Approval
		kind string
		at   time.Time
		want error
	}{
		{"contain in time", c, KindContain, t0.Add(23 * time.Hour), nil},
		{"contain expired (exactly at expiry)", c, KindContain, t0.Add(24 * time.Hour), ErrExpired},
		{"contain expired", c, KindContain, t0.Add(25 * time.Hour), ErrExpired},
		{"undo button on a contain approval", c, KindUndo, t0, ErrKind},
		{"undo in time", u, KindUndo, t0.Add(time.Minute), nil},
		{"undo expired", u, KindUndo, t0.Add(2 * time.Hour), ErrExpired},
		{"contain approval without actions", &broken, KindContain, t0, ErrInvalid},
	}
	for _, tc := range tests {
		if err := tc.a.Usable(tc.kind, tc.at); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := NewContain(sampleFinding(), nil, t0, time.Hour); !errors.Is(err, ErrInvalid) {
		t.Errorf("contain approval without actions created: %v", err)
	}
	if _, err := NewUndo("sgf-1", "", t0, time.Hour); !errors.Is(err, ErrInvalid) {
		t.Errorf("undo approval without an action created: %v", err)
	}
}

func TestParseAction(t *testing.T) {
	const ref, other = "apr-0123456789abcdef0123456789abcdef", "apr-fedcba9876543210fedcba9876543210"
	tests := []struct {
		id, value, kind string
		err             error
	}{
		{ButtonID(ActionContain, ref), ref, KindContain, nil},
		{ButtonID(ActionUndo, ref), ref, KindUndo, nil},
		{ActionContain, ref, KindContain, nil}, // messages sent before ids carried the reference
		{ActionUndo, ref, KindUndo, nil},
		{ButtonID(ActionUndo, other), ref, KindUndo, ErrActionMismatch},
		{ActionUndo + ":", ref, KindUndo, ErrActionMismatch},
		{"sesguard_nuke", ref, "", nil},
		{"sesguard_nuke:" + ref, ref, "", nil},
		{"other_app:" + ref, ref, "", nil},
	}
	for _, tc := range tests {
		kind, err := ParseAction(tc.id, tc.value)
		if kind != tc.kind || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("ParseAction(%q, %q) = %q, %v; want %q, %v", tc.id, tc.value, kind, err, tc.kind, tc.err)
		}
	}
	if id := ButtonID(ActionUndo, ref); len(id) > 255 {
		t.Errorf("action_id %q is %d chars (Slack allows 255)", id, len(id))
	}
}

func validRequest() Request {
	return Request{Schema: SchemaRequest, Kind: KindContain, Ref: "apr-0123456789abcdef0123456789abcdef", SlackUser: "U0123ABCD",
		SlackTeam: "T0001", ClickedAt: t0, ResponseURL: "https://hooks.slack.com/actions/T0001/1/abc", RequestID: "r"}
}

func TestRequestValidate(t *testing.T) {
	tests := []struct {
		name  string
		mut   func(r *Request)
		field string // in the error; "" for valid
	}{
		{"valid", func(*Request) {}, ""},
		{"schema", func(r *Request) { r.Schema = "sesguard.finding/v1" }, "schema"},
		{"kind", func(r *Request) { r.Kind = "delete_everything" }, "kind"},
		{"ref", func(r *Request) { r.Ref = `{"actions":["pause_account"]}` }, "ref"},
		{"user", func(r *Request) { r.SlackUser = "<!channel>" }, "slack_user"},
		{"team", func(r *Request) { r.SlackTeam = "" }, "slack_team"},
		{"time", func(r *Request) { r.ClickedAt = time.Time{} }, "clicked_at"},
		{"response_url", func(r *Request) { r.ResponseURL = "http://169.254.169.254/" }, "response_url"},
	}
	for _, tc := range tests {
		r := validRequest()
		tc.mut(&r)
		b, _ := json.Marshal(r)
		got, err := DecodeRequest(b)
		if tc.field == "" {
			if err != nil || got.Ref != r.Ref || !IsRequest(b) {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: error %v does not name %s", tc.name, err, tc.field)
		}
	}
	if _, err := DecodeRequest([]byte("{")); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad json: %v", err)
	}
	if IsRequest([]byte(`{"schema":"sesguard.finding/v1"}`)) || IsRequest([]byte("x")) {
		t.Error("IsRequest accepted a non-request")
	}
}

func FuzzDecodeRequest(f *testing.F) {
	b, _ := json.Marshal(validRequest())
	f.Add(b)
	f.Add([]byte(`{"schema":"sesguard.interaction/v1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err != nil {
			return
		}
		if r.Validate() != nil || !ValidRef(r.Ref) {
			t.Fatalf("accepted %+v", r)
		}
	})
}

// TestStore runs the store against moto: put/get round trip, unknown and malformed references,
// no overwrite, and the replay cache's claim-once-until semantics.
func TestStore(t *testing.T) {
	m := awstest.Start(t)
	m.SeedStateTable(t, "state")
	clock := t0
	s := &Store{DB: dynamodb.NewFromConfig(m.Config(t)), Table: "state", Now: func() time.Time { return clock }}
	ctx := context.Background()

	c, _ := NewContain(sampleFinding(), []string{"sg-a", "sg-b"}, t0, 24*time.Hour)
	if err := s.Put(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, c.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != KindContain || got.Finding.ID != "sgf-1" || strings.Join(got.ActionIDs, ",") != "sg-a,sg-b" || !got.Expires.Equal(c.Expires) {
		t.Errorf("round trip: %+v", got)
	}
	if err := s.Put(ctx, c); err == nil {
		t.Error("an existing approval was overwritten")
	}
	if _, err := s.Get(ctx, "apr-00000000000000000000000000000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown ref: %v", err)
	}
	if _, err := s.Get(ctx, "../../etc"); !errors.Is(err, ErrNotFound) {
		t.Errorf("malformed ref: %v", err)
	}

	var _ DynamoAPI = s.DB
	fresh, err := s.Claim(ctx, "sig-1", clock.Add(6*time.Minute))
	if err != nil || !fresh {
		t.Fatalf("first claim: %v %v", fresh, err)
	}
	if fresh, err := s.Claim(ctx, "sig-1", clock.Add(6*time.Minute)); err != nil || fresh {
		t.Fatalf("second claim: fresh=%v err=%v, want a replay", fresh, err)
	}
	if fresh, _ := s.Claim(ctx, "sig-2", clock.Add(6*time.Minute)); !fresh {
		t.Error("another key was refused")
	}
	clock = clock.Add(7 * time.Minute) // past the entry, TTL not yet run: claimable again
	if fresh, err := s.Claim(ctx, "sig-1", clock.Add(6*time.Minute)); err != nil || !fresh {
		t.Errorf("claim after the entry's time: fresh=%v err=%v", fresh, err)
	}
}

// TestDecodeRequestMemberNameRule: a queue message with a member in another case or repeated is
// refused, naming it.
func TestDecodeRequestMemberNameRule(t *testing.T) {
	b, _ := json.Marshal(validRequest())
	good := string(b)
	for _, tc := range []struct{ name, body, field string }{
		{"ref case variant", strings.Replace(good, `"ref":`, `"Ref":"apr-ffffffffffffffffffffffffffffffff","ref":`, 1), "Ref"},
		{"duplicate kind", strings.Replace(good, `"kind":`, `"kind":"undo","kind":`, 1), "kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.body == good {
				t.Fatal("test body unchanged")
			}
			r, err := DecodeRequest([]byte(tc.body))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "request field "+tc.field) {
				t.Fatalf("DecodeRequest = %+v, %v; want ErrInvalid naming %s", r, err, tc.field)
			}
		})
	}
}
