package sesevent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
)

// Record is one SES event-publishing record (or legacy identity notification) as SES writes it.
// Unknown fields are ignored so that fields SES adds later never break decoding.
type Record struct {
	EventType        string `json:"eventType,omitempty"`
	NotificationType string `json:"notificationType,omitempty"` // legacy identity notifications
	Mail             *Mail  `json:"mail"`

	Send          *struct{}         `json:"send,omitempty"`
	Reject        *Reject           `json:"reject,omitempty"`
	Bounce        *Bounce           `json:"bounce,omitempty"`
	Complaint     *Complaint        `json:"complaint,omitempty"`
	Delivery      *Delivery         `json:"delivery,omitempty"`
	Open          *Open             `json:"open,omitempty"`
	Click         *Click            `json:"click,omitempty"`
	Failure       *RenderingFailure `json:"failure,omitempty"` // "Rendering Failure" events use key "failure"
	DeliveryDelay *DeliveryDelay    `json:"deliveryDelay,omitempty"`
	Subscription  *Subscription     `json:"subscription,omitempty"`
}

// Mail is the `mail` object common to every event type.
type Mail struct {
	Timestamp        string              `json:"timestamp"`
	MessageID        string              `json:"messageId"`
	Source           string              `json:"source"`
	SourceArn        string              `json:"sourceArn,omitempty"`
	SendingAccountID string              `json:"sendingAccountId,omitempty"`
	Destination      []string            `json:"destination,omitempty"`
	HeadersTruncated FlexBool            `json:"headersTruncated,omitempty"`
	Headers          []Header            `json:"headers,omitempty"`
	CommonHeaders    *CommonHeaders      `json:"commonHeaders,omitempty"`
	Tags             map[string][]string `json:"tags,omitempty"`

	// Legacy notification format only.
	SourceIP       string `json:"sourceIp,omitempty"`
	CallerIdentity string `json:"callerIdentity,omitempty"`
}

// Header is one original message header.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// CommonHeaders holds the headers SES extracts for convenience.
type CommonHeaders struct {
	From       []string `json:"from,omitempty"`
	To         []string `json:"to,omitempty"`
	Cc         []string `json:"cc,omitempty"`
	Bcc        []string `json:"bcc,omitempty"`
	ReplyTo    []string `json:"replyTo,omitempty"`
	ReturnPath string   `json:"returnPath,omitempty"`
	Date       string   `json:"date,omitempty"`
	MessageID  string   `json:"messageId,omitempty"`
	Subject    string   `json:"subject,omitempty"`
}

// Reject is the `reject` object.
type Reject struct {
	Reason string `json:"reason"`
}

// Bounce is the `bounce` object.
type Bounce struct {
	BounceType        string             `json:"bounceType"`
	BounceSubType     string             `json:"bounceSubType"`
	BouncedRecipients []BouncedRecipient `json:"bouncedRecipients"`
	Timestamp         string             `json:"timestamp"`
	FeedbackID        string             `json:"feedbackId"`
	ReportingMTA      string             `json:"reportingMTA,omitempty"`
	RemoteMtaIP       string             `json:"remoteMtaIp,omitempty"`
}

// BouncedRecipient is one entry of bounce.bouncedRecipients.
type BouncedRecipient struct {
	EmailAddress   string `json:"emailAddress"`
	Action         string `json:"action,omitempty"`
	Status         string `json:"status,omitempty"`
	DiagnosticCode string `json:"diagnosticCode,omitempty"`
}

// Complaint is the `complaint` object.
type Complaint struct {
	ComplainedRecipients  []Recipient `json:"complainedRecipients"`
	Timestamp             string      `json:"timestamp"`
	FeedbackID            string      `json:"feedbackId"`
	ComplaintSubType      *string     `json:"complaintSubType,omitempty"`
	UserAgent             string      `json:"userAgent,omitempty"`
	ComplaintFeedbackType string      `json:"complaintFeedbackType,omitempty"`
	ArrivalDate           string      `json:"arrivalDate,omitempty"`
}

// Recipient is an object with just an email address.
type Recipient struct {
	EmailAddress string `json:"emailAddress"`
}

// Delivery is the `delivery` object.
type Delivery struct {
	Timestamp            string   `json:"timestamp"`
	ProcessingTimeMillis int64    `json:"processingTimeMillis"`
	Recipients           []string `json:"recipients"`
	SMTPResponse         string   `json:"smtpResponse"`
	ReportingMTA         string   `json:"reportingMTA"`
	RemoteMtaIP          string   `json:"remoteMtaIp,omitempty"`
}

// Open is the `open` object; IPAddress is the recipient's, not the sender's.
type Open struct {
	IPAddress string `json:"ipAddress"`
	Timestamp string `json:"timestamp"`
	UserAgent string `json:"userAgent"`
}

// Click is the `click` object.
type Click struct {
	IPAddress string              `json:"ipAddress"`
	Timestamp string              `json:"timestamp"`
	UserAgent string              `json:"userAgent"`
	Link      string              `json:"link"`
	LinkTags  map[string][]string `json:"linkTags,omitempty"`
}

// RenderingFailure is the `failure` object of a "Rendering Failure" event.
type RenderingFailure struct {
	TemplateName string `json:"templateName"`
	ErrorMessage string `json:"errorMessage"`
}

// DeliveryDelay is the `deliveryDelay` object.
type DeliveryDelay struct {
	DelayType         string             `json:"delayType"`
	DelayedRecipients []BouncedRecipient `json:"delayedRecipients"`
	ExpirationTime    string             `json:"expirationTime"`
	ReportingMTA      string             `json:"reportingMTA,omitempty"`
	Timestamp         string             `json:"timestamp"`
}

// Subscription is the `subscription` object.
type Subscription struct {
	ContactList         string            `json:"contactList"`
	Timestamp           string            `json:"timestamp"`
	Source              string            `json:"source"`
	NewTopicPreferences *TopicPreferences `json:"newTopicPreferences,omitempty"`
	OldTopicPreferences *TopicPreferences `json:"oldTopicPreferences,omitempty"`
}

// TopicPreferences is a contact's subscription state.
type TopicPreferences struct {
	UnsubscribeAll                 bool                `json:"unsubscribeAll"`
	TopicSubscriptionStatus        []TopicSubscription `json:"topicSubscriptionStatus,omitempty"`
	TopicDefaultSubscriptionStatus []TopicSubscription `json:"topicDefaultSubscriptionStatus,omitempty"`
}

// TopicSubscription is one topic's status.
type TopicSubscription struct {
	TopicName          string `json:"topicName"`
	SubscriptionStatus string `json:"subscriptionStatus"`
}

// FlexBool accepts a JSON boolean or a string ("true"/"false"), because SES documents
// headersTruncated as a string while its examples show a boolean.
type FlexBool bool

// UnmarshalJSON implements json.Unmarshaler.
func (b *FlexBool) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch string(data) {
	case "true", `"true"`, `"True"`, `"TRUE"`:
		*b = true
	case "false", `"false"`, `"False"`, `"FALSE"`, "null", `""`:
		*b = false
	default:
		// An UnmarshalTypeError lets encoding/json add the field path (mail.headersTruncated).
		return &json.UnmarshalTypeError{Value: fmt.Sprintf("%.40s", data), Type: reflect.TypeFor[FlexBool]()}
	}
	return nil
}

// MarshalJSON implements json.Marshaler.
func (b FlexBool) MarshalJSON() ([]byte, error) { return json.Marshal(bool(b)) }
