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

// baselinePolicy is the example policy with baselines on and no network list, as a team that
// cannot list its networks would run it.
func baselinePolicy(t testing.TB) *policy.Policy {
	t.Helper()
	p := examplePolicy(t)
	p.Network = policy.Network{}
	p.Baseline.Enabled = true
	return p
}

// sesCall is an SES call at day d (plus offset) by a user key from ip.
func sesCall(key, user, ip string, day float64) cloudtrail.Event {
	at := t0.Add(time.Duration(day * float64(24*time.Hour)))
	return cloudtrail.Event{EventID: key + ip + at.String(), EventTime: at, EventSource: cloudtrail.SESEventSource, EventName: "GetSendQuota",
		Account: "111122223333", Region: "eu-west-1", SourceIP: netip.MustParseAddr(ip),
		Principal: cloudtrail.Principal{Type: cloudtrail.TypeIAMUser, Name: user, ARN: "arn:aws:iam::111122223333:user/" + user, AccessKeyID: key}}
}

func roleCall(key, ip string, day float64) cloudtrail.Event {
	c := sesCall(key, "mailer-task-role", ip, day)
	c.Principal = cloudtrail.Principal{Type: cloudtrail.TypeAssumedRole, Name: "mailer-task-role", ARN: "arn:aws:iam::111122223333:role/mailer-task-role", AccessKeyID: key}
	return c
}

func TestBaselineRules(t *testing.T) {
	office := "192.0.2.10"
	cases := []struct {
		name  string
		calls []cloudtrail.Event
		rule  string // "" for no baseline finding
		want  string
	}{
		{"a key's first SES use after the account's learning period",
			[]cloudtrail.Event{sesCall("AKIAOLD", "app", office, 0), sesCall("AKIANEW", "new-app", office, 15)}, rules.BaselineFirstSESUse, "key AKIANEW (new-app) called SES"},
		{"every key is new while the account learns",
			[]cloudtrail.Event{sesCall("AKIAOLD", "app", office, 0), sesCall("AKIANEW", "new-app", office, 5)}, "", ""},
		{"a key dormant for 31 days",
			[]cloudtrail.Event{sesCall("AKIAOLD", "app", office, 0), sesCall("AKIAOLD", "app", office, 31)}, rules.BaselineDormantKey, "after 31 days unused"},
		{"a key used weekly is not dormant",
			[]cloudtrail.Event{sesCall("AKIAOLD", "app", office, 0), sesCall("AKIAOLD", "app", office, 7), sesCall("AKIAOLD", "app", office, 14), sesCall("AKIAOLD", "app", office, 21)}, "", ""},
		{"a new /24 after the key's learning period",
			[]cloudtrail.Event{sesCall("AKIAOLD", "app", office, 0), sesCall("AKIAOLD", "app", office, 10), sesCall("AKIAOLD", "app", "203.0.113.77", 20)}, rules.BaselineNewNetwork, "from 203.0.113.0/24, a network it did not use in its 14-day learning period"},
		{"another host of a known /24",
			[]cloudtrail.Event{sesCall("AKIAOLD", "app", office, 0), sesCall("AKIAOLD", "app", office, 10), sesCall("AKIAOLD", "app", "192.0.2.200", 20)}, "", ""},
		{"another host of a known IPv6 /48",
			[]cloudtrail.Event{sesCall("AKIAOLD", "app", "2001:db8:7::1", 0), sesCall("AKIAOLD", "app", "2001:db8:7::1", 10), sesCall("AKIAOLD", "app", "2001:db8:7:ff::9", 20)}, "", ""},
		{"a new network during the key's learning period is learned",
			[]cloudtrail.Event{sesCall("AKIAOLD", "app", office, 0), sesCall("AKIAOLD", "app", "198.51.100.4", 3), sesCall("AKIAOLD", "app", "198.51.100.9", 20)}, "", ""},
		{"a role's rotating session keys are one subject",
			[]cloudtrail.Event{roleCall("ASIA1", office, 0), roleCall("ASIA2", office, 15), roleCall("ASIA3", office, 16)}, "", ""},
		{"IAM calls do not feed the baseline",
			[]cloudtrail.Event{sesCall("AKIAOLD", "app", office, 0), func() cloudtrail.Event {
				c := sesCall("AKIANEW", "new-app", office, 15)
				c.EventSource = cloudtrail.IAMEventSource
				return c
			}()}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := New(baselinePolicy(t), NewMemoryState())
			if err != nil {
				t.Fatal(err)
			}
			var got []finding.Finding
			for _, call := range c.calls {
				b, err := d.ProcessCalls(context.Background(), []cloudtrail.Event{call})
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range b.Updates {
					if strings.HasPrefix(u.Finding.Rule, "baseline.") {
						got = append(got, u.Finding)
					}
				}
			}
			switch {
			case c.rule == "" && len(got) > 0:
				t.Fatalf("unexpected %s: %s", got[0].Rule, got[0].Evidence.Detail)
			case c.rule != "" && (len(got) != 1 || got[0].Rule != c.rule || !strings.Contains(got[0].Evidence.Detail, c.want)):
				t.Fatalf("got %+v, want one %s saying %q", got, c.rule, c.want)
			}
		})
	}
}

// TestBaselineOffByDefault: without baseline.enabled nothing is learned or judged.
func TestBaselineOffByDefault(t *testing.T) {
	p := baselinePolicy(t)
	p.Baseline.Enabled = false
	st := NewMemoryState()
	d, _ := New(p, st)
	for _, c := range []cloudtrail.Event{sesCall("AKIAOLD", "app", "192.0.2.1", 0), sesCall("AKIAOLD", "app", "203.0.113.1", 40)} {
		b, err := d.ProcessCalls(context.Background(), []cloudtrail.Event{c})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range b.Updates {
			if strings.HasPrefix(u.Finding.Rule, "baseline.") {
				t.Fatalf("baseline finding while disabled: %+v", u.Finding)
			}
		}
	}
	if v, _ := st.Get(context.Background(), "bl#111122223333#start"); v != 0 {
		t.Fatalf("baseline state written while disabled")
	}
}
