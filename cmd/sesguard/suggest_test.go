package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// TestPolicySuggestHistory is the acceptance test: on a month of generated history, the
// suggested policy loads, replay of the legitimate traffic under it raises nothing, the
// compromised hour still raises findings, and the "not approved" section names its network.
func TestPolicySuggestHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a month of history")
	}
	tmp := t.TempDir()
	full, clean := filepath.Join(tmp, "full"), filepath.Join(tmp, "clean")
	stFull := writeHistory(t, full, true)
	stClean := writeHistory(t, clean, false)
	ctFull, ctClean := filepath.Join(tmp, "ct-full.ndjson"), filepath.Join(tmp, "ct-clean.ndjson")
	attackCalls := writeCloudTrail(t, ctFull, true)
	writeCloudTrail(t, ctClean, false)
	t.Logf("history: %d sends (%d from the attack) in %d files, %d bytes gzip", stFull.sends, stFull.attackSends, stFull.files, stFull.bytes)
	pol := filepath.Join(tmp, "sesguard.yaml")

	code, _, errOut := runCLI(t, "", nil, "policy", "suggest", "--quiet", "-o", pol, full, ctFull)
	if code != exitOK {
		t.Fatalf("suggest: exit %d\n%s", code, errOut)
	}
	data, err := os.ReadFile(pol)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	t.Logf("suggested policy: %d bytes, %d lines; %s", len(data), strings.Count(text, "\n"), strings.TrimSpace(errOut))
	if code, out, errOut := runCLI(t, "", nil, "policy", "validate", pol); code != exitOK {
		t.Fatalf("validate: exit %d\n%s%s", code, out, errOut)
	}
	notApproved := text[strings.Index(text, "# NOT approved"):]
	if !regexp.MustCompile(`network 45\.155\.205\.0/24: short-lived: .* by "backup-user", "orders-api"`).MatchString(notApproved) {
		t.Errorf("the NOT approved section does not name the attack network's callers (the leaked key and the probing backup-user):\n%s", notApproved)
	}
	if !strings.Contains(notApproved, "network "+histAttackNet) {
		t.Errorf("the NOT approved section does not name the attack network %s:\n%s", histAttackNet, notApproved)
	}
	approved := text[:strings.Index(text, "# NOT approved")]
	for _, want := range []string{"52.16.10.0/23", "34.240.77.0/24", "198.51.100.0/24", "10.40.1.0/24", `"orders-api"`, `"billing-worker"`,
		`"ses-smtp-user.20260101-newsletter"`, `"*@news.example.com"`, `"orders@shop.example.com"`, `domains: ["*"]`} {
		if !strings.Contains(approved, want) {
			t.Errorf("approved part lacks %s", want)
		}
	}
	if strings.Contains(approved, "45.155.205") {
		t.Errorf("the attack network was laundered into the allow-list:\n%s", approved)
	}

	replay := func(dir, ct string) []finding.Finding {
		code, out, errOut := runCLI(t, "", nil, "replay", "--policy", pol, "--format", "json", dir, ct)
		if code != exitOK {
			t.Fatalf("replay %s: exit %d\n%s", dir, code, errOut)
		}
		var fs []finding.Finding
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line == "" {
				continue
			}
			var f finding.Finding
			if err := json.Unmarshal([]byte(line), &f); err != nil {
				t.Fatal(err)
			}
			fs = append(fs, f)
		}
		return fs
	}
	if fs := replay(clean, ctClean); len(fs) != 0 {
		for _, f := range fs {
			t.Errorf("legitimate traffic raised %s: %s", f.Rule, f.Evidence.Detail)
		}
	}
	fs := replay(full, ctFull)
	if len(fs) == 0 {
		t.Fatal("the compromised hour raised no finding under the suggested policy")
	}
	var attackEvents int64
	for _, f := range fs {
		if !strings.HasPrefix(f.SourceIP, "45.155.205.") {
			t.Errorf("finding %s (%s) is not about the attack network, which alone is listed as not approved", f.Rule, f.Evidence.Detail)
		}
		attackEvents += f.Evidence.Count
	}
	t.Logf("findings under the suggested policy: legitimate-only 0, full history %d (%d sends/calls; the attack made %d sends and %d API calls)",
		len(fs), attackEvents, stFull.attackSends, attackCalls)
	for _, f := range fs {
		t.Logf("  %s %s %s: %d", f.Rule, f.Principal.Name, f.SourceIP, f.Evidence.Count)
	}

	// Preflight: the private block needs its VPC for the identity policy.
	const vpc = "vpc-0b111111111111111"
	withVPC := filepath.Join(tmp, "with-vpc.yaml")
	if err := os.WriteFile(withVPC, []byte(strings.Replace(text, "network:\n", "network:\n  vpcs: ["+vpc+"]\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	vpcFlag := "--vpc-cidrs=" + vpc + "=10.40.1.0/24"
	code, out, errOut := runCLI(t, "", nil, "policy", "preflight", "--quiet", "--policy", withVPC, vpcFlag, clean)
	if code != exitOK || !strings.Contains(out, fmt.Sprintf("%d send(s) judged against the rendered identity policy, 0 would have been DENIED", stClean.sends)) {
		t.Errorf("preflight of the legitimate month: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", nil, "policy", "preflight", "--quiet", "--policy", withVPC, vpcFlag, full)
	if code != exitInput || !strings.Contains(out, fmt.Sprintf("%d would have been DENIED", stFull.attackSends)) || !strings.Contains(out, "45.155.205.0/24") {
		t.Errorf("preflight of the full history: exit %d, want %d and the %d attack sends\n%s", code, exitInput, stFull.attackSends, out)
	}
	t.Logf("preflight, full history:\n%s", out)
	// A policy missing the newsletter's network denies exactly the newsletter's sends.
	var kept []string
	for _, l := range strings.Split(text, "\n") {
		if !strings.Contains(l, "- 198.51.100.0/24") {
			kept = append(kept, l)
		}
	}
	missing := filepath.Join(tmp, "missing.yaml")
	if err := os.WriteFile(missing, []byte(strings.Replace(strings.Join(kept, "\n"), "network:\n", "network:\n  vpcs: ["+vpc+"]\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, "", nil, "policy", "preflight", "--quiet", "--policy", missing, vpcFlag, clean)
	if code != exitInput || !strings.Contains(out, "6000 would have been DENIED") ||
		!regexp.MustCompile(`denied, by principal and network:\n  6000 +ses-smtp-user.20260101-newsletter +198.51.100.0/24\n\n`).MatchString(out) {
		t.Errorf("preflight without the newsletter's network: exit %d\n%s", code, out)
	}
	t.Logf("preflight, newsletter network missing:\n%s", out)
}

func TestPolicySuggestPrint(t *testing.T) {
	if os.Getenv("H25_PRINT") == "" {
		t.Skip()
	}
	dir := t.TempDir()
	writeHistory(t, dir, true)
	_, out, _ := runCLI(t, "", nil, "policy", "suggest", "--quiet", dir)
	t.Log(out)
}
