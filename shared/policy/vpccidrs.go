package policy

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// EnvVPCCIDRs is the environment variable through which deploy-time resolved VPC blocks reach the
// Lambdas (so they need no EC2 client): see FormatVPCCIDRs.
const EnvVPCCIDRs = "SESGUARD_VPC_CIDRS"

// FormatVPCCIDRs encodes VPC blocks as "vpc-a=10.0.0.0/16,2001:db8::/56;vpc-b=10.1.0.0/16",
// sorted by VPC id, for EnvVPCCIDRs.
func FormatVPCCIDRs(m map[string][]netip.Prefix) string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		blocks := make([]string, len(m[id]))
		for i, b := range m[id] {
			blocks[i] = b.String()
		}
		parts = append(parts, id+"="+strings.Join(blocks, ","))
	}
	return strings.Join(parts, ";")
}

// ParseVPCCIDRs decodes FormatVPCCIDRs output. The empty string is an empty map.
func ParseVPCCIDRs(s string) (map[string][]netip.Prefix, error) {
	out := make(map[string][]netip.Prefix)
	s = strings.TrimSpace(s)
	if s == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ";") {
		id, blocks, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("vpc cidrs %q: want vpc-id=cidr[,cidr...]", part)
		}
		if err := checkVPCID(id); err != nil {
			return nil, fmt.Errorf("vpc cidrs %q: %w", part, err)
		}
		var list []netip.Prefix
		for _, b := range strings.Split(blocks, ",") {
			if b = strings.TrimSpace(b); b == "" {
				continue
			}
			pf, err := netip.ParsePrefix(b)
			if err != nil {
				return nil, fmt.Errorf("vpc cidrs %s: %w", id, err)
			}
			list = append(list, pf.Masked())
		}
		out[id] = append(out[id], list...)
	}
	return out, nil
}
