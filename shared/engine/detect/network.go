package detect

import (
	"fmt"
	"strings"

	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
)

func networkOutsideApproved(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		check: func(p *policy.Policy, e *sesevent.Event) bool {
			return e.SourceIP.IsValid() && !p.NetworkApproved(e.SourceIP)
		},
		why: func(p *policy.Policy, e *sesevent.Event) string {
			return fmt.Sprintf("source %s is outside the approved networks (%s)", e.SourceIP, approvedNetworks(p))
		},
	}
}

func networkUnknownSource(c rules.Rule) Rule {
	return Rule{
		Rule:  c,
		check: func(_ *policy.Policy, e *sesevent.Event) bool { return !e.SourceIP.IsValid() },
		why: func(*policy.Policy, *sesevent.Event) string {
			return "no source IP recorded (ses:source-ip missing or unparseable)"
		},
	}
}

// approvedNetworks describes the approved set for a finding's detail line.
func approvedNetworks(p *policy.Policy) string {
	var parts []string
	for _, pf := range p.ApprovedPrefixes() {
		parts = append(parts, pf.String())
	}
	for _, id := range p.Unresolved() {
		parts = append(parts, id+" (unresolved)")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
