package policy

import "github.com/sesguard/sesguard/shared/core/rules"

// RuleNames lists every rule name the policy file accepts, in documentation order: the
// catalog's (shared/core/rules).
func RuleNames() []string { return rules.Names() }

// KnownRule reports whether name is a rule name the policy file accepts.
func KnownRule(name string) bool {
	_, ok := rules.Lookup(name)
	return ok
}

// Containment action names (values of `response.on`). shared/engine/contain implements them.
const (
	ActionDeactivateKeys        = "deactivate_keys"
	ActionDenySendPolicy        = "deny_send_policy"
	ActionTightenIdentityPolicy = "tighten_identity_policy"
	ActionPauseConfigurationSet = "pause_configuration_set"
	ActionPauseAccount          = "pause_account"
	// Actions on the identities an attacker created (playbook.persistence findings).
	ActionDenyAllPolicy      = "deny_all_policy"
	ActionDeleteLoginProfile = "delete_login_profile"
)

// ActionNames lists every containment action name, least disruptive first.
func ActionNames() []string {
	return []string{
		ActionDeactivateKeys,
		ActionDenySendPolicy,
		ActionTightenIdentityPolicy,
		ActionPauseConfigurationSet,
		ActionPauseAccount,
		ActionDenyAllPolicy,
		ActionDeleteLoginProfile,
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
