package contain

import (
	"context"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// TestPlanForeignPrincipal: a principal of another account is never the target of key or user
// actions — a local user of the same name is a different principal — and a local protected name
// does not protect it; the identity-side actions still apply (issue 23, part 2).
func TestPlanForeignPrincipal(t *testing.T) {
	all := []string{ActionDeactivateKeys, ActionDenySendPolicy, ActionTightenIdentityPolicy, ActionPauseConfigurationSet}
	foreign := func(name, kind string) *finding.Finding {
		f := testFinding()
		f.Rule, f.Actions = "api.outside_approved", all
		k := finding.KindUser
		if kind == "role" {
			k = finding.KindRole
		}
		f.Principal = finding.Principal{Name: name, Kind: k, ARN: "arn:aws:iam::999988887777:" + kind + "/" + name, AccessKeyID: "AKIAFOREIGNKEY000001"}
		return f
	}
	tests := []struct {
		name string
		f    *finding.Finding
		cfg  *Config
	}{
		{"foreign user named like a local one", foreign("leaked-user", "user"), &Config{}},
		{"foreign role", foreign("mailer-task-role", "role"), &Config{}},
		{"foreign user named like a protected one", foreign("break-glass-admin", "user"), &Config{Protected: []string{"break-glass-*"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Plan(tt.f, tt.cfg)
			if err != nil || len(in) != len(all) {
				t.Fatalf("plan: %+v %v", in, err)
			}
			for _, i := range in {
				switch i.Target.Action {
				case ActionDeactivateKeys, ActionDenySendPolicy:
					if i.Outcome != finding.OutcomeSkipped || !strings.Contains(i.Reason, "belongs to account 999988887777, not 123456789012") ||
						!strings.Contains(i.Reason, "sending authorization from the identity policy of mail.example.com") {
						t.Errorf("%s: outcome %q reason %q", i.Target.Action, i.Outcome, i.Reason)
					}
				default:
					if !i.Run() {
						t.Errorf("%s on our own identity: outcome %q reason %q", i.Target.Action, i.Outcome, i.Reason)
					}
				}
			}
		})
	}

	// The same name in the finding's own account is ours: planned, and protected when it matches.
	local := foreign("leaked-user", "user")
	local.Principal.ARN = "arn:aws:iam::123456789012:user/leaked-user"
	if in, err := Plan(local, &Config{}); err != nil || !in[0].Run() || !in[1].Run() {
		t.Fatalf("local principal: %+v %v", in, err)
	}
	prot := foreign("break-glass-admin", "user")
	prot.Principal.ARN = "arn:aws:iam::123456789012:user/break-glass-admin"
	if in, err := Plan(prot, &Config{Protected: []string{"break-glass-*"}}); err != nil || in[0].Outcome != finding.OutcomeSkippedProtected {
		t.Fatalf("local protected principal: %+v %v", in, err)
	}
}

// TestDeactivateKeysFindingKeyNotUsers: a finding whose key is not one of the user's keys (a
// foreign account's key of a same-named user, or a deleted key) deactivates nothing; it once fell
// back to every active key of the local user.
func TestDeactivateKeysFindingKeyNotUsers(t *testing.T) {
	e := newEnv(t)
	u := e.m.SeedSMTPUser(t, "leaked-user")
	f := smtpFinding(u)
	f.Principal.AccessKeyID = "AKIANOTTHEUSERSKEY01"
	a := &DeactivateKeys{IAM: e.iam}
	s, err := a.Plan(context.Background(), targetFor(t, f, &Config{}, ActionDeactivateKeys))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Skip || len(s.Changes) != 0 || !strings.Contains(s.Reason, "AKIANOTTHEUSERSKEY01 is not one of the user's keys") ||
		!strings.Contains(string(s.State), KeyRuleNotUsersKey) {
		t.Fatalf("step = %+v", s)
	}
	for k, st := range e.keyStatus(t, u.UserName) {
		if st != "Active" {
			t.Errorf("key %s is %s", k, st)
		}
	}
}
