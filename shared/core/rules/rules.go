// Package rules is the catalog of sesguard's detection rules: each rule's id, title, default
// severity and one-line doc, declared once. The policy file's rule names, the detection
// registry, every renderer's titles and the README's rule table derive from it; adding a rule is
// one entry here plus its evaluation code and tests in shared/engine/detect.
package rules

import "github.com/sesguard/sesguard/shared/core/finding"

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
	Doc      string           // one line for README, `sesguard replay` and alerts
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
			Doc: "the send's source IP (ses:source-ip) is outside network.cidrs and the resolved network.vpcs"},
		{ID: NetworkUnknownSource, Severity: finding.SeverityMedium, Title: "SES send with no source IP",
			Doc: "the send carries no usable source IP, so its network cannot be approved"},
		{ID: SenderPrincipalUnapproved, Severity: finding.SeverityHigh, Title: "SES send by an unapproved principal",
			Doc: "the IAM user or role that sent (ses:caller-identity) is not in senders.principals"},
		{ID: SenderFromUnapproved, Severity: finding.SeverityMedium, Title: "SES send with an unapproved From address",
			Doc: "a From address (or the envelope source when there is no From) is not in senders.from"},
		{ID: SenderIdentityUnapproved, Severity: finding.SeverityMedium, Title: "SES send through an unapproved identity",
			Doc: "the SES identity used (mail.sourceArn) is not in senders.identities"},
		{ID: SenderConfigurationSetUnapproved, Severity: finding.SeverityMedium, Title: "SES send through an unapproved configuration set",
			Doc: "the configuration set (ses:configuration-set) is not in senders.configuration_sets"},
		{ID: RecipientDomainUnapproved, Severity: finding.SeverityMedium, Title: "SES send to unapproved recipient domains",
			Doc: "a recipient's domain is not in recipients.domains"},
		{ID: AttributionMissing, Severity: finding.SeverityMedium, Title: "SES send without attribution",
			Doc: "the send names no caller identity, so it cannot be attributed or approved"},
		{ID: VolumePrincipalSpike, Severity: finding.SeverityHigh, Title: "SES sending volume spike",
			Doc: "one principal sent more than limits.per_principal.max_sends within a sliding limits.per_principal.window", Stateful: true},
		{ID: ReputationBounceSpike, Severity: finding.SeverityHigh, Title: "SES bounce rate spike",
			Doc: "permanently bounced / sent recipients of one principal or identity exceed limits.bounce_rate.max (once min_sends recipients were sent to)", Stateful: true},
		{ID: ReputationComplaintSpike, Severity: finding.SeverityHigh, Title: "SES complaint rate spike",
			Doc: "complaining / sent recipients of one principal or identity exceed limits.complaint_rate.max (once min_sends recipients were sent to)", Stateful: true},
		{ID: APIOutsideApproved, Severity: finding.SeverityHigh, Title: "SES API call from outside the approved networks",
			Doc: "an SES API call (CloudTrail sourceIPAddress), by any principal, came from outside the approved networks"},
		{ID: APIPrincipalUnapproved, Severity: finding.SeverityHigh, Title: "SES API send by an unapproved principal",
			Doc: "an SES send API call (CloudTrail data event) was made by a principal not in senders.principals"},
		{ID: APISendDenied, Severity: finding.SeverityMedium, Title: "SES send attempt refused",
			Doc: "an SES send API call was refused (CloudTrail errorCode): prevention held, but the key is in use"},
		{ID: SetupSandboxExitRequested, Severity: finding.SeverityHigh, Title: "SES sandbox exit requested",
			Doc: "PutAccountDetails was called: the request to move the account out of the SES sandbox"},
		{ID: SetupIdentityCreated, Severity: finding.SeverityHigh, Title: "SES identity created by an unapproved principal",
			Doc: "CreateEmailIdentity / VerifyEmailIdentity / VerifyDomainIdentity by a principal not in senders.principals, or for an identity not in senders.identities"},
		{ID: SetupSendingReenabled, Severity: finding.SeverityHigh, Title: "SES sending re-enabled",
			Doc: "UpdateAccountSendingEnabled / PutAccountSendingAttributes (or the configuration-set forms) turned sending back on, e.g. after a pause by SES or sesguard"},
		{ID: CoverageUnobservedSends, Severity: finding.SeverityHigh, Title: "SES sends sesguard did not see",
			Doc: "SES counted more sends (CloudWatch AWS/SES Send, or a CloudTrail send data event) than sesguard received Send events for, beyond the tolerance", External: true},
		{ID: ReputationAccountAtRisk, Severity: finding.SeverityHigh, Title: "SES account reputation at risk",
			Doc: "the account's Reputation.BounceRate or Reputation.ComplaintRate (CloudWatch) reached the warning threshold, below SES's review level", External: true},
		// --- the attacker's playbook beyond SES (issue 20) ---
		{ID: PlaybookKeyValidated, Severity: finding.SeverityHigh, Title: "Access key validated by a secret scanner",
			Doc: "sts:GetCallerIdentity with a known secret-scanner user agent (TruffleHog, ...) from outside the approved networks: the key is in someone's hands before any SES call"},
		{ID: PlaybookPersistence, Severity: finding.SeverityCritical, Title: "IAM identity or credentials created with a key",
			Doc: "CreateUser / CreateAccessKey / CreateLoginProfile / GetFederationToken by a principal not in playbook.iam_admins, or from outside the approved networks"},
		{ID: PlaybookPrivilege, Severity: finding.SeverityCritical, Title: "SES sending privilege granted with a key",
			Doc: "CreatePolicy / Put{User,Group}Policy / Attach{User,Group}Policy granting SES sending (AmazonSESFullAccess, AdministratorAccess, ses:Send*, ses:*, *) by a principal not in playbook.iam_admins, or from outside the approved networks"},
		{ID: PlaybookQuotaCase, Severity: finding.SeverityHigh, Title: "SES limit support case opened with a key",
			Doc: "support:CreateCase about SES (sending limits, production access) by a principal not in playbook.iam_admins, or from outside the approved networks"},
		{ID: PlaybookQuarantined, Severity: finding.SeverityCritical, Title: "AWS quarantined a user's exposed key",
			Doc: "AWS (AWS Internal) attached AWSCompromisedKeyQuarantine* / AWSExposedCredentialPolicy_DO_NOT_REMOVE to a user: one of its keys is public, and the quarantine does not stop SES sends"},
		{ID: PlaybookMultiRegion, Severity: finding.SeverityCritical, Title: "One key calling SES in many Regions",
			Doc: "one access key made SES calls in at least playbook.multi_region.regions Regions within playbook.multi_region.window", Stateful: true},
		{ID: BaselineFirstSESUse, Severity: finding.SeverityMedium, Title: "First SES use of a key",
			Doc: "a key (or keyless principal) never seen calling SES before did (baseline.enabled; after the learning period)", Stateful: true},
		{ID: BaselineDormantKey, Severity: finding.SeverityHigh, Title: "Dormant key used against SES",
			Doc: "a key unused for at least baseline.dormant_after called SES (baseline.enabled)", Stateful: true},
		{ID: BaselineNewNetwork, Severity: finding.SeverityHigh, Title: "SES use from a network new to the key",
			Doc: "a key called SES from a network (IPv4 /24, IPv6 /48) it did not use during its baseline.learning period (baseline.enabled)", Stateful: true},
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
