package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireTool finds a command, failing under CI=true (CI must run every check) and skipping
// loudly otherwise.
func requireTool(t *testing.T, name, why string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not on PATH but CI=true: %s", name, why)
	}
	t.Skipf("SKIPPED: %s is not on PATH (%s); CI=true makes this a failure", name, why)
	return ""
}

// TestNag: cdk-nag AwsSolutions over every configuration, zero unsuppressed errors.
func TestNag(t *testing.T) {
	for _, name := range sortedKeys(configurations) {
		s := get(t, name)
		if len(s.errors) > 0 {
			t.Errorf("%s: %d unsuppressed errors:\n%s", name, len(s.errors), strings.Join(s.errors, "\n"))
		}
		for _, w := range s.warnings {
			if strings.Contains(w, "AwsSolutions-") {
				t.Errorf("%s: unsuppressed cdk-nag warning: %s", name, w)
			}
		}
		// Suppressions are recorded in the template metadata; each must carry a reason.
		var suppressions int
		for id, r := range s.json["Resources"].(map[string]any) {
			md, _ := r.(map[string]any)["Metadata"].(map[string]any)
			nagMD, _ := md["cdk_nag"].(map[string]any)
			for _, sup := range asList(nagMD["rules_to_suppress"]) {
				m := sup.(map[string]any)
				suppressions++
				if reason, _ := m["reason"].(string); len(reason) < 40 {
					t.Errorf("%s/%s: suppression %v without a real reason: %q", name, id, m["id"], reason)
				}
			}
		}
		if suppressions < 6 {
			t.Errorf("%s: only %d suppressions in the template metadata; is cdk-nag applied?", name, suppressions)
		}
		for region, sn := range s.sentinels {
			if len(sn.errors) > 0 {
				t.Errorf("%s sentinel %s: %d unsuppressed errors:\n%s", name, region, len(sn.errors), strings.Join(sn.errors, "\n"))
			}
			for _, w := range sn.warnings {
				if strings.Contains(w, "AwsSolutions-") {
					t.Errorf("%s sentinel %s: unsuppressed cdk-nag warning: %s", name, region, w)
				}
			}
		}
	}
	if n := len(get(t, "regions").sentinels); n != 2 {
		t.Errorf("regions: %d sentinel stacks, want 2 (cdk-nag must have seen them)", n)
	}
}

// TestCfnLint runs cfn-lint once over the three synthesized templates. W3005 (DependsOn already
// implied by a Ref/GetAtt) is ignored: CDK itself emits those DependsOn on Lambda functions and
// the custom-resource provider.
func TestCfnLint(t *testing.T) {
	lint := requireTool(t, "cfn-lint", "the CDK templates are linted with cfn-lint")
	dir := t.TempDir()
	var files []string
	for _, name := range sortedKeys(configurations) {
		b, err := json.MarshalIndent(get(t, name).json, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, name+".template.json")
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		for _, region := range sortedKeys(get(t, name).sentinels) {
			b, err := json.MarshalIndent(get(t, name).sentinels[region].json, "", " ")
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(dir, name+"-sentinel-"+region+".template.json")
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"--regions", "us-east-1", "eu-west-1", "--ignore-checks", "W3005", "--"}, files...)
	out, err := exec.CommandContext(ctx, lint, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("cfn-lint %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("cfn-lint clean on %d templates", len(files))
}

// TestCDKSynthCLI runs the real entry point the way users do: the pinned CLI from package.json,
// offline, no lookups. It proves cdk.json, `go run ./infra` and cdk-nag work end to end.
func TestCDKSynthCLI(t *testing.T) {
	requireTool(t, "node", "the pinned aws-cdk CLI runs on Node.js")
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cdk := filepath.Join(root, "node_modules", ".bin", "cdk")
	if _, err := os.Stat(cdk); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node_modules/.bin/cdk missing under CI=true: run npm ci first (README test command): %v", err)
		}
		t.Skipf("SKIPPED: node_modules/.bin/cdk missing (run npm ci --no-audit --no-fund): %v", err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npx", "--no-install", "cdk", "synth", "--quiet", "--no-lookups", "-o", out)
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"CDK_DISABLE_VERSION_CHECK=true", "CDK_DISABLE_CLI_TELEMETRY=true",
		"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20",
	)
	start := time.Now()
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cdk synth: %v\n%s", err, b)
	}
	t.Logf("cdk synth took %s", time.Since(start).Round(time.Second))
	tmpl, err := os.ReadFile(filepath.Join(out, "Sesguard.template.json"))
	if err != nil {
		t.Fatalf("no template in the cloud assembly: %v\n%s", err, b)
	}
	var doc struct {
		Resources map[string]struct{ Type string }
	}
	if err := json.Unmarshal(tmpl, &doc); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, r := range doc.Resources {
		counts[r.Type]++
	}
	if counts["AWS::SES::ConfigurationSetEventDestination"] == 0 || counts["AWS::SQS::Queue"] == 0 || counts["AWS::DynamoDB::Table"] != 1 {
		t.Errorf("CLI template looks incomplete: %v", counts)
	}
}
