package detect

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/engine/contain"
)

// TestForeignPrincipalsEndToEnd: CloudTrail send data events of account 999988887777's
// "leaked-user" and "deploy" in our trail (recipientAccountId 111122223333). "deploy" is an
// approved name here and calls from an approved network: as another account's principal it is
// still unapproved. Neither finding plans key or user actions on our same-named principals
// (issue 23, part 2).
func TestForeignPrincipalsEndToEnd(t *testing.T) {
	p := loadPolicy(t, `version: 1
network: { cidrs: [10.20.0.0/16] }
senders: { principals: [deploy, leaked-user] }
response:
  protected_principals: [deploy]
  on:
    api.principal_unapproved: [deactivate_keys, deny_send_policy, tighten_identity_policy]
    api.outside_approved: [deactivate_keys, deny_send_policy, tighten_identity_policy]
`)
	f, err := os.Open("testdata/foreign-principals.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var calls []cloudtrail.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		c, err := cloudtrail.Decode(sc.Bytes(), cloudtrail.Envelope{})
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, c)
	}
	if len(calls) != 2 {
		t.Fatalf("decoded %d calls", len(calls))
	}
	d := newDetector(t, p, NewMemoryState())
	b, err := d.ProcessCalls(context.Background(), calls)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]finding.Finding{}
	for _, u := range b.Updates {
		got[u.Finding.Rule+"/"+u.Finding.Principal.Name] = u.Finding
	}
	for _, want := range []string{"api.principal_unapproved/deploy", "api.principal_unapproved/leaked-user", "api.outside_approved/leaked-user"} {
		if _, ok := got[want]; !ok {
			t.Errorf("no %s finding (got %v)", want, keysOf(got))
		}
	}
	if fd := got["api.principal_unapproved/deploy"]; !strings.Contains(fd.Evidence.Detail, `"deploy" of account 999988887777, not this account 111122223333`) {
		t.Errorf("detail %q", fd.Evidence.Detail)
	}
	cfg := &contain.Config{On: p.Response.On, Protected: p.Response.ProtectedPrincipals}
	for name, fd := range got {
		in, err := contain.Plan(&fd, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range in {
			switch i.Target.Action {
			case contain.ActionDeactivateKeys, contain.ActionDenySendPolicy:
				if i.Outcome != finding.OutcomeSkipped || !strings.Contains(i.Reason, "belongs to account 999988887777") {
					t.Errorf("%s: %s %q %q, want skipped as another account's", name, i.Target.Action, i.Outcome, i.Reason)
				}
			case contain.ActionTightenIdentityPolicy:
				if !i.Run() {
					t.Errorf("%s: tighten_identity_policy %q %q: the identity is ours", name, i.Outcome, i.Reason)
				}
			}
		}
	}
}

func keysOf(m map[string]finding.Finding) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestSenderPrincipalForeignAccount: an SES event whose mail.sendingAccountId is not the
// identity's account was sent by a delegate sender; an approved name does not approve it.
func TestSenderPrincipalForeignAccount(t *testing.T) {
	r, _ := RuleByID(rules.SenderPrincipalUnapproved)
	p := loadPolicy(t, `version: 1
senders: { principals: [mailer-task-role, "arn:aws:iam::999988887777:role/partner-mailer"] }
`)
	tests := []struct {
		name    string
		account string
		caller  string
		want    bool
	}{
		{"ours", "111122223333", "mailer-task-role", false},
		{"delegate named like ours", "999988887777", "mailer-task-role", true},
		{"delegate approved by ARN", "999988887777", "partner-mailer", false},
		{"ARN names another account", "111122223333", "partner-mailer", true},
	}
	for _, tt := range tests {
		e := with(goodSend(1), func(e *sesevent.Event) { e.Account, e.CallerIdentity = tt.account, tt.caller })
		e.IdentityArn = "arn:aws:ses:eu-west-1:111122223333:identity/mail.example.com"
		if got, detail := r.Check(p, &e); got != tt.want {
			t.Errorf("%s: fired=%v, want %v (%s)", tt.name, got, tt.want, detail)
		}
	}
}
