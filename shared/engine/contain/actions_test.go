package contain

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// targetFor plans f with cfg and returns the runnable target of action.
func targetFor(t *testing.T, f *finding.Finding, cfg *Config, action string) Target {
	t.Helper()
	f.Actions = []string{action}
	in, err := Plan(f, cfg)
	if err != nil || len(in) != 1 || !in[0].Run() {
		t.Fatalf("plan %s: %+v %v", action, in, err)
	}
	return in[0].Target
}

func planApply(t *testing.T, a Action, tg Target) Step {
	t.Helper()
	ctx := context.Background()
	s, err := a.Plan(ctx, tg)
	if err != nil {
		t.Fatalf("%s plan: %v", a.Name(), err)
	}
	if s.Noop || s.Skip {
		t.Fatalf("%s plan: noop=%v skip=%v (%s)", a.Name(), s.Noop, s.Skip, s.Reason)
	}
	if err := a.Apply(ctx, s); err != nil {
		t.Fatalf("%s apply: %v", a.Name(), err)
	}
	again, err := a.Plan(ctx, tg)
	if err != nil || !again.Noop {
		t.Fatalf("%s plan after apply: noop=%v err=%v (changes %v)", a.Name(), again.Noop, err, again.Changes)
	}
	return s
}

func TestDeactivateKeys(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := &DeactivateKeys{IAM: e.iam}

	t.Run("single key used for ses-smtp in the window", func(t *testing.T) {
		e.m.Reset(t)
		e.m.SeedStateTable(t, testTable)
		u := e.m.SeedSMTPUser(t, "ses-smtp-user.20260112-101500")
		f := smtpFinding(u)
		e.m.SeedKeyLastUsed(u.KeyIDs[1], "ses-smtp", "us-east-1", f.WindowStart.Add(time.Minute))
		e.m.SeedKeyLastUsed(u.KeyIDs[0], "ses", "us-east-1", f.WindowStart.Add(-3*time.Hour))
		s := planApply(t, a, targetFor(t, f, &Config{}, ActionDeactivateKeys))
		if !strings.Contains(string(s.State), KeyRuleLastUsed) || !strings.Contains(s.Reason, u.KeyIDs[1]) {
			t.Fatalf("rule not recorded: %s / %s", s.State, s.Reason)
		}
		got := e.keyStatus(t, u.UserName)
		if got[u.KeyIDs[1]] != "Inactive" || got[u.KeyIDs[0]] != "Active" {
			t.Fatalf("after apply: %v", got)
		}
		changes, err := a.Restore(ctx, s)
		if err != nil || len(changes) != 1 {
			t.Fatalf("restore: %v %v", changes, err)
		}
		if got := e.keyStatus(t, u.UserName); got[u.KeyIDs[1]] != "Active" || got[u.KeyIDs[0]] != "Active" {
			t.Fatalf("after restore: %v", got)
		}
	})

	t.Run("unidentified key: every active key, restore only those", func(t *testing.T) {
		e.m.Reset(t)
		e.m.SeedStateTable(t, testTable)
		u := e.m.SeedSMTPUser(t, "ses-smtp-user.20260301-000000")
		// The first key was already inactive before containment: restore must leave it so.
		old := u.KeyIDs[0]
		e.setKey(t, u.UserName, old, iamtypes.StatusTypeInactive)
		f := smtpFinding(u)
		s := planApply(t, a, targetFor(t, f, &Config{}, ActionDeactivateKeys))
		if !strings.Contains(string(s.State), KeyRuleAllActive) || len(s.Changes) != 1 {
			t.Fatalf("step = %+v", s)
		}
		for k, st := range e.keyStatus(t, u.UserName) {
			if st != "Inactive" {
				t.Fatalf("key %s still %s", k, st)
			}
		}
		if _, err := a.Restore(ctx, s); err != nil {
			t.Fatal(err)
		}
		got := e.keyStatus(t, u.UserName)
		if got[u.KeyIDs[1]] != "Active" || got[old] != "Inactive" {
			t.Fatalf("after restore: %v", got)
		}
	})
}

func policyDoc(t *testing.T, e *testEnv, user string) (string, bool) {
	t.Helper()
	out, err := e.iam.GetUserPolicy(context.Background(), &iam.GetUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(DenySendPolicyName)})
	var nse *iamtypes.NoSuchEntityException
	if errors.As(err, &nse) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return decodePolicyDocument(aws.ToString(out.PolicyDocument)), true
}

func TestDenySend(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := &DenySend{IAM: e.iam}

	t.Run("user, unconditional, restore deletes", func(t *testing.T) {
		u := e.m.SeedSMTPUser(t, "ses-smtp-user.a")
		s := planApply(t, a, targetFor(t, smtpFinding(u), &Config{}, ActionDenySendPolicy))
		doc, ok := policyDoc(t, e, u.UserName)
		if !ok || !sameJSON(doc, DenySendDocument(nil, nil)) {
			t.Fatalf("policy = %s %v", doc, ok)
		}
		if _, err := a.Restore(ctx, s); err != nil {
			t.Fatal(err)
		}
		if _, ok := policyDoc(t, e, u.UserName); ok {
			t.Fatal("policy left after restore")
		}
		// The SES console's own policy is untouched.
		if _, err := e.iam.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(u.UserName), PolicyName: aws.String("AmazonSesSendingAccess")}); err != nil {
			t.Fatalf("AmazonSesSendingAccess: %v", err)
		}
	})

	t.Run("user with a prior sesguard-deny-send: restore puts it back", func(t *testing.T) {
		u := e.m.SeedSMTPUser(t, "ses-smtp-user.b")
		prior := `{"Version":"2012-10-17","Statement":[{"Sid":"Manual","Effect":"Deny","Action":"ses:SendEmail","Resource":"*"}]}`
		if _, err := e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(u.UserName), PolicyName: aws.String(DenySendPolicyName), PolicyDocument: aws.String(prior)}); err != nil {
			t.Fatal(err)
		}
		s := planApply(t, a, targetFor(t, smtpFinding(u), &Config{}, ActionDenySendPolicy))
		if _, err := a.Restore(ctx, s); err != nil {
			t.Fatal(err)
		}
		if doc, ok := policyDoc(t, e, u.UserName); !ok || !sameJSON(doc, prior) {
			t.Fatalf("after restore = %s %v, want the prior policy", doc, ok)
		}
	})

	t.Run("role, conditional form", func(t *testing.T) {
		arn := e.m.SeedRole(t, "mailer-task-role")
		f := testFinding()
		f.Principal = finding.Principal{Name: "mailer-task-role", Kind: finding.KindRole, ARN: arn}
		cfg := &Config{ApprovedVPCs: []string{"vpc-0a1b2c"}, ApprovedVPCEs: []string{"vpce-0123"}}
		s := planApply(t, a, targetFor(t, f, cfg, ActionDenySendPolicy))
		out, err := e.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("mailer-task-role"), PolicyName: aws.String(DenySendPolicyName)})
		if err != nil {
			t.Fatal(err)
		}
		doc := decodePolicyDocument(aws.ToString(out.PolicyDocument))
		if !sameJSON(doc, DenySendDocument(cfg.ApprovedVPCs, cfg.ApprovedVPCEs)) || !strings.Contains(doc, "aws:SourceVpce") {
			t.Fatalf("role policy = %s", doc)
		}
		if _, err := a.Restore(ctx, s); err != nil {
			t.Fatal(err)
		}
		var nse *iamtypes.NoSuchEntityException
		if _, err := e.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("mailer-task-role"), PolicyName: aws.String(DenySendPolicyName)}); !errors.As(err, &nse) {
			t.Fatalf("role policy after restore: %v", err)
		}
	})

	t.Run("missing user is an error, not a plan", func(t *testing.T) {
		f := testFinding()
		f.Principal.Name = "no-such-user"
		_, err := a.Plan(ctx, targetFor(t, f, &Config{}, ActionDenySendPolicy))
		var nse *iamtypes.NoSuchEntityException
		if !errors.As(err, &nse) || !strings.Contains(err.Error(), "no-such-user") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("restore refuses when someone edited the policy", func(t *testing.T) {
		u := e.m.SeedSMTPUser(t, "ses-smtp-user.c")
		s := planApply(t, a, targetFor(t, smtpFinding(u), &Config{}, ActionDenySendPolicy))
		edited := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ses:*","Resource":"*"}]}`
		if _, err := e.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(u.UserName), PolicyName: aws.String(DenySendPolicyName), PolicyDocument: aws.String(edited)}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Restore(ctx, s); !errors.Is(err, ErrRefused) {
			t.Fatalf("restore over an edit: err = %v", err)
		}
		if doc, _ := policyDoc(t, e, u.UserName); !sameJSON(doc, edited) {
			t.Fatalf("edit lost: %s", doc)
		}
	})
}

func identityPolicies(t *testing.T, e *testEnv, identity string) map[string]string {
	t.Helper()
	out, err := e.ses.GetEmailIdentityPolicies(context.Background(), &sesv2.GetEmailIdentityPoliciesInput{EmailIdentity: aws.String(identity)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Policies
}

func TestTightenIdentityPolicy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := &TightenIdentityPolicy{SES: e.ses}
	const id = "mail.example.com"
	arn := awstest.IdentityARN(id)
	e.m.SeedIdentity(t, id, "")
	seedPolicy := `{"Version":"2012-10-17","Statement":[{"Sid":"OnlyVpc","Effect":"Deny","Principal":"*","Action":["ses:SendEmail","ses:SendRawEmail"],"Resource":"` + arn + `","Condition":{"StringNotLike":{"aws:SourceVpc":"vpc-0a1b2c"}}}]}`
	if _, err := e.ses.CreateEmailIdentityPolicy(ctx, &sesv2.CreateEmailIdentityPolicyInput{EmailIdentity: aws.String(id), PolicyName: aws.String("seed-vpc-only"), Policy: aws.String(seedPolicy)}); err != nil {
		t.Fatal(err)
	}

	f := testFinding()
	f.Rule = "sender.from_unapproved"
	f.Evidence.From = []string{"Billing <billing@mail.example.com>", "x@mail.example.com"}
	s1 := planApply(t, a, targetFor(t, f, &Config{}, ActionTightenIdentityPolicy))
	pol := identityPolicies(t, e, id)
	if !sameJSON(pol["seed-vpc-only"], seedPolicy) {
		t.Fatalf("other policy changed: %s", pol["seed-vpc-only"])
	}
	if !strings.Contains(pol[IdentityPolicyName], `"ses:FromAddress":["billing@mail.example.com","x@mail.example.com"]`) {
		t.Fatalf("containment policy = %s", pol[IdentityPolicyName])
	}

	// A second finding (network rule) merges its own statement.
	f2 := testFinding()
	f2.ID = "f-2"
	s2 := planApply(t, a, targetFor(t, f2, &Config{}, ActionTightenIdentityPolicy))
	pol = identityPolicies(t, e, id)
	if !strings.Contains(pol[IdentityPolicyName], StatementSid("f-1")) || !strings.Contains(pol[IdentityPolicyName], `"aws:SourceIp":["203.0.113.77/32"]`) {
		t.Fatalf("merged policy = %s", pol[IdentityPolicyName])
	}

	// Restoring the first removes only its statement.
	if _, err := a.Restore(ctx, s1); err != nil {
		t.Fatal(err)
	}
	pol = identityPolicies(t, e, id)
	if strings.Contains(pol[IdentityPolicyName], StatementSid("f-1")) || !strings.Contains(pol[IdentityPolicyName], StatementSid("f-2")) {
		t.Fatalf("after restore 1: %s", pol[IdentityPolicyName])
	}
	if _, err := a.Restore(ctx, s2); err != nil {
		t.Fatal(err)
	}
	pol = identityPolicies(t, e, id)
	if _, ok := pol[IdentityPolicyName]; ok || !sameJSON(pol["seed-vpc-only"], seedPolicy) || len(pol) != 1 {
		t.Fatalf("after restore 2: %v", pol)
	}

	t.Run("20 policies: refused, nothing written", func(t *testing.T) {
		for i := len(pol); i < MaxIdentityPolicies; i++ {
			if _, err := e.ses.CreateEmailIdentityPolicy(ctx, &sesv2.CreateEmailIdentityPolicyInput{EmailIdentity: aws.String(id), PolicyName: aws.String(fmt.Sprintf("p%02d", i)), Policy: aws.String(seedPolicy)}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := a.Plan(ctx, targetFor(t, testFinding(), &Config{}, ActionTightenIdentityPolicy))
		if !errors.Is(err, ErrRefused) {
			t.Fatalf("plan with 20 policies: err = %v", err)
		}
		if n := len(identityPolicies(t, e, id)); n != MaxIdentityPolicies {
			t.Fatalf("policies = %d", n)
		}
	})

	t.Run("missing identity is a clear error", func(t *testing.T) {
		f := testFinding()
		f.Evidence.Identity = "nope.example.com"
		_, err := a.Plan(ctx, targetFor(t, f, &Config{}, ActionTightenIdentityPolicy))
		if err == nil || !strings.Contains(err.Error(), "nope.example.com") {
			t.Fatalf("err = %v", err)
		}
	})
}

func sendOnce(ctx context.Context, c *sesv2.Client, from string) error {
	_, err := c.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(from),
		Destination:      &sestypes.Destination{ToAddresses: []string{"to@example.org"}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String("s")}, Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("b")}},
		}},
	})
	return err
}

func TestPauseActions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.m.SeedIdentity(t, "mail.example.com", "prod-outbound")
	var paused *sestypes.SendingPausedException

	t.Run("configuration set via the identity default", func(t *testing.T) {
		a := &PauseConfigurationSet{SES: e.ses}
		f := testFinding()
		f.Evidence.ConfigurationSet = ""
		s := planApply(t, a, targetFor(t, f, &Config{}, ActionPauseConfigurationSet))
		if s.Target != "prod-outbound" || !e.m.ConfigurationSetSendingPaused("prod-outbound") {
			t.Fatalf("step %+v, paused=%v", s, e.m.ConfigurationSetSendingPaused("prod-outbound"))
		}
		if err := sendOnce(ctx, e.ses, "ops@mail.example.com"); !errors.As(err, &paused) {
			t.Fatalf("send while paused: %v", err)
		}
		if _, err := a.Restore(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := sendOnce(ctx, e.ses, "ops@mail.example.com"); err != nil {
			t.Fatalf("send after restore: %v", err)
		}
	})

	t.Run("already paused set: restore leaves it paused", func(t *testing.T) {
		a := &PauseConfigurationSet{SES: e.ses}
		e.m.SeedConfigurationSet(t, "other")
		if _, err := e.ses.PutConfigurationSetSendingOptions(ctx, &sesv2.PutConfigurationSetSendingOptionsInput{ConfigurationSetName: aws.String("other")}); err != nil {
			t.Fatal(err)
		}
		f := testFinding()
		f.Evidence.ConfigurationSet = "other"
		s, err := a.Plan(ctx, targetFor(t, f, &Config{}, ActionPauseConfigurationSet))
		if err != nil || !s.Noop {
			t.Fatalf("plan on a paused set: %+v %v", s, err)
		}
	})

	t.Run("identity without default set: skipped", func(t *testing.T) {
		a := &PauseConfigurationSet{SES: e.ses}
		e.m.SeedIdentity(t, "bare.example.com", "")
		f := testFinding()
		f.Evidence.ConfigurationSet, f.Evidence.Identity = "", "bare.example.com"
		s, err := a.Plan(ctx, targetFor(t, f, &Config{}, ActionPauseConfigurationSet))
		if err != nil || !s.Skip || s.Reason == "" {
			t.Fatalf("plan: %+v %v", s, err)
		}
	})

	t.Run("account", func(t *testing.T) {
		a := &PauseAccount{SES: e.ses}
		s := planApply(t, a, targetFor(t, testFinding(), &Config{}, ActionPauseAccount))
		acct, err := e.ses.GetAccount(ctx, &sesv2.GetAccountInput{})
		if err != nil || acct.SendingEnabled {
			t.Fatalf("account after pause: %+v %v", acct, err)
		}
		if err := sendOnce(ctx, e.ses, "ops@mail.example.com"); !errors.As(err, &paused) {
			t.Fatalf("send while paused: %v", err)
		}
		if _, err := a.Restore(ctx, s); err != nil {
			t.Fatal(err)
		}
		if acct, _ := e.ses.GetAccount(ctx, &sesv2.GetAccountInput{}); !acct.SendingEnabled {
			t.Fatal("account still paused after restore")
		}
	})
}

// TestPauseReadBack: pausing sends an empty body (the SDK omits false booleans). A service that
// answers 200 but keeps sending enabled must give a failed apply, not a recorded pause.
func TestPauseReadBack(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.m.SeedIdentity(t, "mail.example.com", "prod-outbound")
	var ignore atomic.Bool
	e.m.Handle(func(w http.ResponseWriter, r *http.Request) bool {
		if ignore.Load() && r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/sending") {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("{}"))
			return true
		}
		return false
	})
	ignore.Store(true)
	for _, a := range []Action{&PauseConfigurationSet{SES: e.ses}, &PauseAccount{SES: e.ses}} {
		s, err := a.Plan(ctx, targetFor(t, testFinding(), &Config{}, a.Name()))
		if err != nil || s.Noop {
			t.Fatalf("%s plan: %+v %v", a.Name(), s, err)
		}
		if err := a.Apply(ctx, s); err == nil || !strings.Contains(err.Error(), "read back") {
			t.Errorf("%s: apply ignored by the service = %v, want a read-back error", a.Name(), err)
		}
	}
	// The executor reports it failed, with the row failed (not applied).
	f := testFinding()
	f.Actions = []string{ActionPauseAccount}
	res, _ := mustContain(t, e.executor(Config{Mode: ModeEnforce}), f)
	if a := res.Actions[0]; a.Outcome != finding.OutcomeFailed {
		t.Fatalf("executor: %+v", a)
	} else if rec, err := e.ledger.Get(ctx, a.ActionID); err != nil || rec.Status != StatusFailed {
		t.Fatalf("ledger: %+v %v", rec, err)
	}
	// Resume ignored too: restore fails instead of claiming the account sends again.
	ignore.Store(false)
	a := &PauseAccount{SES: e.ses}
	s := planApply(t, a, targetFor(t, testFinding(), &Config{}, ActionPauseAccount))
	ignore.Store(true)
	if _, err := a.Restore(ctx, s); err == nil || !strings.Contains(err.Error(), "read back") {
		t.Fatalf("restore ignored by the service = %v", err)
	}
}
