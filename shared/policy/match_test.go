package policy

import (
	"net/netip"
	"testing"
)

func testPolicy(t *testing.T, src string) *Policy {
	t.Helper()
	p, err := Load([]byte(src), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNetworkApproved(t *testing.T) {
	p := testPolicy(t, `version: 1
network: { cidrs: [10.20.0.0/16, 203.0.113.10, "2001:db8:a::/48"] }
`)
	tests := []struct {
		ip   string
		want bool
	}{
		{"10.20.3.4", true},
		{"10.21.0.1", false},
		{"203.0.113.10", true},
		{"203.0.113.11", false},
		{"::ffff:10.20.0.9", true}, // IPv4-mapped compares as IPv4
		{"2001:db8:a:1::1", true},
		{"2001:db8:b::1", false},
		{"", false}, // missing source IP: unknown, never approved
	}
	for _, tt := range tests {
		var ip netip.Addr
		if tt.ip != "" {
			ip = netip.MustParseAddr(tt.ip)
		}
		if got := p.NetworkApproved(ip); got != tt.want {
			t.Errorf("NetworkApproved(%q) = %v, want %v", tt.ip, got, tt.want)
		}
	}
}

func TestSenderMatching(t *testing.T) {
	p, err := LoadExample()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		fn   func(string) bool
		in   string
		want bool
	}{
		{"principal smtp user", p.PrincipalApproved, "ses-smtp-user.20260112-101500", true},
		{"principal old smtp user", p.PrincipalApproved, "ses-smtp-user.20250112-101500", false},
		{"principal role", p.PrincipalApproved, "mailer-task-role", true},
		{"principal case-sensitive", p.PrincipalApproved, "Mailer-task-role", false},
		{"principal root", p.PrincipalApproved, "root", false},
		{"principal empty", p.PrincipalApproved, "", false},
		{"from bare", p.FromApproved, "billing@mail.example.com", true},
		{"from domain case-insensitive", p.FromApproved, "billing@MAIL.Example.COM", true},
		{"from mailbox", p.FromApproved, `"Billing" <billing@mail.example.com>`, true},
		{"from display name spoof", p.FromApproved, `"x@mail.example.com" <x@evil.test>`, false},
		{"from lookalike", p.FromApproved, "billing@mail.example.com.evil.test", false},
		{"from subdomain", p.FromApproved, "a@sub.mail.example.com", false},
		{"from empty", p.FromApproved, "", false},
		{"from no at", p.FromApproved, "billing", false},
		{"identity", p.IdentityApproved, "mail.example.com", true},
		{"identity case", p.IdentityApproved, "Mail.Example.com", true},
		{"identity other", p.IdentityApproved, "example.com", false},
		{"identity address not approved", p.IdentityApproved, "someone@mail.example.com", false},
		{"identity empty", p.IdentityApproved, "", false},
		{"config set", p.ConfigurationSetApproved, "prod-outbound", true},
		{"config set case", p.ConfigurationSetApproved, "Prod-outbound", false},
		{"config set empty", p.ConfigurationSetApproved, "", false},
		{"recipient any", p.RecipientApproved, "x@anything.test", true},
		{"recipient no domain", p.RecipientApproved, "x", false},
	}
	for _, tt := range tests {
		if got := tt.fn(tt.in); got != tt.want {
			t.Errorf("%s: (%q) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestAddressPatterns(t *testing.T) {
	p := testPolicy(t, `version: 1
senders:
  from: ["noreply@example.com", "team-?@Example.org", "*"]
  identities: ["ops@example.com", "*.example.net"]
recipients: { domains: ["example.com", "*.Example.org"] }
`)
	if !p.FromApproved("anything@anywhere.test") {
		t.Error(`"*" should approve any address`)
	}
	q := testPolicy(t, `version: 1
senders:
  from: ["noreply@example.com", "team-?@Example.org"]
  identities: ["ops@example.com", "*.example.net"]
recipients: { domains: ["example.com", "*.Example.org"] }
`)
	tests := []struct {
		name string
		fn   func(string) bool
		in   string
		want bool
	}{
		{"exact", q.FromApproved, "noreply@example.com", true},
		{"local part case-sensitive", q.FromApproved, "NoReply@example.com", false},
		{"pattern domain case-insensitive", q.FromApproved, "team-a@example.ORG", true},
		{"? one char", q.FromApproved, "team-ab@example.org", false},
		{"identity address", q.IdentityApproved, "ops@EXAMPLE.com", true},
		{"identity wildcard domain", q.IdentityApproved, "mail.example.net", true},
		{"identity apex not under wildcard", q.IdentityApproved, "example.net", false},
		{"recipient domain", q.RecipientApproved, "a@Example.com", true},
		{"recipient subdomain", q.RecipientApproved, "a@x.example.org", true},
		{"recipient other", q.RecipientApproved, "a@example.org.evil", false},
		{"recipient mailbox", q.RecipientApproved, "A <a@example.com>", true},
	}
	for _, tt := range tests {
		if got := tt.fn(tt.in); got != tt.want {
			t.Errorf("%s: (%q) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
	if DomainOf("X <a@Mail.Example.com>") != "mail.example.com" || DomainOf("nope") != "" {
		t.Error("DomainOf")
	}
}

func BenchmarkMatchSend(b *testing.B) {
	p, err := LoadExample()
	if err != nil {
		b.Fatal(err)
	}
	ip := netip.MustParseAddr("10.20.3.4")
	b.ReportAllocs()
	for b.Loop() {
		if !p.NetworkApproved(ip) || !p.PrincipalApproved("ses-smtp-user.20260112-101500") ||
			!p.FromApproved("billing@mail.example.com") || !p.IdentityApproved("mail.example.com") ||
			!p.ConfigurationSetApproved("prod-outbound") || !p.RecipientApproved("a@b.test") {
			b.Fatal("not approved")
		}
	}
}
