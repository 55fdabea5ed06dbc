package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/policy"
)

const identityArn = "arn:aws:ses:eu-west-1:111122223333:identity/mail.example.com"

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPolicyCommand(t *testing.T) {
	good := writeFile(t, "sesguard.yaml", string(policy.Example()))
	bad := writeFile(t, "bad.yaml", "version: 2\nnetwork:\n  cidrs: [10.0.0.0/33]\nsenders:\n  principalz: [x]\n")
	null := writeFile(t, "null.yaml", "~\n")
	p, err := policy.LoadExample()
	if err != nil {
		t.Fatal(err)
	}
	// "exactly what the CDK app deploys": the CLI must print the bytes of the shared renderers.
	wantIdentity, err := policy.RenderIdentityPolicy(p, identityArn)
	if err != nil {
		t.Fatal(err)
	}
	wantSMTP, err := policy.RenderSMTPUserPolicy(p)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		stdin    string
		getenv   func(string) string
		wantCode int
		wantOut  string // exact stdout when set
		outHas   []string
		errHas   []string
	}{
		{name: "validate ok", args: []string{"validate", good}, wantCode: exitOK,
			outHas: []string{"sesguard.yaml: valid (version 1, mode dry-run)", "2 principal, 1 from", "vpc-0a1b2c3d4e5f60718"}},
		{name: "validate stdin", args: []string{"validate", "-"}, stdin: string(policy.Example()), wantCode: exitOK, outHas: []string{"<stdin>: valid"}},
		{name: "validate reports every error with positions", args: []string{"validate", bad}, wantCode: exitUsage,
			errHas: []string{"error(s):", "bad.yaml:1:", "unsupported version 2", "bad.yaml:3:", "bad.yaml:5:"}},
		// "~" once validated as "valid (version 0)" (issue 23, part 6).
		{name: "validate null document", args: []string{"validate", null}, wantCode: exitUsage, errHas: []string{"null.yaml: empty policy"}},
		{name: "validate marker-only stdin", args: []string{"validate", "-"}, stdin: "---\n", wantCode: exitUsage, errHas: []string{"<stdin>: empty policy"}},
		{name: "validate missing file", args: []string{"validate", "/nonexistent/x.yaml"}, wantCode: exitUsage, errHas: []string{"read policy", "no such file"}},
		{name: "validate no file", args: []string{"validate"}, wantCode: exitUsage, errHas: []string{"exactly one FILE"}},
		{name: "render identity", args: []string{"render", good, "--kind", "identity", "--identity-arn", identityArn}, wantCode: exitOK, wantOut: string(wantIdentity)},
		{name: "render smtp-user (flags first)", args: []string{"render", "--kind=smtp-user", good}, wantCode: exitOK, wantOut: string(wantSMTP)},
		{name: "render endpoint-sg with VPC blocks", args: []string{"render", good, "--kind", "endpoint-sg", "--vpc-cidrs", "vpc-0a1b2c3d4e5f60718=10.30.0.0/16"},
			wantCode: exitOK, outHas: []string{`"cidr": "10.30.0.0/16"`, `"cidr": "10.20.0.0/16"`, `"port": 2587`}},
		{name: "render endpoint-sg from env, unresolved warns", args: []string{"render", good, "--kind", "endpoint-sg"},
			getenv: func(string) string { return "" }, wantCode: exitOK,
			outHas: []string{`"cidr": "10.20.0.0/16"`}, errHas: []string{"warning: VPC vpc-0a1b2c3d4e5f60718 has no known CIDR blocks"}},
		{name: "render identity without arn", args: []string{"render", good, "--kind", "identity"}, wantCode: exitUsage, errHas: []string{"needs --identity-arn"}},
		{name: "render identity bad arn", args: []string{"render", good, "--kind", "identity", "--identity-arn", "mail.example.com"}, wantCode: exitUsage, errHas: []string{"not an SES identity ARN"}},
		{name: "render unknown kind", args: []string{"render", good, "--kind", "scp"}, wantCode: exitUsage, errHas: []string{"want identity, smtp-user or endpoint-sg"}},
		{name: "render invalid policy", args: []string{"render", bad, "--kind", "smtp-user"}, wantCode: exitUsage, errHas: []string{"unsupported version 2"}},
		{name: "unknown subcommand", args: []string{"lint", good}, wantCode: exitUsage, errHas: []string{`unknown subcommand "lint"`}},
		{name: "help", args: []string{"--help"}, wantCode: exitOK, errHas: []string{"byte for byte"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.stdin, tt.getenv, append([]string{"policy"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			if tt.wantOut != "" && out != tt.wantOut {
				t.Errorf("stdout differs from the shared renderer:\n got: %s\nwant: %s", out, tt.wantOut)
			}
			for _, w := range tt.outHas {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.errHas {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if strings.HasPrefix(out, "[") || strings.HasPrefix(out, "{") {
				var v any
				if err := json.Unmarshal([]byte(out), &v); err != nil {
					t.Errorf("output is not JSON: %v", err)
				}
			}
		})
	}
}
