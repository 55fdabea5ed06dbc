package detect

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/policy"
)

// goodCall is an approved SES API call: mailer-task-role from inside network.cidrs.
func goodCall(i int) cloudtrail.Event {
	return cloudtrail.Event{
		EventID: "ev-" + string(rune('a'+i)), EventTime: t0.Add(time.Duration(i) * time.Second), EventName: "GetSendQuota",
		Category: cloudtrail.CategoryManagement, Account: "111122223333", Region: "eu-west-1",
		Principal: cloudtrail.Principal{Type: cloudtrail.TypeAssumedRole, Name: "mailer-task-role",
			ARN: "arn:aws:iam::111122223333:role/mailer-task-role", AccessKeyID: "ASIAMAILERTASK000001"},
		SourceIP: netip.MustParseAddr("10.20.7.12"),
	}
}

func leaked(c cloudtrail.Event) cloudtrail.Event {
	c.Principal = cloudtrail.Principal{Type: cloudtrail.TypeIAMUser, Name: "leaked-user",
		ARN: "arn:aws:iam::111122223333:user/leaked-user", AccessKeyID: "AKIALEAKEDUSER000001"}
	c.SourceIP = netip.MustParseAddr("203.0.113.9")
	return c
}

func tr(b bool) *bool { return &b }

func TestAPIRules(t *testing.T) {
	p := examplePolicy(t)
	cases := []struct {
		rule   string
		name   string
		mutate func(*cloudtrail.Event)
		want   bool
		detail string
	}{
		{rules.APIOutsideApproved, "inside", nil, false, ""},
		{rules.APIOutsideApproved, "outside", func(c *cloudtrail.Event) { *c = leaked(*c) }, true, "GetSendQuota from 203.0.113.9, outside"},
		{rules.APIOutsideApproved, "refused call still counts", func(c *cloudtrail.Event) { *c = leaked(*c); c.ErrorCode = "AccessDenied" }, true, "refused: AccessDenied"},
		{rules.APIOutsideApproved, "service host", func(c *cloudtrail.Event) { c.SourceIP = netip.Addr{}; c.SourceHost = "ses.amazonaws.com" }, false, ""},
		{rules.APIPrincipalUnapproved, "recon is not a send", func(c *cloudtrail.Event) { *c = leaked(*c) }, false, ""},
		{rules.APIPrincipalUnapproved, "approved sender", func(c *cloudtrail.Event) { c.EventName = "SendEmail" }, false, ""},
		{rules.APIPrincipalUnapproved, "unapproved sender", func(c *cloudtrail.Event) { *c = leaked(*c); c.EventName = "SendRawEmail" }, true, `"leaked-user", which is not in senders.principals`},
		{rules.APIPrincipalUnapproved, "unknown sender", func(c *cloudtrail.Event) {
			c.EventName = "SendEmail"
			c.Principal = cloudtrail.Principal{Type: "AWSAccount"}
		}, true, "unidentified principal"},
		{rules.APIPrincipalUnapproved, "refused send is send_denied", func(c *cloudtrail.Event) { *c = leaked(*c); c.EventName = "SendEmail"; c.ErrorCode = "AccessDenied" }, false, ""},
		{rules.APISendDenied, "refused send", func(c *cloudtrail.Event) { c.EventName = "SendBulkEmail"; c.ErrorCode = "AccessDenied" }, true, "SendBulkEmail by mailer-task-role was refused with AccessDenied"},
		{rules.APISendDenied, "refused recon", func(c *cloudtrail.Event) { c.ErrorCode = "AccessDenied" }, false, ""},
		{rules.SetupSandboxExitRequested, "put account details", func(c *cloudtrail.Event) { c.EventName = "PutAccountDetails"; c.ProductionAccess = tr(true) }, true, "productionAccessEnabled=true"},
		{rules.SetupSandboxExitRequested, "other call", nil, false, ""},
		{rules.SetupIdentityCreated, "approved principal and identity", func(c *cloudtrail.Event) { c.EventName = "CreateEmailIdentity"; c.Identity = "mail.example.com" }, false, ""},
		{rules.SetupIdentityCreated, "unapproved identity", func(c *cloudtrail.Event) { c.EventName = "VerifyDomainIdentity"; c.Identity = "promo.example" }, true, "identity is not in senders.identities"},
		{rules.SetupIdentityCreated, "unapproved principal", func(c *cloudtrail.Event) {
			*c = leaked(*c)
			c.EventName = "VerifyEmailIdentity"
			c.Identity = "a@mail.example.com"
		}, true, "principal is not in senders.principals"},
		{rules.SetupSendingReenabled, "account enabled", func(c *cloudtrail.Event) { c.EventName = "UpdateAccountSendingEnabled"; c.SendingEnabled = tr(true) }, true, "enabled sending for the account"},
		{rules.SetupSendingReenabled, "set enabled", func(c *cloudtrail.Event) {
			c.EventName = "PutConfigurationSetSendingOptions"
			c.SendingEnabled = tr(true)
			c.ConfigurationSet = "prod-outbound"
		}, true, "configuration set prod-outbound"},
		{rules.SetupSendingReenabled, "paused", func(c *cloudtrail.Event) { c.EventName = "PutAccountSendingAttributes"; c.SendingEnabled = tr(false) }, false, ""},
	}
	for _, c := range cases {
		t.Run(c.rule+"/"+c.name, func(t *testing.T) {
			r, ok := RuleByID(c.rule)
			if !ok {
				t.Fatal("not registered")
			}
			call := goodCall(1)
			if c.mutate != nil {
				c.mutate(&call)
			}
			got, detail := r.CheckCall(p, &call)
			if got != c.want || (c.want && !strings.Contains(detail, c.detail)) {
				t.Errorf("fired=%v detail %q, want %v and %q", got, detail, c.want, c.detail)
			}
		})
	}
}

func TestProcessCallsExactKeyAndDedup(t *testing.T) {
	d := newDetector(t, examplePolicy(t), NewMemoryState())
	ctx := context.Background()
	a, b := leaked(goodCall(1)), leaked(goodCall(2))
	b.EventName = "ListEmailIdentities"
	other := leaked(goodCall(3))
	other.Principal.AccessKeyID = "AKIALEAKEDUSER000002" // a second key of the same user
	batch, err := d.ProcessCalls(ctx, []cloudtrail.Event{a, b, a, other, goodCall(4)})
	if err != nil {
		t.Fatal(err)
	}
	if batch.Duplicates != 1 || batch.Events != 4 {
		t.Errorf("events %d duplicates %d", batch.Events, batch.Duplicates)
	}
	keys := map[string]finding.Finding{}
	for _, u := range batch.Updates {
		if u.Finding.Rule != rules.APIOutsideApproved {
			t.Errorf("unexpected rule %s", u.Finding.Rule)
		}
		keys[u.Finding.Principal.AccessKeyID] = u.Finding
	}
	f, ok := keys["AKIALEAKEDUSER000001"]
	if len(keys) != 2 || !ok {
		t.Fatalf("findings by key: %v", keys)
	}
	if f.Principal.Kind != finding.KindUser || f.Principal.ARN != "arn:aws:iam::111122223333:user/leaked-user" ||
		f.Evidence.Count != 2 || strings.Join(f.Evidence.EventNames, ",") != "GetSendQuota,ListEmailIdentities" ||
		len(f.Evidence.EventIDs) != 2 || f.SourceIP != "203.0.113.9" || len(f.Actions) == 0 {
		t.Errorf("finding %+v", f)
	}
	// Redelivery: nothing new.
	again, err := d.ProcessCalls(ctx, []cloudtrail.Event{a, b})
	if err != nil || again.Duplicates != 2 || len(again.Updates) != 0 {
		t.Errorf("redelivery %+v %v", again, err)
	}
}

func TestProcessCallsRollback(t *testing.T) {
	st := &failingState{MemoryState: NewMemoryState(), fail: true}
	d := newDetector(t, examplePolicy(t), st)
	c := leaked(goodCall(1))
	if _, err := d.ProcessCalls(context.Background(), []cloudtrail.Event{c}); err == nil {
		t.Fatal("no error")
	}
	st.fail = false
	b, err := d.ProcessCalls(context.Background(), []cloudtrail.Event{c})
	if err != nil || b.Duplicates != 0 || len(b.Updates) != 1 {
		t.Errorf("retry %+v %v", b, err)
	}
}

func TestProcessCallsDisabledRule(t *testing.T) {
	p := examplePolicy(t)
	p.Rules = map[string]policy.RuleConfig{rules.APIOutsideApproved: {Disabled: true}}
	d := newDetector(t, p, NewMemoryState())
	b, err := d.ProcessCalls(context.Background(), []cloudtrail.Event{leaked(goodCall(1))})
	if err != nil || len(b.Updates) != 0 {
		t.Errorf("disabled rule: %+v %v", b, err)
	}
}

func BenchmarkProcessCalls(b *testing.B) {
	d, err := New(examplePolicy(b), NewMemoryState())
	if err != nil {
		b.Fatal(err)
	}
	calls := make([]cloudtrail.Event, 100)
	for i := range calls {
		calls[i] = leaked(goodCall(i))
	}
	n := 0
	for b.Loop() {
		for i := range calls {
			n++
			calls[i].EventID = "ev-" + strings.Repeat("x", 3) + string(rune(n))
		}
		if _, err := d.ProcessCalls(context.Background(), calls); err != nil {
			b.Fatal(err)
		}
	}
}
