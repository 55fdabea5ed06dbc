package smtpcheck

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
)

// Resolver looks host names up; *net.Resolver satisfies it. Injected so tests can answer with
// private or public addresses.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Reach classifies a DNS answer: did the name resolve to private addresses (a VPC interface
// endpoint with private DNS, or a private hosted zone) or to the public SES endpoint?
type Reach string

// DNS answer kinds.
const (
	ReachPrivate Reach = "private" // every address is private (RFC 1918, RFC 4193, or CGNAT 100.64/10)
	ReachPublic  Reach = "public"  // every address is public
	ReachMixed   Reach = "mixed"   // some of each: split-horizon leak or a half-configured zone
	ReachLocal   Reach = "local"   // loopback, link-local or unspecified (0.0.0.0, :: from a DNS sinkhole)
)

// cgnat is 100.64.0.0/10 (RFC 6598), used by some VPC setups and not covered by IsPrivate.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// nat64 is the well-known NAT64 prefix 64:ff9b::/96 (RFC 6052) that Route 53 Resolver's DNS64
// uses in IPv6-only subnets; the last 32 bits are the IPv4 address it stands for.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// unNAT64 returns the IPv4 address a DNS64-synthesised address stands for, else a itself.
func unNAT64(a netip.Addr) netip.Addr {
	if !nat64.Contains(a) {
		return a
	}
	b := a.As16()
	return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
}

// Classify reports whether the answer is private, public, mixed or local; a DNS64 address
// (64:ff9b::/96) counts as the IPv4 address it embeds. An empty answer is
// public by convention (nothing private about it); callers treat an empty answer as a failure.
func Classify(addrs []netip.Addr) Reach {
	var priv, pub, local int
	for _, a := range addrs {
		a = unNAT64(a.Unmap())
		switch {
		case a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified():
			local++
		case a.IsPrivate() || cgnat.Contains(a):
			priv++
		default:
			pub++
		}
	}
	switch {
	case priv > 0 && pub > 0:
		return ReachMixed
	case priv > 0:
		return ReachPrivate
	case pub == 0 && local > 0:
		return ReachLocal
	default:
		return ReachPublic
	}
}

// IsSESSMTPHost reports whether host is an SES SMTP endpoint name (email-smtp.<region>.amazonaws.com,
// its FIPS variant, or a VPC endpoint's own DNS name for the email-smtp service).
func IsSESSMTPHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return (strings.HasPrefix(h, "email-smtp.") || strings.HasPrefix(h, "email-smtp-fips.") ||
		strings.Contains(h, ".email-smtp.")) &&
		(strings.HasSuffix(h, ".amazonaws.com") || strings.HasSuffix(h, ".amazonaws.com.cn"))
}

func joinAddrs(addrs []netip.Addr) string {
	const max = 6
	s := make([]string, 0, min(len(addrs), max))
	for i, a := range addrs {
		if i == max {
			return strings.Join(s, ", ") + fmt.Sprintf(" (+%d more)", len(addrs)-max)
		}
		s = append(s, a.String())
	}
	return strings.Join(s, ", ")
}
