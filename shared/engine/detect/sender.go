package detect

import (
	"fmt"
	"strings"

	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
)

func senderPrincipalUnapproved(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		check: func(p *policy.Policy, e *sesevent.Event) (bool, string) {
			// The identity's account is ours; mail.sendingAccountId (Account) is the sender's,
			// another account's for a delegate sender (sending authorization).
			home := policy.ARNAccount(e.IdentityArn)
			if e.CallerIdentity == "" || p.CallerApproved(policy.Caller{Name: e.CallerIdentity, Account: e.Account}, home) {
				return false, ""
			}
			if policy.Foreign(e.Account, home) {
				return true, fmt.Sprintf("caller %q of account %s, not the identity's account %s: a name in senders.principals approves only that account's principal; another account's is approved by its ARN", e.CallerIdentity, e.Account, home)
			}
			return true, fmt.Sprintf("caller %q is not in senders.principals", e.CallerIdentity)
		},
	}
}

func attributionMissing(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		check: func(_ *policy.Policy, e *sesevent.Event) (bool, string) {
			if e.CallerIdentity != "" {
				return false, ""
			}
			return true, "no caller identity recorded (ses:caller-identity missing)"
		},
	}
}

func senderFromUnapproved(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		check: func(p *policy.Policy, e *sesevent.Event) (bool, string) {
			if len(e.From) == 0 {
				return true, "no From address recorded"
			}
			var bad []string
			for _, a := range e.From {
				if !p.FromApproved(a.Address) {
					bad = append(bad, a.Address)
				}
			}
			if len(bad) == 0 {
				return false, ""
			}
			return true, fmt.Sprintf("From %s not in senders.from", quoteList(bad))
		},
	}
}

func senderIdentityUnapproved(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		check: func(p *policy.Policy, e *sesevent.Event) (bool, string) {
			if e.Identity == "" {
				return true, "no sending identity recorded (mail.sourceArn missing)"
			}
			if p.IdentityApproved(e.Identity) {
				return false, ""
			}
			return true, fmt.Sprintf("identity %q is not in senders.identities", e.Identity)
		},
	}
}

func senderConfigurationSetUnapproved(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		check: func(p *policy.Policy, e *sesevent.Event) (bool, string) {
			if e.ConfigurationSet == "" {
				return true, "no configuration set recorded (ses:configuration-set missing)"
			}
			if p.ConfigurationSetApproved(e.ConfigurationSet) {
				return false, ""
			}
			return true, fmt.Sprintf("configuration set %q is not in senders.configuration_sets", e.ConfigurationSet)
		},
	}
}

func recipientDomainUnapproved(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		check: func(p *policy.Policy, e *sesevent.Event) (bool, string) {
			if len(e.Recipients) == 0 {
				return true, "no recipients recorded (mail.destination empty)"
			}
			bad := unapprovedDomains(p, e.Recipients)
			if len(bad) == 0 {
				return false, ""
			}
			return true, fmt.Sprintf("recipient domain %s not in recipients.domains", quoteList(bad))
		},
	}
}

// unapprovedDomains lists the distinct recipient domains the policy does not approve.
func unapprovedDomains(p *policy.Policy, recipients []string) []string {
	var bad []string
	for _, r := range recipients {
		if p.RecipientApproved(r) {
			continue
		}
		d := policy.DomainOf(r)
		if d == "" {
			d = r
		}
		if !contains(bad, d) {
			bad = append(bad, d)
		}
	}
	return bad
}

// quoteList quotes up to five values for a detail line.
func quoteList(vs []string) string {
	const max = 5
	var b strings.Builder
	for i, v := range vs {
		if i == max {
			fmt.Fprintf(&b, " (+%d more)", len(vs)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", v)
	}
	return b.String()
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
