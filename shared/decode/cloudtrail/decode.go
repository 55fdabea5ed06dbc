package cloudtrail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"time"

	"github.com/sesguard/sesguard/shared/core/jsonstrict"
)

// MaxRecordSize caps one CloudTrail record (CloudTrail's own events are far smaller; the cap
// matches sesevent's per-record limit).
const MaxRecordSize = 1 << 20

// ErrNotSES is returned (wrapped in a *FieldError for eventSource) for a well-formed CloudTrail
// record of another service: callers skip it rather than fail it, since CloudTrail log files
// mix every service.
var ErrNotSES = errors.New("not an SES record")

// FieldError is a record that could not be decoded; Field is the dotted JSON path inside the
// CloudTrail record ("userIdentity.accessKeyId"), empty for a record that is not JSON at all.
type FieldError struct {
	Field string
	Err   error
}

// Error implements error.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Err.Error()
	}
	return "field " + e.Field + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field string, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// wire is the part of a CloudTrail record sesguard reads. Only requestParameters members whose
// type the SES API fixes are declared, so a shape this decoder does not know is ignored rather
// than failed.
type wire struct {
	wireHead
	RequestParameters   *wireRequest    `json:"requestParameters"`
	AdditionalEventData *wireAdditional `json:"additionalEventData"`
	// Resources of a data event: the identity the send used (and its template or set).
	Resources []wireResource `json:"resources"`
}

// wireHead is the part of a record every service shares: who, when, where from, and the outcome.
type wireHead struct {
	EventID            string        `json:"eventID"`
	EventTime          *string       `json:"eventTime"`
	EventSource        *string       `json:"eventSource"`
	EventName          *string       `json:"eventName"`
	EventCategory      string        `json:"eventCategory"`
	ReadOnly           flexBool      `json:"readOnly"`
	AWSRegion          string        `json:"awsRegion"`
	RecipientAccountID string        `json:"recipientAccountId"`
	UserIdentity       *wireIdentity `json:"userIdentity"`
	SourceIPAddress    string        `json:"sourceIPAddress"`
	UserAgent          string        `json:"userAgent"`
	VPCEndpointID      string        `json:"vpcEndpointId"`
	ErrorCode          string        `json:"errorCode"`
	ErrorMessage       string        `json:"errorMessage"`
}

type wireResource struct {
	Type string `json:"type"`
	ARN  string `json:"ARN"`
}

type wireIdentity struct {
	Type           string `json:"type"`
	PrincipalID    string `json:"principalId"`
	ARN            string `json:"arn"`
	AccountID      string `json:"accountId"`
	AccessKeyID    string `json:"accessKeyId"`
	UserName       string `json:"userName"`
	InvokedBy      string `json:"invokedBy"`
	SessionContext *struct {
		SessionIssuer *struct {
			Type     string `json:"type"`
			ARN      string `json:"arn"`
			UserName string `json:"userName"`
		} `json:"sessionIssuer"`
	} `json:"sessionContext"`
}

type wireRequest struct {
	// Sends: v1 source/sourceArn, v2 fromEmailAddress/fromEmailAddressIdentityArn.
	Source                      string `json:"source"`
	SourceArn                   string `json:"sourceArn"`
	FromEmailAddress            string `json:"fromEmailAddress"`
	FromEmailAddressIdentityArn string `json:"fromEmailAddressIdentityArn"`
	ConfigurationSetName        string `json:"configurationSetName"`
	// Identity setup: v2 CreateEmailIdentity, v1 VerifyEmailIdentity/VerifyEmailAddress,
	// VerifyDomainIdentity.
	EmailIdentity string `json:"emailIdentity"`
	EmailAddress  string `json:"emailAddress"`
	Domain        string `json:"domain"`
	// Sending switches: v1 UpdateAccountSendingEnabled/UpdateConfigurationSetSendingEnabled
	// (enabled), v2 PutAccountSendingAttributes/PutConfigurationSetSendingOptions (sendingEnabled).
	Enabled        *flexBool `json:"enabled"`
	SendingEnabled *flexBool `json:"sendingEnabled"`
	// PutAccountDetails.
	ProductionAccessEnabled *flexBool `json:"productionAccessEnabled"`
}

type wireAdditional struct {
	SESMessageID stringList `json:"sesMessageId"`
}

// flexBool accepts true/false and "true"/"false".
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch string(bytes.TrimSpace(data)) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`, "null":
		*b = false
	default:
		// An *UnmarshalTypeError gets its field path filled in by encoding/json.
		return &json.UnmarshalTypeError{Value: describe(data) + ", want a boolean", Type: reflect.TypeFor[bool]()}
	}
	return nil
}

// stringList accepts one string or an array of strings (how SendBulkEmail lists several message
// ids is not documented).
type stringList []string

func (s *stringList) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("null")):
		*s = nil
		return nil
	case len(data) > 0 && data[0] == '"':
		var one string
		if err := json.Unmarshal(data, &one); err != nil {
			return err
		}
		*s = stringList{one}
		return nil
	case len(data) > 0 && data[0] == '[':
		var many []string
		if err := json.Unmarshal(data, &many); err == nil {
			*s = many
			return nil
		}
	}
	return &json.UnmarshalTypeError{Value: describe(data) + ", want a string or an array of strings", Type: reflect.TypeFor[[]string]()}
}

// describe names the kind of JSON value data is, for error messages.
func describe(data []byte) string {
	switch {
	case len(data) == 0:
		return "nothing"
	case data[0] == '"':
		return "string"
	case data[0] == '[':
		return "array"
	case data[0] == '{':
		return "object"
	case data[0] == 't' || data[0] == 'f':
		return "boolean"
	case data[0] == 'n':
		return "null"
	}
	return "number"
}

// Decode decodes one CloudTrail record. env fills the account and Region when the record has
// neither. The error is a *FieldError; errors.Is(err, ErrNotSES) for records of other services.
func Decode(data []byte, env Envelope) (Event, error) {
	data = bytes.TrimSpace(data)
	switch {
	case len(data) > MaxRecordSize:
		return Event{}, &FieldError{Err: fmt.Errorf("record is %d bytes, more than the %d-byte limit", len(data), MaxRecordSize)}
	case len(data) == 0:
		return Event{}, &FieldError{Err: errors.New("empty input, want a JSON object")}
	case data[0] != '{':
		return Event{}, &FieldError{Err: fmt.Errorf("want a JSON object, got %s", truncate(data, 40))}
	}
	var w wire
	if err := json.Unmarshal(data, &w); err != nil {
		// The SES shape of requestParameters does not bind other services' records: an EC2
		// record whose requestParameters.domain is an object is another service's record to
		// skip (or a global-service call to decode with its own shape), not a bad record.
		if src, ok := peekSource(data); ok && src != SESEventSource {
			if GlobalSource(src) {
				return decodeGlobal(data, env)
			}
			return Event{}, notSES(src)
		}
		return Event{}, jsonError(err)
	}
	// encoding/json folds case and keeps the last duplicate ("eventSource":"ec2…",
	// "EventSource":"ses…"); other readers of the trail do not, so such a record is an error.
	if field, err := jsonstrict.Check(data, reflect.TypeOf(w)); err != nil {
		return Event{}, &FieldError{Field: field, Err: err}
	}
	if w.EventSource != nil && GlobalSource(*w.EventSource) {
		return decodeGlobal(data, env)
	}
	return normalize(&w, env)
}

// peekSource reads eventSource alone (for a record whose full decode failed).
func peekSource(data []byte) (string, bool) {
	var p struct {
		EventSource *string `json:"eventSource"`
	}
	if json.Unmarshal(data, &p) != nil || p.EventSource == nil {
		return "", false
	}
	return *p.EventSource, true
}

func notSES(src string) *FieldError {
	return &FieldError{Field: "eventSource", Err: fmt.Errorf("%w: %q", ErrNotSES, truncate([]byte(src), 60))}
}

func normalize(w *wire, env Envelope) (Event, error) {
	if w.EventSource == nil {
		return Event{}, fieldErr("eventSource", "missing")
	}
	if *w.EventSource != SESEventSource {
		return Event{}, notSES(*w.EventSource)
	}
	e, err := normalizeHead(&w.wireHead, env)
	if err != nil {
		return Event{}, err
	}
	if r := w.RequestParameters; r != nil {
		e.From = firstOf(r.FromEmailAddress, r.Source)
		e.ConfigurationSet = r.ConfigurationSetName
		e.Identity = firstOf(r.EmailIdentity, r.EmailAddress, r.Domain, identityName(firstOf(r.FromEmailAddressIdentityArn, r.SourceArn)))
		for _, b := range []*flexBool{r.Enabled, r.SendingEnabled} {
			if b != nil {
				v := bool(*b)
				e.SendingEnabled = &v
			}
		}
		if r.ProductionAccessEnabled != nil {
			v := bool(*r.ProductionAccessEnabled)
			e.ProductionAccess = &v
		}
	}
	// A send names its identity ARN in requestParameters only when the caller passed one; the
	// data event's resources always list it (AWS::SES::EmailIdentity).
	for _, r := range w.Resources {
		switch r.Type {
		case "AWS::SES::EmailIdentity":
			e.Identity = firstOf(e.Identity, identityName(r.ARN))
		case "AWS::SES::ConfigurationSet":
			_, _, res := splitARN(r.ARN)
			if name, ok := strings.CutPrefix(res, "configuration-set/"); ok {
				e.ConfigurationSet = firstOf(e.ConfigurationSet, name)
			}
		}
	}
	if a := w.AdditionalEventData; a != nil {
		for _, id := range a.SESMessageID {
			if id = strings.TrimSpace(id); id != "" {
				e.MessageIDs = append(e.MessageIDs, id)
			}
		}
	}
	return e, nil
}

// normalizeHead checks and maps the fields every service's record shares.
func normalizeHead(w *wireHead, env Envelope) (Event, error) {
	if w.EventName == nil || *w.EventName == "" {
		return Event{}, fieldErr("eventName", "missing")
	}
	if w.EventTime == nil {
		return Event{}, fieldErr("eventTime", "missing")
	}
	t, err := time.Parse(time.RFC3339Nano, *w.EventTime)
	if err != nil {
		return Event{}, fieldErr("eventTime", "%q is not an RFC 3339 time", truncate([]byte(*w.EventTime), 40))
	}
	if w.UserIdentity == nil {
		return Event{}, fieldErr("userIdentity", "missing")
	}
	e := Event{
		EventID: w.EventID, EventTime: t.UTC(), EventSource: *w.EventSource, EventName: *w.EventName, Category: w.EventCategory,
		ReadOnly: bool(w.ReadOnly), Account: w.RecipientAccountID, Region: w.AWSRegion,
		UserAgent: w.UserAgent, VPCEndpointID: w.VPCEndpointID, ErrorCode: w.ErrorCode, ErrorMessage: w.ErrorMessage,
	}
	e.Principal = principal(w.UserIdentity)
	if e.Account == "" {
		e.Account = e.Principal.AccountID
	}
	if e.Account == "" {
		e.Account = env.Account
	}
	if e.Region == "" {
		e.Region = env.Region
	}
	if e.SourceIP, e.SourceHost, err = sourceAddress(w.SourceIPAddress); err != nil {
		return Event{}, &FieldError{Field: "sourceIPAddress", Err: err}
	}
	return e, nil
}

// principal maps userIdentity to the principal containment acts on: an assumed-role session is
// its role (the session name is the caller's choice and proves nothing).
func principal(u *wireIdentity) Principal {
	p := Principal{Type: u.Type, SessionARN: "", AccessKeyID: u.AccessKeyID, AccountID: u.AccountID,
		PrincipalID: u.PrincipalID, InvokedBy: u.InvokedBy}
	var issuerARN, issuerName, issuerType string
	if sc := u.SessionContext; sc != nil && sc.SessionIssuer != nil {
		issuerARN, issuerName, issuerType = sc.SessionIssuer.ARN, sc.SessionIssuer.UserName, sc.SessionIssuer.Type
	}
	partition, account, resource := splitARN(u.ARN)
	if p.AccountID == "" {
		p.AccountID = account
	}
	switch u.Type {
	case TypeIAMUser:
		p.ARN = u.ARN
		p.Name = firstOf(u.UserName, lastSegment(resource, "user/"))
	case TypeAssumedRole:
		p.SessionARN = u.ARN
		role, session := "", ""
		if rest, ok := strings.CutPrefix(resource, "assumed-role/"); ok {
			role, session, _ = strings.Cut(rest, "/")
		}
		p.SessionName = session
		p.Name = firstOf(issuerName, role)
		p.ARN = issuerARN
		if p.ARN == "" && role != "" && account != "" {
			p.ARN = "arn:" + partition + ":iam::" + account + ":role/" + role
		}
	case TypeRoot:
		p.Name = "root"
		p.ARN = u.ARN
	case "AWSService":
		p.Name = u.InvokedBy
	case TypeFederatedUser:
		// A GetFederationToken session acts with the permissions of the IAM user who called
		// GetFederationToken (intersected with its session policy): containment acts on that
		// user, whose explicit deny also binds the session.
		p.SessionARN = u.ARN
		p.SessionName = lastSegment(resource, "federated-user/")
		p.Name = firstOf(issuerName, p.SessionName, u.PrincipalID)
		p.ARN = u.ARN
		if issuerType == "IAMUser" && issuerARN != "" {
			p.ARN = issuerARN
		}
	default:
		// FederatedUser, IdentityCenterUser, AWSAccount, ...: named as CloudTrail names them;
		// containment treats them as unknown.
		p.ARN = u.ARN
		p.Name = firstOf(u.UserName, issuerName, lastSegment(resource, "federated-user/"), u.PrincipalID)
	}
	return p
}

// sourceAddress parses sourceIPAddress. AWS writes a service name ("ses.amazonaws.com", "AWS
// Internal") when a service made the call: that is a host, not an error. Text that looks like an
// address but does not parse is an error, never silently "no address".
func sourceAddress(s string) (netip.Addr, string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, "", nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), "", nil
	}
	if looksLikeAddress(s) {
		return netip.Addr{}, "", fmt.Errorf("%q is not an IP address", truncate([]byte(s), 60))
	}
	return netip.Addr{}, s, nil
}

func looksLikeAddress(s string) bool {
	digit := false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c == '.' || c == ':' || c == '%' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return digit
}

// splitARN returns partition, account and resource of arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE.
func splitARN(arn string) (partition, account, resource string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "aws", "", ""
	}
	return parts[1], parts[4], parts[5]
}

// lastSegment is the name at the end of resource when it starts with prefix ("user/path/name").
func lastSegment(resource, prefix string) string {
	rest, ok := strings.CutPrefix(resource, prefix)
	if !ok {
		return ""
	}
	return rest[strings.LastIndexByte(rest, '/')+1:]
}

// identityName is NAME of arn:aws:ses:REGION:ACCOUNT:identity/NAME ("" for anything else).
func identityName(arn string) string {
	_, _, res := splitARN(arn)
	name, _ := strings.CutPrefix(res, "identity/")
	if name == res {
		return ""
	}
	return name
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func jsonError(err error) *FieldError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		got := te.Value
		if !strings.Contains(got, "want") {
			got += ", want " + jsonType(te.Type)
		}
		// The shared header is an embedded struct, which encoding/json names in the path.
		field := strings.TrimPrefix(te.Field, "wireHead.")
		return &FieldError{Field: field, Err: fmt.Errorf("wrong JSON type: got %s", got)}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &FieldError{Err: fmt.Errorf("invalid JSON at byte %d: %w", se.Offset, err)}
	}
	if err.Error() == "unexpected end of JSON input" {
		return &FieldError{Err: fmt.Errorf("truncated JSON: %w", err)}
	}
	return &FieldError{Err: err}
}

func jsonType(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "object"
	}
	return t.Kind().String()
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
