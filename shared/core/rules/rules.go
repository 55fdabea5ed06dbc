// Package rules is the catalog of sesguard's detection rules: each rule's id, title, default
// severity and one-line doc, declared once. The policy file's rule names, the detection
// registry, every renderer's titles and the README's rule table derive from it; adding a rule is
// one entry here plus its evaluation code and tests in shared/engine/detect.
package rules

import (
	"strings"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// Rule ids: the keys of `rules:` and `response.on` in the policy file and the `rule` field of a
// Finding.
const (
	NetworkOutsideApproved           = "network.outside_approved"
	NetworkUnknownSource             = "network.unknown_source"
	SenderPrincipalUnapproved        = "sender.principal_unapproved"
	SenderFromUnapproved             = "sender.from_unapproved"
	SenderIdentityUnapproved         = "sender.identity_unapproved"
	SenderConfigurationSetUnapproved = "sender.configuration_set_unapproved"
	RecipientDomainUnapproved        = "recipient.domain_unapproved"
	AttributionMissing               = "attribution.missing"
	VolumePrincipalSpike             = "volume.principal_spike"
	ReputationBounceSpike            = "reputation.bounce_spike"
	ReputationComplaintSpike         = "reputation.complaint_spike"
	APIOutsideApproved               = "api.outside_approved"
	APIPrincipalUnapproved           = "api.principal_unapproved"
	APISendDenied                    = "api.send_denied"
	SetupSandboxExitRequested        = "setup.sandbox_exit_requested"
	SetupIdentityCreated             = "setup.identity_created"
	SetupSendingReenabled            = "setup.sending_reenabled"
	CoverageUnobservedSends          = "coverage.unobserved_sends"
	ReputationAccountAtRisk          = "reputation.account_at_risk"

	// AWS's own notices (issue 19): AWS Health credentials-risk events and SES's sending status.
	HealthCredentialsRisk = "health.credentials_risk"
	SESSendingPaused      = "ses.sending_paused"
	SESSendingResumed     = "ses.sending_resumed"
	// The attacker's playbook beyond SES (issue 20): IAM, STS and Support calls, bursts across
	// Regions and per-key baselines.
	PlaybookKeyValidated = "playbook.key_validated"
	PlaybookPersistence  = "playbook.persistence"
	PlaybookPrivilege    = "playbook.privilege_grant"
	PlaybookQuotaCase    = "playbook.quota_case"
	PlaybookMultiRegion  = "playbook.multi_region"
	PlaybookQuarantined  = "playbook.quarantine_attached"
	BaselineFirstSESUse  = "baseline.first_ses_use"
	BaselineDormantKey   = "baseline.dormant_key"
	BaselineNewNetwork   = "baseline.new_network"
)

// Rule is one catalog entry.
type Rule struct {
	ID       string
	Title    string           // what an alert headline says; plain text, no trailing period
	Severity finding.Severity // default; the policy's `rules:` section may override it
	Doc      string           // the README table's "fires when" text (Markdown)
	// Stateful rules (volume, reputation) need window counters and are evaluated by the
	// Detector; the others are pure checks of one record.
	Stateful bool
	// External rules are raised outside the Detector (the coverage function's reconciliation
	// with CloudWatch); they are catalogued so the policy and the docs know them.
	External bool
}

// All returns the catalog in evaluation (and documentation) order. It is built on each call so
// no caller can change another's copy.
func All() []Rule {
	return []Rule{
		{ID: NetworkOutsideApproved, Severity: finding.SeverityHigh, Title: "SES send from outside the approved networks",
			Doc: "the send's source IP (`ses:source-ip`) is outside `network.cidrs` and the resolved `network.vpcs`"},
		{ID: NetworkUnknownSource, Severity: finding.SeverityMedium, Title: "SES send with no source IP",
			Doc: "the send carries no usable source IP"},
		{ID: SenderPrincipalUnapproved, Severity: finding.SeverityHigh, Title: "SES send by an unapproved principal",
			Doc: "the caller (`ses:caller-identity`) is not in `senders.principals`"},
		{ID: SenderFromUnapproved, Severity: finding.SeverityMedium, Title: "SES send with an unapproved From address",
			Doc: "a From address (the envelope source when there is no From) is not in `senders.from`, or there is none"},
		{ID: SenderIdentityUnapproved, Severity: finding.SeverityMedium, Title: "SES send through an unapproved identity",
			Doc: "the identity (`mail.sourceArn`) is not in `senders.identities`, or there is none"},
		{ID: SenderConfigurationSetUnapproved, Severity: finding.SeverityMedium, Title: "SES send through an unapproved configuration set",
			Doc: "the configuration set is not in `senders.configuration_sets`, or there is none"},
		{ID: RecipientDomainUnapproved, Severity: finding.SeverityMedium, Title: "SES send to unapproved recipient domains",
			Doc: "a recipient's domain is not in `recipients.domains` (sample lists the offending recipients)"},
		{ID: AttributionMissing, Severity: finding.SeverityMedium, Title: "SES send without attribution",
			Doc: "the send names no caller identity"},
		{ID: VolumePrincipalSpike, Severity: finding.SeverityHigh, Title: "SES sending volume spike",
			Doc: "a principal sent more than `max_sends` within a sliding `per_principal.window`", Stateful: true},
		{ID: ReputationBounceSpike, Severity: finding.SeverityHigh, Title: "SES bounce rate spike",
			Doc: "permanently bounced recipients / recipients sent to, for a principal or identity, exceed `bounce_rate.max` with ≥ `min_sends` recipients", Stateful: true},
		{ID: ReputationComplaintSpike, Severity: finding.SeverityHigh, Title: "SES complaint rate spike",
			Doc: "complaining recipients / recipients sent to, for a principal or identity, exceed `complaint_rate.max` with ≥ `min_sends` recipients", Stateful: true},
		{ID: APIOutsideApproved, Severity: finding.SeverityHigh, Title: "SES API call from outside the approved networks",
			Doc: "an SES API call (CloudTrail `sourceIPAddress`) by any principal came from outside the approved networks — recon with a leaked key (GetSendQuota, GetAccount, ListIdentities) before any send; refused calls count too"},
		{ID: APIPrincipalUnapproved, Severity: finding.SeverityHigh, Title: "SES API send by an unapproved principal",
			Doc: "an SES send API call (CloudTrail data event: SendEmail, SendRawEmail, SendTemplatedEmail, SendBulkTemplatedEmail, SendBulkEmail) by a principal not in `senders.principals`"},
		{ID: APISendDenied, Severity: finding.SeverityMedium, Title: "SES send attempt refused",
			Doc: "an SES send API call was refused (CloudTrail `errorCode`): prevention held, but the key is in use"},
		{ID: SetupSandboxExitRequested, Severity: finding.SeverityHigh, Title: "SES sandbox exit requested",
			Doc: "`PutAccountDetails` (the request to leave the SES sandbox), by anyone"},
		{ID: SetupIdentityCreated, Severity: finding.SeverityHigh, Title: "SES identity created by an unapproved principal",
			Doc: "`CreateEmailIdentity` / `VerifyEmailIdentity` / `VerifyDomainIdentity` by a principal not in `senders.principals`, or of an identity not in `senders.identities`"},
		{ID: SetupSendingReenabled, Severity: finding.SeverityHigh, Title: "SES sending re-enabled",
			Doc: "`UpdateAccountSendingEnabled` / `PutAccountSendingAttributes` (or the configuration-set forms) turned sending on, e.g. after a pause by SES or sesguard"},
		{ID: CoverageUnobservedSends, Severity: finding.SeverityHigh, Title: "SES sends sesguard did not see",
			Doc: "SES counted more sends than sesguard saw Send events for (CloudWatch `AWS/SES` `Send` per period, beyond the tolerance; or a CloudTrail send data event whose Send never arrived) — raised by the coverage function", External: true},
		{ID: ReputationAccountAtRisk, Severity: finding.SeverityHigh, Title: "SES account reputation at risk",
			Doc: "the account's `Reputation.BounceRate` / `Reputation.ComplaintRate` (CloudWatch) reached the warning threshold, before SES's review level — raised by the coverage function", External: true},
		{ID: HealthCredentialsRisk, Severity: finding.SeverityHigh, Title: "AWS reports an access key exposed or compromised",
			Doc: "an AWS Health `AWS_RISK_CREDENTIALS_EXPOSED` / `_COMPROMISED` / `_EXPOSURE_SUSPECTED` / `_COMPROMISE_SUSPECTED` event names an access key (`affectedEntities`): one finding per key, naming the key and its user — ingest asks IAM whose key it is (`iam:GetAccessKeyLastUsed`); `replay` uses the user the event's description names and says it is unresolved. AWS's quarantine policy still allows `ses:SendEmail` / `ses:SendRawEmail`, so map it to `deactivate_keys` and `deny_send_policy`"},
		{ID: SESSendingPaused, Severity: finding.SeverityHigh, Title: "SES sending paused",
			Doc: "SES's `Sending Status Disabled` event: sending was paused for the account or a configuration set (SES's enforcement, or a customer-managed status)"},
		{ID: SESSendingResumed, Severity: finding.SeverityMedium, Title: "SES sending resumed",
			Doc: "SES's `Sending Status Enabled` event; who turned sending back on is the `setup.sending_reenabled` finding of the same account and Region (CloudTrail)"},
		// --- the attacker's playbook beyond SES (issue 20) ---
		{ID: PlaybookKeyValidated, Severity: finding.SeverityHigh, Title: "Access key validated by a secret scanner",
			Doc: "`sts:GetCallerIdentity` with a secret scanner's user agent (`TruffleHog`, `trufflehog/3.x`; Stratus Red Team's `stratus-red-team_`) from outside the approved networks: the key was found and validated before any SES call"},
		{ID: PlaybookPersistence, Severity: finding.SeverityCritical, Title: "IAM identity or credentials created with a key",
			Doc: "`iam:CreateUser` / `CreateAccessKey` / `CreateLoginProfile` or `sts:GetFederationToken` by a principal not in `playbook.iam_admins`, or from outside the approved networks; the finding lists what the key created (`created`)"},
		{ID: PlaybookPrivilege, Severity: finding.SeverityCritical, Title: "SES sending privilege granted with a key",
			Doc: "`CreatePolicy` / `Put{User,Group,Role}Policy` / `Attach{User,Group,Role}Policy` granting SES sending (`AmazonSESFullAccess`, a policy named `AdministratorAccess` or `PowerUserAccess`, an Allow of `ses:Send*`, `ses:*`, `*` or a `NotAction` that leaves sends) by a principal not in `playbook.iam_admins`, or from outside the approved networks; refused attempts count"},
		{ID: PlaybookQuotaCase, Severity: finding.SeverityHigh, Title: "SES limit support case opened with a key",
			Doc: "`support:CreateCase` about SES (service or category naming SES, or a subject about sending limits, production access, the sandbox) by a principal not in `playbook.iam_admins`, or from outside the approved networks"},
		{ID: PlaybookQuarantined, Severity: finding.SeverityCritical, Title: "AWS quarantined a user's exposed key",
			Doc: "AWS (`AWS Internal`) attached `AWSCompromisedKeyQuarantine*` / `AWSExposedCredentialPolicy_DO_NOT_REMOVE` to a user: one of its keys is public, and the quarantine does not deny SES sends; the finding names the user"},
		{ID: PlaybookMultiRegion, Severity: finding.SeverityCritical, Title: "One key calling SES in many Regions",
			Doc: "one access key made SES calls in ≥ `playbook.multi_region.regions` Regions (default 3) within `playbook.multi_region.window` (default 10m); the detail lists the Regions", Stateful: true},
		{ID: BaselineFirstSESUse, Severity: finding.SeverityMedium, Title: "First SES use of a key",
			Doc: "with `baseline.enabled`: a key (or keyless principal) never seen calling SES did, after the account's first `baseline.learning` period", Stateful: true},
		{ID: BaselineDormantKey, Severity: finding.SeverityHigh, Title: "Dormant key used against SES",
			Doc: "with `baseline.enabled`: a key unused for ≥ `baseline.dormant_after` (default 30 days) called SES", Stateful: true},
		{ID: BaselineNewNetwork, Severity: finding.SeverityHigh, Title: "SES use from a network new to the key",
			Doc: "with `baseline.enabled`: a key past its `baseline.learning` period (default 14 days) called SES from a network (IPv4 /24, IPv6 /48) it never used before", Stateful: true},
	}
}

// Names lists every rule id, in catalog order.
func Names() []string {
	all := All()
	names := make([]string, len(all))
	for i, r := range all {
		names[i] = r.ID
	}
	return names
}

// Lookup returns the catalog entry of id.
func Lookup(id string) (Rule, bool) {
	for _, r := range All() {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

// Title is the human title of a rule ("SES send from outside the approved networks"), the same
// on every destination. A coverage gap the catalog does not list shows its name; an unknown rule
// shows its id. Callers sanitise it.
func Title(id string) string {
	if id == "" {
		return "SES finding"
	}
	if r, ok := Lookup(id); ok {
		return r.Title
	}
	if gap, ok := strings.CutPrefix(id, "coverage."); ok {
		return "SES monitoring gap: " + strings.ReplaceAll(gap, "_", " ")
	}
	return "SES finding " + id
}
