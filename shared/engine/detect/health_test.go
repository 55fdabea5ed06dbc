package detect

import (
	"context"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
)

func healthNotice(keys ...cloudtrail.KeyEntity) cloudtrail.Event {
	e := cloudtrail.Event{
		EventID: "arn:aws:health:global::event/RISK/AWS_RISK_CREDENTIALS_EXPOSED/1", EventTime: t0,
		EventName: cloudtrail.HealthCredentialsExposed, Category: "Notice", Account: "111122223333", Region: "us-east-1",
		Notice: &cloudtrail.Notice{Source: cloudtrail.HealthSource, Status: "open", Keys: keys},
	}
	e.SetKeyPrincipal(0)
	return e
}

func sesStatusNotice(enabled bool, set string) cloudtrail.Event {
	name := cloudtrail.SESStatusDisabled
	if enabled {
		name = cloudtrail.SESStatusEnabled
	}
	return cloudtrail.Event{
		EventID: "ses-status:" + name + set, EventTime: t0, EventName: name, Category: "Notice", Account: "111122223333",
		Region: "eu-west-1", SendingEnabled: &enabled, ConfigurationSet: set,
		Principal: cloudtrail.Principal{Type: "AWSService", Name: "ses.amazonaws.com"},
		Notice:    &cloudtrail.Notice{Source: cloudtrail.SESSource, Origin: "AWS_MANAGED", Cause: "complaint rate"},
	}
}

func TestNoticeRules(t *testing.T) {
	p := examplePolicy(t)
	mailer := cloudtrail.KeyEntity{AccessKeyID: "AKIAEXAMPLELEAKED01", Account: "111122223333", User: "mailer-app", UserFrom: cloudtrail.UserFromIAM}
	cases := []struct {
		rule, name string
		call       cloudtrail.Event
		want       bool
		detail     string
	}{
		{rules.HealthCredentialsRisk, "resolved in IAM", healthNotice(mailer), true, "names access key AKIAEXAMPLELEAKED01 of IAM user mailer-app (resolved in IAM)"},
		{rules.HealthCredentialsRisk, "from the description", healthNotice(cloudtrail.KeyEntity{AccessKeyID: "AKIAEXAMPLELEAKED01", Account: "111122223333", User: "mailer-app", UserFrom: cloudtrail.UserFromDescription}), true, "not resolved in IAM"},
		{rules.HealthCredentialsRisk, "unresolved", healthNotice(cloudtrail.KeyEntity{AccessKeyID: "AKIAEXAMPLELEAKED01", Account: "111122223333"}), true, "an unresolved user"},
		{rules.HealthCredentialsRisk, "another account's key", healthNotice(cloudtrail.KeyEntity{AccessKeyID: "AKIAEXAMPLELEAKED01", Account: "444455556666", User: "x", UserFrom: cloudtrail.UserFromDescription}), true, "IAM user x of account 444455556666"},
		{rules.HealthCredentialsRisk, "not on an API call", leaked(goodCall(1)), false, ""},
		{rules.HealthCredentialsRisk, "not on an SES notice", sesStatusNotice(false, ""), false, ""},
		{rules.SESSendingPaused, "account paused", sesStatusNotice(false, ""), true, `SES paused sending for the account in eu-west-1 (by SES's enforcement; cause: "complaint rate")`},
		{rules.SESSendingPaused, "set paused", sesStatusNotice(false, "prod-outbound"), true, "configuration set prod-outbound"},
		{rules.SESSendingPaused, "resumed", sesStatusNotice(true, ""), false, ""},
		{rules.SESSendingPaused, "the API call that pauses is not SES's pause", func() cloudtrail.Event {
			c := goodCall(1)
			c.EventName, c.SendingEnabled = "UpdateAccountSendingEnabled", tr(false)
			return c
		}(), false, ""},
		{rules.SESSendingResumed, "resumed", sesStatusNotice(true, ""), true, "who turned it back on is the setup.sending_reenabled finding of account 111122223333 in eu-west-1"},
		{rules.SESSendingResumed, "paused", sesStatusNotice(false, ""), false, ""},
		{rules.SetupSendingReenabled, "SES's own resume is no API call", sesStatusNotice(true, ""), false, ""},
	}
	for _, c := range cases {
		t.Run(c.rule+"/"+c.name, func(t *testing.T) {
			r, ok := RuleByID(c.rule)
			if !ok {
				t.Fatal("not registered")
			}
			got, detail := r.CheckCall(p, &c.call)
			if got != c.want || (c.want && !strings.Contains(detail, c.detail)) {
				t.Errorf("fired=%v detail %q, want %v and %q", got, detail, c.want, c.detail)
			}
		})
	}
}

// TestProcessHealthNotice: a Health event naming two keys is two findings, each naming its key
// and user, with the policy's actions; the SES API-call rules do not judge it; redelivery is a
// duplicate.
func TestProcessHealthNotice(t *testing.T) {
	d := newDetector(t, examplePolicy(t), NewMemoryState())
	ctx := context.Background()
	n := healthNotice(
		cloudtrail.KeyEntity{AccessKeyID: "AKIAEXAMPLEKEY00001", Account: "111122223333", User: "mailer-app", UserFrom: cloudtrail.UserFromIAM},
		cloudtrail.KeyEntity{AccessKeyID: "AKIAEXAMPLEKEY00002", Account: "111122223333"},
	)
	b, err := d.ProcessCalls(ctx, []cloudtrail.Event{n, sesStatusNotice(false, "")})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]finding.Finding{}
	var paused []finding.Finding
	for _, u := range b.Updates {
		switch u.Finding.Rule {
		case rules.HealthCredentialsRisk:
			byKey[u.Finding.Principal.AccessKeyID] = u.Finding
		case rules.SESSendingPaused:
			paused = append(paused, u.Finding)
		default:
			t.Errorf("rule %s judged a notice", u.Finding.Rule)
		}
	}
	f1, f2 := byKey["AKIAEXAMPLEKEY00001"], byKey["AKIAEXAMPLEKEY00002"]
	if len(byKey) != 2 || f1.Principal.Name != "mailer-app" || f1.Principal.Kind != finding.KindUser ||
		f1.Principal.ARN != "arn:aws:iam::111122223333:user/mailer-app" || f1.Severity != finding.SeverityHigh ||
		strings.Join(f1.Actions, ",") != "deactivate_keys,deny_send_policy" || f1.Evidence.EventIDs[0] != n.EventID {
		t.Errorf("key 1: %+v", f1)
	}
	if f2.Principal.Kind != finding.KindUnknown || f2.Principal.Name != "" || f1.ID == f2.ID {
		t.Errorf("key 2 (unresolved): %+v", f2)
	}
	if len(paused) != 1 || paused[0].Region != "eu-west-1" || paused[0].Severity != finding.SeverityHigh {
		t.Errorf("paused: %+v", paused)
	}
	again, err := d.ProcessCalls(ctx, []cloudtrail.Event{n})
	if err != nil || again.Duplicates != 1 || len(again.Updates) != 0 {
		t.Errorf("redelivery %+v %v", again, err)
	}
}
