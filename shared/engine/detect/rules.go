package detect

import (
	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
)

// Rule is one registered detection rule.
type Rule struct {
	rules.Rule // id, title, default severity, doc: declared once in shared/core/rules
	// check says whether a Send violates a per-send rule; why says how, and is called only when
	// a finding needs its detail line (once per finding group, not once per send: a flood of
	// violating sends must not format a line each).
	check func(p *policy.Policy, e *sesevent.Event) bool
	why   func(p *policy.Policy, e *sesevent.Event) string
	// key, when set, names every input of check besides the policy: a batch decides each
	// distinct key once (senders repeat, a flood repeats one sender). ok false: not memoised.
	key func(e *sesevent.Event) (k [3]string, ok bool)
	// sampleUnapproved: the finding's recipient sample lists only the recipients the policy
	// does not approve (the rule is about them), not every recipient of the send.
	sampleUnapproved bool
	// apiCheck is set for rules over CloudTrail SES API calls (see ProcessCalls).
	apiCheck func(p *policy.Policy, c *cloudtrail.Event) (bool, string)
	// global rules judge IAM, STS and Support calls; the others judge SES calls only.
	global bool
	// created: the finding lists the identities the calls created (finding.Created).
	created bool
	// subject, when set, names the finding's principal instead of the caller (AWS quarantining
	// a user is a finding about the user).
	subject func(c *cloudtrail.Event) finding.Principal
}

// CheckCall evaluates an API-call rule against one CloudTrail SES call: violated, and why.
// Other rules always report false here.
func (r Rule) CheckCall(p *policy.Policy, c *cloudtrail.Event) (bool, string) {
	if r.apiCheck == nil || r.global == c.IsSES() {
		return false, ""
	}
	return r.apiCheck(p, c)
}

// Check evaluates a per-send rule against one Send event: violated, and why. Stateful rules
// always report false here.
func (r Rule) Check(p *policy.Policy, e *sesevent.Event) (bool, string) {
	if r.check == nil || !r.check(p, e) {
		return false, ""
	}
	return true, r.why(p, e)
}

// Rules returns the registry: the catalog (shared/core/rules), in its order, with each rule's
// evaluation code. A catalog entry with no code here is raised elsewhere (External).
func Rules() []Rule {
	code := map[string]func(rules.Rule) Rule{
		rules.NetworkOutsideApproved:           networkOutsideApproved,
		rules.NetworkUnknownSource:             networkUnknownSource,
		rules.SenderPrincipalUnapproved:        senderPrincipalUnapproved,
		rules.SenderFromUnapproved:             senderFromUnapproved,
		rules.SenderIdentityUnapproved:         senderIdentityUnapproved,
		rules.SenderConfigurationSetUnapproved: senderConfigurationSetUnapproved,
		rules.RecipientDomainUnapproved:        recipientDomainUnapproved,
		rules.AttributionMissing:               attributionMissing,
		rules.VolumePrincipalSpike:             volumePrincipalSpike,
		rules.ReputationBounceSpike:            reputationBounceSpike,
		rules.ReputationComplaintSpike:         reputationComplaintSpike,
		rules.APIOutsideApproved:               apiOutsideApproved,
		rules.APIPrincipalUnapproved:           apiPrincipalUnapproved,
		rules.APISendDenied:                    apiSendDenied,
		rules.SetupSandboxExitRequested:        setupSandboxExitRequested,
		rules.SetupIdentityCreated:             setupIdentityCreated,
		rules.SetupSendingReenabled:            setupSendingReenabled,
		rules.CoverageUnobservedSends:          coverageUnobservedSends,
		rules.ReputationAccountAtRisk:          reputationAccountAtRisk,
		rules.HealthCredentialsRisk:            healthCredentialsRisk,
		rules.SESSendingPaused:                 sesSendingPaused,
		rules.SESSendingResumed:                sesSendingResumed,
		rules.PlaybookKeyValidated:             playbookKeyValidated,
		rules.PlaybookPersistence:              playbookPersistence,
		rules.PlaybookPrivilege:                playbookPrivilege,
		rules.PlaybookQuotaCase:                playbookQuotaCase,
		rules.PlaybookQuarantined:              playbookQuarantined,
		rules.PlaybookMultiRegion:              playbookMultiRegion,
		rules.BaselineFirstSESUse:              baselineFirstSESUse,
		rules.BaselineDormantKey:               baselineDormantKey,
		rules.BaselineNewNetwork:               baselineNewNetwork,
	}
	all := rules.All()
	out := make([]Rule, 0, len(all))
	for _, c := range all {
		if build, ok := code[c.ID]; ok {
			out = append(out, build(c))
		} else {
			out = append(out, Rule{Rule: c})
		}
	}
	return out
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
