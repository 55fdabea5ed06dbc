package policy

import (
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// Policy is a loaded, validated sesguard.yaml. Build it with Load; the zero value approves nothing.
// A Policy is read-only after Load (and Resolve) and safe for concurrent use.
type Policy struct {
	// Name is where the policy came from (a file name), used in messages.
	Name       string
	Version    int
	Network    Network
	Senders    Senders
	Recipients Recipients
	Limits     Limits
	// Rules holds per-rule overrides (severity, enabled), keyed by rule name.
	Rules    map[string]RuleConfig
	Response Response
	Alerts   Alerts
	// Preventive says whether the CDK app attaches the rendered identity policy (a Deny outside
	// the approved networks and From addresses) to the policy's identities: PreventiveOff (the
	// default, so a first deploy cannot block mail) or PreventiveEnforce, chosen explicitly once
	// `sesguard policy preflight` shows no legitimate send would be denied.
	Preventive string
	// Playbook and Baseline configure the rules over the attacker's steps beyond SES.
	Playbook Playbook
	Baseline Baseline
}

// Preventive-control choices (the policy's `preventive` key).
const (
	PreventiveOff     = "off"
	PreventiveEnforce = "enforce"
)

// Network is the set of networks sends may come from.
type Network struct {
	// VPCs are VPC ids; their CIDR blocks are approved once resolved (see Resolve).
	VPCs []string
	// CIDRs are approved source ranges (IPv4 or IPv6), as written.
	CIDRs []netip.Prefix
	// Resolved maps a VPC id to all its associated IPv4/IPv6 CIDR blocks. Filled by Resolve from
	// attribute/vpcresolve (CLI, CDK) or from SESGUARD_VPC_CIDRS (Lambdas), never by Load.
	Resolved map[string][]netip.Prefix
}

// Senders are the approved sending principals and message attributes.
type Senders struct {
	Principals        []string // IAM user/role names (ses:caller-identity), StringLike patterns
	From              []string // From address patterns, e.g. "*@mail.example.com"
	Identities        []string // SES identity names (domain or address)
	ConfigurationSets []string // configuration set names
}

// Recipients are the approved recipient domains.
type Recipients struct {
	Domains []string // domain patterns, "*" for any
}

// Limits are the thresholds of the volume and reputation rules.
type Limits struct {
	PerPrincipal  VolumeLimit
	BounceRate    RateLimit
	ComplaintRate RateLimit
	// UnobservedSends and AccountReputation drive the coverage function's reconciliation with
	// SES's CloudWatch metrics.
	UnobservedSends   UnobservedLimit
	AccountReputation ReputationLimit
}

// UnobservedLimit: a 5-minute period in which CloudWatch counted more sends than sesguard saw
// Send events for is coverage.unobserved_sends when the difference exceeds both Absolute and
// Relative × the CloudWatch count. Periods are judged only once Settle has passed since they
// closed, and alerted only when a second, later check still finds the gap (late events).
type UnobservedLimit struct {
	Absolute int64
	Relative float64
	Settle   time.Duration
}

// ReputationLimit: the account's Reputation.BounceRate / ComplaintRate at or above these is
// reputation.account_at_risk (SES reviews at 5 % / 0.1 % and may pause at 10 % / 0.5 %).
type ReputationLimit struct {
	BounceRate    float64
	ComplaintRate float64
}

// VolumeLimit: more than MaxSends sends by one principal within Window is a spike.
type VolumeLimit struct {
	Window   time.Duration
	MaxSends int64
}

// RateLimit: a rate above Max over Window is a spike, once at least MinSends emails were sent.
// Like SES's own bounce and complaint rates, both sides count recipients: a send to three
// addresses is three emails.
type RateLimit struct {
	Window   time.Duration
	Max      float64
	MinSends int64
}

// RuleConfig overrides a rule's defaults.
type RuleConfig struct {
	Disabled bool
	Severity finding.Severity // empty: the rule's default
}

// Response says how findings are contained.
type Response struct {
	Mode                string   // ModeDryRun or ModeEnforce
	ProtectedPrincipals []string // patterns of principals never contained
	MaxActionsPerHour   int
	// AllowEmptyApproved accepts an empty approved set in enforce mode (every send then matches).
	AllowEmptyApproved bool
	// On maps a rule name to the containment actions to take, in order.
	On map[string][]string
	// Approvers are the Slack user ids (U…/W…) whose click on a Contain now or Undo button is
	// carried out (functions/interact). Empty: no button is offered and every click is refused.
	Approvers []string
	// ApprovalExpiry is how long a button stays usable after its message was sent.
	ApprovalExpiry time.Duration
}

// Approver reports whether the Slack user id may approve containment from Slack. Slack ids are
// case-sensitive upper-case strings, so the comparison is exact.
func (r *Response) Approver(slackUserID string) bool {
	return slackUserID != "" && slices.Contains(r.Approvers, slackUserID)
}

// Alerts configures where findings are announced.
type Alerts struct {
	SlackWebhookSecret string           // Secrets Manager secret name or ARN holding the webhook URL
	SNSTopic           string           // topic name or ARN for human-readable alerts
	MinSeverity        finding.Severity // findings below are not alerted
}

// Defaults used when the policy file leaves a field out.
const (
	DefaultVolumeWindow      = 5 * time.Minute
	DefaultMaxSends          = 500
	DefaultRateWindow        = time.Hour
	DefaultBounceRateMax     = 0.05  // SES puts an account under review at 5 %
	DefaultComplaintRateMax  = 0.001 // ... and at 0.1 % complaints
	DefaultRateMinSends      = 200
	DefaultMaxActionsPerHour = 20
	// Reconciliation with CloudWatch (limits.unobserved_sends, limits.account_reputation).
	DefaultUnobservedAbsolute   = 5
	DefaultUnobservedRelative   = 0.02
	DefaultUnobservedSettle     = 15 * time.Minute
	DefaultAccountBounceRate    = 0.04   // warn before SES's 5 % review level
	DefaultAccountComplaintRate = 0.0008 // ... and before its 0.1 %
	// DefaultApprovalExpiry: a Slack button is refused a day after its message; the bounds keep a
	// typo from making one unusable at once or valid for weeks.
	DefaultApprovalExpiry = 24 * time.Hour
	MinApprovalExpiry     = time.Minute
	MaxApprovalExpiry     = 7 * 24 * time.Hour
)

func defaults() Policy {
	return Policy{
		Limits: Limits{
			PerPrincipal:  VolumeLimit{Window: DefaultVolumeWindow, MaxSends: DefaultMaxSends},
			BounceRate:    RateLimit{Window: DefaultRateWindow, Max: DefaultBounceRateMax, MinSends: DefaultRateMinSends},
			ComplaintRate: RateLimit{Window: DefaultRateWindow, Max: DefaultComplaintRateMax, MinSends: DefaultRateMinSends},
			UnobservedSends: UnobservedLimit{Absolute: DefaultUnobservedAbsolute, Relative: DefaultUnobservedRelative,
				Settle: DefaultUnobservedSettle},
			AccountReputation: ReputationLimit{BounceRate: DefaultAccountBounceRate, ComplaintRate: DefaultAccountComplaintRate},
		},
		Response:   Response{Mode: ModeDryRun, MaxActionsPerHour: DefaultMaxActionsPerHour, ApprovalExpiry: DefaultApprovalExpiry},
		Alerts:     Alerts{MinSeverity: finding.SeverityLow},
		Preventive: PreventiveOff,
		Playbook:   defaultPlaybook(),
		Baseline:   defaultBaseline(),
	}
}

// Resolve records the CIDR blocks of VPC ids (ids not in the policy are ignored). Call it before
// sharing the policy between goroutines.
func (p *Policy) Resolve(vpcCIDRs map[string][]netip.Prefix) {
	for _, id := range p.Network.VPCs {
		blocks, ok := vpcCIDRs[id]
		if !ok {
			continue
		}
		if p.Network.Resolved == nil {
			p.Network.Resolved = make(map[string][]netip.Prefix)
		}
		out := make([]netip.Prefix, 0, len(blocks))
		for _, b := range blocks {
			out = append(out, b.Masked())
		}
		p.Network.Resolved[id] = out
	}
}

// Unresolved lists the policy's VPC ids whose CIDR blocks are not known: sends from them are
// judged by network.cidrs alone.
func (p *Policy) Unresolved() []string {
	var out []string
	for _, id := range p.Network.VPCs {
		if _, ok := p.Network.Resolved[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

// ApprovedPrefixes is network.cidrs plus every resolved VPC block, deduplicated and sorted.
func (p *Policy) ApprovedPrefixes() []netip.Prefix {
	var out []netip.Prefix
	seen := make(map[netip.Prefix]bool)
	add := func(pf netip.Prefix) {
		if !seen[pf] {
			seen[pf] = true
			out = append(out, pf)
		}
	}
	for _, c := range p.Network.CIDRs {
		add(c)
	}
	ids := make([]string, 0, len(p.Network.Resolved))
	for id := range p.Network.Resolved {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		for _, c := range p.Network.Resolved[id] {
			add(c)
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return out
}

// Actions returns the containment actions the policy maps rule to (nil when none).
func (p *Policy) Actions(rule string) []string {
	return slices.Clone(p.Response.On[rule])
}

// RuleEnabled reports whether rule runs (rules run unless `rules.<name>.enabled: false`).
func (p *Policy) RuleEnabled(rule string) bool {
	return !p.Rules[rule].Disabled
}

// Severity returns the severity the policy gives rule, or def when not overridden.
func (p *Policy) Severity(rule string, def finding.Severity) finding.Severity {
	if s := p.Rules[rule].Severity; s != "" {
		return s
	}
	return def
}

// Enforcing reports whether the response mode is enforce.
func (p *Policy) Enforcing() bool { return p.Response.Mode == ModeEnforce }
