package cloudtrail

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixture returns the CloudTrail record inside an EventBridge fixture of events/cloudtrail.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "cloudtrail", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Detail json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(data, &ev); err != nil || ev.Detail == nil {
		t.Fatalf("%s: no detail: %v", name, err)
	}
	return ev.Detail
}

func TestDecodeFixtures(t *testing.T) {
	bools := func(b bool) *bool { return &b }
	cases := []struct {
		file string
		want Event
	}{
		{"eventbridge-get-send-quota.json", Event{
			EventID: "5a8f0e21-3c4b-4d6e-9f10-2a3b4c5d6e01", EventTime: time.Date(2026, 5, 4, 8, 58, 12, 0, time.UTC),
			EventSource: SESEventSource, EventName: "GetSendQuota", Category: CategoryManagement, ReadOnly: true, Account: "111122223333", Region: "eu-west-1",
			Principal: Principal{Type: TypeIAMUser, Name: "leaked-user", ARN: "arn:aws:iam::111122223333:user/leaked-user",
				AccessKeyID: "AKIAZX3LEAKEDUSER001", AccountID: "111122223333", PrincipalID: "AIDAZX3LEAKEDUSER0001"},
			SourceIP: netip.MustParseAddr("203.0.113.9"),
		}},
		{"eventbridge-create-email-identity.json", Event{
			EventID: "5a8f0e21-3c4b-4d6e-9f10-2a3b4c5d6e05", EventTime: time.Date(2026, 5, 4, 9, 3, 20, 0, time.UTC),
			EventSource: SESEventSource, EventName: "CreateEmailIdentity", Category: CategoryManagement, Account: "111122223333", Region: "eu-west-1",
			Principal: Principal{Type: TypeAssumedRole, Name: "ci-deploy-role", ARN: "arn:aws:iam::111122223333:role/ci-deploy-role",
				SessionARN: "arn:aws:sts::111122223333:assumed-role/ci-deploy-role/gh-actions-8812", SessionName: "gh-actions-8812",
				AccessKeyID: "ASIAZX3CIDEPLOYTMP01", AccountID: "111122223333", PrincipalID: "AROAZX3CIDEPLOYROLE01:gh-actions-8812"},
			SourceIP: netip.MustParseAddr("198.51.100.20"), Identity: "promo-mailer.example",
		}},
		{"eventbridge-update-account-sending-enabled.json", Event{
			EventID: "5a8f0e21-3c4b-4d6e-9f10-2a3b4c5d6e06", EventTime: time.Date(2026, 5, 4, 9, 4, 30, 0, time.UTC),
			EventSource: SESEventSource, EventName: "UpdateAccountSendingEnabled", Category: CategoryManagement, Account: "111122223333", Region: "eu-west-1",
			Principal: Principal{Type: TypeIAMUser, Name: "leaked-user", ARN: "arn:aws:iam::111122223333:user/leaked-user",
				AccessKeyID: "AKIAZX3LEAKEDUSER001", AccountID: "111122223333", PrincipalID: "AIDAZX3LEAKEDUSER0001"},
			SourceIP: netip.MustParseAddr("203.0.113.9"), SendingEnabled: bools(true),
		}},
		{"eventbridge-put-account-details.json", Event{
			EventID: "5a8f0e21-3c4b-4d6e-9f10-2a3b4c5d6e04", EventTime: time.Date(2026, 5, 4, 9, 2, 11, 0, time.UTC),
			EventSource: SESEventSource, EventName: "PutAccountDetails", Category: CategoryManagement, Account: "111122223333", Region: "eu-west-1",
			Principal: Principal{Type: TypeIAMUser, Name: "leaked-user", ARN: "arn:aws:iam::111122223333:user/leaked-user",
				AccessKeyID: "AKIAZX3LEAKEDUSER001", AccountID: "111122223333", PrincipalID: "AIDAZX3LEAKEDUSER0001"},
			SourceIP: netip.MustParseAddr("203.0.113.9"), ProductionAccess: bools(true),
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got, err := Decode(fixture(t, c.file), Envelope{})
			if err != nil {
				t.Fatal(err)
			}
			got.UserAgent = "" // long; not compared
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(c.want)
			if string(g) != string(w) {
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
}

func TestDecodeDataEventAndVPCEndpoint(t *testing.T) {
	data, err := os.ReadFile("../../../events/cloudtrail/trail-log.json")
	if err != nil {
		t.Fatal(err)
	}
	var log struct{ Records []json.RawMessage }
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(log.Records[0], Envelope{}); !errors.Is(err, ErrNotSES) {
		t.Errorf("EC2 record: err %v, want ErrNotSES", err)
	}
	e, err := Decode(log.Records[1], Envelope{})
	if err != nil {
		t.Fatal(err)
	}
	if !e.IsSend() || e.Category != CategoryData || e.VPCEndpointID != "vpce-0c1d2e3f4a5b6c7d8" ||
		len(e.MessageIDs) != 1 || e.MessageIDs[0] != "0102018f3a6b4e2a-7d1c9b3e-2f4a-4b6c-8d0e-1a2b3c4d5e6f-000000" ||
		e.From != "noreply@mail.example.com" || e.ConfigurationSet != "prod-outbound" ||
		e.Principal.Name != "mailer-task-role" || e.Principal.AccessKeyID != "ASIAZX3MAILERTASK001" {
		t.Errorf("data event decoded as %+v", e)
	}
}

// base is a minimal good record; cases change one member.
const base = `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/ops/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLEALICE0001"},` +
	`"eventTime":"2026-05-04T08:58:12Z","eventSource":"ses.amazonaws.com","eventName":"GetAccount","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.9","eventID":"e1"}`

func with(member, value string) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		panic(err)
	}
	if value == "" {
		delete(m, member)
	} else {
		m[member] = json.RawMessage(value)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestDecodeCases(t *testing.T) {
	cases := []struct {
		name, in string
		field    string // want a *FieldError for this field ("-": no error)
		msg      string
		check    func(*testing.T, Event)
	}{
		{name: "good, user name from the ARN with a path", in: base, field: "-", check: func(t *testing.T, e Event) {
			if e.Principal.Name != "alice" || e.Account != "111122223333" {
				t.Errorf("principal %+v account %q", e.Principal, e.Account)
			}
		}},
		{name: "ipv6", in: with("sourceIPAddress", `"2001:db8::7"`), field: "-", check: func(t *testing.T, e Event) {
			if e.SourceIP != netip.MustParseAddr("2001:db8::7") {
				t.Errorf("ip %v", e.SourceIP)
			}
		}},
		{name: "ipv4-mapped ipv6 is unmapped", in: with("sourceIPAddress", `"::ffff:203.0.113.9"`), field: "-", check: func(t *testing.T, e Event) {
			if e.SourceIP != netip.MustParseAddr("203.0.113.9") {
				t.Errorf("ip %v", e.SourceIP)
			}
		}},
		{name: "service host is not an address", in: with("sourceIPAddress", `"ses.amazonaws.com"`), field: "-", check: func(t *testing.T, e Event) {
			if e.SourceIP.IsValid() || e.SourceHost != "ses.amazonaws.com" {
				t.Errorf("ip %v host %q", e.SourceIP, e.SourceHost)
			}
		}},
		{name: "AWS Internal", in: with("sourceIPAddress", `"AWS Internal"`), field: "-", check: func(t *testing.T, e Event) {
			if e.SourceIP.IsValid() || e.SourceHost != "AWS Internal" {
				t.Errorf("ip %v host %q", e.SourceIP, e.SourceHost)
			}
		}},
		{name: "root", in: with("userIdentity", `{"type":"Root","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","accessKeyId":"ASIAROOTSESSION00001"}`), field: "-",
			check: func(t *testing.T, e Event) {
				if e.Principal.Name != "root" || e.Principal.Type != TypeRoot {
					t.Errorf("principal %+v", e.Principal)
				}
			}},
		{name: "assumed role without session issuer", in: with("userIdentity", `{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/mailer/s1","accessKeyId":"ASIAX"}`), field: "-",
			check: func(t *testing.T, e Event) {
				if e.Principal.Name != "mailer" || e.Principal.ARN != "arn:aws:iam::111122223333:role/mailer" || e.Principal.SessionName != "s1" {
					t.Errorf("principal %+v", e.Principal)
				}
			}},
		{name: "envelope fills account and region", in: with("awsRegion", ""), field: "-", check: func(t *testing.T, e Event) {
			if e.Region != "us-east-1" {
				t.Errorf("region %q", e.Region)
			}
		}},
		{name: "several message ids", in: with("additionalEventData", `{"sesMessageId":["a","b"]}`), field: "-", check: func(t *testing.T, e Event) {
			if len(e.MessageIDs) != 2 {
				t.Errorf("ids %v", e.MessageIDs)
			}
		}},
		{name: "identity and set from resources", in: with("resources", `[{"type":"AWS::SES::EmailIdentity","ARN":"arn:aws:ses:eu-west-1:111122223333:identity/mail.example.com"},`+
			`{"type":"AWS::SES::ConfigurationSet","ARN":"arn:aws:ses:eu-west-1:111122223333:configuration-set/prod-outbound"},{"type":"AWS::SES::Template","ARN":"arn:aws:ses:eu-west-1:111122223333:template/t"}]`), field: "-",
			check: func(t *testing.T, e Event) {
				if e.Identity != "mail.example.com" || e.ConfigurationSet != "prod-outbound" {
					t.Errorf("identity %q set %q", e.Identity, e.ConfigurationSet)
				}
			}},
		{name: "resources of other types", in: with("resources", `[{"type":"AWS::SES::Template","ARN":"arn:aws:ses:eu-west-1:111122223333:template/t"},{"type":"AWS::SES::EmailIdentity","ARN":"not-an-arn"}]`), field: "-",
			check: func(t *testing.T, e Event) {
				if e.Identity != "" || e.ConfigurationSet != "" {
					t.Errorf("identity %q set %q", e.Identity, e.ConfigurationSet)
				}
			}},
		{name: "resources wrong type", in: with("resources", `{"type":"AWS::SES::EmailIdentity"}`), field: "resources", msg: "wrong JSON type"},
		{name: "bad address", in: with("sourceIPAddress", `"10.0.0.256"`), field: "sourceIPAddress", msg: "not an IP address"},
		{name: "address wrong type", in: with("sourceIPAddress", `12`), field: "sourceIPAddress", msg: "wrong JSON type"},
		{name: "no eventSource", in: with("eventSource", ""), field: "eventSource", msg: "missing"},
		{name: "other service", in: with("eventSource", `"s3.amazonaws.com"`), field: "eventSource", msg: "not an SES record"},
		{name: "no eventName", in: with("eventName", `""`), field: "eventName", msg: "missing"},
		{name: "bad time", in: with("eventTime", `"2026-13-01T00:00:00Z"`), field: "eventTime", msg: "RFC 3339"},
		{name: "no userIdentity", in: with("userIdentity", ""), field: "userIdentity", msg: "missing"},
		{name: "userIdentity array", in: with("userIdentity", `[]`), field: "userIdentity", msg: "wrong JSON type"},
		{name: "session issuer wrong type", in: with("userIdentity", `{"type":"AssumedRole","sessionContext":{"sessionIssuer":"x"}}`), field: "userIdentity.sessionContext.sessionIssuer", msg: "wrong JSON type"},
		{name: "productionAccessEnabled wrong", in: with("requestParameters", `{"productionAccessEnabled":1}`), field: "requestParameters.productionAccessEnabled", msg: "want a boolean"},
		{name: "not JSON", in: `nope`, field: "", msg: "want a JSON object"},
		{name: "truncated", in: base[:40], field: "", msg: "JSON"},
		{name: "empty", in: ``, field: "", msg: "empty input"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := Decode([]byte(c.in), Envelope{Account: "999999999999", Region: "us-east-1"})
			if c.field == "-" {
				if err != nil {
					t.Fatal(err)
				}
				c.check(t, e)
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err %v (%T), want a *FieldError", err, err)
			}
			if fe.Field != c.field || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("err %q field %q, want field %q and %q", err, fe.Field, c.field, c.msg)
			}
		})
	}
}

// FuzzDecode: no input panics; an error is always a *FieldError; a decoded record has an event
// name and time, and a valid SourceIP is never also a host.
//
//	go test -run='^$' -fuzz='^FuzzDecode$' -fuzztime=60s -parallel=1 ./shared/decode/cloudtrail/
func FuzzDecode(f *testing.F) {
	f.Add([]byte(base))
	for _, v := range []string{`"10.0.0.256"`, `"::1"`, `"AWS Internal"`, `null`, `{}`} {
		f.Add([]byte(with("sourceIPAddress", v)))
	}
	f.Add([]byte(with("additionalEventData", `{"sesMessageId":["a",1]}`)))
	f.Add([]byte(with("requestParameters", `{"enabled":"true","sendingEnabled":false}`)))
	f.Add([]byte(`{"eventSource":"ec2.amazonaws.com","EventSource":"ses.amazonaws.com",` + base[1:]))
	f.Add([]byte(strings.Replace(base, `"eventName"`, `"eventName":"SendEmail","eventName"`, 1)))
	files, _ := filepath.Glob("../../../events/cloudtrail/eventbridge-*.json")
	for _, p := range files {
		f.Add(fixture(f, filepath.Base(p)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Decode(data, Envelope{})
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a *FieldError", err, err)
			}
			return
		}
		if e.EventName == "" || e.EventTime.IsZero() {
			t.Fatalf("decoded without name or time: %+v", e)
		}
		if e.SourceIP.IsValid() && e.SourceHost != "" {
			t.Fatalf("both address %v and host %q", e.SourceIP, e.SourceHost)
		}
	})
}

// TestDecodeMemberNameRule: member names are exact-case and appear once (shared/core/jsonstrict), so
// a record reads the same to sesguard as to any other reader of the trail: encoding/json alone
// would take "EventSource" for eventSource and keep the last of two.
func TestDecodeMemberNameRule(t *testing.T) {
	for _, tc := range []struct{ name, rec, field, err string }{
		{"case-variant source", `{"eventSource":"ec2.amazonaws.com","EventSource":"ses.amazonaws.com",` + base[1:], "EventSource", "another case"},
		{"duplicate source", strings.Replace(base, `"eventSource":"ses.amazonaws.com"`, `"eventSource":"ec2.amazonaws.com","eventSource":"ses.amazonaws.com"`, 1), "eventSource", "duplicate"},
		{"duplicate key id", strings.Replace(base, `"accessKeyId":"AKIAEXAMPLEALICE0001"`, `"accessKeyId":"AKIAEXAMPLEALICE0001","accessKeyId":"AKIAOTHER"`, 1), "userIdentity.accessKeyId", "duplicate"},
		{"case-variant arn", strings.Replace(base, `"arn":"arn:aws:iam::111122223333:user/ops/alice"`, `"arn":"arn:aws:iam::111122223333:user/ops/alice","ARN":"arn:aws:iam::111122223333:user/deploy"`, 1), "userIdentity.ARN", "another case"},
		{"duplicate resource arn", with("resources", `[{"type":"AWS::SES::EmailIdentity","ARN":"arn:aws:ses:eu-west-1:111122223333:identity/a.example","ARN":"arn:aws:ses:eu-west-1:111122223333:identity/b.example"}]`), "resources[0].ARN", "duplicate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Decode([]byte(tc.rec), Envelope{})
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Decode = %+v, %v; want a *FieldError for %s (%s)", e, err, tc.field, tc.err)
			}
		})
	}
}
