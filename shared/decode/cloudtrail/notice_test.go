package cloudtrail

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var noticeAt = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

func healthEnv() NoticeEnvelope {
	return NoticeEnvelope{ID: "e1", Source: HealthSource, DetailType: "AWS Health Event", Account: "111122223333", Region: "us-east-1", Time: noticeAt}
}

func TestDecodeHealth(t *testing.T) {
	tests := []struct {
		name, detail string
		want         func(t *testing.T, e Event)
		wantErr      string
	}{
		{name: "user from the description", detail: `{"eventArn":"arn:aws:health:global::event/RISK/X/1","eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED",
			"startTime":"Mon, 04 May 2026 08:51:37 GMT","eventDescription":[{"latestDescription":"The key of IAM user mailer-app. was found."}],
			"affectedEntities":[{"entityValue":"AKIAEXAMPLELEAKED01"}]}`,
			want: func(t *testing.T, e Event) {
				p := e.Principal
				if p.Name != "mailer-app" || p.AccessKeyID != "AKIAEXAMPLELEAKED01" || p.Type != TypeIAMUser || p.ARN != "arn:aws:iam::111122223333:user/mailer-app" {
					t.Errorf("principal %+v", p)
				}
				if e.Notice.Keys[0].UserFrom != UserFromDescription || e.EventID != "arn:aws:health:global::event/RISK/X/1" {
					t.Errorf("notice %+v, id %s", e.Notice, e.EventID)
				}
				if !e.EventTime.Equal(time.Date(2026, 5, 4, 8, 51, 37, 0, time.UTC)) {
					t.Errorf("time %v", e.EventTime)
				}
			}},
		{name: "two keys: no user guessed, ForKey splits", detail: `{"eventTypeCode":"AWS_RISK_CREDENTIALS_COMPROMISED",
			"eventDescription":[{"latestDescription":"IAM user someone"}],
			"affectedEntities":[{"entityValue":"AKIAEXAMPLEKEY00001"},{"entityValue":"AKIAEXAMPLEKEY00002","awsAccountId":"444455556666"},{"entityValue":"AKIAEXAMPLEKEY00001"}]}`,
			want: func(t *testing.T, e Event) {
				if len(e.Notice.Keys) != 2 || e.Principal.Name != "" || e.EventID != "health:e1" || !e.EventTime.Equal(noticeAt) {
					t.Fatalf("%+v", e)
				}
				k := e.ForKey(1)
				if k.Principal.AccessKeyID != "AKIAEXAMPLEKEY00002" || k.Principal.AccountID != "444455556666" || len(k.Notice.Keys) != 1 || len(e.Notice.Keys) != 2 {
					t.Errorf("ForKey(1): %+v (original %d keys)", k.Principal, len(e.Notice.Keys))
				}
			}},
		{name: "other type", detail: `{"eventTypeCode":"AWS_EC2_OPERATIONAL_ISSUE"}`, wantErr: "not a notice"},
		{name: "no type", detail: `{"affectedEntities":[{"entityValue":"AKIAEXAMPLEKEY00001"}]}`, wantErr: "field eventTypeCode: missing"},
		{name: "entity missing", detail: `{"eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED","affectedEntities":[{}]}`, wantErr: "field affectedEntities[0].entityValue: missing"},
		{name: "entity wrong type", detail: `{"eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED","affectedEntities":[{"entityValue":7}]}`, wantErr: "field affectedEntities.entityValue: wrong JSON type"},
		{name: "lower-case key", detail: `{"eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED","affectedEntities":[{"entityValue":"akiaexamplekey00001"}]}`, wantErr: "is not an access key id"},
		{name: "duplicate member", detail: `{"eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED","eventTypeCode":"AWS_EC2_OPERATIONAL_ISSUE","affectedEntities":[{"entityValue":"AKIAEXAMPLEKEY00001"}]}`, wantErr: "eventTypeCode"},
		{name: "not an object", detail: `[1]`, wantErr: "want a JSON object"},
		{name: "null", detail: `null`, wantErr: "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := DecodeNotice([]byte(tt.detail), healthEnv())
			if tt.wantErr != "" {
				var fe *FieldError
				if err == nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want a *FieldError with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want(t, e)
		})
	}
}

func TestDecodeSESStatus(t *testing.T) {
	env := NoticeEnvelope{ID: "s1", Source: SESSource, DetailType: SESStatusDisabled, Account: "111122223333", Region: "eu-west-1", Time: noticeAt,
		Resources: []string{"arn:aws:ses:eu-west-1:111122223333:configuration-set/prod-outbound"}}
	e, err := DecodeNotice([]byte(`{"data":{"origin":"AWS_MANAGED","record":{"status":"DISABLED","cause":"`+strings.Repeat("x", 900)+`","lastUpdatedTimestamp":[2026,5,4,12,39,58]}}}`), env)
	if err != nil {
		t.Fatal(err)
	}
	if e.EventName != SESStatusDisabled || e.SendingEnabled == nil || *e.SendingEnabled || e.ConfigurationSet != "prod-outbound" ||
		e.Principal.Name != "ses.amazonaws.com" || e.EventID != "ses-status:s1" || !e.EventTime.Equal(time.Date(2026, 5, 4, 12, 39, 58, 0, time.UTC)) {
		t.Errorf("%+v", e)
	}
	if len(e.Notice.Cause) > maxCause+len("…") {
		t.Errorf("cause kept at %d bytes", len(e.Notice.Cause))
	}
	env.DetailType = SESStatusEnabled
	for detail, want := range map[string]string{
		`{"data":{"record":{"status":"DISABLED"}}}`:                                 `field data.record.status: "DISABLED" contradicts`,
		`{"data":{"record":{"lastUpdatedTimestamp":[2026,5]}}}`:                     "field data.record.lastUpdatedTimestamp: got [2026,5]",
		`{"data":{"record":{"lastUpdatedTimestamp":"soon"}}}`:                       `"soon" is not an RFC 3339 time`,
		`{"data":{"record":{"lastUpdatedTimestamp":[2026,5,4,25,0,0]}}}`:            "element 3 is 25",
		`{"data":{"record":{"lastUpdatedTimestamp":{"y":1}}}}`:                      "want [year, month",
		`{"data":{"origin":1}}`:                                                     "field data.origin: wrong JSON type",
		`{"data":{"record":{"status":"ENABLED"}},"data":{"record":{"status":"X"}}}`: "data",
	} {
		if _, err := DecodeNotice([]byte(detail), env); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", detail, err, want)
		}
	}
	env.Time, env.Resources = time.Time{}, nil
	if _, err := DecodeNotice([]byte(`{}`), env); err == nil || !strings.Contains(err.Error(), "missing, and the envelope has no time") {
		t.Errorf("no time: %v", err)
	}
}

// FuzzDecodeNotice: any detail either decodes to a notice naming only well-formed keys, or
// fails with a *FieldError; never a panic.
func FuzzDecodeNotice(f *testing.F) {
	files, _ := filepath.Glob("../../../events/notice/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		var ev struct {
			Source     string          `json:"source"`
			DetailType string          `json:"detail-type"`
			Detail     json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal(b, &ev); err != nil {
			f.Fatal(err)
		}
		f.Add(ev.Source == HealthSource, ev.DetailType == SESStatusEnabled, []byte(ev.Detail))
	}
	f.Add(true, false, []byte(`{"eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED","affectedEntities":[{"entityValue":"AKIAEXAMPLEKEY00001"}]}`))
	f.Fuzz(func(t *testing.T, health, enabled bool, detail []byte) {
		env := NoticeEnvelope{ID: "f", Source: SESSource, DetailType: SESStatusDisabled, Time: noticeAt}
		if health {
			env.Source = HealthSource
		} else if enabled {
			env.DetailType = SESStatusEnabled
		}
		e, err := DecodeNotice(detail, env)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a *FieldError", err, err)
			}
			return
		}
		if e.Notice == nil || e.EventName == "" || e.EventID == "" || e.EventTime.IsZero() {
			t.Fatalf("incomplete notice %+v", e)
		}
		if health {
			if len(e.Notice.Keys) == 0 || e.Principal.AccessKeyID != e.Notice.Keys[0].AccessKeyID {
				t.Fatalf("health notice without its key: %+v", e)
			}
			for _, k := range e.Notice.Keys {
				if !accessKeyID().MatchString(k.AccessKeyID) {
					t.Fatalf("key %q kept", k.AccessKeyID)
				}
			}
		} else if e.SendingEnabled == nil || *e.SendingEnabled != enabled {
			t.Fatalf("sending status %v, want enabled=%t", e.SendingEnabled, enabled)
		}
	})
}
