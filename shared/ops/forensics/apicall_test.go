package forensics

import (
	"net/netip"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
)

func TestAddCallByAccessKey(t *testing.T) {
	at := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	call := func(key, name, ip, op, errCode string, min int) *cloudtrail.Event {
		return &cloudtrail.Event{EventName: op, EventTime: at.Add(time.Duration(min) * time.Minute), ErrorCode: errCode,
			Principal: cloudtrail.Principal{Name: name, AccessKeyID: key}, SourceIP: netip.MustParseAddr(ip)}
	}
	cases := []struct {
		name   string
		filter Filter
		want   map[string][2]int64 // key -> calls, refused
	}{
		{"all", Filter{}, map[string][2]int64{"AKIA1": {3, 1}, "ASIA2": {1, 0}, Unknown: {1, 0}}},
		{"since", Filter{Since: at.Add(2 * time.Minute)}, map[string][2]int64{"AKIA1": {1, 1}, Unknown: {1, 0}}},
		{"principal", Filter{Principal: "leaked-*"}, map[string][2]int64{"AKIA1": {3, 1}}},
		{"ip", Filter{IP: netip.MustParsePrefix("10.0.0.0/8")}, map[string][2]int64{"ASIA2": {1, 0}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := New(Options{By: ByAccessKey, Filter: c.filter})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range []*cloudtrail.Event{
				call("AKIA1", "leaked-user", "203.0.113.9", "GetSendQuota", "", 0),
				call("AKIA1", "leaked-user", "203.0.113.9", "GetAccount", "", 1),
				call("AKIA1", "leaked-user", "203.0.113.9", "SendRawEmail", "AccessDenied", 3),
				call("ASIA2", "mailer-task-role", "10.20.7.12", "SendEmail", "", 1),
				call("", "AWS Internal", "198.51.100.1", "GetAccount", "", 4),
			} {
				a.AddCall(e)
			}
			r := a.Report()
			got := map[string][2]int64{}
			for _, g := range r.Groups {
				got[g.Key] = [2]int64{g.APICalls, g.APIRefused}
				if g.Sends != 0 {
					t.Errorf("%s: API calls counted as sends", g.Key)
				}
			}
			if len(got) != len(c.want) {
				t.Fatalf("groups %v, want %v", got, c.want)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s: %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

// TestAddCallSkipsGlobalServices: IAM/STS/Support calls, now decoded for the playbook rules, are
// not SES API calls and are not counted as such.
func TestAddCallSkipsGlobalServices(t *testing.T) {
	a, err := New(Options{By: ByAccessKey})
	if err != nil {
		t.Fatal(err)
	}
	a.AddCall(&cloudtrail.Event{EventSource: cloudtrail.IAMEventSource, EventName: "CreateUser",
		Principal: cloudtrail.Principal{Name: "leaked-user", AccessKeyID: "AKIA1"}, SourceIP: netip.MustParseAddr("203.0.113.9")})
	a.AddCall(&cloudtrail.Event{EventSource: cloudtrail.SESEventSource, EventName: "GetSendQuota",
		Principal: cloudtrail.Principal{Name: "leaked-user", AccessKeyID: "AKIA1"}, SourceIP: netip.MustParseAddr("203.0.113.9")})
	if a.sum.APICalls != 1 {
		t.Fatalf("counted %d SES API calls, want 1", a.sum.APICalls)
	}
}
