package contain

import (
	"errors"
	"fmt"
	"slices"

	"github.com/sesguard/sesguard/shared/finding"
	"github.com/sesguard/sesguard/shared/policy"
)

// Intent is one action the planner selected for a finding: its target, or why it will not run.
type Intent struct {
	Target Target
	// Outcome is empty when the action should run; otherwise skipped_protected, skipped or
	// failed (a malformed finding or unknown action), with Reason.
	Outcome finding.Outcome
	Reason  string
}

// Run reports whether the intent is to be planned against AWS state and maybe applied.
func (in Intent) Run() bool { return in.Outcome == "" }

// Plan decides, without any I/O, which actions a finding gets and on what: the rule's actions
// from cfg.On (or the finding's own list), minus anything touching a protected principal, with
// each target resolved from the finding. It fails only for a finding that cannot be identified.
func Plan(f *finding.Finding, cfg *Config) ([]Intent, error) {
	if f == nil {
		return nil, errors.New("plan containment: nil finding")
	}
	if f.ID == "" {
		return nil, errors.New("plan containment: finding has no id")
	}
	if f.Rule == "" {
		return nil, fmt.Errorf("plan containment: finding %s has no rule", f.ID)
	}
	actions := f.Actions
	if cfg.On != nil {
		actions = cfg.On[f.Rule]
	}
	seen := map[string]bool{}
	var out []Intent
	for _, name := range actions {
		if seen[name] {
			continue
		}
		seen[name] = true
		t := Target{
			Action: name, FindingID: f.ID, Rule: f.Rule, Principal: f.Principal,
			Identity: f.Evidence.Identity, ConfigurationSet: f.Evidence.ConfigurationSet,
			SourceIP: f.SourceIP, From: slices.Clone(f.Evidence.From), Finding: f,
			ApprovedVPCs: slices.Clone(cfg.ApprovedVPCs), ApprovedVPCEs: slices.Clone(cfg.ApprovedVPCEs),
		}
		if t.Identity != "" {
			t.IdentityARN = identityARN(cfg, f, t.Identity)
		}
		out = append(out, intentFor(t, cfg))
	}
	return out, nil
}

// Protected reports whether the principal matches a protected pattern by name or ARN.
func Protected(p finding.Principal, patterns []string) bool {
	if len(patterns) == 0 {
		return false
	}
	return (p.Name != "" && policy.LikeAny(patterns, p.Name)) || (p.ARN != "" && policy.LikeAny(patterns, p.ARN))
}

func intentFor(t Target, cfg *Config) Intent {
	in := Intent{Target: t}
	switch {
	case !KnownAction(t.Action):
		in.Outcome, in.Reason = finding.OutcomeFailed, fmt.Sprintf("unknown containment action %q", t.Action)
	case Protected(t.Principal, cfg.Protected):
		// A protected principal's finding gets no automated action at all, including the
		// account- and set-wide ones that would stop its mail too.
		in.Outcome, in.Reason = finding.OutcomeSkippedProtected, fmt.Sprintf("principal %s is protected", principalLabel(t.Principal))
	default:
		if reason := targetMissing(t); reason != "" {
			in.Outcome, in.Reason = finding.OutcomeSkipped, reason
		}
	}
	return in
}

// targetMissing says why the finding lacks what the action needs, or "" when it has it.
func targetMissing(t Target) string {
	p := t.Principal
	switch t.Action {
	case ActionDeactivateKeys:
		switch {
		case p.Kind == finding.KindRole:
			return "principal " + p.Name + " is a role: roles have no access keys (use deny_send_policy)"
		case p.Kind == finding.KindRoot:
			return "principal is the root user: sesguard never changes root credentials"
		case p.Kind != finding.KindUser || p.Name == "":
			return "principal is not an identified IAM user (attribution unknown)"
		}
	case ActionDenySendPolicy:
		switch {
		case p.Kind == finding.KindRoot:
			return "principal is the root user: IAM policies do not apply to root"
		case (p.Kind != finding.KindUser && p.Kind != finding.KindRole) || p.Name == "":
			return "principal is not an identified IAM user or role (attribution unknown)"
		}
	case ActionTightenIdentityPolicy:
		if t.Identity == "" {
			return "finding names no SES identity"
		}
		if t.IdentityARN == "" {
			return "finding has no account/region to build the ARN of identity " + t.Identity + " (configure IdentityARNs)"
		}
		if _, ok := identityCondition(t); !ok {
			return "finding has no From address, source IP or principal ARN to restrict"
		}
	case ActionPauseConfigurationSet:
		if t.ConfigurationSet == "" && t.Identity == "" {
			return "finding names no configuration set and no identity to find its default set"
		}
	}
	return ""
}

func principalLabel(p finding.Principal) string {
	if p.Name != "" {
		return p.Name
	}
	if p.ARN != "" {
		return p.ARN
	}
	return "(unknown)"
}

func identityARN(cfg *Config, f *finding.Finding, identity string) string {
	if arn := cfg.IdentityARNs[identity]; arn != "" {
		return arn
	}
	region, account := f.Region, f.Account
	if region == "" || account == "" {
		return ""
	}
	return "arn:aws:ses:" + region + ":" + account + ":identity/" + identity
}
