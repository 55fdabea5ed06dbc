package policy

import (
	"io"
	"mime"
	"net/mail"
	"strings"
	"testing"
)

// bypassPolicy approves one From mailbox, one address domain-wide and one recipient domain.
const bypassPolicy = `version: 1
senders:
  from: [alerts@notify.example.org, "*@mail.example.com"]
  identities: [alerts@notify.example.org]
recipients: { domains: [partner.example] }
`

// TestMailboxBypass: an address is approved only when it parses as exactly one mailbox whose
// address matches. Each value below once passed because the matcher took the last <…> of the
// string, whatever net/mail had made of it (issue 23, part 1), or is a variant of that class.
func TestMailboxBypass(t *testing.T) {
	p := testPolicy(t, bypassPolicy)
	tests := []struct {
		name string
		in   string
		want bool
	}{
		// The cases.
		{"quoted local part holding an angle-addr", `"x<alerts@notify.example.org>"@bad.example`, false},
		{"the same, as net/mail gives it back (unquoted)", `x<alerts@notify.example.org>@bad.example`, false},
		{"address as display name", `evil@bad.example <alerts@notify.example.org>`, false},
		{"two angle-addrs", `<evil@bad.example> <alerts@notify.example.org>`, false},
		// Variants.
		{"angle-addr then trailing text", `<alerts@notify.example.org> evil@bad.example`, false},
		{"unterminated angle-addr", `Alerts <alerts@notify.example.org`, false},
		{"stray closing bracket", `alerts@notify.example.org>`, false},
		{"two mailboxes", `alerts@notify.example.org, evil@bad.example`, false},
		{"two approved mailboxes", `alerts@notify.example.org, a@mail.example.com`, false},
		{"group of one", `team: alerts@notify.example.org;`, false},
		{"group of two", `team: alerts@notify.example.org, evil@bad.example;`, false},
		{"empty group", `undisclosed-recipients:;`, false},
		{"comment holding the approved address", `(alerts@notify.example.org) evil@bad.example`, false},
		{"comment after the approved address", `alerts@notify.example.org (Alerts)`, true},
		{"comment holding an angle-addr", `evil@bad.example (<alerts@notify.example.org>)`, false},
		{"quoted display name holding an address", `"alerts@notify.example.org" <evil@bad.example>`, false},
		{"encoded-word display name", `=?utf-8?q?alerts=40notify.example.org?= <evil@bad.example>`, false},
		{"encoded-word name, approved address", `=?utf-8?q?Alerts?= <alerts@notify.example.org>`, true},
		{"unknown charset name, approved address", `=?x-unknown?q?Alerts?= <alerts@notify.example.org>`, true},
		{"encoded-word local part", `=?utf-8?q?alerts?=@notify.example.org`, false},
		{"quoted approved local part", `"alerts"@notify.example.org`, true},
		{"quoted local part with @", `"alerts@notify.example.org"@bad.example`, false},
		{"trailing dot", `alerts@notify.example.org.`, false},
		{"doubled dot", `alerts@notify..example.org`, false},
		{"domain case", `alerts@NOTIFY.Example.ORG`, true},
		{"local part case", `Alerts@notify.example.org`, false},
		{"Cyrillic a in the domain", "alerts@notify.ex\u0430mple.org", false},
		{"Kelvin sign in the domain", "alerts@notify.example.or\u212a", false},
		{"fullwidth at sign", "alerts\uff20notify.example.org", false},
		{"zero-width space in the domain", "alerts@notify.example\u200b.org", false},
		{"domain literal", `alerts@[192.0.2.1]`, false},
		{"subdomain of approved domain", `a@x.mail.example.com`, false},
		{"address under a lookalike suffix", `a@mail.example.com.bad.example`, false},
		{"wildcard domain, quoted local part with angle", `"x<y@bad.example>"@mail.example.com`, true},
		{"NUL in the local part", "alerts\x00@notify.example.org", false},
		{"bare approved", `alerts@notify.example.org`, true},
		{"named approved", `Alerts Team <alerts@notify.example.org>`, true},
		{"angle-addr only", `<alerts@notify.example.org>`, true},
		{"surrounding space", `  alerts@notify.example.org  `, true},
		{"surrounding tab", "\talerts@notify.example.org\t", true},
		{"trailing vertical tab (net/mail refuses it)", "alerts@notify.example.org\v", false},
		{"trailing form feed", "alerts@notify.example.org\f", false},
		{"trailing no-break space", "alerts@notify.example.org\u00a0", false},
		{"trailing CRLF", "alerts@notify.example.org\r\n", false},
		{"empty", ``, false},
		{"angle brackets only", `<>`, false},
	}
	for _, tt := range tests {
		if got := p.FromApproved(tt.in); got != tt.want {
			t.Errorf("FromApproved %s: (%q) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
		if got := p.IdentityApproved(tt.in); got && !tt.want {
			t.Errorf("IdentityApproved %s: (%q) = true, want false", tt.name, tt.in)
		}
	}
}

func TestRecipientBypass(t *testing.T) {
	p := testPolicy(t, bypassPolicy)
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"address as display name (issue 23)", `victim@evil.example <y@partner.example>`, false},
		{"two angle-addrs", `<victim@evil.example> <y@partner.example>`, false},
		{"quoted local part holding an angle-addr", `"x<y@partner.example>"@evil.example`, false},
		{"unquoted form of it", `x<y@partner.example>@evil.example`, false},
		{"two mailboxes", `y@partner.example, victim@evil.example`, false},
		{"group", `g: y@partner.example;`, false},
		{"trailing dot", `y@partner.example.`, false},
		{"plain", `y@partner.example`, true},
		{"named", `Y <y@Partner.Example>`, true},
	}
	for _, tt := range tests {
		if got := p.RecipientApproved(tt.in); got != tt.want {
			t.Errorf("%s: RecipientApproved(%q) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
	if d := DomainOf(`victim@evil.example <y@partner.example>`); d != "" {
		t.Errorf("DomainOf of an unparseable value = %q, want empty", d)
	}
}

// FuzzMailboxApproval checks the approval rule against net/mail itself: whatever the input, an
// approved From or recipient parses as exactly one mailbox (no group, no list) whose address
// matches the policy by an independent comparison.
func FuzzMailboxApproval(f *testing.F) {
	for _, s := range []string{
		`"x<alerts@notify.example.org>"@bad.example`, `evil@bad.example <alerts@notify.example.org>`,
		`<evil@bad.example> <alerts@notify.example.org>`, `victim@evil.example <y@partner.example>`,
		`alerts@notify.example.org`, `Alerts <alerts@notify.example.org>`, `g: alerts@notify.example.org;`,
		`alerts@notify.example.org (c)`, `(alerts@notify.example.org) e@bad.example`, `"alerts"@notify.example.org`,
		`=?utf-8?q?a?= <alerts@notify.example.org>`, `alerts@notify.example.org.`, `y@partner.example, v@evil.example`,
		`a@mail.example.com`, `"a b"@mail.example.com`, `<y@partner.example>`, `y@PARTNER.example`,
	} {
		f.Add(s)
	}
	p, err := Load([]byte(bypassPolicy), "fuzz.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		from, rcpt, id := p.FromApproved(s), p.RecipientApproved(s), p.IdentityApproved(s)
		if !from && !rcpt && !id {
			return
		}
		a := oneMailbox(t, s)
		at := strings.LastIndexByte(a, '@')
		local, domain := a[:at], strings.ToLower(a[at+1:])
		if from && !(local == "alerts" && domain == "notify.example.org" || domain == "mail.example.com") {
			t.Fatalf("FromApproved(%q): mailbox %q is not in senders.from", s, a)
		}
		if id && !(local == "alerts" && domain == "notify.example.org") {
			t.Fatalf("IdentityApproved(%q): mailbox %q is not in senders.identities", s, a)
		}
		if rcpt && domain != "partner.example" {
			t.Fatalf("RecipientApproved(%q): mailbox %q is not in recipients.domains", s, a)
		}
	})
}

// oneMailbox fails t unless s parses as exactly one mailbox and is no group; it returns the address.
// Like the decoder (shared/decode/sesevent), it passes encoded words of unknown charsets through: a
// display name's charset never makes a mailbox more or less than one.
func oneMailbox(t *testing.T, s string) string {
	t.Helper()
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: func(_ string, in io.Reader) (io.Reader, error) { return in, nil }}}
	list, err := p.ParseList(s)
	if err != nil || len(list) != 1 {
		t.Fatalf("%q approved, but net/mail gives %d addresses (%v)", s, len(list), err)
	}
	single, err := p.Parse(s)
	if err != nil || single.Address != list[0].Address {
		t.Fatalf("%q approved, but net/mail.ParseAddress gives %v, %v", s, single, err)
	}
	if hasColon(s) {
		t.Fatalf("%q approved, but it is a group", s)
	}
	if strings.ContainsAny(single.Address, "\x00\r\n") || !strings.Contains(single.Address, "@") {
		t.Fatalf("%q approved with address %q", s, single.Address)
	}
	return single.Address
}

// TestHasColon pins the group detector the matcher and the fuzz oracle share: a ':' counts
// outside quoted strings and comments only.
func TestHasColon(t *testing.T) {
	for s, want := range map[string]bool{
		"friends: a@b.example;":          true,
		"@route.example:a@b.example":     true,
		`"a:b"@c.example`:                false,
		"a@b.example (note: x)":          false,
		`"x\":y"@c.example`:              false,
		"(unclosed: comment a@b.example": false,
		"a@b.example":                    false,
		`Name <a@b.example>`:             false,
	} {
		if got := hasColon(s); got != want {
			t.Errorf("hasColon(%q) = %v, want %v", s, got, want)
		}
	}
}
