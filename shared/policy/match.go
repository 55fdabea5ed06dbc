package policy

import (
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
// name, or "root") matches senders.principals. Empty means unknown and is never approved.
func (p *Policy) PrincipalApproved(name string) bool {
	return name != "" && LikeAny(p.Senders.Principals, name)
}

// Protected reports whether principal matches response.protected_principals.
func (p *Policy) Protected(principal string) bool {
	return principal != "" && LikeAny(p.Response.ProtectedPrincipals, principal)
}

// FromApproved reports whether a From address matches senders.from. addr may be bare
// ("a@b.example") or a mailbox ("Name <a@b.example>"); the local part is matched case-sensitively
// and the domain case-insensitively. An empty or unparseable address is never approved.
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

// RecipientApproved reports whether a recipient address's domain matches recipients.domains.
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

// splitAddress extracts local part and domain from "a@b" or "Name <a@b>".
func splitAddress(addr string) (local, domain string, ok bool) {
	addr = strings.TrimSpace(addr)
	if i := strings.LastIndexByte(addr, '<'); i >= 0 {
		j := strings.IndexByte(addr[i:], '>')
		if j < 0 {
			return "", "", false
		}
		addr = addr[i+1 : i+j]
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", "", false
	}
	return addr[:at], addr[at+1:], true
}

// DomainOf returns the lower-cased domain of an address ("" when there is none).
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
