package detect

import (
	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
)

// Rule is one registered detection rule.
type Rule struct {
	ID       string           // a policy.Rule* name
	Severity finding.Severity // default; the policy's `rules:` section may override it
	Doc      string           // one line for README, `sesguard replay` and alerts
	// Stateful rules (volume, reputation) need window counters and are evaluated by the
	// Detector; the others are pure checks of one Send.
	Stateful bool
	// External rules are raised outside the Detector (the coverage function's reconciliation
	// with CloudWatch); they are registered so the policy and the docs know them.
	External bool
	check    func(p *policy.Policy, e *sesevent.Event) (bool, string)
	// apiCheck is set for rules over CloudTrail SES API calls (see ProcessCalls).
	apiCheck func(p *policy.Policy, c *cloudtrail.Event) (bool, string)
}

// CheckCall evaluates an API-call rule against one CloudTrail SES call: violated, and why.
// Other rules always report false here.
func (r Rule) CheckCall(p *policy.Policy, c *cloudtrail.Event) (bool, string) {
	if r.apiCheck == nil {
		return false, ""
	}
	return r.apiCheck(p, c)
}

// Check evaluates a per-send rule against one Send event: violated, and why. Stateful rules
// always report false here.
func (r Rule) Check(p *policy.Policy, e *sesevent.Event) (bool, string) {
	if r.check == nil {
		return false, ""
	}
	return r.check(p, e)
}

// Rules returns the registry, in evaluation (and documentation) order.
func Rules() []Rule {
	return []Rule{
		networkOutsideApproved(),
		networkUnknownSource(),
		senderPrincipalUnapproved(),
		senderFromUnapproved(),
		senderIdentityUnapproved(),
		senderConfigurationSetUnapproved(),
		recipientDomainUnapproved(),
		attributionMissing(),
		volumePrincipalSpike(),
		reputationBounceSpike(),
		reputationComplaintSpike(),
		apiOutsideApproved(),
		apiPrincipalUnapproved(),
		apiSendDenied(),
		setupSandboxExitRequested(),
		setupIdentityCreated(),
		setupSendingReenabled(),
		coverageUnobservedSends(),
		reputationAccountAtRisk(),
	}
}

// RuleByID returns the registered rule with id.
func RuleByID(id string) (Rule, bool) {
	for _, r := range Rules() {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}
