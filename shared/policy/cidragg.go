package policy

import (
	"net/netip"
	"slices"
)

// AggregatePrefixes returns the smallest set of CIDR blocks that covers blocks without covering
// any address the input does not: blocks contained in another are dropped, and two sibling
// halves are merged into their parent while the parent is no wider than minBits4 (IPv4) or
// minBits6 (IPv6) bits. It never widens a block on its own, so an approved range is always
// exactly the union of what was given. Each output block maps to the input blocks it covers.
func AggregatePrefixes(blocks []netip.Prefix, minBits4, minBits6 int) map[netip.Prefix][]netip.Prefix {
	set := make(map[netip.Prefix][]netip.Prefix, len(blocks))
	for _, b := range blocks {
		b = b.Masked()
		set[b] = append(set[b], b)
	}
	// Drop blocks inside wider ones (a /24 inside an approved /16 adds nothing).
	for b := range set {
		for bits := b.Bits() - 1; bits >= 0; bits-- {
			parent, _ := b.Addr().Prefix(bits)
			if _, ok := set[parent]; ok {
				set[parent] = append(set[parent], set[b]...)
				delete(set, b)
				break
			}
		}
	}
	for merged := true; merged; {
		merged = false
		keys := make([]netip.Prefix, 0, len(set))
		for b := range set {
			keys = append(keys, b)
		}
		// Narrowest first, so /25 pairs become /24 before /24 pairs are considered.
		slices.SortFunc(keys, func(a, b netip.Prefix) int { return b.Bits() - a.Bits() })
		for _, b := range keys {
			if _, ok := set[b]; !ok || b.Bits() == 0 {
				continue
			}
			floor := minBits4
			if b.Addr().Is6() {
				floor = minBits6
			}
			if b.Bits()-1 < floor {
				continue
			}
			parent, _ := b.Addr().Prefix(b.Bits() - 1)
			sib := sibling(b, parent)
			if _, ok := set[sib]; !ok {
				continue
			}
			set[parent] = append(set[b], set[sib]...)
			delete(set, b)
			delete(set, sib)
			merged = true
		}
	}
	return set
}

// sibling is the other half of parent.
func sibling(b, parent netip.Prefix) netip.Prefix {
	lo := parent.Addr()
	if b.Addr() != lo {
		return netip.PrefixFrom(lo, b.Bits())
	}
	// The upper half starts at lo with bit number parent.Bits() set.
	s := lo.AsSlice()
	i := parent.Bits()
	s[i/8] |= 0x80 >> (i % 8)
	hi, _ := netip.AddrFromSlice(s)
	return netip.PrefixFrom(hi, b.Bits())
}
