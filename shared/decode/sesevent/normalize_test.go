package sesevent

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeRecordNormalises(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, ev Event)
	}{
		{
			name: "smtp send via VPC endpoint",
			in: `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27.418Z","source":"billing@mail.example.com",
				"sourceArn":"arn:aws:ses:eu-west-1:111122223333:identity/mail.example.com","sendingAccountId":"111122223333",
				"messageId":"m-1","destination":["customer@example.net"],"headersTruncated":false,
				"commonHeaders":{"from":["Example Billing <billing@mail.example.com>"],"subject":"Your invoice"},
				"tags":{"ses:operation":["SendRawEmail"],"ses:configuration-set":["prod-outbound"],"ses:source-ip":["10.20.3.41"],
				"ses:source-tls-version":["TLSv1.3"],"ses:from-domain":["Mail.Example.com"],"ses:caller-identity":["ses-smtp-user.20260112-101500"]}},"send":{}}`,
			check: func(t *testing.T, ev Event) {
				want := Event{
					Type: TypeSend, MessageID: "m-1",
					MailTime:  time.Date(2026, 5, 4, 9, 15, 27, 418e6, time.UTC),
					EventTime: time.Date(2026, 5, 4, 9, 15, 27, 418e6, time.UTC),
					Account:   "111122223333", Region: "eu-west-1",
					CallerIdentity: "ses-smtp-user.20260112-101500", SourceIP: netip.MustParseAddr("10.20.3.41"),
					Operation: "SendRawEmail", ConfigurationSet: "prod-outbound",
					IdentityArn: "arn:aws:ses:eu-west-1:111122223333:identity/mail.example.com", Identity: "mail.example.com",
					Source:     "billing@mail.example.com",
					From:       []Address{{Name: "Example Billing", Address: "billing@mail.example.com"}},
					FromDomain: "mail.example.com", Recipients: []string{"customer@example.net"},
					Subject: "Your invoice", TLSVersion: "TLSv1.3",
				}
				ev.Tags = nil
				if !reflect.DeepEqual(ev, want) {
					t.Errorf("got  %+v\nwant %+v", ev, want)
				}
			},
		},
		{
			name: "legacy bounce with legacy timestamp and no tags",
			in: `{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General",
				"bouncedRecipients":[{"emailAddress":"gone@example.org"}],"timestamp":"2026-05-04T09:20:11 +0000","feedbackId":"f"},
				"mail":{"timestamp":"2026-05-04T09:20:09.512Z","source":"Ops <noreply@Mail.Example.com>","sourceIp":"10.20.3.41",
				"callerIdentity":"ses-smtp-user.20260112-101500","messageId":"m-2"}}`,
			check: func(t *testing.T, ev Event) {
				if !ev.Legacy || ev.Type != TypeBounce {
					t.Errorf("type %q legacy %v", ev.Type, ev.Legacy)
				}
				if ev.CallerIdentity != "ses-smtp-user.20260112-101500" || ev.SourceIP != netip.MustParseAddr("10.20.3.41") {
					t.Errorf("attribution %q %v", ev.CallerIdentity, ev.SourceIP)
				}
				if !ev.EventTime.Equal(time.Date(2026, 5, 4, 9, 20, 11, 0, time.UTC)) {
					t.Errorf("event time %v", ev.EventTime)
				}
				if want := (&BounceDetail{Type: "Permanent", SubType: "General", Recipients: []string{"gone@example.org"}}); !reflect.DeepEqual(ev.Bounce, want) {
					t.Errorf("bounce %+v", ev.Bounce)
				}
				if len(ev.From) != 1 || ev.From[0] != (Address{Name: "Ops", Address: "noreply@Mail.Example.com"}) || ev.FromDomain != "mail.example.com" {
					t.Errorf("from %+v domain %q", ev.From, ev.FromDomain)
				}
				if ev.Account != "" || ev.Region != "" {
					t.Errorf("account/region invented: %q %q", ev.Account, ev.Region)
				}
			},
		},
		{
			name: "unparseable From is kept whole, never fails the record",
			in:   `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m-3","commonHeaders":{"from":["\"Bank <ceo@evil.example>\" <<broken"]},"tags":{"ses:source-ip":["not-an-ip"]}},"send":{}}`,
			check: func(t *testing.T, ev Event) {
				if len(ev.From) != 1 || ev.From[0].Name != "" || ev.From[0].Address != `"Bank <ceo@evil.example>" <<broken` {
					t.Errorf("from %+v", ev.From)
				}
				if ev.SourceIP.IsValid() {
					t.Errorf("source ip %v should be invalid", ev.SourceIP)
				}
				if ev.CallerIdentity != "" {
					t.Errorf("caller %q", ev.CallerIdentity)
				}
			},
		},
		{
			name: "headersTruncated as string, IPv4-mapped source IP",
			in:   `{"eventType":"Rendering Failure","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m-4","headersTruncated":"true","tags":{"ses:source-ip":["::ffff:203.0.113.77"]}},"failure":{"templateName":"t","errorMessage":"e"}}`,
			check: func(t *testing.T, ev Event) {
				if ev.Type != TypeRenderingFailure || ev.SourceIP != netip.MustParseAddr("203.0.113.77") {
					t.Errorf("type %q ip %v", ev.Type, ev.SourceIP)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodeRecord([]byte(tt.in))
			if err != nil {
				t.Fatalf("DecodeRecord: %v", err)
			}
			tt.check(t, ev)
		})
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	tests := []struct {
		name, in, field, msg string
	}{
		{"missing mail", `{"eventType":"Send","send":{}}`, "mail", "missing"},
		{"missing message id", `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z"}}`, "mail.messageId", "missing"},
		{"missing type", `{"mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"}}`, "eventType", "missing"},
		{"unknown type", `{"eventType":"Teleport","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"}}`, "eventType", "unknown event type"},
		{"bad timestamp", `{"eventType":"Send","mail":{"timestamp":"yesterday","messageId":"m"}}`, "mail.timestamp", "unparseable time"},
		{"timestamp number", `{"eventType":"Send","mail":{"timestamp":5,"messageId":"m"}}`, "mail.timestamp", "got number, want string"},
		{"tags not arrays", `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","tags":{"ses:source-ip":"10.0.0.1"}}}`, "mail.tags", "got string, want array"},
		{"bad headersTruncated", `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m","headersTruncated":7}}`, "mail.headersTruncated", "want boolean"},
		{"bad bounce timestamp", `{"eventType":"Bounce","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m"},"bounce":{"timestamp":"soon"}}`, "bounce.timestamp", "unparseable time"},
		{"truncated", `{"eventType":"Send","mail":{"timest`, "", "unexpected end of JSON input"},
		{"string", `"{\"eventType\":\"Send\"}"`, "", "double-encoded"},
		{"array", `[{}]`, "", "want a JSON object, got a JSON array"},
		{"empty", ``, "", "empty input"},
		{"too big", `{"eventType":"Send","pad":"` + strings.Repeat("x", MaxRecordSize) + `"}`, "", "byte limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRecord([]byte(tt.in))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("want *DecodeError, got %T %v", err, err)
			}
			if de.Ref != "record" || de.Field != tt.field || !strings.Contains(de.Error(), tt.msg) {
				t.Errorf("got ref %q field %q %q; want field %q containing %q", de.Ref, de.Field, de.Error(), tt.field, tt.msg)
			}
		})
	}
}

func TestNormalizeEnvelopeHints(t *testing.T) {
	hint := Envelope{Account: "444455556666", Region: "us-east-1", Time: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)}
	r := &Record{EventType: "Send", Mail: &Mail{Timestamp: "2026-05-04T09:15:27Z", MessageID: "m"}}
	ev, err := Normalize(r, hint)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Account != hint.Account || ev.Region != hint.Region || !ev.EventTime.Equal(hint.Time) {
		t.Errorf("hints not used: %q %q %v", ev.Account, ev.Region, ev.EventTime)
	}
	// The record wins over the envelope: sendingAccountId and the identity ARN's region.
	r.Mail.SendingAccountID = "111122223333"
	r.Mail.SourceArn = "arn:aws:ses:eu-west-1:777788889999:identity/mail.example.com"
	ev, err = Normalize(r, hint)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Account != "111122223333" || ev.Region != "eu-west-1" || ev.Identity != "mail.example.com" {
		t.Errorf("record not preferred: %q %q %q", ev.Account, ev.Region, ev.Identity)
	}
	if _, err := Normalize(nil, hint); err == nil {
		t.Error("nil record accepted")
	}
}

func TestParseUTCTime(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"2026-05-04T00:00:00.102Z", true},
		{"2026-05-04T23:59:59Z", true},
		{"2024-02-29T12:00:00.123456789Z", true},
		{"0000-01-01T00:00:00.5Z", true},
		{"1969-12-31T23:59:59.999Z", true},
		{"2023-02-29T12:00:00Z", false},
		{"2026-05-04T24:00:00Z", false},
		{"2026-05-04T00:00:60Z", false},
		{"2026-05-04T00:00:00.Z", false},
		{"2026-05-04T00:00:00.1234567891Z", false},
		{"2026-05-04T00:00:00+00:00", false},
		{"2026-05-04 00:00:00Z", false},
		{"2026-5-04T00:00:00Z", false},
	} {
		got, ok := parseUTCTime(tc.in)
		if ok != tc.ok {
			t.Errorf("parseUTCTime(%q) ok = %v, want %v", tc.in, ok, tc.ok)
		}
		if ok {
			checkUTCTime(t, tc.in, got)
		}
	}
}

// checkUTCTime fails t unless got is what time.Parse gives for s.
func checkUTCTime(t *testing.T, s string, got time.Time) {
	t.Helper()
	want, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || got != want.UTC() {
		t.Fatalf("parseUTCTime(%q) = %v, time.Parse gives %v, %v", s, got, want.UTC(), err)
	}
}

// FuzzParseUTCTime: what parseUTCTime accepts, time.Parse(time.RFC3339Nano) parses to the same
// time (compared with ==, so also the same location).
func FuzzParseUTCTime(f *testing.F) {
	for _, s := range []string{"2026-05-04T00:00:00.102Z", "2024-02-29T12:00:00.123456789Z", "2026-05-04T23:59:59Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, ok := parseUTCTime(s); ok {
			checkUTCTime(t, s, got)
		}
	})
}
