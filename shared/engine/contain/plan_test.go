package contain

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/engine/attribute"
)

func testFinding() *finding.Finding {
	return &finding.Finding{
		Schema: finding.SchemaFinding, ID: "f-1", Rule: "network.outside_approved", Severity: finding.SeverityHigh,
		Account: "123456789012", Region: "us-east-1",
		Principal:   finding.Principal{Name: "ses-smtp-user.20260112-101500", Kind: finding.KindUser, ARN: "arn:aws:iam::123456789012:user/ses-smtp-user.20260112-101500"},
		SourceIP:    "203.0.113.77",
		WindowStart: time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC), WindowEnd: time.Date(2026, 11, 23, 18, 5, 0, 0, time.UTC),
		Evidence: finding.Evidence{Count: 3, Identity: "mail.example.com", ConfigurationSet: "prod-outbound", From: []string{"Ops <ops@mail.example.com>"}},
		Actions:  []string{ActionDeactivateKeys, ActionDenySendPolicy},
	}
}

func TestPlan(t *testing.T) {
	role := finding.Principal{Name: "mailer-task-role", Kind: finding.KindRole, ARN: "arn:aws:iam::123456789012:role/mailer-task-role"}
	tests := []struct {
		name   string
		mutate func(*finding.Finding, *Config)
		want   map[string]finding.Outcome // action -> outcome ("" = runs)
	}{
		{"finding actions when no map", func(*finding.Finding, *Config) {}, map[string]finding.Outcome{ActionDeactivateKeys: "", ActionDenySendPolicy: ""}},
		{"config map is authoritative", func(f *finding.Finding, c *Config) {
			c.On = map[string][]string{f.Rule: {ActionPauseAccount}}
		}, map[string]finding.Outcome{ActionPauseAccount: ""}},
		{"rule not mapped: nothing", func(f *finding.Finding, c *Config) { c.On = map[string][]string{} }, map[string]finding.Outcome{}},
		{"protected by name", func(f *finding.Finding, c *Config) { c.Protected = []string{"ses-smtp-user.2026*"} },
			map[string]finding.Outcome{ActionDeactivateKeys: finding.OutcomeSkippedProtected, ActionDenySendPolicy: finding.OutcomeSkippedProtected}},
		{"protected by arn, account-wide actions too", func(f *finding.Finding, c *Config) {
			c.Protected = []string{"arn:aws:iam::*:user/ses-smtp-*"}
			f.Actions = []string{ActionPauseAccount, ActionPauseConfigurationSet}
		}, map[string]finding.Outcome{ActionPauseAccount: finding.OutcomeSkippedProtected, ActionPauseConfigurationSet: finding.OutcomeSkippedProtected}},
		{"role has no keys", func(f *finding.Finding, c *Config) { f.Principal = role },
			map[string]finding.Outcome{ActionDeactivateKeys: finding.OutcomeSkipped, ActionDenySendPolicy: ""}},
		{"unknown principal", func(f *finding.Finding, c *Config) { f.Principal = finding.Principal{Kind: finding.KindUnknown} },
			map[string]finding.Outcome{ActionDeactivateKeys: finding.OutcomeSkipped, ActionDenySendPolicy: finding.OutcomeSkipped}},
		{"root is never touched", func(f *finding.Finding, c *Config) {
			f.Principal = finding.Principal{Name: "root", Kind: finding.KindRoot}
		},
			map[string]finding.Outcome{ActionDeactivateKeys: finding.OutcomeSkipped, ActionDenySendPolicy: finding.OutcomeSkipped}},
		{"unknown action fails alone", func(f *finding.Finding, c *Config) { f.Actions = []string{"delete_everything", ActionPauseAccount} },
			map[string]finding.Outcome{"delete_everything": finding.OutcomeFailed, ActionPauseAccount: ""}},
		{"identity policy needs an identity", func(f *finding.Finding, c *Config) {
			f.Actions = []string{ActionTightenIdentityPolicy}
			f.Evidence.Identity = ""
		}, map[string]finding.Outcome{ActionTightenIdentityPolicy: finding.OutcomeSkipped}},
		{"pause set needs a set or identity", func(f *finding.Finding, c *Config) {
			f.Actions = []string{ActionPauseConfigurationSet}
			f.Evidence.Identity, f.Evidence.ConfigurationSet = "", ""
		}, map[string]finding.Outcome{ActionPauseConfigurationSet: finding.OutcomeSkipped}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, cfg := testFinding(), &Config{}
			tt.mutate(f, cfg)
			got, err := Plan(f, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d intents %+v, want %v", len(got), got, tt.want)
			}
			for _, in := range got {
				want, ok := tt.want[in.Target.Action]
				if !ok || in.Outcome != want {
					t.Errorf("%s: outcome %q (%s), want %q", in.Target.Action, in.Outcome, in.Reason, want)
				}
				if in.Outcome != "" && in.Reason == "" {
					t.Errorf("%s: no reason for %s", in.Target.Action, in.Outcome)
				}
			}
		})
	}
}

func TestPlanRejectsUnidentifiableFindings(t *testing.T) {
	for _, f := range []*finding.Finding{nil, {Rule: "x"}, {ID: "a"}} {
		if _, err := Plan(f, &Config{}); err == nil {
			t.Errorf("Plan(%+v) = nil error", f)
		}
	}
}

// TestProtectedProperty: over random findings and protected patterns, a finding whose principal
// matches a pattern (by name or ARN) never yields an action that runs; one that matches none is
// never skipped as protected.
func TestProtectedProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 2026))
	names := []string{"break-glass-admin", "ses-smtp-user.20260112-101500", "mailer-task-role", "ops", "Break-Glass-x", ""}
	patterns := []string{"break-glass-*", "ses-smtp-user.2026*", "*-role", "ops", "arn:aws:iam::*:user/ops", "?ps", "*", "nomatch"}
	kinds := []finding.PrincipalKind{finding.KindUser, finding.KindRole, finding.KindRoot, finding.KindUnknown}
	for i := range 5000 {
		f := testFinding()
		f.ID = fmt.Sprintf("f-%d", i)
		name := names[r.IntN(len(names))]
		kind := kinds[r.IntN(len(kinds))]
		f.Principal = finding.Principal{Name: name, Kind: kind}
		if r.IntN(2) == 0 && name != "" {
			f.Principal.ARN = "arn:aws:iam::123456789012:" + map[bool]string{true: "role", false: "user"}[kind == finding.KindRole] + "/" + name
		}
		f.Actions = nil
		for _, a := range ActionNames() {
			if r.IntN(2) == 0 {
				f.Actions = append(f.Actions, a)
			}
		}
		cfg := &Config{}
		for range r.IntN(3) {
			cfg.Protected = append(cfg.Protected, patterns[r.IntN(len(patterns))])
		}
		intents, err := Plan(f, cfg)
		if err != nil {
			t.Fatal(err)
		}
		prot := Protected(f.Principal, cfg.Protected)
		if strings.HasPrefix(strings.ToLower(name), "break-glass-") && slices.Contains(cfg.Protected, "break-glass-*") && !prot {
			t.Fatalf("%+v not protected by break-glass-*", f.Principal)
		}
		for _, in := range intents {
			if prot && in.Run() {
				t.Fatalf("protected principal %+v (patterns %v) gets %s", f.Principal, cfg.Protected, in.Target.Action)
			}
			if !prot && in.Outcome == finding.OutcomeSkippedProtected {
				t.Fatalf("unprotected principal %+v (patterns %v) skipped as protected", f.Principal, cfg.Protected)
			}
		}
	}
}

// TestProtectedForms: a protected principal is recognised whatever form the finding carries it
// in — other case, IAM path, STS session ARN — since IAM resolves names case-insensitively and
// the actions act on the name.
func TestProtectedForms(t *testing.T) {
	tests := []struct {
		name     string
		p        finding.Principal
		patterns []string
		want     bool
	}{
		{"exact name", finding.Principal{Name: "break-glass-admin"}, []string{"break-glass-*"}, true},
		{"name in other case", finding.Principal{Name: "Break-Glass-Admin", Kind: finding.KindUser}, []string{"break-glass-*"}, true},
		{"pattern in other case", finding.Principal{Name: "break-glass-admin"}, []string{"BREAK-GLASS-*"}, true},
		{"name pattern vs ARN with path only", finding.Principal{ARN: "arn:aws:iam::123456789012:user/ops/break-glass-admin"}, []string{"break-glass-*"}, true},
		{"ARN pattern without path vs ARN with path", finding.Principal{Name: "break-glass-admin", ARN: "arn:aws:iam::123456789012:user/ops/break-glass-admin"},
			[]string{"arn:aws:iam::123456789012:user/break-glass-admin"}, true},
		{"ARN pattern with path", finding.Principal{Name: "admin", ARN: "arn:aws:iam::123456789012:user/ops/admin"}, []string{"arn:aws:iam::*:user/ops/*"}, true},
		{"ARN in other case", finding.Principal{ARN: "arn:aws:iam::123456789012:role/Mailer-Admin"}, []string{"arn:aws:iam::*:role/mailer-admin"}, true},
		{"assumed-role session by role name", finding.Principal{Kind: finding.KindRole, ARN: "arn:aws:sts::123456789012:assumed-role/admin-role/i-0abc"}, []string{"admin-*"}, true},
		{"assumed-role session by role ARN", finding.Principal{Name: "i-0abc", ARN: "arn:aws:sts::123456789012:assumed-role/admin-role/i-0abc"},
			[]string{"arn:aws:iam::123456789012:role/admin-role"}, true},
		{"name with path", finding.Principal{Name: "ops/break-glass-admin"}, []string{"break-glass-admin"}, true},
		{"other user", finding.Principal{Name: "ses-smtp-user.1", ARN: "arn:aws:iam::123456789012:user/ses-smtp-user.1"}, []string{"break-glass-*", "arn:aws:iam::*:role/*"}, false},
		{"no patterns", finding.Principal{Name: "break-glass-admin"}, nil, false},
		{"empty principal", finding.Principal{}, []string{"break-glass-*"}, false},
		{"path is not a name", finding.Principal{ARN: "arn:aws:iam::123456789012:user/break-glass/ops"}, []string{"break-glass"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Protected(tt.p, tt.patterns); got != tt.want {
				t.Errorf("Protected(%+v, %v) = %v, want %v", tt.p, tt.patterns, got, tt.want)
			}
			f := testFinding()
			f.Principal, f.Actions = tt.p, ActionNames()
			intents, err := Plan(f, &Config{Protected: tt.patterns})
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range intents {
				if tt.want && in.Outcome != finding.OutcomeSkippedProtected {
					t.Errorf("%s: outcome %q, want skipped_protected", in.Target.Action, in.Outcome)
				}
			}
		})
	}
}

func TestPickKeys(t *testing.T) {
	start := time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)
	k := func(id, status, svc string, used time.Time) attribute.KeyUse {
		return attribute.KeyUse{AccessKeyID: id, Status: status, Service: svc, LastUsed: used}
	}
	tests := []struct {
		name     string
		keys     []attribute.KeyUse
		findKey  string
		wantRule string
		wantIDs  []string
	}{
		{"finding key", []attribute.KeyUse{k("A", "Active", "ses", start), k("B", "Active", "N/A", time.Time{})}, "B", KeyRuleFinding, []string{"B"}},
		// Once fell back to every active key of the user (issue 23, part 2).
		{"finding key not the user's: none", []attribute.KeyUse{k("A", "Active", "ses", start), k("B", "Active", "N/A", time.Time{})}, "Z", KeyRuleNotUsersKey, nil},
		{"one smtp key in window", []attribute.KeyUse{k("A", "Active", "ses-smtp", start.Add(2*time.Minute)), k("B", "Active", "ses", start.Add(-time.Hour))}, "", KeyRuleLastUsed, []string{"A"}},
		{"within slack", []attribute.KeyUse{k("A", "Active", "ses", start.Add(-4*time.Minute)), k("B", "Active", "s3", start)}, "", KeyRuleLastUsed, []string{"A"}},
		{"two keys in window: all active", []attribute.KeyUse{k("A", "Active", "ses", start), k("B", "Active", "ses-smtp", start), k("C", "Inactive", "ses", start)}, "", KeyRuleAllActive, []string{"A", "B"}},
		{"none in window: all active", []attribute.KeyUse{k("A", "Active", "s3", start), k("B", "Inactive", "N/A", time.Time{})}, "", KeyRuleAllActive, []string{"A"}},
		{"no keys", nil, "", KeyRuleAllActive, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule, ids, reason := PickKeys(tt.keys, tt.findKey, start)
			if rule != tt.wantRule || strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") || reason == "" {
				t.Fatalf("PickKeys = %s %v %q, want %s %v", rule, ids, reason, tt.wantRule, tt.wantIDs)
			}
		})
	}
}

func TestMergeAndRemoveStatement(t *testing.T) {
	ours := json.RawMessage(`{"Sid":"SesguardX","Effect":"Deny","Principal":"*","Action":["ses:SendEmail"],"Resource":"arn:aws:ses:us-east-1:1:identity/d"}`)
	other := `{"Version":"2012-10-17","Id":"keep-me","Statement":{"Sid":"Other","Effect":"Deny","Principal":"*","Action":"ses:SendEmail","Resource":"*"}}`

	doc, changed, err := MergeStatement(nil, ours, 3)
	if err != nil || !changed || !strings.Contains(doc, `"SesguardX"`) {
		t.Fatalf("new policy: %s %v %v", doc, changed, err)
	}
	doc, changed, err = MergeStatement(&other, ours, 3)
	if err != nil || !changed || !strings.Contains(doc, `"Other"`) || !strings.Contains(doc, `"keep-me"`) {
		t.Fatalf("merge into existing: %s %v %v", doc, changed, err)
	}
	again, changed, err := MergeStatement(&doc, ours, 3)
	if err != nil || changed || again != doc {
		t.Fatalf("merge twice: changed=%v err=%v", changed, err)
	}
	rest, found, err := RemoveStatement(doc, "SesguardX")
	if err != nil || !found || !sameJSON(rest, `{"Version":"2012-10-17","Id":"keep-me","Statement":[{"Sid":"Other","Effect":"Deny","Principal":"*","Action":"ses:SendEmail","Resource":"*"}]}`) {
		t.Fatalf("remove: %s %v %v", rest, found, err)
	}
	if rest, found, _ := RemoveStatement(`{"Statement":[`+string(ours)+`]}`, "SesguardX"); !found || rest != "" {
		t.Fatalf("remove last statement: %q %v", rest, found)
	}

	if _, _, err := MergeStatement(nil, ours, MaxIdentityPolicies); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "20 policies") {
		t.Fatalf("21st policy: err = %v", err)
	}
	// An existing sesguard-containment may still be updated at 20 policies.
	if _, _, err := MergeStatement(&other, ours, MaxIdentityPolicies); err != nil {
		t.Fatalf("update at 20 policies: %v", err)
	}
	// Others' statements keep their numbers exactly (not rounded through float64) on merge and
	// on restore.
	numeric := `{"Version":"2012-10-17","Statement":[{"Sid":"Num","Effect":"Deny","Principal":"*","Action":"ses:SendEmail","Resource":"*","Condition":{"NumericGreaterThan":{"aws:EpochTime":12345678901234567891}}}]}`
	merged, _, err := MergeStatement(&numeric, ours, 1)
	if err != nil || !strings.Contains(merged, "12345678901234567891") {
		t.Fatalf("merge rewrote a number: %s %v", merged, err)
	}
	if rest, _, err := RemoveStatement(merged, "SesguardX"); err != nil || !strings.Contains(rest, "12345678901234567891") {
		t.Fatalf("remove rewrote a number: %s %v", rest, err)
	}
	big := `{"Version":"2012-10-17","Statement":[{"Sid":"Big","Effect":"Deny","Principal":"*","Action":"ses:SendEmail","Resource":"*","Condition":{"StringLike":{"ses:FromAddress":"` + strings.Repeat("a", 4000) + `"}}}]}`
	if _, _, err := MergeStatement(&big, ours, 1); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "4096") {
		t.Fatalf("over 4 KB: err = %v", err)
	}
}

func TestDenySendDocument(t *testing.T) {
	plain := DenySendDocument(nil, nil)
	for _, a := range SendActions() {
		if !strings.Contains(plain, a) {
			t.Errorf("missing %s in %s", a, plain)
		}
	}
	if strings.Contains(plain, "Condition") {
		t.Errorf("unconditional form has a condition: %s", plain)
	}
	cond := DenySendDocument([]string{"vpc-0a1b2c"}, []string{"vpce-1234"})
	want := `"Condition":{"StringNotLike":{"aws:SourceVpc":["vpc-0a1b2c"],"aws:SourceVpce":["vpce-1234"]}}`
	if !strings.Contains(cond, want) {
		t.Errorf("conditional form = %s, want %s", cond, want)
	}
}

func TestIdentityConditionByRule(t *testing.T) {
	f := testFinding()
	base := Target{From: f.Evidence.From, SourceIP: "203.0.113.77", Principal: f.Principal}
	tests := []struct {
		rule, want string
	}{
		{"sender.from_unapproved", `{"StringEquals":{"ses:FromAddress":["ops@mail.example.com"]}}`},
		{"network.outside_approved", `{"IpAddress":{"aws:SourceIp":["203.0.113.77/32"]}}`},
		{"sender.principal_unapproved", ""},
	}
	// A wildcard in an attacker's From is matched literally, never as a pattern over the domain.
	wild := base
	wild.Rule, wild.From = "sender.from_unapproved", []string{"*@mail.example.com", "Ops <a?c@mail.example.com>"}
	if body, ok := identityCondition(wild); !ok {
		t.Fatal("no condition for wildcard From")
	} else if b, _ := json.Marshal(body["Condition"]); string(b) != `{"StringEquals":{"ses:FromAddress":["*@mail.example.com","a?c@mail.example.com"]}}` {
		t.Errorf("wildcard From condition = %s", b)
	}
	for _, tt := range tests {
		tg := base
		tg.Rule = tt.rule
		body, ok := identityCondition(tg)
		if !ok {
			t.Fatalf("%s: no condition", tt.rule)
		}
		if tt.want == "" {
			if p, ok := body["Principal"].(map[string]any); !ok || fmt.Sprint(p["AWS"]) != "["+f.Principal.ARN+"]" {
				t.Errorf("%s: body = %v", tt.rule, body)
			}
			continue
		}
		b, _ := json.Marshal(body["Condition"])
		if string(b) != tt.want {
			t.Errorf("%s: condition = %s, want %s", tt.rule, b, tt.want)
		}
	}
}

func BenchmarkPlan(b *testing.B) {
	f := testFinding()
	cfg := &Config{Protected: []string{"break-glass-*", "arn:aws:iam::*:role/admin-*"}}
	f.Actions = ActionNames()
	for b.Loop() {
		if _, err := Plan(f, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMergeStatement(b *testing.B) {
	ours := json.RawMessage(`{"Sid":"SesguardX","Effect":"Deny","Principal":"*","Action":["ses:SendEmail"],"Resource":"arn:aws:ses:us-east-1:1:identity/d"}`)
	prior := `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Deny","Principal":"*","Action":"ses:SendEmail","Resource":"*"},{"Sid":"B","Effect":"Deny","Principal":"*","Action":"ses:SendEmail","Resource":"*"}]}`
	for b.Loop() {
		if _, _, err := MergeStatement(&prior, ours, 2); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPlanSessionKeyIsNotDeactivated: a CloudTrail finding naming temporary session credentials
// (ASIA…) gets no deactivate_keys (that would fall back to keys the finding never saw); a
// long-term key (AKIA…) is planned.
func TestPlanSessionKeyIsNotDeactivated(t *testing.T) {
	cfg := &Config{Mode: ModeDryRun}
	for _, tc := range []struct {
		key  string
		want finding.Outcome
	}{{"ASIAZX3LEAKEDSESSION1", finding.OutcomeSkipped}, {"AKIAZX3LEAKEDUSER001", ""}} {
		f := &finding.Finding{ID: "f1", Rule: "api.outside_approved", Actions: []string{ActionDeactivateKeys},
			Principal: finding.Principal{Name: "leaked-user", Kind: finding.KindUser, AccessKeyID: tc.key}}
		in, err := Plan(f, cfg)
		if err != nil || len(in) != 1 {
			t.Fatalf("plan %v %v", in, err)
		}
		if in[0].Outcome != tc.want || (tc.want != "" && !strings.Contains(in[0].Reason, "temporary")) {
			t.Errorf("%s: outcome %q reason %q", tc.key, in[0].Outcome, in[0].Reason)
		}
	}
}
