package sesevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"net/netip"
	"reflect"
	"strings"
	"time"

	"github.com/sesguard/sesguard/shared/core/jsonstrict"
)

// Auto-tags SES adds to mail.tags (values are arrays).
const (
	TagCallerIdentity   = "ses:caller-identity"
	TagSourceIP         = "ses:source-ip"
	TagFromDomain       = "ses:from-domain"
	TagConfigurationSet = "ses:configuration-set"
	TagOperation        = "ses:operation"
	TagSourceTLSVersion = "ses:source-tls-version"
)

// DecodeRecord decodes one bare SES record (event publishing or legacy notification). Errors are
// *DecodeError with Ref "record".
func DecodeRecord(data []byte) (Event, error) {
	ev, field, err := decodeRecord(data, Envelope{})
	if err != nil {
		return Event{}, &DecodeError{Ref: "record", Field: field, Err: err}
	}
	return ev, nil
}

// decodeRecord parses and normalises one SES record, returning the failing field path on error.
func decodeRecord(data []byte, env Envelope) (Event, string, error) {
	if ev, ok := fastDecodeRecord(bytes.TrimSpace(data), env); ok {
		return ev, "", nil
	}
	return decodeRecordSlow(data, env)
}

// decodeRecordSlow is decodeRecord with encoding/json only.
func decodeRecordSlow(data []byte, env Envelope) (Event, string, error) {
	var r wireRecord
	if field, err := unmarshalObject(data, &r); err != nil {
		return Event{}, field, err
	}
	ev, err := Normalize(r.record(), env)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			return Event{}, de.Field, de.Err
		}
		return Event{}, "", err
	}
	return ev, "", nil
}

// unmarshalObject decodes a JSON object into v with the size cap, turning encoding/json errors
// into a field path and a short reason.
func unmarshalObject(data []byte, v any) (string, error) {
	data = bytes.TrimSpace(data)
	if len(data) > MaxRecordSize {
		return "", fmt.Errorf("record is %d bytes, more than the %d-byte limit", len(data), MaxRecordSize)
	}
	if len(data) == 0 {
		return "", errors.New("empty input, want a JSON object")
	}
	if data[0] != '{' {
		return "", fmt.Errorf("want a JSON object, got %s", describeJSON(data))
	}
	if err := json.Unmarshal(data, v); err != nil {
		return jsonErrorField(err), jsonError(err)
	}
	// encoding/json folds case and keeps the last duplicate; the fast path and other readers do
	// neither, so such input is an error rather than one reading among several.
	return jsonstrict.Check(data, reflect.TypeOf(v))
}

// strictError is a jsonstrict.Check failure at field.
type strictError struct {
	field string
	err   error
}

func (e *strictError) Error() string { return e.field + ": " + e.err.Error() }

// describeJSON names the kind of value data starts with, for error messages.
func describeJSON(data []byte) string {
	switch {
	case data[0] == '"':
		return "a JSON string (double-encoded JSON?)"
	case data[0] == '[':
		return "a JSON array"
	case bytes.HasPrefix(data, []byte("true")) || bytes.HasPrefix(data, []byte("false")):
		return "a JSON boolean"
	case bytes.HasPrefix(data, []byte("null")):
		return "JSON null"
	case data[0] == '-' || data[0] >= '0' && data[0] <= '9':
		return "a JSON number"
	}
	return fmt.Sprintf("non-JSON text %q", truncate(data, 40))
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

func jsonErrorField(err error) string {
	var se *strictError
	if errors.As(err, &se) {
		return se.field
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		// message embeds wireRecord; its name is not part of the JSON path.
		return strings.TrimPrefix(te.Field, "wireRecord.")
	}
	return ""
}

// jsonError shortens encoding/json errors: the field path is reported separately.
func jsonError(err error) error {
	var strict *strictError
	if errors.As(err, &strict) {
		return strict.err
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("wrong JSON type: got %s, want %s", te.Value, jsonTypeName(te.Type.String()))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || err.Error() == "unexpected end of JSON input" {
		return fmt.Errorf("truncated JSON: %w", err)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %w", se.Offset, err)
	}
	return err
}

func jsonTypeName(goType string) string {
	switch {
	case goType == "string" || goType == "*string":
		return "string"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	case goType == "bool" || goType == "sesevent.FlexBool":
		return "boolean or \"true\"/\"false\""
	case strings.HasPrefix(goType, "map[") || strings.HasPrefix(goType, "sesevent.") || strings.HasPrefix(goType, "*sesevent.") || strings.HasPrefix(goType, "struct"):
		return "object"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "float"):
		return "number"
	}
	return goType
}

// Normalize turns a decoded record into an Event. hint is what the transport knows (account,
// region, time); the record's own values win. Required: `mail`, `mail.messageId`,
// `mail.timestamp` (RFC 3339 or the legacy "2006-01-02T15:04:05 -0700" form) and a known
// `eventType` (or legacy `notificationType`). Errors are *DecodeError with Ref "record".
func Normalize(r *Record, hint Envelope) (Event, error) { return normalize(r, hint, nil, nil) }

// Indexes of the auto-tags Normalize reads, in knownTags.
const (
	kCallerIdentity = iota
	kSourceIP
	kFromDomain
	kConfigurationSet
	kOperation
	kSourceTLSVersion
	numKnownTags
)

// knownTags holds tag(r.Mail.Tags, name) of each auto-tag Normalize reads, when the decoder has
// captured them while building the map (saving the lookups); nil means look them up.
type knownTags [numKnownTags]string

// normalize is Normalize with the auto-tags already captured (kt, nil: look them up) and the
// fast path's state (st, nil: none) remembering what was derived from values that repeat.
func normalize(r *Record, hint Envelope, kt *knownTags, st *fastState) (Event, error) {
	fail := func(field string, format string, args ...any) (Event, error) {
		return Event{}, &DecodeError{Ref: "record", Field: field, Err: fmt.Errorf(format, args...)}
	}
	if r == nil {
		return fail("", "nil record")
	}
	var ev Event
	switch {
	case r.EventType != "":
		t, ok := knownType(r.EventType)
		if !ok {
			return fail("eventType", "unknown event type %q", truncate([]byte(r.EventType), 40))
		}
		ev.Type = t
	case r.NotificationType != "":
		switch t := Type(r.NotificationType); t {
		case TypeBounce, TypeComplaint, TypeDelivery:
			ev.Type, ev.Legacy = t, true
		default:
			return fail("notificationType", "unknown notification type %q", truncate([]byte(r.NotificationType), 40))
		}
	default:
		return fail("eventType", "missing (neither eventType nor notificationType is set)")
	}
	m := r.Mail
	if m == nil {
		return fail("mail", "missing")
	}
	if m.MessageID == "" {
		return fail("mail.messageId", "missing")
	}
	if m.Timestamp == "" {
		return fail("mail.timestamp", "missing")
	}
	mt, err := parseTime(m.Timestamp)
	if err != nil {
		return fail("mail.timestamp", "%v", err)
	}
	ev.MessageID = m.MessageID
	ev.MailTime = mt

	ev.IdentityArn = m.SourceArn
	arnRegion, arnAccount, identity := st.identityARN(m.SourceArn)
	ev.Identity = identity
	ev.Region = firstNonEmpty(arnRegion, hint.Region)
	ev.Account = firstNonEmpty(m.SendingAccountID, hint.Account, arnAccount)

	ev.Tags = m.Tags
	if kt == nil {
		kt = &knownTags{tag(m.Tags, TagCallerIdentity), tag(m.Tags, TagSourceIP), tag(m.Tags, TagFromDomain),
			tag(m.Tags, TagConfigurationSet), tag(m.Tags, TagOperation), tag(m.Tags, TagSourceTLSVersion)}
	}
	ev.CallerIdentity = firstNonEmpty(kt[kCallerIdentity], m.CallerIdentity)
	ev.SourceIP = st.parseIP(firstNonEmpty(kt[kSourceIP], m.SourceIP))
	ev.Operation = kt[kOperation]
	ev.ConfigurationSet = kt[kConfigurationSet]
	ev.TLSVersion = kt[kSourceTLSVersion]
	ev.Source = m.Source
	ev.Recipients = m.Destination

	var from []string
	if m.CommonHeaders != nil {
		from = m.CommonHeaders.From
		ev.Subject = m.CommonHeaders.Subject
	}
	if len(from) == 0 && m.Source != "" {
		from = []string{m.Source}
	}
	ev.From = st.parseFrom(from)
	ev.FromDomain = strings.ToLower(kt[kFromDomain])
	if ev.FromDomain == "" && len(ev.From) > 0 {
		if at := strings.LastIndexByte(ev.From[0].Address, '@'); at >= 0 {
			ev.FromDomain = strings.ToLower(strings.TrimRight(ev.From[0].Address[at+1:], ">"))
		}
	}

	field, ts, err := typeDetails(r, &ev, st)
	if err != nil {
		return fail(field, "%v", err)
	}
	ev.EventTime = ts
	if ev.EventTime.IsZero() {
		ev.EventTime = hint.Time
	}
	if ev.EventTime.IsZero() {
		ev.EventTime = mt
	}
	return ev, nil
}

// typeDetails fills the per-type details and returns the event object's timestamp, if any. A
// missing event object is tolerated (the type alone still counts for rates); Bounce, Complaint and
// Delivery details are always non-nil for their types so rate rules need no nil checks.
func typeDetails(r *Record, ev *Event, st *fastState) (field string, ts time.Time, err error) {
	var raw, name string
	switch ev.Type {
	case TypeBounce:
		ev.Bounce = &BounceDetail{}
		if b := r.Bounce; b != nil {
			ev.Bounce.Type, ev.Bounce.SubType = b.BounceType, b.BounceSubType
			for _, rc := range b.BouncedRecipients {
				ev.Bounce.Recipients = append(ev.Bounce.Recipients, rc.EmailAddress)
			}
			raw, name = b.Timestamp, "bounce.timestamp"
		}
	case TypeComplaint:
		ev.Complaint = &ComplaintDetail{}
		if c := r.Complaint; c != nil {
			ev.Complaint.FeedbackType = c.ComplaintFeedbackType
			if c.ComplaintSubType != nil {
				ev.Complaint.SubType = *c.ComplaintSubType
			}
			for _, rc := range c.ComplainedRecipients {
				ev.Complaint.Recipients = append(ev.Complaint.Recipients, rc.EmailAddress)
			}
			raw, name = c.Timestamp, "complaint.timestamp"
		}
	case TypeDelivery:
		ev.Delivery = st.delivery()
		if d := r.Delivery; d != nil {
			ev.Delivery.Recipients = d.Recipients
			ev.Delivery.ProcessingTimeMillis = d.ProcessingTimeMillis
			ev.Delivery.SMTPResponse = d.SMTPResponse
			raw, name = d.Timestamp, "delivery.timestamp"
		}
	case TypeReject:
		if r.Reject != nil {
			ev.Reject = r.Reject.Reason
		}
	case TypeOpen:
		if r.Open != nil {
			raw, name = r.Open.Timestamp, "open.timestamp"
		}
	case TypeClick:
		if r.Click != nil {
			raw, name = r.Click.Timestamp, "click.timestamp"
		}
	case TypeDeliveryDelay:
		if r.DeliveryDelay != nil {
			raw, name = r.DeliveryDelay.Timestamp, "deliveryDelay.timestamp"
		}
	case TypeSubscription:
		if r.Subscription != nil {
			raw, name = r.Subscription.Timestamp, "subscription.timestamp"
		}
	}
	if raw == "" {
		return "", time.Time{}, nil
	}
	t, err := parseTime(raw)
	if err != nil {
		return name, time.Time{}, err
	}
	return "", t, nil
}

func knownType(s string) (Type, bool) {
	switch t := Type(s); t {
	case TypeSend, TypeReject, TypeBounce, TypeComplaint, TypeDelivery, TypeOpen, TypeClick,
		TypeRenderingFailure, TypeDeliveryDelay, TypeSubscription:
		return t, true
	}
	return "", false
}

// parseTime accepts RFC 3339 (what event publishing writes) and the legacy documentation form
// "2018-10-08T14:05:45 +0000", with or without fractional seconds. Results are in UTC.
func parseTime(s string) (time.Time, error) {
	if t, ok := parseUTCTime(s); ok {
		return t, nil
	}
	layouts := [...]string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999 -0700",
		"2006-01-02T15:04:05.999999999-0700",
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unparseable time %q (want RFC 3339)", truncate([]byte(s), 40))
}

// parseUTCTime parses what SES writes, "2006-01-02T15:04:05.999Z" (any fraction of up to nine
// digits, or none), to what time.Parse(time.RFC3339Nano, s) gives, in UTC, without its
// generality; ok is false for anything else. FuzzParseUTCTime checks the equivalence.
func parseUTCTime(s string) (time.Time, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") || s[len(s)-1] != 'Z' ||
		s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(b string) (int, bool) {
		n := 0
		for i := 0; i < len(b); i++ {
			c := b[i] - '0'
			if c > 9 {
				return 0, false
			}
			n = n*10 + int(c)
		}
		return n, true
	}
	year, ok1 := num(s[0:4])
	month, ok2 := num(s[5:7])
	day, ok3 := num(s[8:10])
	hour, ok4 := num(s[11:13])
	minute, ok5 := num(s[14:16])
	sec, ok6 := num(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := s[19 : len(s)-1]; frac != "" {
		if len(frac) < 2 || len(frac) > 10 || frac[0] != '.' {
			return time.Time{}, false
		}
		n, ok := num(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for i := len(frac); i < 10; i++ {
			n *= 10
		}
		nsec = n
	}
	unix := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec)
	return time.Unix(unix, int64(nsec)).UTC(), true
}

// daysIn is the number of days of month in year (proleptic Gregorian).
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to the date (year >= 0).
func daysFromCivil(year, month, day int) int64 {
	if month <= 2 {
		year--
	}
	era := year / 400
	if year < 0 {
		era = (year - 399) / 400
	}
	yoe := year - era*400
	mp := (month + 9) % 12
	doy := (153*mp+2)/5 + day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// parseIP returns the invalid Addr for absent or unparseable input; IPv4-mapped IPv6 addresses
// are unmapped so CIDR checks work.
func parseIP(s string) netip.Addr {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func tag(tags map[string][]string, key string) string {
	if v := tags[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// splitARN returns an ARN's region, account and resource parts ("" when s is not an ARN).
func splitARN(s string) (region, account, resource string) {
	rest, ok := strings.CutPrefix(s, "arn:")
	if !ok {
		return "", "", ""
	}
	var p [4]string // partition, service, region, account; rest is the resource
	for i := range p {
		if p[i], rest, ok = strings.Cut(rest, ":"); !ok {
			return "", "", ""
		}
	}
	return p[2], p[3], rest
}

// parseAddresses parses From header values with net/mail, keeping display name and address apart.
// A value net/mail rejects is kept whole as Address with an empty Name: the record is never failed
// for it, and an unparseable sender can never look like an approved address.
func parseAddresses(values []string) []Address {
	if len(values) == 0 {
		return nil
	}
	var p *mail.AddressParser
	out := make([]Address, 0, len(values))
	for _, v := range values {
		if a, ok := parseSimpleAddress(v); ok {
			out = append(out, a)
			continue
		}
		if p == nil {
			// Encoded words in charsets Go does not know are passed through undecoded rather than
			// failing the whole address.
			p = &mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: func(_ string, in io.Reader) (io.Reader, error) { return in, nil }}}
		}
		list, err := p.ParseList(v)
		if err != nil || len(list) == 0 {
			out = append(out, Address{Address: strings.ToValidUTF8(strings.TrimSpace(v), "\uFFFD")})
			continue
		}
		for _, a := range list {
			out = append(out, Address{Name: strings.ToValidUTF8(a.Name, "\uFFFD"), Address: a.Address})
		}
	}
	return out
}

// parseSimpleAddress parses the two shapes nearly every From value has — "local@domain" and
// "Display Name <local@domain>" — when they use only plain ASCII words (letters, digits and a few
// punctuation marks, single spaces, no quotes, comments or encoded words), giving exactly what
// net/mail gives for them without its allocations; ok is false for anything else.
// FuzzSimpleAddressMatchesNetMail checks the equivalence.
func parseSimpleAddress(v string) (Address, bool) {
	if len(v) > 0 && v[len(v)-1] == '>' {
		lt := strings.LastIndexByte(v, '<')
		if lt < 2 || v[lt-1] != ' ' {
			return Address{}, false
		}
		name, spec := v[:lt-1], v[lt+1:len(v)-1]
		if !simplePhrase(name) || !simpleAddrSpec(spec) {
			return Address{}, false
		}
		return Address{Name: name, Address: spec}, true
	}
	if !simpleAddrSpec(v) {
		return Address{}, false
	}
	return Address{Address: v}, true
}

// simplePhrase reports whether s is words of [A-Za-z0-9.'_-] separated by single spaces.
func simplePhrase(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isAlnum(c), c == '.', c == '\'', c == '_', c == '-':
		case c == ' ' && s[i-1] != ' ':
		default:
			return false
		}
	}
	return true
}

// simpleAddrSpec reports whether s is local@domain, both dot-atoms of [A-Za-z0-9+_-] (local) or
// [A-Za-z0-9-] (domain) with no leading, trailing or doubled dots.
func simpleAddrSpec(s string) bool {
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return false
	}
	return simpleDotAtom(s[:at], true) && simpleDotAtom(s[at+1:], false)
}

func simpleDotAtom(s string, local bool) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isAlnum(c), c == '-':
		case c == '.' && s[i-1] != '.':
		case local && (c == '+' || c == '_'):
		default:
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
