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
	ReachLocal   Reach = "local"   // loopback or link-local: a tunnel, a test server
)

// cgnat is 100.64.0.0/10 (RFC 6598), used by some VPC setups and not covered by IsPrivate.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Classify reports whether the answer is private, public, mixed or local. An empty answer is
// public by convention (nothing private about it); callers treat an empty answer as a failure.
func Classify(addrs []netip.Addr) Reach {
	var priv, pub, local int
	for _, a := range addrs {
		a = a.Unmap()
		switch {
		case a.IsLoopback() || a.IsLinkLocalUnicast():
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
