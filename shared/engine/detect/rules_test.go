package detect

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
)

func TestRegistryMatchesPolicyNames(t *testing.T) {
	var ids []string
	for _, r := range Rules() {
		ids = append(ids, r.ID)
		if r.Severity.Rank() == 0 || r.Doc == "" || strings.Contains(r.Doc, "\n") {
			t.Errorf("rule %s: severity %q, doc %q", r.ID, r.Severity, r.Doc)
		}
		kinds := 0
		for _, k := range []bool{r.Stateful, r.External, r.check != nil, r.apiCheck != nil} {
			if k {
				kinds++
			}
		}
		if kinds != 1 {
			t.Errorf("rule %s: want exactly one of stateful=%v external=%v check=%v apiCheck=%v", r.ID, r.Stateful, r.External, r.check != nil, r.apiCheck != nil)
		}
	}
	if got, want := strings.Join(ids, ","), strings.Join(policy.RuleNames(), ","); got != want {
		t.Errorf("registry %s\n policy  %s", got, want)
	}
	if _, ok := RuleByID("nope"); ok {
		t.Error("RuleByID found an unknown rule")
	}
}

// ruleCase is one table row: a Send mutated from goodSend, and whether the rule fires.
type ruleCase struct {
	name   string
	mutate func(*sesevent.Event)
	want   bool
	detail string // substring of the detail when want
}

func runRuleCases(t *testing.T, id string, cases []ruleCase) {
	t.Helper()
	r, ok := RuleByID(id)
	if !ok {
		t.Fatalf("rule %s not registered", id)
	}
	p := examplePolicy(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := goodSend(1)
			if c.mutate != nil {
				c.mutate(&e)
			}
			got, detail := r.Check(p, &e)
			if got != c.want {
				t.Fatalf("%s fired=%v, want %v (detail %q)", id, got, c.want, detail)
			}
			if c.want && !strings.Contains(detail, c.detail) {
				t.Errorf("detail %q, want it to contain %q", detail, c.detail)
			}
		})
	}
}

func TestRuleNetworkOutsideApproved(t *testing.T) {
	runRuleCases(t, rules.NetworkOutsideApproved, []ruleCase{
		{"approved cidr", nil, false, ""},
		{"public ip", func(e *sesevent.Event) { e.SourceIP = netip.MustParseAddr("203.0.113.77") }, true,
			"source 203.0.113.77 is outside the approved networks (10.20.0.0/16, vpc-0a1b2c3d4e5f60718 (unresolved))"},
		{"other private range", func(e *sesevent.Event) { e.SourceIP = netip.MustParseAddr("10.99.0.1") }, true, "10.99.0.1"},
		{"ipv6", func(e *sesevent.Event) { e.SourceIP = netip.MustParseAddr("2001:db8::1") }, true, "2001:db8::1"},
		{"missing ip is the other rule", func(e *sesevent.Event) { e.SourceIP = netip.Addr{} }, false, ""},
	})
}

func TestRuleNetworkUnknownSource(t *testing.T) {
	runRuleCases(t, rules.NetworkUnknownSource, []ruleCase{
		{"has ip", nil, false, ""},
		{"missing ip", func(e *sesevent.Event) { e.SourceIP = netip.Addr{} }, true, "no source IP"},
	})
}

func TestRuleSenderPrincipalUnapproved(t *testing.T) {
	runRuleCases(t, rules.SenderPrincipalUnapproved, []ruleCase{
		{"smtp user", nil, false, ""},
		{"role", func(e *sesevent.Event) { e.CallerIdentity = "mailer-task-role" }, false, ""},
		{"old smtp user", func(e *sesevent.Event) { e.CallerIdentity = "ses-smtp-user.20250101-000000" }, true, `caller "ses-smtp-user.20250101-000000"`},
		{"root", func(e *sesevent.Event) { e.CallerIdentity = "root" }, true, `"root"`},
		{"case differs", func(e *sesevent.Event) { e.CallerIdentity = "Mailer-task-role" }, true, "Mailer"},
		{"missing is attribution.missing", func(e *sesevent.Event) { e.CallerIdentity = "" }, false, ""},
	})
}

func TestRuleAttributionMissing(t *testing.T) {
	runRuleCases(t, rules.AttributionMissing, []ruleCase{
		{"attributed", nil, false, ""},
		{"no caller", func(e *sesevent.Event) { e.CallerIdentity = "" }, true, "no caller identity"},
	})
}

func TestRuleSenderFromUnapproved(t *testing.T) {
	runRuleCases(t, rules.SenderFromUnapproved, []ruleCase{
		{"approved", nil, false, ""},
		{"domain case", func(e *sesevent.Event) { e.From = []sesevent.Address{{Address: "billing@MAIL.example.com"}} }, false, ""},
		{"other domain", func(e *sesevent.Event) { e.From = []sesevent.Address{{Address: "ceo@example.com"}} }, true, `From "ceo@example.com" not in senders.from`},
		{"display name spoof", func(e *sesevent.Event) {
			e.From = []sesevent.Address{{Name: "billing@mail.example.com", Address: "x@evil.test"}}
		}, true, "x@evil.test"},
		{"one of two bad", func(e *sesevent.Event) {
			e.From = append(e.From, sesevent.Address{Address: "a@evil.test"})
		}, true, `"a@evil.test"`},
		{"none", func(e *sesevent.Event) { e.From = nil }, true, "no From address"},
	})
}

func TestRuleSenderIdentityUnapproved(t *testing.T) {
	runRuleCases(t, rules.SenderIdentityUnapproved, []ruleCase{
		{"approved", nil, false, ""},
		{"other identity", func(e *sesevent.Event) { e.Identity = "example.com" }, true, `identity "example.com"`},
		{"missing", func(e *sesevent.Event) { e.Identity = "" }, true, "no sending identity"},
	})
}

func TestRuleSenderConfigurationSetUnapproved(t *testing.T) {
	runRuleCases(t, rules.SenderConfigurationSetUnapproved, []ruleCase{
		{"approved", nil, false, ""},
		{"other set", func(e *sesevent.Event) { e.ConfigurationSet = "marketing" }, true, `configuration set "marketing"`},
		{"missing", func(e *sesevent.Event) { e.ConfigurationSet = "" }, true, "no configuration set"},
	})
}

func TestRuleRecipientDomainUnapproved(t *testing.T) {
	runRuleCases(t, rules.RecipientDomainUnapproved, []ruleCase{
		{"any domain approved", nil, false, ""},
		{"no recipients", func(e *sesevent.Event) { e.Recipients = nil }, true, "no recipients"},
	})
	// With a restricted recipient set.
	p := loadPolicy(t, "version: 1\nrecipients: { domains: [example.org, \"*.example.net\"] }\n")
	r, _ := RuleByID(rules.RecipientDomainUnapproved)
	tests := []struct {
		rcpts []string
		want  bool
		sub   string
	}{
		{[]string{"a@example.org", "b@x.example.net"}, false, ""},
		{[]string{"a@Example.ORG"}, false, ""},
		{[]string{"a@example.org", "b@evil.test", "c@evil.test", "d@other.test"}, true, `"evil.test", "other.test"`},
	}
	for _, tt := range tests {
		e := goodSend(1)
		e.Recipients = tt.rcpts
		got, detail := r.Check(p, &e)
		if got != tt.want || !strings.Contains(detail, tt.sub) {
			t.Errorf("%v: fired=%v detail=%q", tt.rcpts, got, detail)
		}
	}
}

func TestStatefulRulesHaveNoCheck(t *testing.T) {
	p := examplePolicy(t)
	e := goodSend(1)
	e.SourceIP = netip.Addr{}
	for _, id := range []string{rules.VolumePrincipalSpike, rules.ReputationBounceSpike, rules.ReputationComplaintSpike} {
		r, _ := RuleByID(id)
		if got, _ := r.Check(p, &e); got || !r.Stateful {
			t.Errorf("%s: Check fired or not stateful", id)
		}
	}
}
