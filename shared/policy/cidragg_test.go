package policy

import (
	"net/netip"
	"slices"
	"testing"
)

func TestAggregatePrefixes(t *testing.T) {
	mp := netip.MustParsePrefix
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"siblings merge", []string{"52.1.0.0/24", "52.1.1.0/24"}, []string{"52.1.0.0/23"}},
		{"non-siblings stay", []string{"52.1.1.0/24", "52.1.2.0/24"}, []string{"52.1.1.0/24", "52.1.2.0/24"}},
		{"contained dropped", []string{"10.0.0.0/16", "10.0.5.0/24"}, []string{"10.0.0.0/16"}},
		{"cascade", []string{"52.1.0.0/24", "52.1.1.0/24", "52.1.2.0/24", "52.1.3.0/24"}, []string{"52.1.0.0/22"}},
		{"floor holds", []string{"52.0.0.0/17", "52.0.128.0/17"}, []string{"52.0.0.0/17", "52.0.128.0/17"}},
		{"ipv6", []string{"2001:db8::/48", "2001:db8:1::/48"}, []string{"2001:db8::/47"}},
		{"one", []string{"198.51.100.7/32"}, []string{"198.51.100.7/32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in []netip.Prefix
			for _, s := range tt.in {
				in = append(in, mp(s))
			}
			got := AggregatePrefixes(in, 17, 32)
			var keys []string
			n := 0
			for k, v := range got {
				keys = append(keys, k.String())
				n += len(v)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, tt.want) {
				t.Fatalf("got %v, want %v", keys, tt.want)
			}
			if n != len(in) {
				t.Fatalf("covered %d input blocks, want %d", n, len(in))
			}
		})
	}
}
