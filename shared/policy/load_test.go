package policy

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
)

func TestLoadExample(t *testing.T) {
	p, err := LoadExample()
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != 1 || p.Response.Mode != ModeDryRun || p.Response.MaxActionsPerHour != 20 {
		t.Errorf("version/mode/max = %d/%s/%d", p.Version, p.Response.Mode, p.Response.MaxActionsPerHour)
	}
	if got := p.Network.VPCs; len(got) != 1 || got[0] != "vpc-0a1b2c3d4e5f60718" {
		t.Errorf("vpcs = %v", got)
	}
	if got := p.Network.CIDRs; len(got) != 1 || got[0] != netip.MustParsePrefix("10.20.0.0/16") {
		t.Errorf("cidrs = %v", got)
	}
	if got := strings.Join(p.Senders.Principals, ","); got != "ses-smtp-user.2026*,mailer-task-role" {
		t.Errorf("principals = %s", got)
	}
	if got := strings.Join(p.Actions(rules.NetworkOutsideApproved), ","); got != "deactivate_keys,deny_send_policy" {
		t.Errorf("actions = %s", got)
	}
	if p.Limits.PerPrincipal != (VolumeLimit{Window: 5 * time.Minute, MaxSends: 500}) {
		t.Errorf("per_principal = %+v", p.Limits.PerPrincipal)
	}
	if p.Limits.BounceRate != (RateLimit{Window: time.Hour, Max: 0.05, MinSends: 200}) {
		t.Errorf("bounce_rate = %+v", p.Limits.BounceRate)
	}
	if p.Severity(rules.AttributionMissing, finding.SeverityMedium) != finding.SeverityHigh {
		t.Errorf("attribution.missing severity override not applied")
	}
	if p.Severity(rules.NetworkOutsideApproved, finding.SeverityCritical) != finding.SeverityCritical {
		t.Errorf("default severity not kept")
	}
	if !p.Protected("break-glass-admin") || p.Protected("mailer-task-role") {
		t.Errorf("protected_principals not matched")
	}
	if p.Alerts.SlackWebhookSecret != "sesguard/slack" || p.Alerts.SNSTopic != "alerts" {
		t.Errorf("alerts = %+v", p.Alerts)
	}
	if u := p.Unresolved(); len(u) != 1 {
		t.Errorf("unresolved = %v", u)
	}
	// Example returns a copy: mutating it must not change the next load.
	b := Example()
	b[0] = 'X'
	if Example()[0] == 'X' {
		t.Error("Example exposes the embedded bytes")
	}
}

func TestLoadDefaults(t *testing.T) {
	p, err := Load([]byte("version: 1\n"), "min.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Response.Mode != ModeDryRun || p.Limits.PerPrincipal.MaxSends != DefaultMaxSends ||
		p.Limits.ComplaintRate.Max != DefaultComplaintRateMax || p.Response.MaxActionsPerHour != DefaultMaxActionsPerHour {
		t.Errorf("defaults not applied: %+v", p)
	}
	if p.PrincipalApproved("anyone") || p.NetworkApproved(netip.MustParseAddr("10.0.0.1")) {
		t.Error("an empty policy approved something")
	}
}

// TestLoadErrors checks that every mistake is reported with its line and column, all at once.
func TestLoadErrors(t *testing.T) {
	src := `version: 1
network:
  vpcs: [vpc-XYZ]
  cidrs: [10.20.0.0/33, 10.20.1.0/16, 10.0.0.1]
  subnets: [a]
senders:
  principals: ["bad name!"]
  from: ["mail.example.com", "*@mail.example.com"]
  identities: ["a b"]
  configuration_sets: [prod/outbound]
recipients:
  domains: ["*@example.com"]
limits:
  per_principal: { window: 5 minutes, max_sends: -1 }
  bounce_rate: { max: 5 }
rules:
  network.bogus: { severity: high }
  attribution.missing: { severity: urgent, enabled: maybe }
response:
  mode: yolo
  max_actions_per_hour: many
  on:
    sender.from_unapproved: [tighten_identity_policy, nuke_everything]
    no.such_rule: [deactivate_keys]
alerts: { min_severity: loud, webhook: x }
extra: 1
`
	_, err := Load([]byte(src), "bad.yaml")
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v, want Errors", err)
	}
	want := []string{
		"bad.yaml:3:10: network.vpcs: \"vpc-XYZ\": not a VPC id",
		"bad.yaml:4:11: network.cidrs: \"10.20.0.0/33\": not a CIDR block",
		"bad.yaml:4:25: network.cidrs: \"10.20.1.0/16\": host bits set; did you mean 10.20.0.0/16?",
		"bad.yaml:5:3: network: unknown key \"subnets\"",
		"bad.yaml:7:16: senders.principals: \"bad name!\": not an IAM user/role name pattern",
		"bad.yaml:8:10: senders.from: \"mail.example.com\": an address pattern needs an @",
		"bad.yaml:9:16: senders.identities: \"a b\": not a domain pattern",
		"bad.yaml:10:24: senders.configuration_sets: \"prod/outbound\": not a configuration set name pattern",
		"bad.yaml:12:13: recipients.domains: \"*@example.com\": a domain pattern has no @",
		"bad.yaml:14:28: limits.per_principal.window: \"5 minutes\" is not a duration",
		"bad.yaml:14:50: limits.per_principal.max_sends: -1 is below the minimum 1",
		"bad.yaml:15:23: limits.bounce_rate.max: \"5\" must be a fraction in (0, 1]",
		"bad.yaml:17:3: rules: unknown rule \"network.bogus\"",
		"bad.yaml:18:36: rules.attribution.missing.severity: unknown severity \"urgent\"",
		"bad.yaml:18:53: rules.attribution.missing.enabled: \"maybe\" is not true or false",
		"bad.yaml:20:9: response.mode: \"yolo\" is not dry-run or enforce",
		"bad.yaml:21:25: response.max_actions_per_hour: \"many\" is not a whole number",
		"bad.yaml:23:55: response.on.sender.from_unapproved: \"nuke_everything\": unknown action",
		"bad.yaml:24:5: response.on: unknown rule \"no.such_rule\"",
		"bad.yaml:25:25: alerts.min_severity: unknown severity \"loud\"",
		"bad.yaml:25:31: alerts: unknown key \"webhook\"",
		"bad.yaml:26:1: policy: unknown key \"extra\"",
	}
	if len(errs) != len(want) {
		t.Errorf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i := 0; i < len(want) && i < len(errs); i++ {
		if !strings.HasPrefix(errs[i].Error(), want[i]) {
			t.Errorf("error %d:\n got  %s\n want %s...", i, errs[i].Error(), want[i])
		}
	}
}

func TestLoadStructuralErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"empty", "", "t.yaml: empty policy"},
		// A null document once validated as "valid (version 0)" (issue 23, part 6).
		{"tilde", "~\n", "t.yaml: empty policy"},
		{"null", "null\n", "t.yaml: empty policy"},
		{"Null", "Null", "t.yaml: empty policy"},
		{"explicit null tag", "!!null ''\n", "t.yaml: empty policy"},
		{"document marker only", "---\n", "t.yaml: empty policy"},
		{"markers only", "---\n...\n", "t.yaml: empty policy"},
		{"comment only", "# nothing here\n", "t.yaml: empty policy"},
		{"marker and null", "--- ~\n", "t.yaml: empty policy"},
		{"null then a document", "~\n---\nversion: 1\n", "t.yaml: empty policy"},
		{"alias to nothing", "--- &a\n", "t.yaml: empty policy"},
		{"empty mapping", "{}\n", "t.yaml:1:1: policy: missing required key \"version\""},
		{"scalar", "version\n", "t.yaml:1:1: policy: expected a mapping"},
		{"null version", "version: ~\n", "t.yaml:1:10: version"},
		{"syntax", "version: 1\nnetwork: [\n", "t.yaml:2: invalid YAML"},
		{"not a mapping", "- a\n", "t.yaml:1:1: policy: expected a mapping, got a list"},
		{"missing version", "senders: {}\n", "t.yaml:1:1: policy: missing required key \"version\""},
		{"wrong version", "version: 2\n", "t.yaml:1:10: version: unsupported version 2"},
		{"duplicate key", "version: 1\nversion: 1\n", "t.yaml:2:1: policy: duplicate key \"version\" (first at line 1)"},
		{"list expected", "version: 1\nsenders: { principals: admin }\n", "t.yaml:2:24: senders.principals: expected a list, got \"admin\""},
		{"duplicate entry", "version: 1\nsenders: { principals: [a, a] }\n", "t.yaml:2:28: senders.principals: \"a\" listed twice"},
		{"zero window", "version: 1\nlimits: { per_principal: { window: 0s } }\n", "t.yaml:2:36: limits.per_principal.window: \"0s\" must be positive"},
		{"tab indent", "version: 1\nnetwork:\n\tcidrs: [10.0.0.0/8]\n", "t.yaml:3:1: invalid YAML: line 3: found character that cannot start any token (a tab"},
		{"second document", "version: 1\n---\nversion: 2\nbogus: 1\n", "t.yaml:3:1: policy: a second YAML document"},
		{"third document", "version: 1\n---\n---\nversion: 1\n", "a second YAML document"},
		{"sub-second window", "version: 1\nlimits: { bounce_rate: { window: 500ms } }\n", "t.yaml:2:34: limits.bounce_rate.window: \"500ms\" must be a whole number of seconds"},
		{"fractional window", "version: 1\nlimits: { per_principal: { window: 1.5s } }\n", "must be a whole number of seconds"},
		{"ipv4 mapped", "version: 1\nnetwork: { cidrs: [\"::ffff:10.0.0.0/104\"] }\n", "write IPv4 blocks in IPv4 form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load([]byte(tt.src), "t.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// Document markers around the one document are fine.
func TestLoadDocumentMarkers(t *testing.T) {
	for _, src := range []string{"---\nversion: 1\n", "version: 1\n---\n", "--- \nversion: 1\n...\n"} {
		if _, err := Load([]byte(src), "m.yaml"); err != nil {
			t.Errorf("Load(%q) = %v", src, err)
		}
	}
}

func TestLoadAliases(t *testing.T) {
	p, err := Load([]byte(`version: 1
senders:
  principals: &who [mailer-task-role]
response:
  protected_principals: *who
`), "a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Protected("mailer-task-role") || !p.PrincipalApproved("mailer-task-role") {
		t.Errorf("alias not followed: %+v", p.Response)
	}
}

func TestLoadEnforceEmptySets(t *testing.T) {
	src := `version: 1
network: { cidrs: [10.0.0.0/8] }
senders:
  principals: [app]
  from: []
  identities: [example.com]
  configuration_sets: [prod]
response: { mode: enforce }
`
	_, err := Load([]byte(src), "e.yaml")
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v", err)
	}
	got := err.Error()
	for _, want := range []string{
		"e.yaml:3:1: senders.from is empty: in enforce mode",
		"e.yaml:1:1: recipients.domains is empty",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if len(errs) != 2 {
		t.Errorf("got %d errors:\n%s", len(errs), got)
	}
	// The same in dry-run mode, or with the explicit opt-in, loads.
	for _, alt := range []string{
		strings.Replace(src, "mode: enforce", "mode: dry-run", 1),
		strings.Replace(src, "mode: enforce", "mode: enforce, allow_empty_approved: true", 1),
	} {
		p, err := Load([]byte(alt), "e.yaml")
		if err != nil {
			t.Errorf("Load: %v", err)
			continue
		}
		if p.FromApproved("a@example.com") {
			t.Error("empty from approved an address")
		}
	}
}

func TestRuleAndActionNames(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range RuleNames() {
		if seen[r] || !KnownRule(r) {
			t.Errorf("rule %q duplicate or unknown", r)
		}
		seen[r] = true
	}
	if len(seen) != len(rules.All()) || len(seen) < 27 || KnownRule("network") {
		t.Errorf("rules = %v", RuleNames())
	}
	for _, a := range ActionNames() {
		if !KnownAction(a) {
			t.Errorf("action %q unknown", a)
		}
	}
	if KnownAction("delete_user") || len(ActionNames()) != 7 {
		t.Errorf("actions = %v", ActionNames())
	}
}

func TestRulesDisable(t *testing.T) {
	p, err := Load([]byte("version: 1\nrules:\n  volume.principal_spike: { enabled: false }\n"), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.RuleEnabled(rules.VolumePrincipalSpike) || !p.RuleEnabled(rules.NetworkOutsideApproved) {
		t.Error("rules.enabled not applied")
	}
}

func TestVPCCIDRs(t *testing.T) {
	m, err := ParseVPCCIDRs("vpc-0a1b2c3d4e5f60718=10.20.0.0/16, 2001:db8:1::/56 ; vpc-01234567=10.30.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	got := FormatVPCCIDRs(m)
	if want := "vpc-01234567=10.30.0.0/16;vpc-0a1b2c3d4e5f60718=10.20.0.0/16,2001:db8:1::/56"; got != want {
		t.Errorf("round trip = %q, want %q", got, want)
	}
	for _, bad := range []string{"vpc-1=10.0.0.0/8", "vpc-01234567", "vpc-01234567=10.0.0.0/33"} {
		if _, err := ParseVPCCIDRs(bad); err == nil {
			t.Errorf("ParseVPCCIDRs(%q) accepted", bad)
		}
	}
	p, _ := LoadExample()
	p.Resolve(m)
	if len(p.Unresolved()) != 0 {
		t.Errorf("unresolved after Resolve: %v", p.Unresolved())
	}
	if !p.NetworkApproved(netip.MustParseAddr("2001:db8:1::5")) || p.NetworkApproved(netip.MustParseAddr("10.30.0.1")) {
		t.Error("resolved blocks not applied (or foreign VPC applied)")
	}
}

// TestNewRulesInResponseOn: the CloudTrail and reconciliation rules are accepted wherever a rule
// name is (response.on, rules:).
func TestNewRulesInResponseOn(t *testing.T) {
	src := `version: 1
rules:
  setup.sandbox_exit_requested: { severity: critical }
  coverage.unobserved_sends: { enabled: true }
response:
  on:
    api.outside_approved: [deactivate_keys, deny_send_policy]
    api.principal_unapproved: [deactivate_keys]
    api.send_denied: [deactivate_keys]
    setup.sandbox_exit_requested: [deactivate_keys]
    setup.identity_created: [deny_send_policy]
    setup.sending_reenabled: [pause_account]
    coverage.unobserved_sends: []
    reputation.account_at_risk: [pause_account]
`
	p, err := Load([]byte(src), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Actions(rules.APIOutsideApproved); len(got) != 2 || got[0] != ActionDeactivateKeys {
		t.Errorf("api.outside_approved actions %v", got)
	}
	if p.Severity(rules.SetupSandboxExitRequested, "high") != "critical" {
		t.Error("severity override lost")
	}
}

func TestReconcileLimits(t *testing.T) {
	p, err := Load([]byte("version: 1\nlimits:\n  unobserved_sends: { absolute: 0, relative: 0.1, settle: 20m }\n  account_reputation: { bounce_rate: 0.03, complaint_rate: 0.0005 }\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	u, r := p.Limits.UnobservedSends, p.Limits.AccountReputation
	if u.Absolute != 0 || u.Relative != 0.1 || u.Settle != 20*time.Minute || r.BounceRate != 0.03 || r.ComplaintRate != 0.0005 {
		t.Errorf("limits %+v %+v", u, r)
	}
	d, _ := Load([]byte("version: 1\n"), "t.yaml")
	if d.Limits.UnobservedSends.Absolute != DefaultUnobservedAbsolute || d.Limits.AccountReputation.BounceRate != DefaultAccountBounceRate {
		t.Errorf("defaults %+v", d.Limits)
	}
	for _, bad := range []string{
		"limits:\n  unobserved_sends: { relative: 2 }",
		"limits:\n  unobserved_sends: { absolute: -1 }",
		"limits:\n  unobserved_sends: { settle: 0s }",
		"limits:\n  account_reputation: { bounce_rate: 0 }",
		"limits:\n  unobserved_sends: { tolerance: 3 }",
	} {
		if _, err := Load([]byte("version: 1\n"+bad+"\n"), "t.yaml"); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestPlaybookAndBaselineKnobs(t *testing.T) {
	p, err := Load([]byte(`version: 1
playbook:
  iam_admins: ["infra-*", "arn:aws:iam::123456789012:role/deploy"]
  invoked_by: [cloudformation.amazonaws.com]
  incident_window: 2h
  multi_region: { regions: 4, window: 5m }
baseline:
  enabled: true
  dormant_after: 240h
  learning: 168h
  roaming_principals: [mailer-task-role]
`), "k.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Playbook.Regions != 4 || p.Playbook.RegionWindow != 5*time.Minute || p.Playbook.IncidentWindow != 2*time.Hour ||
		!p.IAMAdmin(Caller{Name: "infra-pipeline", Account: "123456789012"}, "123456789012") || p.IAMAdmin(Caller{Name: "dev"}, "") ||
		!p.TrustedInvoker("cloudformation.amazonaws.com") || p.TrustedInvoker("lambda.amazonaws.com") {
		t.Errorf("playbook %+v", p.Playbook)
	}
	if !p.Baseline.Enabled || p.Baseline.DormantAfter != 240*time.Hour || p.Baseline.Learning != 168*time.Hour || len(p.Baseline.Roaming) != 1 {
		t.Errorf("baseline %+v", p.Baseline)
	}
	d, _ := Load([]byte("version: 1\n"), "d.yaml")
	if d.Playbook.Regions != 3 || d.Playbook.RegionWindow != 10*time.Minute || d.Baseline.Enabled || d.Baseline.DormantAfter != 30*24*time.Hour || d.Baseline.Learning != 14*24*time.Hour {
		t.Errorf("defaults %+v %+v", d.Playbook, d.Baseline)
	}
	for _, bad := range []string{"playbook: { multi_region: { regions: 1 } }", "baseline: { enabled: yes }", "playbook: { iam_admins: [\"a b\"] }", "baseline: { learning: 0s }"} {
		if _, err := Load([]byte("version: 1\n"+bad+"\n"), "b.yaml"); err == nil {
			t.Errorf("%s loaded", bad)
		}
	}
}
