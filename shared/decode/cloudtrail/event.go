// Package cloudtrail decodes CloudTrail records of SES API calls — management events
// (GetSendQuota, PutAccountDetails, CreateEmailIdentity, ...) and the optional data events of API
// sends (SendEmail, SendRawEmail, ...) — into one normalised Event. It decodes a single record;
// shared/decode/sesevent finds the record inside its envelopes (EventBridge "AWS API Call via
// CloudTrail", SQS bodies, NDJSON, CloudTrail's own {"Records":[...]} log files) and hands it
// here, so every transport sesguard reads carries both kinds of input.
package cloudtrail

import (
	"net/netip"
	"time"
)

// SESEventSource is the eventSource of every SES record (v1 and v2 APIs alike).
const SESEventSource = "ses.amazonaws.com"

// DetailType is the EventBridge detail-type of CloudTrail API-call events.
const DetailType = "AWS API Call via CloudTrail"

// Event categories (eventCategory).
const (
	CategoryManagement = "Management"
	CategoryData       = "Data"
)

// userIdentity.type values with a fixed meaning for containment.
const (
	TypeIAMUser     = "IAMUser"
	TypeAssumedRole = "AssumedRole"
	TypeRoot        = "Root"
	// TypeFederatedUser is a GetFederationToken session; Principal names the IAM user who
	// issued it (ARN) and keeps the federated user's ARN in SessionARN.
	TypeFederatedUser = "FederatedUser"
)

// Principal is who made the call, from userIdentity. Name is what the policy's
// senders.principals match: the IAM user name, the role name of an assumed-role session (never
// the session name, which the caller chooses), or "root".
type Principal struct {
	Type string `json:"type,omitempty"` // userIdentity.type: IAMUser, AssumedRole, Root, FederatedUser, AWSService, ...
	Name string `json:"name,omitempty"`
	// ARN is the IAM ARN the policy and containment act on: the user's ARN, or for an
	// assumed-role session the role's ARN (sessionContext.sessionIssuer.arn).
	ARN string `json:"arn,omitempty"`
	// SessionARN is the STS assumed-role ARN (userIdentity.arn) of a role session.
	SessionARN  string `json:"session_arn,omitempty"`
	SessionName string `json:"session_name,omitempty"`
	// AccessKeyID is the exact key that signed the request (AKIA… long-term, ASIA… temporary).
	AccessKeyID string `json:"access_key_id,omitempty"`
	AccountID   string `json:"account_id,omitempty"`
	PrincipalID string `json:"principal_id,omitempty"`
	InvokedBy   string `json:"invoked_by,omitempty"` // an AWS service calling on the principal's behalf
}

// Event is one SES API call. Fields missing from the record stay zero; SourceIP is the invalid
// netip.Addr when sourceIPAddress is absent or names an AWS service instead of an address
// (SourceHost then holds it), so a missing address is never taken for an approved one.
type Event struct {
	EventID   string    `json:"event_id,omitempty"`
	EventTime time.Time `json:"event_time"`
	// EventSource is the service called: ses.amazonaws.com, or one of the global services whose
	// calls belong to the attacker's playbook (iam, sts, support; see GlobalSource).
	EventSource string `json:"event_source,omitempty"`
	EventName   string `json:"event_name"`
	Category    string `json:"category,omitempty"` // Management | Data
	ReadOnly    bool   `json:"read_only,omitempty"`
	Account     string `json:"account,omitempty"` // recipientAccountId, else userIdentity.accountId, else the envelope's
	Region      string `json:"region,omitempty"`  // awsRegion, else the envelope's

	Principal     Principal  `json:"principal"`
	SourceIP      netip.Addr `json:"source_ip"`
	SourceHost    string     `json:"source_host,omitempty"`
	UserAgent     string     `json:"user_agent,omitempty"`
	VPCEndpointID string     `json:"vpc_endpoint_id,omitempty"`

	ErrorCode    string `json:"error_code,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`

	// MessageIDs are additionalEventData.sesMessageId of a send (data events only).
	MessageIDs []string `json:"message_ids,omitempty"`
	// From is the sender a send named (v1 source, v2 fromEmailAddress): attacker-controlled text.
	From string `json:"from,omitempty"`
	// Identity is the identity a call created or verified, or the identity ARN a send used.
	Identity         string `json:"identity,omitempty"`
	ConfigurationSet string `json:"configuration_set,omitempty"`
	// SendingEnabled is the flag of UpdateAccountSendingEnabled (enabled),
	// PutAccountSendingAttributes (sendingEnabled) and their configuration-set forms.
	SendingEnabled *bool `json:"sending_enabled,omitempty"`
	// ProductionAccess is PutAccountDetails' productionAccessEnabled (the request to leave the
	// sandbox).
	ProductionAccess *bool `json:"production_access,omitempty"`
	// Notice is set when the event is not a CloudTrail record but one of AWS's own notices
	// (notice.go): an AWS Health credentials-risk event or SES's sending-status event. The
	// SES API-call rules never judge a notice.
	Notice *Notice `json:"notice,omitempty"`

	// IAM is what an IAM or STS call asked for and created (global-service calls only).
	IAM *IAMCall `json:"iam,omitempty"`
	// Support is the case a support:CreateCase opened (global-service calls only).
	Support *SupportCase `json:"support,omitempty"`
}

// IAMCall is the part of an IAM or STS request and response sesguard judges: which user, group
// or policy the call touched, the policy it granted, and the identity or key it created. Every
// string is attacker-controlled text.
type IAMCall struct {
	UserName   string `json:"user_name,omitempty"`   // requestParameters.userName
	GroupName  string `json:"group_name,omitempty"`  // requestParameters.groupName
	RoleName   string `json:"role_name,omitempty"`   // requestParameters.roleName
	PolicyName string `json:"policy_name,omitempty"` // requestParameters.policyName
	PolicyARN  string `json:"policy_arn,omitempty"`  // requestParameters.policyArn
	// PolicyDocument is the inline or managed policy a Put*Policy / CreatePolicy granted, or the
	// session policy of GetFederationToken, as logged (JSON text, sometimes URL-encoded).
	PolicyDocument string `json:"policy_document,omitempty"`
	// FederatedName is GetFederationToken's name (the federated user's name).
	FederatedName string `json:"federated_name,omitempty"`
	// CreatedAccessKeyID is the key the call created: CreateAccessKey's accessKey.accessKeyId, or
	// the session key (ASIA…) of GetFederationToken.
	CreatedAccessKeyID string `json:"created_access_key_id,omitempty"`
	// CreatedARN is the ARN of what the call created: CreateUser's user.arn, GetFederationToken's
	// federatedUser.arn.
	CreatedARN string `json:"created_arn,omitempty"`
}

// SupportCase is a support:CreateCase request (the communication body is not kept).
type SupportCase struct {
	Subject      string `json:"subject,omitempty"`
	ServiceCode  string `json:"service_code,omitempty"`
	CategoryCode string `json:"category_code,omitempty"`
}

// Global-service event sources decoded alongside SES: their calls are steps of the attacker's
// playbook around SES (key validation, persistence, privilege, quota requests).
const (
	IAMEventSource     = "iam.amazonaws.com"
	STSEventSource     = "sts.amazonaws.com"
	SupportEventSource = "support.amazonaws.com"
)

// GlobalSource reports whether src is one of the global services decoded alongside SES.
func GlobalSource(src string) bool {
	switch src {
	case IAMEventSource, STSEventSource, SupportEventSource:
		return true
	}
	return false
}

// IsSES reports whether the call is an SES call. An Event built without an event source (older
// callers and tests) counts as SES, as every Event was before global sources were decoded.
func (e *Event) IsSES() bool { return e.EventSource == "" || e.EventSource == SESEventSource }

// Envelope is what the transport knows; Decode uses it where the record is silent.
type Envelope struct {
	Account string
	Region  string
}

// IsSend reports whether the call is one of the SES send operations (logged as data events).
func (e *Event) IsSend() bool { return e.IsSES() && SendOperation(e.EventName) }

// SendOperation reports whether eventName is an SES send (v1 SendEmail, SendRawEmail,
// SendTemplatedEmail, SendBulkTemplatedEmail; v2 SendEmail, SendBulkEmail).
func SendOperation(eventName string) bool {
	switch eventName {
	case "SendEmail", "SendRawEmail", "SendTemplatedEmail", "SendBulkTemplatedEmail", "SendBulkEmail":
		return true
	}
	return false
}

// Failed reports whether the call was refused (errorCode set): the key was used even though the
// call did nothing.
func (e *Event) Failed() bool { return e.ErrorCode != "" }
