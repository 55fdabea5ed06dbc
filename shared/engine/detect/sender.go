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
		check: func(p *policy.Policy, e *sesevent.Event) bool {
			// The identity's account is ours; mail.sendingAccountId (Account) is the sender's,
			// another account's for a delegate sender (sending authorization).
			return e.CallerIdentity != "" && !p.CallerApproved(policy.Caller{Name: e.CallerIdentity, Account: e.Account}, policy.ARNAccount(e.IdentityArn))
		},
		key: func(e *sesevent.Event) ([3]string, bool) {
			return [3]string{e.CallerIdentity, e.Account, e.IdentityArn}, true
		},
		why: func(_ *policy.Policy, e *sesevent.Event) string {
			if home := policy.ARNAccount(e.IdentityArn); policy.Foreign(e.Account, home) {
				return fmt.Sprintf("caller %q of account %s, not the identity's account %s: a name in senders.principals approves only that account's principal; another account's is approved by its ARN", e.CallerIdentity, e.Account, home)
			}
			return fmt.Sprintf("caller %q is not in senders.principals", e.CallerIdentity)
		},
	}
}

func attributionMissing(c rules.Rule) Rule {
	return Rule{
		Rule:  c,
		check: func(_ *policy.Policy, e *sesevent.Event) bool { return e.CallerIdentity == "" },
		why: func(*policy.Policy, *sesevent.Event) string {
			return "no caller identity recorded (ses:caller-identity missing)"
		},
	}
}

func senderFromUnapproved(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		check: func(p *policy.Policy, e *sesevent.Event) bool {
			if len(e.From) == 0 {
				return true
			}
			for _, a := range e.From {
				if !p.FromApproved(a.Address) {
					return true
				}
			}
			return false
		},
		key: func(e *sesevent.Event) ([3]string, bool) {
			if len(e.From) != 1 {
				return [3]string{}, false
			}
			return [3]string{e.From[0].Address}, true
		},
		why: func(p *policy.Policy, e *sesevent.Event) string {
			if len(e.From) == 0 {
				return "no From address recorded"
			}
			var bad []string
			for _, a := range e.From {
				if !p.FromApproved(a.Address) {
					bad = append(bad, a.Address)
				}
			}
			return fmt.Sprintf("From %s not in senders.from", quoteList(bad))
		},
	}
}

func senderIdentityUnapproved(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		check: func(p *policy.Policy, e *sesevent.Event) bool {
			return e.Identity == "" || !p.IdentityApproved(e.Identity)
		},
		key: func(e *sesevent.Event) ([3]string, bool) { return [3]string{e.Identity}, true },
		why: func(_ *policy.Policy, e *sesevent.Event) string {
			if e.Identity == "" {
				return "no sending identity recorded (mail.sourceArn missing)"
			}
			return fmt.Sprintf("identity %q is not in senders.identities", e.Identity)
		},
	}
}

func senderConfigurationSetUnapproved(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		check: func(p *policy.Policy, e *sesevent.Event) bool {
			return e.ConfigurationSet == "" || !p.ConfigurationSetApproved(e.ConfigurationSet)
		},
		key: func(e *sesevent.Event) ([3]string, bool) { return [3]string{e.ConfigurationSet}, true },
		why: func(_ *policy.Policy, e *sesevent.Event) string {
			if e.ConfigurationSet == "" {
				return "no configuration set recorded (ses:configuration-set missing)"
			}
			return fmt.Sprintf("configuration set %q is not in senders.configuration_sets", e.ConfigurationSet)
		},
	}
}

func recipientDomainUnapproved(c rules.Rule) Rule {
	return Rule{
		Rule:             c,
		sampleUnapproved: true,
		check: func(p *policy.Policy, e *sesevent.Event) bool {
			if len(e.Recipients) == 0 {
				return true
			}
			for _, r := range e.Recipients {
				if !p.RecipientApproved(r) {
					return true
				}
			}
			return false
		},
		why: func(p *policy.Policy, e *sesevent.Event) string {
			if len(e.Recipients) == 0 {
				return "no recipients recorded (mail.destination empty)"
			}
			return fmt.Sprintf("recipient domain %s not in recipients.domains", quoteList(unapprovedDomains(p, e.Recipients)))
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
