package policy

// Rule names. They are the ids of the detection rules in shared/engine/detect, the keys of
// `response.on` and `rules:` in the policy file, and the `rule` field of a Finding.
const (
	RuleNetworkOutsideApproved           = "network.outside_approved"
	RuleNetworkUnknownSource             = "network.unknown_source"
	RuleSenderPrincipalUnapproved        = "sender.principal_unapproved"
	RuleSenderFromUnapproved             = "sender.from_unapproved"
	RuleSenderIdentityUnapproved         = "sender.identity_unapproved"
	RuleSenderConfigurationSetUnapproved = "sender.configuration_set_unapproved"
	RuleRecipientDomainUnapproved        = "recipient.domain_unapproved"
	RuleAttributionMissing               = "attribution.missing"
	RuleVolumePrincipalSpike             = "volume.principal_spike"
	RuleReputationBounceSpike            = "reputation.bounce_spike"
	RuleReputationComplaintSpike         = "reputation.complaint_spike"
	// CloudTrail SES API calls (shared/decode/cloudtrail).
	RuleAPIOutsideApproved        = "api.outside_approved"
	RuleAPIPrincipalUnapproved    = "api.principal_unapproved"
	RuleAPISendDenied             = "api.send_denied"
	RuleSetupSandboxExitRequested = "setup.sandbox_exit_requested"
	RuleSetupIdentityCreated      = "setup.identity_created"
	RuleSetupSendingReenabled     = "setup.sending_reenabled"
	// Reconciliation with SES's CloudWatch metrics (the coverage function).
	RuleCoverageUnobservedSends = "coverage.unobserved_sends"
	RuleReputationAccountAtRisk = "reputation.account_at_risk"
)

// RuleNames lists every rule name the policy file accepts, in documentation order.
func RuleNames() []string {
	return []string{
		RuleNetworkOutsideApproved,
		RuleNetworkUnknownSource,
		RuleSenderPrincipalUnapproved,
		RuleSenderFromUnapproved,
		RuleSenderIdentityUnapproved,
		RuleSenderConfigurationSetUnapproved,
		RuleRecipientDomainUnapproved,
		RuleAttributionMissing,
		RuleVolumePrincipalSpike,
		RuleReputationBounceSpike,
		RuleReputationComplaintSpike,
		RuleAPIOutsideApproved,
		RuleAPIPrincipalUnapproved,
		RuleAPISendDenied,
		RuleSetupSandboxExitRequested,
		RuleSetupIdentityCreated,
		RuleSetupSendingReenabled,
		RuleCoverageUnobservedSends,
		RuleReputationAccountAtRisk,
	}
}

// KnownRule reports whether name is a rule name the policy file accepts.
func KnownRule(name string) bool {
	for _, r := range RuleNames() {
		if r == name {
			return true
		}
	}
	return false
}

// Containment action names (values of `response.on`). shared/engine/contain implements them.
const (
	ActionDeactivateKeys        = "deactivate_keys"
	ActionDenySendPolicy        = "deny_send_policy"
	ActionTightenIdentityPolicy = "tighten_identity_policy"
	ActionPauseConfigurationSet = "pause_configuration_set"
	ActionPauseAccount          = "pause_account"
)

// ActionNames lists every containment action name, least disruptive first.
func ActionNames() []string {
	return []string{
		ActionDeactivateKeys,
		ActionDenySendPolicy,
		ActionTightenIdentityPolicy,
		ActionPauseConfigurationSet,
		ActionPauseAccount,
	}
}

// KnownAction reports whether name is a containment action name.
func KnownAction(name string) bool {
	for _, a := range ActionNames() {
		if a == name {
			return true
		}
	}
	return false
}

// Response modes.
const (
	ModeDryRun  = "dry-run"
	ModeEnforce = "enforce"
)
