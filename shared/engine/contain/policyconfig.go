package contain

import (
	"slices"

	"github.com/sesguard/sesguard/shared/policy"
)

// ConfigFromPolicy maps the policy file's response section onto a containment Config: mode,
// protected principals, hourly cap, rule → actions, and the policy's VPCs as the approved set of
// deny_send_policy's conditional form. Actor and IdentityARNs are left to the caller.
func ConfigFromPolicy(p *policy.Policy) Config {
	mode := p.Response.Mode
	if mode == "" {
		mode = ModeDryRun
	}
	on := make(map[string][]string, len(p.Response.On))
	for rule, acts := range p.Response.On {
		on[rule] = slices.Clone(acts)
	}
	return Config{
		Mode:              mode,
		Protected:         slices.Clone(p.Response.ProtectedPrincipals),
		MaxActionsPerHour: p.Response.MaxActionsPerHour,
		On:                on,
		ApprovedVPCs:      slices.Clone(p.Network.VPCs),
	}
}
