package policy

import (
	"io"
	"mime"
	"net/mail"
	"net/netip"
	"strings"
)

// NetworkApproved reports whether ip lies in network.cidrs or a resolved VPC block. An invalid
// (missing) address is never approved. IPv4-mapped IPv6 addresses are compared as IPv4.
func (p *Policy) NetworkApproved(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, c := range p.Network.CIDRs {
		if c.Contains(ip) {
			return true
		}
	}
	for _, blocks := range p.Network.Resolved {
		for _, c := range blocks {
			if c.Contains(ip) {
				return true
			}
		}
	}
	return false
}

// PrincipalApproved reports whether the caller name (ses:caller-identity: an IAM user or role
// name, or "root") matches a name pattern of senders.principals. Empty means unknown and is never
// approved. A bare name says nothing about its account: use CallerApproved when the account is
// known (CloudTrail records).
func (p *Policy) PrincipalApproved(name string) bool {
	if name == "" {
		return false
	}
	for _, pat := range p.Senders.Principals {
		if !IsARNPattern(pat) && Like(pat, name) {
			return true
		}
	}
	return false
}

// Caller is a principal as a CloudTrail record names it.
type Caller struct {
	Name    string // IAM user or role name, or "root"
	ARN     string // the user's or role's IAM ARN ("" when not recorded)
	Account string // the account the principal belongs to ("" when not recorded)
}

// Foreign reports whether a principal of account belongs to another account than home. Either
// unknown is not foreign: there is nothing to compare.
func Foreign(account, home string) bool {
	return account != "" && home != "" && account != home
}

// CallerApproved reports whether c matches senders.principals, judged from account home (the
// account whose resources the call used, where sesguard runs). Principals are identities of an
// account: a name pattern ("deploy") approves only home's principal of that name, so another
// account's "deploy" calling through sending authorization is not approved by it; an ARN pattern
// ("arn:aws:iam::999988887777:user/deploy") names the account and matches the ARN or, when only
// the name and account are known (an SES event of a delegate sender), that account's name.
func (p *Policy) CallerApproved(c Caller, home string) bool {
	if c.Name == "" && c.ARN == "" {
		return false
	}
	foreign := Foreign(c.Account, home)
	for _, pat := range p.Senders.Principals {
		switch {
		case !IsARNPattern(pat):
			if !foreign && c.Name != "" && Like(pat, c.Name) {
				return true
			}
		case c.ARN != "":
			if Like(pat, c.ARN) {
				return true
			}
		case c.Name != "" && c.Account != "" && ARNAccount(pat) == c.Account:
			// The pattern's last path segment against the bare name (user and role alike: SES
			// records only the name).
			if Like(pat[strings.LastIndexByte(pat, '/')+1:], c.Name) {
				return true
			}
		}
	}
	return false
}

// IsARNPattern reports whether a principal pattern names an ARN (and so its account).
func IsARNPattern(pat string) bool { return strings.HasPrefix(pat, "arn:") }

// ARNAccount returns the account field of an ARN ("" when s is not an ARN or names none).
func ARNAccount(s string) string {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

// Protected reports whether principal matches response.protected_principals.
func (p *Policy) Protected(principal string) bool {
	return principal != "" && LikeAny(p.Response.ProtectedPrincipals, principal)
}

// FromApproved reports whether a From address matches senders.from. addr must be exactly one
// mailbox, bare ("a@b.example") or named ("Name <a@b.example>"); the local part is matched
// case-sensitively and the domain case-insensitively (ASCII only). An empty or unparseable
// address, a list or a group is never approved (see splitAddress).
func (p *Policy) FromApproved(addr string) bool {
	local, domain, ok := splitAddress(addr)
	if !ok {
		return false
	}
	for _, pat := range p.Senders.From {
		if matchAddress(pat, local, domain) {
			return true
		}
	}
	return false
}

// IdentityApproved reports whether an SES identity name matches senders.identities. Domain
// identities compare case-insensitively (DNS names); address identities like From addresses.
func (p *Policy) IdentityApproved(identity string) bool {
	if identity == "" {
		return false
	}
	if strings.Contains(identity, "@") {
		local, domain, ok := splitAddress(identity)
		if !ok {
			return false
		}
		for _, pat := range p.Senders.Identities {
			if matchAddress(pat, local, domain) {
				return true
			}
		}
		return false
	}
	id := lowerASCII(identity)
	for _, pat := range p.Senders.Identities {
		if !strings.Contains(pat, "@") && Like(lowerASCII(pat), id) {
			return true
		}
	}
	return false
}

// ConfigurationSetApproved reports whether a configuration set name matches
// senders.configuration_sets (case-sensitive). Empty (none recorded) is never approved.
func (p *Policy) ConfigurationSetApproved(name string) bool {
	return name != "" && LikeAny(p.Senders.ConfigurationSets, name)
}

// RecipientApproved reports whether a recipient, exactly one mailbox like a From address, has a
// domain that matches recipients.domains.
func (p *Policy) RecipientApproved(addr string) bool {
	_, domain, ok := splitAddress(addr)
	return ok && p.RecipientDomainApproved(domain)
}

// RecipientDomainApproved reports whether domain matches recipients.domains (case-insensitive).
func (p *Policy) RecipientDomainApproved(domain string) bool {
	if domain == "" {
		return false
	}
	d := lowerASCII(domain)
	for _, pat := range p.Recipients.Domains {
		if Like(lowerASCII(pat), d) {
			return true
		}
	}
	return false
}

// matchAddress matches an address pattern against a split address. A pattern without "@"
// (typically "*") is matched against the whole address with its domain lower-cased.
func matchAddress(pat, local, domain string) bool {
	at := strings.LastIndexByte(pat, '@')
	if at < 0 {
		return Like(pat, local+"@"+lowerASCII(domain))
	}
	return Like(pat[:at], local) && Like(lowerASCII(pat[at+1:]), lowerASCII(domain))
}

// splitAddress parses addr as exactly one RFC 5322 mailbox — "local@domain", "<local@domain>" or
// "Name <local@domain>", comments allowed — and returns its local part and domain. Anything else
// (net/mail rejects it, it is a list or a group, the address has no domain) is not ok: an
// address is approved only when it is one mailbox whose address matches, never because some
// part of a malformed value (the last <…>, a quoted local part, a comment) looks like one.
// Callers holding a net/mail Address pass its Address field: a quoted local part comes back
// unquoted there and, if it needed the quotes, no longer parses — unapproved, as it should be.
func splitAddress(addr string) (local, domain string, ok bool) {
	// No strings.TrimSpace: it also trims \v, \f and Unicode spaces, which net/mail refuses
	// (FuzzMailboxApproval found "a@b\v" approved); net/mail skips the white space RFC 5322 allows.
	if !simpleAddrSpec(addr) {
		if hasColon(addr) {
			return "", "", false // a group ("team: a@b;"); a From or recipient is a mailbox
		}
		// Encoded words in charsets Go does not know are passed through undecoded: the display
		// name never decides approval, so it must not make an approved mailbox unparseable.
		p := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: func(_ string, in io.Reader) (io.Reader, error) { return in, nil }}}
		a, err := p.Parse(addr)
		if err != nil {
			return "", "", false
		}
		addr = a.Address
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", "", false
	}
	return addr[:at], addr[at+1:], true
}

// simpleAddrSpec reports whether s is local@domain of dot-atoms of [A-Za-z0-9+_-] (local) and
// [A-Za-z0-9-] (domain) with no leading, trailing or doubled dots: the shape nearly every address
// has, which net/mail parses to itself, so it needs no parser (and no allocation).
func simpleAddrSpec(s string) bool {
	at := strings.IndexByte(s, '@')
	return at >= 0 && simpleDotAtom(s[:at], true) && simpleDotAtom(s[at+1:], false)
}

func simpleDotAtom(s string, local bool) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-':
		case c == '.' && s[i-1] != '.':
		case local && (c == '+' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// hasColon reports whether s has a ':' outside quoted strings and comments: group syntax (or an
// obsolete route), which net/mail.ParseAddress accepts when the group has one member.
func hasColon(s string) bool {
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && (quoted || depth > 0):
			i++
		case quoted:
			quoted = c != '"'
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '"':
			quoted = true
		case c == ':':
			return true
		}
	}
	return false
}

// MailboxAddress returns the address ("local@domain", as written) of a value that is exactly one
// mailbox, by the rule the matchers use (see splitAddress); ok is false otherwise.
func MailboxAddress(addr string) (string, bool) {
	local, domain, ok := splitAddress(addr)
	if !ok {
		return "", false
	}
	return local + "@" + domain, true
}

// DomainOf returns the lower-cased domain of an address ("" when it is not exactly one mailbox).
func DomainOf(addr string) string {
	_, d, ok := splitAddress(addr)
	if !ok {
		return ""
	}
	return lowerASCII(d)
}

// lowerASCII lower-cases ASCII letters, allocating only when s has an upper-case letter.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
