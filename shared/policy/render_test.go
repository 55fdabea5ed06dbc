package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testIdentityArn = "arn:aws:ses:eu-west-1:111122223333:identity/mail.example.com"

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden:\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

// renderPolicy has a VPC, a private and a public block, a From restriction and recipient domains.
const renderPolicy = `version: 1
network:
  vpcs: [vpc-0a1b2c3d4e5f60718]
  cidrs: [10.20.0.0/16, 203.0.113.10/32, "2001:db8:a::/48"]
senders:
  principals: [mailer-task-role]
  from: ["*@mail.example.com", "alerts@example.com"]
  identities: [mail.example.com]
  configuration_sets: [prod-outbound]
recipients: { domains: [example.com, "*.example.org"] }
`

func TestRenderIdentityPolicy(t *testing.T) {
	p := testPolicy(t, renderPolicy)
	got, err := RenderIdentityPolicy(p, testIdentityArn)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "identity-policy.json", got)

	// Semantics, independent of formatting.
	var doc Document
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Statement) != 3 {
		t.Fatalf("statements = %d, want 3 (network, from, recipients)", len(doc.Statement))
	}
	for _, s := range doc.Statement {
		if s.Effect != "Deny" || s.Principal != "*" || s.Resource != testIdentityArn ||
			strings.Join(s.Action, ",") != strings.Join(wantSendActions, ",") {
			t.Errorf("statement %s: %+v", s.Sid, s)
		}
	}
	net := doc.Statement[0].Condition
	if got := net["NotIpAddress"]["aws:SourceIp"]; len(got) != 2 || got[0] != "203.0.113.10/32" || got[1] != "2001:db8:a::/48" {
		t.Errorf("aws:SourceIp = %v: want only the public blocks", got)
	}
	if got := net["StringNotLike"]["aws:SourceVpc"]; len(got) != 1 {
		t.Errorf("aws:SourceVpc = %v", got)
	}
	if got := doc.Statement[2].Condition["ForAnyValue:StringNotLike"]["ses:Recipients"]; strings.Join(got, ",") != "*@example.com,*@*.example.org" {
		t.Errorf("ses:Recipients = %v", got)
	}
}

func TestRenderIdentityPolicyExample(t *testing.T) {
	p, err := LoadExample()
	if err != nil {
		t.Fatal(err)
	}
	got, err := RenderIdentityPolicy(p, testIdentityArn)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "identity-policy-example.json", got)
}

func TestRenderIdentityPolicyErrors(t *testing.T) {
	open := testPolicy(t, "version: 1\nnetwork: { cidrs: [10.0.0.0/8] }\nsenders: { from: [\"*\"] }\nrecipients: { domains: [\"*\"] }\n")
	if _, err := RenderIdentityPolicy(open, testIdentityArn); err == nil || !strings.Contains(err.Error(), "restricts nothing") {
		t.Errorf("err = %v", err)
	}
	p := testPolicy(t, renderPolicy)
	if _, err := RenderIdentityPolicy(p, "mail.example.com"); err == nil || !strings.Contains(err.Error(), "not an SES identity ARN") {
		t.Errorf("err = %v", err)
	}
	// Private and public blocks without a VPC: the private senders (VPC endpoint, no
	// aws:SourceIp) would all be denied.
	mixed := testPolicy(t, "version: 1\nnetwork: { cidrs: [10.20.0.0/16, 203.0.113.10/32] }\n")
	if _, err := RenderIdentityPolicy(mixed, testIdentityArn); err == nil || !strings.Contains(err.Error(), "list their VPCs in network.vpcs") {
		t.Errorf("mixed blocks without a VPC: err = %v", err)
	}
	// Too many From patterns exceed the 4 KB SES limit.
	var b strings.Builder
	b.WriteString("version: 1\nsenders:\n  from:\n")
	for i := 0; i < 200; i++ {
		b.WriteString("    - \"sender-" + strings.Repeat("x", 10) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@mail.example.com\"\n")
	}
	big := testPolicy(t, b.String())
	if _, err := RenderIdentityPolicy(big, testIdentityArn); err == nil || !strings.Contains(err.Error(), "exceeds the SES limit of 4096") {
		t.Errorf("err = %v", err)
	}
}

func TestRenderSMTPUserPolicy(t *testing.T) {
	got, err := RenderSMTPUserPolicy(testPolicy(t, renderPolicy))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "smtp-user-policy.json", got)

	p, _ := LoadExample()
	got, err = RenderSMTPUserPolicy(p)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "smtp-user-policy-example.json", got)

	private := testPolicy(t, "version: 1\nnetwork: { cidrs: [10.0.0.0/8] }\n")
	if _, err := RenderSMTPUserPolicy(private); err == nil || !strings.Contains(err.Error(), "no send could be allowed") {
		t.Errorf("err = %v", err)
	}
}

func TestRenderEndpointSGRules(t *testing.T) {
	p := testPolicy(t, renderPolicy)
	p.Resolve(map[string][]netip.Prefix{"vpc-0a1b2c3d4e5f60718": {
		netip.MustParsePrefix("10.20.0.0/16"), // duplicate of network.cidrs: one rule set only
		netip.MustParsePrefix("10.21.0.0/16"),
	}})
	rules, err := RenderEndpointSGRules(p)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(rules, "", "  ")
	golden(t, "endpoint-sg-rules.json", append(got, '\n'))
	if len(rules) != 4*5 {
		t.Errorf("rules = %d, want 20 (4 blocks x 5 ports)", len(rules))
	}
	empty := testPolicy(t, "version: 1\nnetwork: { vpcs: [vpc-01234567] }\n")
	if _, err := RenderEndpointSGRules(empty); err == nil {
		t.Error("no error for a policy without blocks")
	}
}

// evalIAM is a small model of IAM policy evaluation for the operators the renderers emit, with
// AWS's rules for absent keys: a negated operator on an absent key is true, a positive one (and
// ForAnyValue) false; operators and keys in one statement are ANDed, values within a key ORed.
// It returns "Deny" when a Deny statement applies, else "Allow" when an Allow does, else "".
func evalIAM(t *testing.T, raw []byte, req map[string][]string) string {
	t.Helper()
	var doc Document
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("rendered policy is not valid JSON: %v", err)
	}
	inAny := func(v string, cidrs []string) bool {
		a, err := netip.ParseAddr(v)
		if err != nil {
			t.Fatalf("bad request address %q", v)
		}
		for _, c := range cidrs {
			if netip.MustParsePrefix(c).Contains(a) {
				return true
			}
		}
		return false
	}
	applies := func(st Statement) bool {
		for op, keys := range st.Condition {
			for key, pats := range keys {
				vals, present := req[key]
				var ok bool
				switch op {
				case "StringLike":
					ok = present && LikeAny(pats, vals[0])
				case "StringNotLike":
					ok = !present || !LikeAny(pats, vals[0])
				case "IpAddress":
					ok = present && inAny(vals[0], pats)
				case "NotIpAddress":
					ok = !present || !inAny(vals[0], pats)
				case "ForAnyValue:StringNotLike":
					for _, v := range vals {
						ok = ok || !LikeAny(pats, v)
					}
				default:
					t.Fatalf("statement %s: operator %s not modelled", st.Sid, op)
				}
				if !ok {
					return false
				}
			}
		}
		return true
	}
	verdict := ""
	for _, st := range doc.Statement {
		if !applies(st) {
			continue
		}
		if st.Effect == "Deny" {
			return "Deny"
		}
		verdict = st.Effect
	}
	return verdict
}

// The rendered policies decide real request shapes as the policy file means them. In particular
// a send through the SMTP VPC endpoint carries aws:SourceVpc but no aws:SourceIp, and a send over
// the internet carries aws:SourceIp but no aws:SourceVpc: the network Deny must let either
// approved path through and stop everything else.
func TestRenderedPoliciesDecide(t *testing.T) {
	p := testPolicy(t, renderPolicy)
	ident, err := RenderIdentityPolicy(p, testIdentityArn)
	if err != nil {
		t.Fatal(err)
	}
	user, err := RenderSMTPUserPolicy(p)
	if err != nil {
		t.Fatal(err)
	}
	good := map[string][]string{"ses:FromAddress": {"app@mail.example.com"}, "ses:Recipients": {"a@example.com", "b@x.example.org"}}
	req := func(extra map[string][]string) map[string][]string {
		out := map[string][]string{}
		for k, v := range good {
			out[k] = v
		}
		for k, v := range extra {
			if v == nil {
				delete(out, k)
				continue
			}
			out[k] = v
		}
		return out
	}
	cases := []struct {
		name           string
		req            map[string][]string
		identity, smtp string
	}{
		{"approved VPC endpoint (no aws:SourceIp)", req(map[string][]string{"aws:SourceVpc": {"vpc-0a1b2c3d4e5f60718"}}), "", "Allow"},
		{"approved public address", req(map[string][]string{"aws:SourceIp": {"203.0.113.10"}}), "", "Allow"},
		{"approved IPv6 address", req(map[string][]string{"aws:SourceIp": {"2001:db8:a::25"}}), "", "Allow"},
		{"other public address", req(map[string][]string{"aws:SourceIp": {"198.51.100.7"}}), "Deny", ""},
		{"other VPC's endpoint", req(map[string][]string{"aws:SourceVpc": {"vpc-0ffffffffffffffff"}}), "Deny", ""},
		{"unapproved From", req(map[string][]string{"aws:SourceVpc": {"vpc-0a1b2c3d4e5f60718"}, "ses:FromAddress": {"ceo@evil.example"}}), "Deny", "Allow"},
		{"one Bcc outside", req(map[string][]string{"aws:SourceIp": {"203.0.113.10"}, "ses:Recipients": {"a@example.com", "x@gmail.com"}}), "Deny", "Allow"},
		{"subdomain of an exact domain", req(map[string][]string{"aws:SourceIp": {"203.0.113.10"}, "ses:Recipients": {"a@sub.example.com"}}), "Deny", "Allow"},
	}
	for _, tc := range cases {
		if got := evalIAM(t, ident, tc.req); got != tc.identity {
			t.Errorf("%s: identity policy says %q, want %q", tc.name, got, tc.identity)
		}
		if got := evalIAM(t, user, tc.req); got != tc.smtp {
			t.Errorf("%s: SMTP-user policy says %q, want %q", tc.name, got, tc.smtp)
		}
	}
}

// The SMTP-user policy is attached inline, where IAM allows 2,048 characters without white space.
func TestRenderSMTPUserPolicyTooLarge(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nnetwork:\n  cidrs:\n")
	for i := range 120 {
		fmt.Fprintf(&b, "    - 198.51.%d.0/24\n", i)
	}
	p := testPolicy(t, b.String())
	_, err := RenderSMTPUserPolicy(p)
	if err == nil || !strings.Contains(err.Error(), "exceeds the IAM limit of 2048") {
		t.Fatalf("err = %v, want a refusal naming the 2048-character limit", err)
	}
	if out, err := RenderSMTPUserPolicy(testPolicy(t, renderPolicy)); err != nil || nonSpace(out) > MaxUserInlinePolicyChars {
		t.Fatalf("small policy: %v", err)
	}
}
