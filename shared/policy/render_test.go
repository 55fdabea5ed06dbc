package policy

import (
	"bytes"
	"encoding/json"
	"flag"
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
			strings.Join(s.Action, ",") != "ses:SendEmail,ses:SendRawEmail" {
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
