package cloudtrail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sesguard/sesguard/shared/core/jsonstrict"
)

// AWS's own notices, decoded into the same Event as an API call so ingest, replay and
// containment need no second path: an AWS Health credentials-risk event names the exposed key
// (containment acts on that key), and SES's sending-status event says AWS paused or resumed
// sending. Their details are attacker-shaped input like any record (a replayed file, a custom
// bus): bad fields fail with the field named.

// EventBridge sources and detail-types of the notices.
const (
	HealthSource = "aws.health"
	SESSource    = "aws.ses"

	SESStatusDisabled = "Sending Status Disabled"
	SESStatusEnabled  = "Sending Status Enabled"
)

// The AWS Health event type codes about an access key that sesguard contains on.
const (
	HealthCredentialsExposed             = "AWS_RISK_CREDENTIALS_EXPOSED"
	HealthCredentialsCompromised         = "AWS_RISK_CREDENTIALS_COMPROMISED"
	HealthCredentialsExposureSuspected   = "AWS_RISK_CREDENTIALS_EXPOSURE_SUSPECTED"
	HealthCredentialsCompromiseSuspected = "AWS_RISK_CREDENTIALS_COMPROMISE_SUSPECTED"
)

// HealthCredentialsRisk reports whether code is one of the four credentials-risk event types.
func HealthCredentialsRisk(code string) bool {
	switch code {
	case HealthCredentialsExposed, HealthCredentialsCompromised, HealthCredentialsExposureSuspected, HealthCredentialsCompromiseSuspected:
		return true
	}
	return false
}

// ErrNotNotice is returned (in a *FieldError) for a well-formed notice sesguard does not judge:
// another AWS Health event type. Callers skip it by name, never fail it.
var ErrNotNotice = errors.New("not a notice sesguard judges")

// Where a Health key's user name came from.
const (
	// UserFromDescription: the Health event's description names the user ("IAM user NAME");
	// AWS's text, not resolved in IAM (replay). Containment still checks the key is the user's.
	UserFromDescription = "health-description"
	// UserFromIAM: IAM says the key is this user's (iam:GetAccessKeyLastUsed, in ingest).
	UserFromIAM = "iam"
)

// Notice is what a notice adds to Event.
type Notice struct {
	Source string `json:"source"` // HealthSource or SESSource
	// Health: the event ARN, category (issue, accountNotification, ...), status and every key
	// the event names; Event.Principal is Keys[0].
	EventARN string      `json:"event_arn,omitempty"`
	Category string      `json:"category,omitempty"`
	Status   string      `json:"status,omitempty"` // Health statusCode; SES record.status
	Keys     []KeyEntity `json:"keys,omitempty"`
	// SES sending status: who set it (AWS_MANAGED, CUSTOMER_MANAGED), why (SES's text,
	// truncated), and the entity it is about (a configuration set or tenant ARN; empty for the
	// account).
	Origin string `json:"origin,omitempty"`
	Cause  string `json:"cause,omitempty"`
	Entity string `json:"entity,omitempty"`
}

// KeyEntity is one access key an AWS Health event names, with its user once known.
type KeyEntity struct {
	AccessKeyID string `json:"access_key_id"`
	Account     string `json:"account,omitempty"`
	User        string `json:"user,omitempty"`
	UserFrom    string `json:"user_from,omitempty"` // UserFromIAM, UserFromDescription; "" unresolved
}

// NoticeEnvelope is what the EventBridge envelope of a notice says.
type NoticeEnvelope struct {
	ID, Source, DetailType, Account, Region string
	Time                                    time.Time
	Resources                               []string
}

// IsNotice reports whether an EventBridge event with this source and detail-type is a notice
// DecodeNotice decodes (or skips by name).
func IsNotice(source, detailType string) bool {
	return source == HealthSource || source == SESSource && (detailType == SESStatusDisabled || detailType == SESStatusEnabled)
}

// MaxHealthKeys bounds the keys one Health event may name.
const MaxHealthKeys = 100

// DecodeNotice decodes the detail of a notice (IsNotice). The error is a *FieldError whose Field
// is relative to the detail; errors.Is(err, ErrNotNotice) for Health events of other types.
func DecodeNotice(detail []byte, env NoticeEnvelope) (Event, error) {
	detail = bytes.TrimSpace(detail)
	switch {
	case len(detail) > MaxRecordSize:
		return Event{}, &FieldError{Err: fmt.Errorf("detail is %d bytes, more than the %d-byte limit", len(detail), MaxRecordSize)}
	case len(detail) == 0 || bytes.Equal(detail, []byte("null")):
		return Event{}, &FieldError{Err: errors.New("missing")}
	case detail[0] != '{':
		return Event{}, &FieldError{Err: fmt.Errorf("want a JSON object, got %s", truncate(detail, 40))}
	}
	if env.Source == HealthSource {
		return decodeHealth(detail, env)
	}
	return decodeSESStatus(detail, env)
}

type healthWire struct {
	EventARN          string  `json:"eventArn"`
	Service           string  `json:"service"`
	EventTypeCode     *string `json:"eventTypeCode"`
	EventTypeCategory string  `json:"eventTypeCategory"`
	StartTime         *string `json:"startTime"`
	StatusCode        string  `json:"statusCode"`
	AffectedAccount   string  `json:"affectedAccount"`
	EventDescription  []struct {
		Language          string `json:"language"`
		LatestDescription string `json:"latestDescription"`
	} `json:"eventDescription"`
	AffectedEntities []struct {
		EntityValue  *string `json:"entityValue"`
		AWSAccountID string  `json:"awsAccountId"`
	} `json:"affectedEntities"`
}

func strictDecode(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return jsonError(err)
	}
	// Duplicate or case-folded names: other readers of the event would see another value.
	if field, err := jsonstrict.Check(data, reflect.TypeOf(v).Elem()); err != nil {
		return &FieldError{Field: field, Err: err}
	}
	return nil
}

// accessKeyID is the shape of an IAM access key id (AKIA long-term, ASIA temporary; IAM allows
// 16 to 128 characters).
var accessKeyID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(AKIA|ASIA)[A-Z0-9]{12,124}$`) })

// descriptionUser finds "IAM user NAME" in a Health description (IAM user names are 1-64 of
// [A-Za-z0-9+=,.@_-]); a trailing full stop ends the sentence, not the name.
var descriptionUser = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\bIAM user(?: name)?[:\s]+"?([A-Za-z0-9+=,.@_-]{1,64})`)
})

func decodeHealth(detail []byte, env NoticeEnvelope) (Event, error) {
	var w healthWire
	if err := strictDecode(detail, &w); err != nil {
		return Event{}, err
	}
	if w.EventTypeCode == nil || *w.EventTypeCode == "" {
		return Event{}, fieldErr("eventTypeCode", "missing")
	}
	if !HealthCredentialsRisk(*w.EventTypeCode) {
		return Event{}, &FieldError{Field: "eventTypeCode", Err: fmt.Errorf("%w: AWS Health %q is not a credentials-risk event", ErrNotNotice, truncate([]byte(*w.EventTypeCode), 60))}
	}
	t := env.Time
	if w.StartTime != nil && *w.StartTime != "" {
		st, err := healthTime(*w.StartTime)
		if err != nil {
			return Event{}, &FieldError{Field: "startTime", Err: err}
		}
		t = st
	}
	if t.IsZero() {
		return Event{}, fieldErr("startTime", "missing, and the envelope has no time")
	}
	if len(w.AffectedEntities) == 0 {
		return Event{}, fieldErr("affectedEntities", "missing: the event names no access key")
	}
	if len(w.AffectedEntities) > MaxHealthKeys {
		return Event{}, fieldErr("affectedEntities", "%d entities, more than %d", len(w.AffectedEntities), MaxHealthKeys)
	}
	account := firstOf(env.Account, w.AffectedAccount)
	n := &Notice{Source: HealthSource, EventARN: w.EventARN, Category: w.EventTypeCategory, Status: w.StatusCode}
	for i, ent := range w.AffectedEntities {
		field := fmt.Sprintf("affectedEntities[%d].entityValue", i)
		if ent.EntityValue == nil || *ent.EntityValue == "" {
			return Event{}, fieldErr(field, "missing")
		}
		v := strings.TrimSpace(*ent.EntityValue)
		if !accessKeyID().MatchString(v) {
			return Event{}, fieldErr(field, "%q is not an access key id", truncate([]byte(v), 60))
		}
		if slicesContainsKey(n.Keys, v) {
			continue
		}
		n.Keys = append(n.Keys, KeyEntity{AccessKeyID: v, Account: firstOf(ent.AWSAccountID, w.AffectedAccount, account)})
	}
	// AWS's description names the key's user; with one key that name is the key's. It is only
	// a hint: ingest asks IAM, and containment checks the key is the user's before acting.
	if len(n.Keys) == 1 {
		for _, d := range w.EventDescription {
			if m := descriptionUser().FindStringSubmatch(d.LatestDescription); m != nil {
				n.Keys[0].User, n.Keys[0].UserFrom = strings.TrimRight(m[1], "."), UserFromDescription
				break
			}
		}
	}
	e := Event{
		EventID: firstOf(w.EventARN, "health:"+env.ID), EventTime: t.UTC(), EventName: *w.EventTypeCode,
		Category: "Notice", ReadOnly: true, Account: account, Region: env.Region, Notice: n,
	}
	e.SetKeyPrincipal(0)
	return e, nil
}

func slicesContainsKey(keys []KeyEntity, id string) bool {
	for _, k := range keys {
		if k.AccessKeyID == id {
			return true
		}
	}
	return false
}

// SetKeyPrincipal makes Principal the i-th key of a Health notice and its user (if known).
func (e *Event) SetKeyPrincipal(i int) {
	if e.Notice == nil || i < 0 || i >= len(e.Notice.Keys) {
		return
	}
	k := e.Notice.Keys[i]
	p := Principal{Type: TypeIAMUser, AccessKeyID: k.AccessKeyID, AccountID: k.Account, Name: k.User}
	if k.User != "" && k.Account != "" {
		p.ARN = "arn:aws:iam::" + k.Account + ":user/" + k.User
	}
	e.Principal = p
}

// ForKey returns a copy of a Health notice's event about its i-th key only (Principal that key),
// for rules that judge one key at a time.
func (e *Event) ForKey(i int) Event {
	c := *e
	if e.Notice != nil && i >= 0 && i < len(e.Notice.Keys) {
		n := *e.Notice
		n.Keys = []KeyEntity{e.Notice.Keys[i]}
		c.Notice = &n
		c.SetKeyPrincipal(0)
	}
	return c
}

// healthTime parses a Health time: RFC 1123 ("Sat, 05 Jun 2016 15:10:09 GMT", as AWS's examples
// show) or RFC 3339.
func healthTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC1123, time.RFC1123Z, time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 1123 nor an RFC 3339 time", truncate([]byte(s), 40))
}

type sesStatusWire struct {
	Version string `json:"version"`
	Data    *struct {
		Origin string `json:"origin"`
		Record *struct {
			Status               *string         `json:"status"`
			Cause                string          `json:"cause"`
			LastUpdatedTimestamp json.RawMessage `json:"lastUpdatedTimestamp"`
		} `json:"record"`
	} `json:"data"`
}

// maxCause bounds SES's cause text kept in a finding (StatusRecord.Cause is at most 512).
const maxCause = 512

func decodeSESStatus(detail []byte, env NoticeEnvelope) (Event, error) {
	var w sesStatusWire
	if err := strictDecode(detail, &w); err != nil {
		return Event{}, err
	}
	enabled := env.DetailType == SESStatusEnabled
	n := &Notice{Source: SESSource}
	t := env.Time
	if d := w.Data; d != nil {
		n.Origin = d.Origin
		if r := d.Record; r != nil {
			n.Cause = truncate([]byte(strings.TrimSpace(r.Cause)), maxCause)
			if r.Status != nil {
				n.Status = *r.Status
				// The detail-type says which way sending went; a record saying otherwise is not
				// one a reader can act on.
				if want := map[bool][]string{false: {"DISABLED"}, true: {"ENABLED", "REINSTATED"}}[enabled]; !contains(want, n.Status) {
					return Event{}, fieldErr("data.record.status", "%q contradicts detail-type %q", truncate([]byte(n.Status), 40), env.DetailType)
				}
			}
			if ts := bytes.TrimSpace(r.LastUpdatedTimestamp); len(ts) > 0 && !bytes.Equal(ts, []byte("null")) {
				lt, err := sesTimestamp(ts)
				if err != nil {
					return Event{}, &FieldError{Field: "data.record.lastUpdatedTimestamp", Err: err}
				}
				t = lt
			}
		}
	}
	if t.IsZero() {
		return Event{}, fieldErr("data.record.lastUpdatedTimestamp", "missing, and the envelope has no time")
	}
	e := Event{
		EventID: "ses-status:" + env.ID, EventTime: t.UTC(), EventName: env.DetailType, Category: "Notice",
		Account: env.Account, Region: env.Region, Notice: n, SendingEnabled: &enabled,
		Principal: Principal{Type: "AWSService"},
	}
	if n.Origin != "CUSTOMER_MANAGED" {
		e.Principal.Name = "ses.amazonaws.com" // SES's own enforcement (AWS-managed status)
	}
	for _, arn := range env.Resources {
		_, account, res := splitARN(arn)
		if account != "" && e.Account == "" {
			e.Account = account
		}
		if res == "" {
			continue
		}
		n.Entity = arn
		if name, ok := strings.CutPrefix(res, "configuration-set/"); ok {
			e.ConfigurationSet = name
		}
		break
	}
	return e, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// sesTimestamp parses SES's lastUpdatedTimestamp: an array [year, month, day, hour, minute,
// second, nanosecond] (as the tenants guide shows) or an RFC 3339 string.
func sesTimestamp(raw []byte) (time.Time, error) {
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, fmt.Errorf("not a JSON string: %w", err)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", truncate([]byte(s), 40))
		}
		return t, nil
	}
	var parts []int
	if err := json.Unmarshal(raw, &parts); err != nil || len(parts) < 6 || len(parts) > 7 {
		return time.Time{}, fmt.Errorf("got %s, want [year, month, day, hour, minute, second, nanosecond] or an RFC 3339 string", truncate(raw, 60))
	}
	parts = append(parts, 0)
	lim := [7][2]int{{1970, 9999}, {1, 12}, {1, 31}, {0, 23}, {0, 59}, {0, 60}, {0, 999999999}}
	for i, l := range lim {
		if parts[i] < l[0] || parts[i] > l[1] {
			return time.Time{}, fmt.Errorf("element %d is %d, out of range %d..%d", i, parts[i], l[0], l[1])
		}
	}
	return time.Date(parts[0], time.Month(parts[1]), parts[2], parts[3], parts[4], parts[5], parts[6], time.UTC), nil
}
