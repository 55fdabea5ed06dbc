package fnenv

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/sesguard/sesguard/shared/policy"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

const enforcePolicy = `version: 1
network: { cidrs: [10.0.0.0/8] }
senders: { principals: ["app"], from: ["*@example.com"], identities: ["example.com"], configuration_sets: ["prod"] }
recipients: { domains: ["*"] }
response: { mode: enforce }
`

func TestLoad(t *testing.T) {
	bundled := t.TempDir()
	if err := os.WriteFile(filepath.Join(bundled, BundledPolicyName), []byte(enforcePolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	badDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(badDir, "bad.yaml"), []byte("version: 1\nnetwork: { cidrs: [10.0.0.0/33] }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	full := map[string]string{
		EnvTable:            "state",
		EnvFindingsTopicARN: "arn:aws:sns:us-east-1:123456789012:findings",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range full {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name       string
		env        map[string]string
		root       string
		wantErr    []string
		wantSource string
		wantMode   string
	}{
		{"embedded example", full, t.TempDir(), nil, policy.ExampleName, policy.ModeDryRun},
		{"bundled beside binary", full, bundled, nil, filepath.Join(bundled, BundledPolicyName), policy.ModeEnforce},
		{"explicit relative path", with(EnvPolicy, "bad.yaml"), badDir, []string{"policy " + filepath.Join(badDir, "bad.yaml"), "10.0.0.0/33"}, "", ""},
		{"missing policy file", with(EnvPolicy, "/nonexistent/p.yaml"), "", []string{"SESGUARD_POLICY: open /nonexistent/p.yaml"}, "", ""},
		{"mode override", with(EnvMode, "enforce"), "", nil, policy.ExampleName, policy.ModeEnforce},
		{"mode override down", with(EnvMode, "dry-run"), bundled, nil, filepath.Join(bundled, BundledPolicyName), policy.ModeDryRun},
		{"bad mode", with(EnvMode, "yolo"), "", []string{`SESGUARD_MODE="yolo": want dry-run or enforce`}, "", ""},
		{"all missing reported", map[string]string{}, "", []string{"SESGUARD_TABLE is not set (the DynamoDB state table name)", "SESGUARD_FINDINGS_TOPIC_ARN is not set"}, "", ""},
		{"not an arn", with(EnvFindingsTopicARN, "findings"), "", []string{`SESGUARD_FINDINGS_TOPIC_ARN="findings" is not an ARN`}, "", ""},
		{"bad vpc cidrs", with(policy.EnvVPCCIDRs, "vpc-1=nope"), "", []string{"SESGUARD_VPC_CIDRS"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(envOf(tt.env), tt.root, EnvTable, EnvFindingsTopicARN)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("want error containing %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.PolicySource != tt.wantSource || c.Mode != tt.wantMode || c.Policy.Response.Mode != tt.wantMode {
				t.Errorf("source %q mode %q (policy %q); want %q %q", c.PolicySource, c.Mode, c.Policy.Response.Mode, tt.wantSource, tt.wantMode)
			}
			if c.Table != "state" || c.FindingsTopicARN == "" {
				t.Errorf("config = %+v", c)
			}
		})
	}
}

func TestLoadResolvesVPCCIDRs(t *testing.T) {
	env := map[string]string{policy.EnvVPCCIDRs: "vpc-0a1b2c3d4e5f60718=10.99.0.0/16"}
	c, err := Load(envOf(env), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Policy.Unresolved()) != 0 {
		t.Errorf("unresolved VPCs: %v", c.Policy.Unresolved())
	}
	found := false
	for _, p := range c.Policy.ApprovedPrefixes() {
		found = found || p.String() == "10.99.0.0/16"
	}
	if !found {
		t.Errorf("approved prefixes %v lack the VPC block", c.Policy.ApprovedPrefixes())
	}
}

func TestLoggerCarriesRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, "ingest")
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	ForInvocation(ctx, log).Info("hello", LogMessageID, "m-1")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	if line[LogRequestID] != "req-1" || line[LogFunction] != "ingest" || line[LogMessageID] != "m-1" {
		t.Errorf("log line = %v", line)
	}
}

func TestTaskRoot(t *testing.T) {
	if got := TaskRoot(envOf(map[string]string{"LAMBDA_TASK_ROOT": "/var/task"})); got != "/var/task" {
		t.Errorf("TaskRoot = %q", got)
	}
	if got := TaskRoot(envOf(nil)); got == "" {
		t.Error("TaskRoot fallback is empty")
	}
}
