package main

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/policy"
)

func TestPreflightRequest(t *testing.T) {
	p := &policy.Policy{Network: policy.Network{VPCs: []string{"vpc-1"}}}
	p.Resolve(map[string][]netip.Prefix{"vpc-1": {netip.MustParsePrefix("10.40.0.0/16")}})
	tests := []struct {
		ip      string
		vpc     string
		public  bool
		network string
	}{
		{"10.40.1.5", "vpc-1", false, "vpc-1"},
		{"10.99.1.5", "", false, "10.99.1.0/24 (private, in no known VPC block)"},
		{"198.51.100.7", "", true, "198.51.100.0/24"},
		{"", "", false, "(no source IP)"},
	}
	for _, tt := range tests {
		ip, _ := netip.ParseAddr(tt.ip)
		r, network := preflightRequest(p, slices.Sorted(maps.Keys(p.Network.Resolved)), ip)
		if r.SourceVpc != tt.vpc || r.SourceIP.IsValid() != tt.public || network != tt.network {
			t.Errorf("%s: got vpc %q ip %v network %q", tt.ip, r.SourceVpc, r.SourceIP, network)
		}
	}
}

func TestRelabel(t *testing.T) {
	var b strings.Builder
	w := relabel{&b, "policy suggest"}
	fmt.Fprintln(w, "investigate: reading 1.0 MiB")
	fmt.Fprintln(w, "other line")
	if got := b.String(); got != "policy suggest: reading 1.0 MiB\nother line\n" {
		t.Fatalf("got %q", got)
	}
}
