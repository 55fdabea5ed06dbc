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
)

// iamCall is a global-service call by the leaked key from outside the networks.
func iamCall(src, name string, iam *cloudtrail.IAMCall) cloudtrail.Event {
	c := leaked(goodCall(0))
	c.EventID, c.EventSource, c.EventName, c.Region, c.IAM = "g-"+name, src, name, "us-east-1", iam
	c.UserAgent = "aws-cli/2.17.50"
	return c
}

// pipeline is a call by infra-pipeline-role (playbook.iam_admins) from inside network.cidrs.
func pipeline(c cloudtrail.Event) cloudtrail.Event {
	c.Principal = cloudtrail.Principal{Type: cloudtrail.TypeAssumedRole, Name: "infra-pipeline-role",
		ARN: "arn:aws:iam::111122223333:role/infra-pipeline-role", AccessKeyID: "ASIAINFRAPIPE0000001"}
	c.SourceIP = netip.MustParseAddr("10.20.4.12")
	return c
}

// viaCloudFormation is a call a CloudFormation stack makes with its role.
func viaCloudFormation(c cloudtrail.Event) cloudtrail.Event {
	c.Principal = cloudtrail.Principal{Type: cloudtrail.TypeAssumedRole, Name: "cdk-cfn-exec-role",
		ARN: "arn:aws:iam::111122223333:role/cdk-cfn-exec-role", AccessKeyID: "ASIACFNEXEC000000001", InvokedBy: "cloudformation.amazonaws.com"}
	c.SourceIP, c.SourceHost = netip.Addr{}, "cloudformation.amazonaws.com"
	return c
}

const sesAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ses:*","support:*"],"Resource":"*"}]}`

func TestPlaybookRules(t *testing.T) {
	p := examplePolicy(t)
	sts, iamSrc, sup := cloudtrail.STSEventSource, cloudtrail.IAMEventSource, cloudtrail.SupportEventSource
	who := func(ua string) cloudtrail.Event {
		c := iamCall(sts, "GetCallerIdentity", nil)
		c.UserAgent = ua
		return c
	}
	cases := []struct {
		rule   string
		name   string
		call   cloudtrail.Event
		want   bool
		detail string
	}{
		// 1. key validation
		{rules.PlaybookKeyValidated, "TruffleHog from outside", who("TruffleHog"), true, `user agent of trufflehog ("TruffleHog") from 203.0.113.9`},
		{rules.PlaybookKeyValidated, "trufflehog/3.x from outside", who("trufflehog/3.88.2 (+https://github.com/trufflesecurity/trufflehog)"), true, "the key was found and validated"},
		{rules.PlaybookKeyValidated, "developer's aws-cli whoami", who("aws-cli/2.17.50 md/command#sts.get-caller-identity"), false, ""},
		{rules.PlaybookKeyValidated, "scanner run from an approved network", pipeline(who("TruffleHog")), false, ""},
		{rules.PlaybookKeyValidated, "GetCallerIdentity is not an SES call", func() cloudtrail.Event { c := who("TruffleHog"); c.EventSource = cloudtrail.SESEventSource; return c }(), false, ""},
		// 2. persistence
		{rules.PlaybookPersistence, "CreateUser by a leaked key", iamCall(iamSrc, "CreateUser", &cloudtrail.IAMCall{UserName: "ses_legion"}), true, `CreateUser for user "ses_legion" by leaked-user: the principal is not in playbook.iam_admins and the call came from 203.0.113.9`},
		{rules.PlaybookPersistence, "CreateAccessKey names the new key", iamCall(iamSrc, "CreateAccessKey", &cloudtrail.IAMCall{UserName: "ses", CreatedAccessKeyID: "AKIANEW"}), true, "(new key AKIANEW)"},
		{rules.PlaybookPersistence, "CreateLoginProfile", iamCall(iamSrc, "CreateLoginProfile", &cloudtrail.IAMCall{UserName: "ses_legion"}), true, "CreateLoginProfile"},
		{rules.PlaybookPersistence, "GetFederationToken", iamCall(sts, "GetFederationToken", &cloudtrail.IAMCall{FederatedName: "svc", CreatedAccessKeyID: "ASIAFED"}), true, "deny_send_policy on leaked-user covers the session"},
		{rules.PlaybookPersistence, "refused attempt counts", func() cloudtrail.Event {
			c := iamCall(iamSrc, "CreateUser", nil)
			c.ErrorCode = "AccessDenied"
			return c
		}(), true, "refused: AccessDenied"},
		{rules.PlaybookPersistence, "pipeline role inside the networks", pipeline(iamCall(iamSrc, "CreateAccessKey", &cloudtrail.IAMCall{UserName: "app"})), false, ""},
		{rules.PlaybookPersistence, "pipeline role from outside", func() cloudtrail.Event {
			c := pipeline(iamCall(iamSrc, "CreateUser", nil))
			c.SourceIP = netip.MustParseAddr("198.51.100.1")
			return c
		}(), true, "outside the approved networks"},
		{rules.PlaybookPersistence, "CloudFormation stack role", viaCloudFormation(iamCall(iamSrc, "CreateUser", &cloudtrail.IAMCall{UserName: "app"})), false, ""},
		{rules.PlaybookPersistence, "a user key driving CloudFormation is judged", func() cloudtrail.Event {
			c := iamCall(iamSrc, "CreateUser", nil)
			c.Principal.InvokedBy = "cloudformation.amazonaws.com"
			return c
		}(), true, "not in playbook.iam_admins"},
		{rules.PlaybookPersistence, "AWS itself", func() cloudtrail.Event {
			c := iamCall(iamSrc, "CreateUser", nil)
			c.Principal = cloudtrail.Principal{Type: "AWSService", Name: "AWS Internal", InvokedBy: "AWS Internal"}
			return c
		}(), false, ""},
		{rules.PlaybookPersistence, "CreateGroup is not persistence", iamCall(iamSrc, "CreateGroup", &cloudtrail.IAMCall{GroupName: "g"}), false, ""},
		// 2. privilege grants
		{rules.PlaybookPrivilege, "AttachUserPolicy AmazonSESFullAccess", iamCall(iamSrc, "AttachUserPolicy", &cloudtrail.IAMCall{UserName: "ses", PolicyARN: "arn:aws:iam::aws:policy/AmazonSESFullAccess"}), true, `to user "ses" granting policy AmazonSESFullAccess`},
		{rules.PlaybookPrivilege, "custom policy named AdministratorAccess", iamCall(iamSrc, "AttachGroupPolicy", &cloudtrail.IAMCall{GroupName: "SESAdminGroup", PolicyARN: "arn:aws:iam::111122223333:policy/AdministratorAccess"}), true, `to group "SESAdminGroup"`},
		{rules.PlaybookPrivilege, "CreatePolicy ses:*", iamCall(iamSrc, "CreatePolicy", &cloudtrail.IAMCall{PolicyName: "ses-support-policy", PolicyDocument: sesAll}), true, `"ses:*" in policy "ses-support-policy"`},
		{rules.PlaybookPrivilege, "inline ses:Send* URL-encoded", iamCall(iamSrc, "PutUserPolicy", &cloudtrail.IAMCall{UserName: "u", PolicyName: "p",
			PolicyDocument: "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22ses%3ASend%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D"}), true, `"ses:Send*"`},
		{rules.PlaybookPrivilege, "NotAction leaving sends", iamCall(iamSrc, "PutGroupPolicy", &cloudtrail.IAMCall{GroupName: "g", PolicyName: "p",
			PolicyDocument: `{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`}), true, "NotAction iam:*"},
		{rules.PlaybookPrivilege, "read-only SES policy", iamCall(iamSrc, "PutUserPolicy", &cloudtrail.IAMCall{UserName: "u", PolicyName: "p",
			PolicyDocument: `{"Statement":[{"Effect":"Allow","Action":["ses:Get*","ses:List*"],"Resource":"*"}]}`}), false, ""},
		{rules.PlaybookPrivilege, "a deny of sends", iamCall(iamSrc, "PutUserPolicy", &cloudtrail.IAMCall{UserName: "u", PolicyName: "sesguard-deny-send",
			PolicyDocument: `{"Statement":[{"Effect":"Deny","Action":"ses:SendEmail","Resource":"*"}]}`}), false, ""},
		{rules.PlaybookPrivilege, "the quarantine policy is no grant", func() cloudtrail.Event {
			c := iamCall(iamSrc, "AttachUserPolicy", &cloudtrail.IAMCall{UserName: "leaked-user", PolicyARN: "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"})
			c.Principal = cloudtrail.Principal{Type: "AWSService", Name: "AWS Internal"}
			return c
		}(), false, ""},
		{rules.PlaybookPrivilege, "pipeline grants SES to the app user", pipeline(iamCall(iamSrc, "PutUserPolicy", &cloudtrail.IAMCall{UserName: "app", PolicyName: "send", PolicyDocument: sesAll})), false, ""},
		{rules.PlaybookPrivilege, "unparseable document proves nothing", iamCall(iamSrc, "PutUserPolicy", &cloudtrail.IAMCall{UserName: "u", PolicyDocument: "{not json"}), false, ""},
		// 2. SES quota cases
		{rules.PlaybookQuotaCase, "SES limit case", func() cloudtrail.Event {
			c := iamCall(sup, "CreateCase", nil)
			c.Support = &cloudtrail.SupportCase{Subject: "Raise SES sending limit", ServiceCode: "amazon-simple-email-service"}
			return c
		}(), true, `support case "Raise SES sending limit"`},
		{rules.PlaybookQuotaCase, "category names SES", func() cloudtrail.Event {
			c := iamCall(sup, "CreateCase", nil)
			c.Support = &cloudtrail.SupportCase{Subject: "limit", ServiceCode: "service-limit-increase", CategoryCode: "service-code-ses"}
			return c
		}(), true, "service-code-ses"},
		{rules.PlaybookQuotaCase, "EC2 case", func() cloudtrail.Event {
			c := iamCall(sup, "CreateCase", nil)
			c.Support = &cloudtrail.SupportCase{Subject: "processes need more vCPUs", ServiceCode: "service-limit-increase", CategoryCode: "service-code-ec2-instances"}
			return c
		}(), false, ""},
		{rules.PlaybookQuotaCase, "admin opens the SES case from inside", func() cloudtrail.Event {
			c := pipeline(iamCall(sup, "CreateCase", nil))
			c.Support = &cloudtrail.SupportCase{Subject: "SES production access"}
			return c
		}(), false, ""},
		// AWS's quarantine signal
		{rules.PlaybookQuarantined, "AWS Internal attaches the quarantine", func() cloudtrail.Event {
			c := iamCall(iamSrc, "AttachUserPolicy", &cloudtrail.IAMCall{UserName: "leaked-user", PolicyARN: "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"})
			c.Principal = cloudtrail.Principal{Type: "AWSService", Name: "AWS Internal", InvokedBy: "AWS Internal"}
			c.SourceIP, c.SourceHost = netip.Addr{}, "AWS Internal"
			return c
		}(), true, `to user "leaked-user": AWS found one of its keys exposed`},
		{rules.PlaybookQuarantined, "another AWS-managed policy", func() cloudtrail.Event {
			c := iamCall(iamSrc, "AttachUserPolicy", &cloudtrail.IAMCall{UserName: "u", PolicyARN: "arn:aws:iam::aws:policy/ReadOnlyAccess"})
			c.Principal = cloudtrail.Principal{Type: "AWSService", Name: "AWS Internal"}
			return c
		}(), false, ""},
	}
	for _, c := range cases {
		t.Run(c.rule+"/"+c.name, func(t *testing.T) {
			r, ok := RuleByID(c.rule)
			if !ok {
				t.Fatalf("no rule %s", c.rule)
			}
			got, detail := r.CheckCall(p, &c.call)
			if got != c.want || !strings.Contains(detail, c.detail) {
				t.Fatalf("got %v %q, want %v containing %q", got, detail, c.want, c.detail)
			}
		})
	}
}

// TestSESRulesIgnoreGlobalCalls: an IAM call from outside the networks is not an SES API call.
func TestSESRulesIgnoreGlobalCalls(t *testing.T) {
	p := examplePolicy(t)
	c := iamCall(cloudtrail.IAMEventSource, "ListUsers", nil)
	for _, r := range Rules() {
		if r.global {
			continue
		}
		if bad, detail := r.CheckCall(p, &c); bad {
			t.Errorf("%s fired on an IAM call: %s", r.ID, detail)
		}
	}
}

// TestPersistenceFindingListsCreated: CreateUser then CreateAccessKey by one key make one
// finding naming the key, the principal and the user with its new key.
func TestPersistenceFindingListsCreated(t *testing.T) {
	d, err := New(examplePolicy(t), NewMemoryState())
	if err != nil {
		t.Fatal(err)
	}
	calls := []cloudtrail.Event{
		iamCall(cloudtrail.IAMEventSource, "CreateUser", &cloudtrail.IAMCall{UserName: "ses", CreatedARN: "arn:aws:iam::111122223333:user/ses"}),
		iamCall(cloudtrail.IAMEventSource, "CreateAccessKey", &cloudtrail.IAMCall{UserName: "ses", CreatedAccessKeyID: "AKIANEWKEY0000000001"}),
		iamCall(cloudtrail.IAMEventSource, "ListUsers", nil),
	}
	b, err := d.ProcessCalls(context.Background(), calls)
	if err != nil {
		t.Fatal(err)
	}
	var got *finding.Finding
	for i := range b.Updates {
		f := &b.Updates[i].Finding
		if f.Rule != rules.PlaybookPersistence {
			t.Errorf("unexpected finding %s: %s", f.Rule, f.Evidence.Detail)
			continue
		}
		got = f
	}
	if got == nil || got.Principal.AccessKeyID != "AKIALEAKEDUSER000001" || got.Principal.Name != "leaked-user" || got.Severity != finding.SeverityCritical {
		t.Fatalf("finding %+v", got)
	}
	want := finding.Created{User: "ses", ARN: "arn:aws:iam::111122223333:user/ses", AccessKeyID: "AKIANEWKEY0000000001", UserCreated: true, Via: []string{"CreateUser", "CreateAccessKey"}}
	if len(got.Created) != 1 || got.Created[0].User != want.User || got.Created[0].AccessKeyID != want.AccessKeyID ||
		!got.Created[0].UserCreated || got.Created[0].ARN != want.ARN || strings.Join(got.Created[0].Via, ",") != "CreateUser,CreateAccessKey" {
		t.Fatalf("created %+v", got.Created)
	}
}

func TestMultiRegion(t *testing.T) {
	call := func(key, region string, at time.Duration) cloudtrail.Event {
		c := leaked(goodCall(0))
		c.EventSource, c.Region, c.EventTime = cloudtrail.SESEventSource, region, t0.Add(at)
		c.Principal.AccessKeyID = key
		c.EventID = key + region + at.String()
		return c
	}
	cases := []struct {
		name    string
		batches [][]cloudtrail.Event
		want    string // "" for no finding; else the Regions listed
	}{
		{"three Regions in two minutes", [][]cloudtrail.Event{{call("K1", "us-east-1", 0), call("K1", "eu-west-1", time.Minute), call("K1", "ap-southeast-2", 2*time.Minute)}},
			"3 Regions within 10m0s: us-east-1, ap-southeast-2, eu-west-1"},
		{"across batches (Lambda invocations)", [][]cloudtrail.Event{{call("K1", "us-east-1", 0)}, {call("K1", "eu-west-1", time.Minute)}, {call("K1", "us-west-2", 9*time.Minute)}},
			"3 Regions"},
		{"three Regions over an hour", [][]cloudtrail.Event{{call("K1", "us-east-1", 0), call("K1", "eu-west-1", 25*time.Minute), call("K1", "us-west-2", 50*time.Minute)}}, ""},
		{"two Regions, many calls", [][]cloudtrail.Event{{call("K1", "us-east-1", 0), call("K1", "eu-west-1", time.Second), call("K1", "us-east-1", 2*time.Second), call("K1", "eu-west-1", 3*time.Second)}}, ""},
		{"three keys, one Region each", [][]cloudtrail.Event{{call("K1", "us-east-1", 0), call("K2", "eu-west-1", 0), call("K3", "us-west-2", 0)}}, ""},
		{"IAM calls do not count", [][]cloudtrail.Event{{call("K1", "us-east-1", 0), call("K1", "eu-west-1", 0), func() cloudtrail.Event {
			c := call("K1", "us-west-2", 0)
			c.EventSource, c.EventName = cloudtrail.IAMEventSource, "ListUsers"
			return c
		}()}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := New(examplePolicy(t), NewMemoryState())
			if err != nil {
				t.Fatal(err)
			}
			var got []finding.Finding
			for _, b := range c.batches {
				out, err := d.ProcessCalls(context.Background(), b)
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range out.Updates {
					if u.Finding.Rule == rules.PlaybookMultiRegion {
						got = append(got, u.Finding)
					}
				}
			}
			switch {
			case c.want == "" && len(got) > 0:
				t.Fatalf("unexpected finding: %s", got[0].Evidence.Detail)
			case c.want != "" && (len(got) == 0 || !strings.Contains(got[len(got)-1].Evidence.Detail, c.want)):
				t.Fatalf("findings %+v, want one listing %q", got, c.want)
			case c.want != "" && (got[0].Principal.AccessKeyID != "K1" || got[0].Severity != finding.SeverityCritical):
				t.Fatalf("finding %+v", got[0])
			}
		})
	}
	// The policy's knobs: 4 Regions needed.
	p := examplePolicy(t)
	p.Playbook.Regions = 4
	d, _ := New(p, NewMemoryState())
	out, err := d.ProcessCalls(context.Background(), []cloudtrail.Event{call("K1", "us-east-1", 0), call("K1", "eu-west-1", 0), call("K1", "us-west-2", 0)})
	if err != nil || len(out.Updates) != 1 || out.Updates[0].Finding.Rule == rules.PlaybookMultiRegion {
		t.Fatalf("regions: 4 still fired on 3: %+v %v", out.Updates, err)
	}
}

// TestIncidentChain: findings of one key within playbook.incident_window share an incident id
// and a later one lists the earlier steps; another key, or the same key after a quiet window,
// is another incident.
func TestIncidentChain(t *testing.T) {
	d, err := New(examplePolicy(t), NewMemoryState())
	if err != nil {
		t.Fatal(err)
	}
	at := func(c cloudtrail.Event, min int) cloudtrail.Event {
		c.EventTime = t0.Add(time.Duration(min) * time.Minute)
		c.EventID += c.EventTime.String()
		return c
	}
	who := iamCall(cloudtrail.STSEventSource, "GetCallerIdentity", nil)
	who.UserAgent = "TruffleHog"
	process := func(calls ...cloudtrail.Event) []finding.Finding {
		b, err := d.ProcessCalls(context.Background(), calls)
		if err != nil {
			t.Fatal(err)
		}
		var out []finding.Finding
		for _, u := range b.Updates {
			out = append(out, u.Finding)
		}
		return out
	}
	first := process(at(who, 31))
	later := process(at(iamCall(cloudtrail.IAMEventSource, "CreateUser", &cloudtrail.IAMCall{UserName: "ses"}), 40))
	if len(first) != 1 || len(later) != 1 || first[0].Incident == "" || later[0].Incident != first[0].Incident {
		t.Fatalf("incidents %+v / %+v", first, later)
	}
	if len(later[0].Chain) != 1 || later[0].Chain[0].Summary != "validated" || later[0].Chain[0].Rule != rules.PlaybookKeyValidated ||
		!later[0].Chain[0].Time.Equal(t0.Add(31*time.Minute)) {
		t.Fatalf("chain %+v", later[0].Chain)
	}
	other := who
	other.Principal.AccessKeyID = "AKIAOTHERKEY00000001"
	if o := process(at(other, 41)); len(o) != 1 || o[0].Incident == first[0].Incident || len(o[0].Chain) != 0 {
		t.Fatalf("another key joined the incident: %+v", o)
	}
	// Two days later (the window is 24 h): a new incident with no chain.
	if n := process(at(who, 48*60)); len(n) != 1 || n[0].Incident == first[0].Incident || len(n[0].Chain) != 0 {
		t.Fatalf("after the window: %+v", n)
	}
}
