// Package finding holds the wire contracts that flow between sesguard's functions on the findings
// topic: a detection Finding (schema sesguard.finding/v1) and a containment Result
// (schema sesguard.result/v1). It has no logic beyond (de)serialisation so every consumer
// (detect, contain, alert, the CLI) can import it without pulling in the others.
package finding

import (
	"encoding/json"
	"fmt"
	"time"
)

// Schema identifiers; a consumer rejects a message whose schema it does not know.
const (
	SchemaFinding = "sesguard.finding/v1"
	SchemaResult  = "sesguard.result/v1"
)

// Message types, also used as the SNS message attribute "type".
const (
	TypeFinding = "finding"
	TypeResult  = "containment_result"
)

// Severity levels.
type Severity string

// Severities, lowest first.
const (
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Rank orders severities (0 for unknown).
func (s Severity) Rank() int {
	switch s {
	case SeverityLow:
		return 1
	case SeverityMedium:
		return 2
	case SeverityHigh:
		return 3
	case SeverityCritical:
		return 4
	}
	return 0
}

// PrincipalKind says what kind of IAM principal sent.
type PrincipalKind string

// Principal kinds. Unknown is used whenever attribution is missing or a lookup failed.
const (
	KindUser    PrincipalKind = "user"
	KindRole    PrincipalKind = "role"
	KindRoot    PrincipalKind = "root"
	KindUnknown PrincipalKind = "unknown"
)

// Principal is the IAM identity a finding is attributed to.
type Principal struct {
	Name string        `json:"name"`
	Kind PrincipalKind `json:"kind"`
	ARN  string        `json:"arn,omitempty"`
	// AccessKeyID is the key behind the finding: for API-call findings the exact key that signed
	// the CloudTrail-recorded request; for send findings the key most recently used for
	// ses/ses-smtp inside the finding window, when attribution could identify it.
	AccessKeyID string `json:"access_key_id,omitempty"`
}

// Evidence caps: a finding aggregates any number of sends but carries a bounded sample.
const (
	MaxMessageIDs = 20
	MaxRecipients = 10
	MaxFrom       = 10
	MaxEventIDs   = 20
	// A finding aggregating several Regions, SES identities or callers lists them all (up to
	// these caps; there are about 30 Regions).
	MaxRegions    = 40
	MaxIdentities = 20
	MaxPrincipals = 20
)

// Evidence is the aggregated proof behind a finding.
type Evidence struct {
	MessageIDs       []string  `json:"message_ids"`
	Count            int64     `json:"count"`
	FirstSeen        time.Time `json:"first_seen"`
	LastSeen         time.Time `json:"last_seen"`
	From             []string  `json:"from,omitempty"`
	Identity         string    `json:"identity,omitempty"`
	ConfigurationSet string    `json:"configuration_set,omitempty"`
	RecipientsSample []string  `json:"recipients_sample,omitempty"`
	// Detail is a short rule-specific explanation, e.g. "203.0.113.77 not in 10.20.0.0/16".
	Detail string `json:"detail,omitempty"`
	// Metric and Threshold are set by rate and volume rules.
	Metric    float64 `json:"metric,omitempty"`
	Threshold float64 `json:"threshold,omitempty"`
	// EventIDs and EventNames sample the CloudTrail records (eventID, eventName) behind an
	// api.* or setup.* finding; VPCEndpointID is the endpoint the calls came through.
	EventIDs      []string `json:"event_ids,omitempty"`
	EventNames    []string `json:"event_names,omitempty"`
	VPCEndpointID string   `json:"vpc_endpoint_id,omitempty"`
	// SESCount and SeenCount are a coverage.unobserved_sends period's two numbers: the sends SES
	// counted (CloudWatch) and the Send events sesguard received.
	SESCount  int64  `json:"ses_count,omitempty"`
	SeenCount *int64 `json:"seen_count,omitempty"`
	// Regions, Identities and Principals list every Region, SES identity and caller behind a
	// finding that aggregates more than one of them (Finding.Region, Evidence.Identity and
	// Principal name the first); empty when there is only one.
	Regions    []string `json:"regions,omitempty"`
	Identities []string `json:"identities,omitempty"`
	Principals []string `json:"principals,omitempty"`
}

// Finding is one aggregated detection. ID is deterministic over (rule, account, principal,
// window start) so redelivery and repeated sends in the same window update one finding.
type Finding struct {
	Schema      string    `json:"schema"`
	ID          string    `json:"id"`
	Rule        string    `json:"rule"`
	Severity    Severity  `json:"severity"`
	Account     string    `json:"account"`
	Region      string    `json:"region,omitempty"`
	Principal   Principal `json:"principal"`
	SourceIP    string    `json:"source_ip,omitempty"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Evidence    Evidence  `json:"evidence"`
	// Actions are the containment action names the policy maps this rule to (planned, not done).
	Actions []string `json:"actions"`
	// Mode is the response mode in force when the finding was made: dry-run or enforce.
	Mode string `json:"mode,omitempty"`
	// ProducerVersion is the sesguard build that raised it (ProducerVersion), so an alert can be
	// traced to the code; empty when the build was not stamped.
	ProducerVersion string `json:"producer_version,omitempty"`
	// Created are the IAM identities and keys the finding's principal created (playbook
	// persistence steps): containment targets them as well as the principal.
	Created []Created `json:"created,omitempty"`
	// Incident links the findings of one key within the playbook's incident window; Chain lists
	// the earlier steps of that incident, oldest first, for the alert.
	Incident string `json:"incident,omitempty"`
	Chain    []Step `json:"chain,omitempty"`
	// Plan is the containment plan of a finding as replay and the findings topic show it: each
	// action with its outcome (planned, skipped, skipped_protected, ...) and the reason.
	Plan []ActionResult `json:"plan,omitempty"`
}

// MaxCreated caps the created identities a finding lists.
const MaxCreated = 10

// Created is an IAM user (and/or access key) an attacker's key created.
type Created struct {
	User        string `json:"user"`
	ARN         string `json:"arn,omitempty"`
	AccessKeyID string `json:"access_key_id,omitempty"`
	// UserCreated: the finding saw the user's own creation (CreateUser), not only a key or
	// login profile added to an existing user.
	UserCreated bool `json:"user_created,omitempty"`
	// Via lists the calls that created it (CreateUser, CreateAccessKey, CreateLoginProfile).
	Via []string `json:"via,omitempty"`
}

// Step is one earlier step of an incident: when, which rule, and a short summary.
type Step struct {
	Time    time.Time `json:"time"`
	Rule    string    `json:"rule"`
	Summary string    `json:"summary"`
}

// Actionable reports whether the finding asks for containment.
func (f *Finding) Actionable() bool { return len(f.Actions) > 0 }

// Outcome of one containment action.
type Outcome string

// Outcomes.
const (
	OutcomePlanned          Outcome = "planned"           // dry-run: would have been applied
	OutcomeApplied          Outcome = "applied"           // changed AWS state
	OutcomeAlreadyContained Outcome = "already_contained" // idempotent repeat: nothing changed
	OutcomeSkippedProtected Outcome = "skipped_protected" // principal is protected
	OutcomeRateCapped       Outcome = "rate_capped"       // over max_actions_per_hour
	OutcomeFailed           Outcome = "failed"            // error after retries; Error says why
	OutcomeRestored         Outcome = "restored"          // rolled back by restore
	// OutcomeUnrestorable: restore found the target gone (deleted user, key, identity or
	// configuration set); the ledger row is terminal and Error says why.
	OutcomeUnrestorable Outcome = "unrestorable"
	// OutcomeSkipped: the action does not apply to this finding (e.g. a role has no access keys,
	// the finding names no identity or configuration set); Reason says why.
	OutcomeSkipped Outcome = "skipped"
)

// ActionResult is what happened (or would happen) for one action of a plan.
type ActionResult struct {
	ActionID string  `json:"action_id"` // ledger key; `sesguard restore ACTION_ID` undoes it
	Action   string  `json:"action"`    // deactivate_keys, deny_send_policy, ...
	Target   string  `json:"target"`    // user/role name, identity, configuration set, or "account"
	Outcome  Outcome `json:"outcome"`
	// Changes lists the concrete changes, e.g. "AKIA...: Active -> Inactive".
	Changes []string `json:"changes,omitempty"`
	// Reason explains the choice (which rule picked the key, why skipped, ...).
	Reason  string `json:"reason,omitempty"`
	Error   string `json:"error,omitempty"`
	Restore string `json:"restore,omitempty"` // the exact command that undoes it
	// Undo is the reference an Undo button carries for this applied action (Slack approvals).
	Undo *ButtonRef `json:"undo,omitempty"`
}

// ButtonRef is the opaque reference a Slack button carries (functions/interact). It names an
// approval stored server-side (the finding and the exact plan, or the action to undo); the
// message never carries a plan, and a reference is useless without a Slack-signed click by an
// approver before Expires.
type ButtonRef struct {
	Ref     string    `json:"ref"`
	Expires time.Time `json:"expires"`
}

// Result is the containment outcome for one finding.
type Result struct {
	Schema    string         `json:"schema"`
	FindingID string         `json:"finding_id"`
	Rule      string         `json:"rule"`
	Severity  Severity       `json:"severity"`
	Account   string         `json:"account"`
	Region    string         `json:"region,omitempty"`
	Principal Principal      `json:"principal"`
	SourceIP  string         `json:"source_ip,omitempty"`
	Mode      string         `json:"mode"` // dry-run | enforce
	Actor     string         `json:"actor"`
	Time      time.Time      `json:"time"`
	Actions   []ActionResult `json:"actions"`
	// Approval is the reference of the Contain now button of a dry-run result: approving it
	// applies exactly the planned actions listed here.
	Approval *ButtonRef `json:"approval,omitempty"`
	// ProducerVersion is the sesguard build that acted (see Finding.ProducerVersion).
	ProducerVersion string `json:"producer_version,omitempty"`
}

// Failed reports whether any action failed.
func (r *Result) Failed() bool {
	for _, a := range r.Actions {
		if a.Outcome == OutcomeFailed {
			return true
		}
	}
	return false
}

// Envelope is used to peek at a message's schema before decoding it fully.
type envelope struct {
	Schema string `json:"schema"`
}

// Decode parses a findings-topic message into exactly one of *Finding or *Result.
func Decode(data []byte) (*Finding, *Result, error) {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, nil, fmt.Errorf("decode findings message: %w", err)
	}
	switch env.Schema {
	case SchemaFinding:
		var f Finding
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, nil, fmt.Errorf("decode finding: %w", err)
		}
		return &f, nil, nil
	case SchemaResult:
		var r Result
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, nil, fmt.Errorf("decode containment result: %w", err)
		}
		return nil, &r, nil
	default:
		return nil, nil, fmt.Errorf("decode findings message: unknown schema %q", env.Schema)
	}
}
