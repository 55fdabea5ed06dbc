package policy

import (
	"net/netip"
	"testing"
)

func TestDocumentDenies(t *testing.T) {
	p, err := Load([]byte(`version: 1
network:
  vpcs: [vpc-0a1b2c3d4e5f60718]
  cidrs: [198.51.100.0/24, 10.40.0.0/16]
senders:
  principals: [app]
  from: ["*@mail.example.com"]
  identities: [mail.example.com]
  configuration_sets: [cs]
recipients:
  domains: ["example.net"]
`), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := IdentityPolicy(p, "arn:aws:ses:eu-west-1:111122223333:identity/mail.example.com")
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr
	ok := Request{FromAddress: "a@mail.example.com", Recipients: []string{"x@example.net"}}
	with := func(f func(*Request)) Request { r := ok; f(&r); return r }
	tests := []struct {
		name string
		r    Request
		sid  string // "" allowed
	}{
		{"approved public address", with(func(r *Request) { r.SourceIP = ip("198.51.100.7") }), ""},
		{"approved vpc", with(func(r *Request) { r.SourceVpc = "vpc-0a1b2c3d4e5f60718" }), ""},
		{"public outside", with(func(r *Request) { r.SourceIP = ip("45.155.205.21") }), "DenyOutsideApprovedNetwork"},
		{"other vpc", with(func(r *Request) { r.SourceVpc = "vpc-0ffffffffffffffff" }), "DenyOutsideApprovedNetwork"},
		{"no network key at all", ok, "DenyOutsideApprovedNetwork"},
		{"from outside", with(func(r *Request) { r.SourceIP = ip("198.51.100.7"); r.FromAddress = "ceo@evil.example" }), "DenyUnapprovedFromAddress"},
		{"from absent", with(func(r *Request) { r.SourceIP = ip("198.51.100.7"); r.FromAddress = "" }), "DenyUnapprovedFromAddress"},
		{"one recipient outside", with(func(r *Request) {
			r.SourceIP = ip("198.51.100.7")
			r.Recipients = []string{"x@example.net", "y@other.example"}
		}), "DenyUnapprovedRecipients"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := doc.Denies(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if d != nil {
				got = d.Sid
			}
			if got != tt.sid {
				t.Fatalf("denied by %q, want %q (%+v)", got, tt.sid, d)
			}
		})
	}
	bad := &Document{Statement: []Statement{{Sid: "X", Effect: "Deny", Condition: map[string]map[string][]string{"DateGreaterThan": {"aws:CurrentTime": {"2020"}}}}}}
	if _, err := bad.Denies(ok); err == nil {
		t.Fatal("an unknown operator evaluated without error")
	}
}
