package contain

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sesguard/sesguard/shared/core/finding"
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
		if createdOnly(name) && len(f.Created) > 0 {
			continue // aimed at the created identities below, never at the key's own principal
		}
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
	// A persistence finding also targets what the key created (a user, its key, its password).
	out = append(out, createdIntents(f, dedup(actions), cfg)...)
	return out, nil
}

func dedup(actions []string) []string {
	var out []string
	for _, a := range actions {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// Protected reports whether the principal matches a protected pattern by name or ARN. It errs
// towards protection: matching ignores case (IAM names are unique case-insensitively, so
// "Break-Glass" is the user a "break-glass-*" pattern means), and every form of the principal is
// tried — the name, the ARN, the name taken from the ARN, the ARN without its IAM path, and for
// an STS assumed-role session the role's name and IAM ARN.
func Protected(p finding.Principal, patterns []string) bool {
	if len(patterns) == 0 {
		return false
	}
	forms := principalForms(p)
	for _, pat := range patterns {
		pat = strings.ToLower(pat)
		for _, s := range forms {
			if policy.Like(pat, s) {
				return true
			}
		}
	}
	return false
}

// principalForms lists the lower-cased names and ARNs a principal is known by.
func principalForms(p finding.Principal) []string {
	var out []string
	add := func(s string) {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	add(p.Name)
	if i := strings.LastIndexByte(p.Name, '/'); i >= 0 {
		add(p.Name[i+1:]) // a name given with its path
	}
	add(p.ARN)
	// arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE
	if parts := strings.SplitN(p.ARN, ":", 6); len(parts) == 6 && parts[0] == "arn" {
		partition, service, account, res := parts[1], parts[2], parts[4], strings.Split(parts[5], "/")
		switch {
		case service == "sts" && len(res) >= 2 && res[0] == "assumed-role":
			add(res[1])
			add("arn:" + partition + ":iam::" + account + ":role/" + res[1])
		case service == "iam" && len(res) >= 2:
			name := res[len(res)-1]
			add(name)
			add("arn:" + partition + ":iam::" + account + ":" + res[0] + "/" + name)
		}
	}
	return out
}

func intentFor(t Target, cfg *Config) Intent {
	in := Intent{Target: t}
	switch {
	case !KnownAction(t.Action):
		in.Outcome, in.Reason = finding.OutcomeFailed, fmt.Sprintf("unknown containment action %q", t.Action)
	case foreignAccount(t) == "" && Protected(t.Principal, cfg.Protected):
		// protected_principals are names of this account's principals: another account's
		// principal of the same name is not the one they protect.
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

// foreignAccount returns the account of the finding's principal when it is not the finding's own
// account (where sesguard acts), else "".
func foreignAccount(t Target) string {
	if t.Finding == nil {
		return ""
	}
	if acct := policy.ARNAccount(t.Principal.ARN); policy.Foreign(acct, t.Finding.Account) {
		return acct
	}
	return ""
}

// targetMissing says why the finding lacks what the action needs, or "" when it has it.
func targetMissing(t Target) string {
	p := t.Principal
	if acct := foreignAccount(t); acct != "" && (t.Action == ActionDeactivateKeys || t.Action == ActionDenySendPolicy) {
		// A same-named user or role here is a different principal: acting on it would contain the
		// wrong one, and the foreign one is out of reach.
		how := "remove account " + acct + "'s sending authorization from the identity policy"
		if t.Identity != "" {
			how += " of " + t.Identity
		}
		return "principal " + p.ARN + " belongs to account " + acct + ", not " + t.Finding.Account +
			" where sesguard acts: its keys and policies cannot be changed from here (a principal here of the same name is a different one); " +
			how + " (tighten_identity_policy denies this principal on the identity) and tell that account's owner"
	}
	switch t.Action {
	case ActionDenyAllPolicy, ActionDeleteLoginProfile:
		if t.Created == nil {
			return "applies only to an identity the finding's key created, and the finding lists none"
		}
		if p.Kind != finding.KindUser || p.Name == "" {
			return "principal is not an identified IAM user"
		}
	case ActionDeactivateKeys:
		switch {
		case p.Kind == finding.KindRole:
			return "principal " + p.Name + " is a role: roles have no access keys (use deny_send_policy)"
		case p.Kind == finding.KindRoot:
			return "principal is the root user: sesguard never changes root credentials"
		case p.Kind != finding.KindUser || p.Name == "":
			return "principal is not an identified IAM user (attribution unknown)"
		case strings.HasPrefix(p.AccessKeyID, "ASIA"):
			// A CloudTrail-recorded session key: it is no IAM access key, and falling back to the
			// user's other keys would hit keys the finding never saw.
			return "the finding's key " + p.AccessKeyID + " is temporary session credentials, not an IAM access key (use deny_send_policy)"
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
