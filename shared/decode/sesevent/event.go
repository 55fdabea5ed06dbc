// Package sesevent models Amazon SES event-publishing records and legacy identity notifications,
// decodes every transport envelope they arrive in, and normalises them into one Event.
package sesevent

import (
	"net/netip"
	"time"
)

// Type is the normalised SES event type (the `eventType` string, or `notificationType` for legacy).
type Type string

// The ten event-publishing types. Legacy notifications use Bounce, Complaint and Delivery.
const (
	TypeSend             Type = "Send"
	TypeReject           Type = "Reject"
	TypeBounce           Type = "Bounce"
	TypeComplaint        Type = "Complaint"
	TypeDelivery         Type = "Delivery"
	TypeOpen             Type = "Open"
	TypeClick            Type = "Click"
	TypeRenderingFailure Type = "Rendering Failure"
	TypeDeliveryDelay    Type = "DeliveryDelay"
	TypeSubscription     Type = "Subscription"
)

// Address is a parsed mailbox: the bare address kept apart from the (attacker-controlled) display name.
type Address struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

// Event is the normalised form every consumer works with. Fields missing from the record stay at
// their zero value; SourceIP is the invalid netip.Addr when absent or unparseable, and an empty
// CallerIdentity means "unknown" — never "approved".
type Event struct {
	Type      Type      `json:"type"`
	Legacy    bool      `json:"legacy,omitempty"` // from a legacy identity notification
	MessageID string    `json:"message_id"`
	MailTime  time.Time `json:"mail_time"`            // mail.timestamp: when SES accepted the message
	EventTime time.Time `json:"event_time,omitempty"` // the event object's timestamp, else envelope time, else MailTime

	Account          string              `json:"account,omitempty"` // mail.sendingAccountId, else the envelope's account
	Region           string              `json:"region,omitempty"`  // from the envelope or the identity/config-set ARN
	CallerIdentity   string              `json:"caller_identity,omitempty"`
	SourceIP         netip.Addr          `json:"source_ip"`
	Operation        string              `json:"operation,omitempty"` // ses:operation, e.g. SendRawEmail for SMTP
	ConfigurationSet string              `json:"configuration_set,omitempty"`
	IdentityArn      string              `json:"identity_arn,omitempty"` // mail.sourceArn
	Identity         string              `json:"identity,omitempty"`     // identity name from IdentityArn
	Source           string              `json:"source,omitempty"`       // envelope MAIL FROM as written by SES
	From             []Address           `json:"from,omitempty"`         // parsed commonHeaders.from (or source)
	FromDomain       string              `json:"from_domain,omitempty"`  // ses:from-domain, else domain of first From, lower case
	Recipients       []string            `json:"recipients,omitempty"`   // mail.destination
	Subject          string              `json:"subject,omitempty"`
	TLSVersion       string              `json:"tls_version,omitempty"` // ses:source-tls-version
	Tags             map[string][]string `json:"tags,omitempty"`

	Bounce    *BounceDetail    `json:"bounce,omitempty"`
	Complaint *ComplaintDetail `json:"complaint,omitempty"`
	Delivery  *DeliveryDetail  `json:"delivery,omitempty"`
	Reject    string           `json:"reject_reason,omitempty"`
}

// BounceDetail is what rate rules need from a bounce.
type BounceDetail struct {
	Type       string   `json:"type"`    // Permanent | Transient | Undetermined
	SubType    string   `json:"subtype"` // General, NoEmail, Suppressed, ...
	Recipients []string `json:"recipients,omitempty"`
}

// ComplaintDetail is what rate rules need from a complaint.
type ComplaintDetail struct {
	FeedbackType string   `json:"feedback_type,omitempty"`
	SubType      string   `json:"subtype,omitempty"`
	Recipients   []string `json:"recipients,omitempty"`
}

// DeliveryDetail is what rate rules need from a delivery.
type DeliveryDetail struct {
	Recipients           []string `json:"recipients,omitempty"`
	ProcessingTimeMillis int64    `json:"processing_time_ms,omitempty"`
	SMTPResponse         string   `json:"smtp_response,omitempty"`
}
