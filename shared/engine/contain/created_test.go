package contain

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/sesguard/sesguard/shared/core/finding"
)

var persistenceActions = []string{ActionDeactivateKeys, ActionDenySendPolicy, ActionDenyAllPolicy, ActionDeleteLoginProfile}

// persistenceFinding is a playbook.persistence finding of leaked key key of user leaked that
// created user created (and its key newKey).
func persistenceFinding(leaked, key, created, newKey string) *finding.Finding {
	f := testFinding()
	f.Rule = "playbook.persistence"
	f.Principal = finding.Principal{Name: leaked, Kind: finding.KindUser, ARN: "arn:aws:iam::" + f.Account + ":user/" + leaked, AccessKeyID: key}
	f.Actions = persistenceActions
	f.Created = []finding.Created{{User: created, AccessKeyID: newKey, UserCreated: true, Via: []string{"CreateUser", "CreateAccessKey"}}}
	return f
}

func TestPlanCreatedIdentities(t *testing.T) {
	type want struct{ action, target, outcome, reason string }
	cases := []struct {
		name    string
		f       func() *finding.Finding
		cfg     Config
		want    []want
		notWant string
	}{
		{"created user gets every action", func() *finding.Finding { return persistenceFinding("leaked-user", "AKIALEAK", "ses", "AKIANEW") }, Config{},
			[]want{
				{ActionDeactivateKeys, "leaked-user", "planned", "key AKIALEAK"},
				{ActionDenySendPolicy, "leaked-user", "planned", ""},
				{ActionDeactivateKeys, "ses", "planned", "every active key of ses"},
				{ActionDenySendPolicy, "ses", "planned", "created by the finding's key"},
				{ActionDenyAllPolicy, "ses", "planned", ""},
				{ActionDeleteLoginProfile, "ses", "planned", ""},
			}, ""},
		{"deny-all never hits the key's own principal", func() *finding.Finding {
			f := persistenceFinding("leaked-user", "AKIALEAK", "ses", "")
			f.Created = nil
			return f
		}, Config{}, []want{
			{ActionDenyAllPolicy, "leaked-user", "skipped", "applies only to an identity the finding's key created"},
			{ActionDeleteLoginProfile, "leaked-user", "skipped", "applies only to an identity"},
		}, ""},
		{"a name the attacker chose does not shield the user", func() *finding.Finding {
			return persistenceFinding("leaked-user", "AKIALEAK", "break-glass-x", "AKIANEW")
		},
			Config{Protected: []string{"break-glass-*"}}, []want{{ActionDenyAllPolicy, "break-glass-x", "planned", ""}}, ""},
		{"a key added to a protected existing user is not acted on", func() *finding.Finding {
			f := persistenceFinding("leaked-user", "AKIALEAK", "break-glass-admin", "AKIANEW")
			f.Created[0].UserCreated = false
			return f
		}, Config{Protected: []string{"break-glass-*"}}, []want{{ActionDeactivateKeys, "break-glass-admin", "skipped_protected", "protected"}}, ""},
		{"a key the user made for itself is covered by its deny-send", func() *finding.Finding {
			return persistenceFinding("leaked-user", "AKIALEAK", "leaked-user", "AKIASECOND")
		}, Config{}, []want{{ActionDenyAllPolicy, "leaked-user", "skipped", "covers the new key AKIASECOND"}}, "every active key"},
		{"rule without actions plans nothing", func() *finding.Finding { return persistenceFinding("leaked-user", "AKIALEAK", "ses", "") },
			Config{On: map[string][]string{"playbook.persistence": nil}}, nil, "ses"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := PlanResults(c.f(), &c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			text, _ := json.Marshal(got)
			for _, w := range c.want {
				ok := slices.ContainsFunc(got, func(a finding.ActionResult) bool {
					return a.Action == w.action && a.Target == w.target && string(a.Outcome) == w.outcome && strings.Contains(a.Reason, w.reason) &&
						(a.Outcome != finding.OutcomePlanned) == (a.ActionID == "")
				})
				if !ok {
					t.Errorf("no %+v in %s", w, text)
				}
			}
			if c.notWant != "" && strings.Contains(string(text), c.notWant) {
				t.Errorf("plan mentions %q: %s", c.notWant, text)
			}
			if c.want == nil && len(got) != 0 {
				t.Errorf("plan %s, want none", text)
			}
		})
	}
}

// TestDenySendCoversFederationSessions: deny_send_policy's document binds the sessions the user
// creates with sts:GetFederationToken. IAM evaluates a federated user's request against the
// policies of the IAM user whose credentials called GetFederationToken, intersected with the
// session policy, and an explicit deny in any of them wins ("Permissions for
// GetFederationToken", https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_getfederationtoken.html;
// policy evaluation logic, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
// So the statement must match every send action on every resource with no condition that a
// federated session could fail: no principal-type or principal-ARN key, and in the conditional
// form only negated operators, which IAM evaluates as true when the key is absent from the
// request ("...the condition returns true if the key is not present", condition operators).
func TestDenySendCoversFederationSessions(t *testing.T) {
	for _, tc := range []struct {
		name        string
		vpcs, vpces []string
	}{{"unconditional", nil, nil}, {"seed pattern", []string{"vpc-0a1b2c3d4e5f60718"}, []string{"vpce-0123456789abcdef0"}}} {
		t.Run(tc.name, func(t *testing.T) {
			var doc struct {
				Statement []struct {
					Effect    string
					Action    []string
					Resource  string
					Principal any
					Condition map[string]map[string][]string
				}
			}
			if err := json.Unmarshal([]byte(DenySendDocument(tc.vpcs, tc.vpces)), &doc); err != nil || len(doc.Statement) != 1 {
				t.Fatalf("document: %v", err)
			}
			s := doc.Statement[0]
			if s.Effect != "Deny" || s.Resource != "*" || s.Principal != nil {
				t.Fatalf("statement %+v", s)
			}
			for _, send := range []string{"ses:SendEmail", "ses:SendRawEmail", "ses:SendTemplatedEmail", "ses:SendBulkTemplatedEmail", "ses:SendBulkEmail"} {
				if !slices.Contains(s.Action, send) {
					t.Errorf("%s not denied", send)
				}
			}
			// A federated session's request from the internet: its principal is
			// arn:aws:sts::ACCOUNT:federated-user/NAME, and it carries no aws:SourceVpc or
			// aws:SourceVpce. Every condition must still hold for it.
			for op, keys := range s.Condition {
				if !strings.HasPrefix(op, "StringNot") {
					t.Errorf("operator %s can be false for a key the session's request lacks", op)
				}
				for k := range keys {
					switch k {
					case "aws:SourceVpc", "aws:SourceVpce":
					default:
						t.Errorf("condition key %s may exclude federated sessions", k)
					}
				}
			}
		})
	}
}

// TestContainCreatedIdentities (moto): a persistence finding deactivates the leaked key and
// every key of the created user, puts deny-send and deny-all on it and deletes its console
// password; restoring each action puts everything back.
func TestContainCreatedIdentities(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	leaked := e.m.SeedSMTPUser(t, "ses-smtp-user.20260112-101500")
	if _, err := e.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ses")}); err != nil {
		t.Fatal(err)
	}
	k, err := e.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ses")})
	if err != nil {
		t.Fatal(err)
	}
	newKey := aws.ToString(k.AccessKey.AccessKeyId)
	if _, err := e.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("ses"), Password: aws.String("Attacker-Chosen-1!")}); err != nil {
		t.Fatal(err)
	}
	f := persistenceFinding(leaked.UserName, leaked.KeyIDs[0], "ses", newKey)
	ex := e.executor(Config{Mode: ModeEnforce, Actor: "test"})
	res, _, err := ex.Contain(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Actions {
		if a.Outcome != finding.OutcomeApplied {
			t.Fatalf("%s on %s: %s %s %s", a.Action, a.Target, a.Outcome, a.Reason, a.Error)
		}
	}
	if len(res.Actions) != 6 {
		t.Fatalf("%d actions: %+v", len(res.Actions), res.Actions)
	}
	if got := e.keyStatus(t, leaked.UserName); got[leaked.KeyIDs[0]] != "Inactive" || got[leaked.KeyIDs[1]] != "Active" {
		t.Fatalf("leaked user's keys: %v", got)
	}
	if got := e.keyStatus(t, "ses"); got[newKey] != "Inactive" {
		t.Fatalf("created user's keys: %v", got)
	}
	for _, name := range []string{DenySendPolicyName, DenyAllPolicyName} {
		if _, err := e.iam.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("ses"), PolicyName: aws.String(name)}); err != nil {
			t.Fatalf("%s on ses: %v", name, err)
		}
	}
	var nse *iamtypes.NoSuchEntityException
	if _, err := e.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("ses")}); !errors.As(err, &nse) {
		t.Fatalf("login profile still there: %v", err)
	}
	// Again: nothing changes.
	again, _, err := ex.Contain(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range again.Actions {
		if a.Outcome != finding.OutcomeAlreadyContained {
			t.Fatalf("repeat %s on %s: %s", a.Action, a.Target, a.Outcome)
		}
	}
	for _, a := range res.Actions {
		r, err := ex.Restore(ctx, a.ActionID, "test")
		if err != nil || r.Outcome != finding.OutcomeRestored {
			t.Fatalf("restore %s on %s: %+v %v", a.Action, a.Target, r, err)
		}
	}
	if got := e.keyStatus(t, "ses"); got[newKey] != "Active" {
		t.Fatalf("created user's key after restore: %v", got)
	}
	if got := e.keyStatus(t, leaked.UserName); got[leaked.KeyIDs[0]] != "Active" {
		t.Fatalf("leaked key after restore: %v", got)
	}
	// The profile is back (moto ignores CreateLoginProfile's PasswordResetRequired, so the flag
	// is not asserted here; the request sets it).
	if _, err := e.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("ses")}); err != nil {
		t.Fatalf("login profile after restore: %v", err)
	}
	for _, name := range []string{DenySendPolicyName, DenyAllPolicyName} {
		if _, err := e.iam.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("ses"), PolicyName: aws.String(name)}); !errors.As(err, &nse) {
			t.Fatalf("%s still on ses after restore: %v", name, err)
		}
	}
}
