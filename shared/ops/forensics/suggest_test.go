package forensics

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
)

func sugSend(at time.Time, caller, ip, from string) *sesevent.Event {
	e := &sesevent.Event{Type: sesevent.TypeSend, MessageID: fmt.Sprintf("m-%d-%s", at.UnixNano(), ip), MailTime: at, CallerIdentity: caller,
		Identity: "example.com", IdentityArn: "arn:aws:ses:eu-west-1:111122223333:identity/example.com", Account: "111122223333",
		ConfigurationSet: "cs", From: []sesevent.Address{{Address: from}}, Recipients: []string{"a@example.net"}}
	e.SourceIP, _ = netip.ParseAddr(ip)
	return e
}

// TestSuggestNotApproved: each kind of suspicious history lands in the NOT approved section and
// nowhere in the allow-list.
func TestSuggestNotApproved(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	steady := func(s *Suggester) {
		for d := 0; d < 14; d++ {
			for h := 9; h < 17; h++ {
				for i := 0; i < 5; i++ {
					s.Add(sugSend(t0.Add(time.Duration(d*24+h)*time.Hour+time.Duration(i)*time.Minute), "app", "203.0.113.7", "app@example.com"))
				}
			}
		}
	}
	tests := []struct {
		name     string
		opt      SuggestOptions
		add      func(s *Suggester)
		rejected string // in the NOT approved section
		absent   string // nowhere in the approved part
	}{
		{"one-off ip", SuggestOptions{}, func(s *Suggester) {
			s.Add(sugSend(t0.Add(50*time.Hour+5*time.Minute), "app", "192.0.2.9", "app@example.com"))
		}, "network 192.0.2.0/24: one-off", "192.0.2."},
		{"outside hint", SuggestOptions{Network: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}, func(s *Suggester) {
			for d := 0; d < 14; d++ {
				s.Add(sugSend(t0.Add(time.Duration(d*24+10)*time.Hour), "app", "198.51.100.4", "app@example.com"))
			}
		}, "network 198.51.100.0/24: outside the --network hint", "198.51.100."},
		{"root", SuggestOptions{}, func(s *Suggester) {
			for d := 0; d < 14; d++ {
				s.Add(sugSend(t0.Add(time.Duration(d*24+10)*time.Hour), "root", "203.0.113.7", "root@example.com"))
			}
		}, `principal "root": the root user`, `"root@example.com"`},
		{"bounce rate", SuggestOptions{}, func(s *Suggester) {
			for d := 0; d < 300; d++ {
				at := t0.Add(time.Duration(d) * time.Hour)
				s.Add(sugSend(at, "spammy", "203.0.113.7", "promo@example.com"))
				if d%10 == 0 {
					s.Add(&sesevent.Event{Type: sesevent.TypeBounce, MailTime: at, CallerIdentity: "spammy", Bounce: &sesevent.BounceDetail{Type: "Permanent", Recipients: []string{"x@example.net"}}})
				}
			}
		}, `principal "spammy": bounce rate 10.00%`, `"promo@example.com"`},
		{"unusual hour", SuggestOptions{}, func(s *Suggester) {
			s.Add(sugSend(t0.Add(3*24*time.Hour+3*time.Hour), "app", "203.0.113.7", "night@example.com"))
		}, `principal "app" at 03:00-03:59 UTC: outside its usual hours`, `"night@example.com"`},
		{"short-lived network", SuggestOptions{}, func(s *Suggester) {
			for i := 0; i < 300; i++ {
				s.Add(sugSend(t0.Add(5*24*time.Hour+10*time.Hour+time.Duration(i)*10*time.Second), "app", "45.155.205.21", "app@example.com"))
			}
		}, "network 45.155.205.0/24: short-lived", "45.155.205."},
		{"wildcard in an observed From", SuggestOptions{}, func(s *Suggester) {
			for d := 0; d < 14; d++ {
				s.Add(sugSend(t0.Add(time.Duration(d*24+10)*time.Hour), "app", "203.0.113.7", "x*y@example.com"))
			}
		}, `From "x*y@example.com": not a valid senders.from entry: contains a wildcard`, `x*y@`},
		{"From the loader refuses", SuggestOptions{}, func(s *Suggester) {
			for d := 0; d < 14; d++ {
				s.Add(sugSend(t0.Add(time.Duration(d*24+10)*time.Hour), "app", "203.0.113.7", "a\"b c@example.com"))
			}
		}, `From "a\"b c@example.com": not a valid senders.from entry`, `b c@`},
		{"recon", SuggestOptions{}, func(s *Suggester) {
			for i := 0; i < 10; i++ {
				c := &cloudtrail.Event{EventID: fmt.Sprint(i), EventName: "GetSendQuota", ReadOnly: true, EventTime: t0.Add(time.Duration(i*30) * time.Hour),
					Account: "111122223333", Principal: cloudtrail.Principal{Type: "IAMUser", Name: "intruder", AccountID: "111122223333"}}
				c.SourceIP = netip.MustParseAddr("203.0.113.7")
				s.AddCall(c)
			}
		}, `API calls by "intruder" from 203.0.113.0/24: reconnaissance-shaped`, `"intruder"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSuggester(tt.opt)
			steady(s)
			tt.add(s)
			var b bytes.Buffer
			if err := s.Suggest().WriteYAML(&b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if _, err := policy.Load(b.Bytes(), "suggested"); err != nil {
				t.Fatalf("suggested policy does not load: %v\n%s", err, out)
			}
			i := strings.Index(out, "# NOT approved")
			approved, rejected := out[:i], out[i:]
			if !strings.Contains(rejected, tt.rejected) {
				t.Errorf("NOT approved lacks %q:\n%s", tt.rejected, rejected)
			}
			if strings.Contains(approved, tt.absent) {
				t.Errorf("%q laundered into the allow-list:\n%s", tt.absent, approved)
			}
			if !strings.Contains(approved, `"app@example.com"`) || !strings.Contains(approved, "203.0.113.0/24") {
				t.Errorf("steady traffic not approved:\n%s", approved)
			}
		})
	}
}

// TestSuggestCommentInjection: attacker-controlled strings cannot break out of a comment.
func TestSuggestCommentInjection(t *testing.T) {
	if got := comment("a\nversion: 2\r\x00b"); strings.ContainsAny(got, "\n\r\x00") {
		t.Fatalf("comment kept a line break: %q", got)
	}
}

// TestSuggestDeterministic: the same history gives the same bytes (samples used to depend on
// map order, so a policy suggested from S3 differed from one suggested from the download).
func TestSuggestDeterministic(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var first string
	for run := 0; run < 8; run++ {
		s := NewSuggester(SuggestOptions{})
		for h := 0; h < 200; h++ {
			s.Add(sugSend(t0.Add(time.Duration(h)*time.Hour), "app", fmt.Sprintf("203.0.%d.7", h%4), "app@example.com"))
		}
		var b bytes.Buffer
		if err := s.Suggest().WriteYAML(&b); err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			first = b.String()
		} else if b.String() != first {
			t.Fatalf("run %d differs from run 0:\n%s\n---\n%s", run, b.String(), first)
		}
	}
}
