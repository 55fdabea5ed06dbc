package main

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func testRoot(t *testing.T) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func getter(m map[string]any) func(string) any {
	return func(k string) any { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	root := testRoot(t)
	if _, err := os.Stat(filepath.Join(root, defaultPolicyFile)); err == nil {
		t.Skip("a sesguard.yaml exists in the repository root; the embedded-example default cannot be observed")
	}
	c, err := loadConfig(root, getter(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.PolicyPath != "" || c.Policy == nil || len(c.PolicyYAML) == 0 {
		t.Errorf("want the embedded example policy, got path %q", c.PolicyPath)
	}
	if c.EndpointMode != endpointNone || c.EventTransport != transportEventBridge || c.ConfigSetName != "sesguard-monitored" ||
		c.ResponseMode != "dry-run" || c.RespondConcurrency != 2 || c.ArchiveDays != 400 || c.StackName != "Sesguard" ||
		!c.IdentityPolicies || !c.DefaultConfigSet || c.SenderUser {
		t.Errorf("defaults: %+v", c)
	}
	if got := c.PausableConfigSets(); !slices.Equal(got, []string{"prod-outbound", "sesguard-monitored"}) {
		t.Errorf("pausable sets %v", got)
	}
	if c.BuildDir != filepath.Join(root, "build") {
		t.Errorf("build dir %s", c.BuildDir)
	}
}

func TestLoadConfig(t *testing.T) {
	root := testRoot(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\nnetwork:\n  cidrs: [10.0.0.0/33]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vpc := "vpc-0a1b2c3d4e5f60718"
	tests := []struct {
		name    string
		ctx     map[string]any
		wantErr string // substring; "" = success
		check   func(t *testing.T, c *Config)
	}{
		{name: "vpc implies local mode", ctx: map[string]any{ctxVpcID: vpc, ctxSubnetIDs: "subnet-0123456789abcdef0"},
			check: func(t *testing.T, c *Config) {
				if c.EndpointMode != endpointLocal || !slices.Equal(c.SubnetIDs, []string{"subnet-0123456789abcdef0"}) {
					t.Errorf("mode %s subnets %v", c.EndpointMode, c.SubnetIDs)
				}
			}},
		{name: "local needs subnets", ctx: map[string]any{ctxVpcID: vpc}, wantErr: ctxSubnetIDs},
		{name: "local needs a vpc", ctx: map[string]any{ctxEndpointMode: "local", ctxSubnetIDs: "subnet-0123456789abcdef0"}, wantErr: ctxVpcID},
		{name: "bad subnet id", ctx: map[string]any{ctxVpcID: vpc, ctxSubnetIDs: "sub-1"}, wantErr: `"sub-1" is not a subnet id`},
		{name: "bad mode", ctx: map[string]any{ctxEndpointMode: "shared"}, wantErr: "want none, local or central"},
		{name: "members need central", ctx: map[string]any{ctxMemberVpcs: "vpc-0aaaaaaaaaaaaaaa1"}, wantErr: "member VPCs need"},
		{name: "bad member", ctx: map[string]any{ctxEndpointMode: "central", ctxVpcID: vpc, ctxSubnetIDs: "subnet-0123456789abcdef0",
			ctxMemberVpcs: "mars-1:vpc-0aaaaaaaaaaaaaaa1,vpc-x"}, wantErr: `"vpc-x" is not a VPC id`},
		{name: "member regions", ctx: map[string]any{ctxEndpointMode: "central", ctxVpcID: vpc, ctxSubnetIDs: []any{"subnet-0123456789abcdef0"},
			ctxMemberVpcs: `["eu-west-1:vpc-0aaaaaaaaaaaaaaa1", "vpc-0bbbbbbbbbbbbbbb2"]`},
			check: func(t *testing.T, c *Config) {
				want := []memberVPC{{Region: "eu-west-1", VpcID: "vpc-0aaaaaaaaaaaaaaa1"}, {VpcID: "vpc-0bbbbbbbbbbbbbbb2"}}
				if !slices.Equal(c.MemberVPCs, want) {
					t.Errorf("members %+v", c.MemberVPCs)
				}
			}},
		{name: "api endpoint needs a vpc endpoint mode", ctx: map[string]any{ctxSESAPIEndpoint: true}, wantErr: ctxSESAPIEndpoint},
		{name: "bad bool", ctx: map[string]any{ctxSenderUser: "yes please"}, wantErr: "want true or false"},
		{name: "bad integer", ctx: map[string]any{ctxArchiveDays: "forever"}, wantErr: "want an integer"},
		{name: "integer below minimum", ctx: map[string]any{ctxRespondConcurrency: float64(0)}, wantErr: "below the minimum"},
		{name: "bad transport", ctx: map[string]any{ctxEventTransport: "kinesis"}, wantErr: "want eventbridge, sns or both"},
		{name: "bad response mode", ctx: map[string]any{ctxResponseMode: "yolo"}, wantErr: ctxResponseMode},
		{name: "bad alerts format", ctx: map[string]any{ctxAlertsFormat: "html"}, wantErr: "want text or chatbot"},
		{name: "bad e-mail", ctx: map[string]any{ctxAlertEmail: "secops"}, wantErr: "not an e-mail address"},
		{name: "bad set name", ctx: map[string]any{ctxImportConfigSets: "ok,not ok"}, wantErr: `"not ok" is not a configuration set name`},
		{name: "nothing to monitor", ctx: map[string]any{ctxConfigSetName: ""}, check: func(t *testing.T, c *Config) {
			// An empty string means unset: the default set is created.
			if c.ConfigSetName != "sesguard-monitored" {
				t.Errorf("set %q", c.ConfigSetName)
			}
		}},
		{name: "imports only", ctx: map[string]any{ctxImportConfigSets: "prod-outbound, marketing"},
			check: func(t *testing.T, c *Config) {
				if c.ConfigSetName != "" || !slices.Equal(c.MonitoredConfigSets(), []string{"prod-outbound", "marketing"}) || c.DefaultConfigSetName() != "prod-outbound" {
					t.Errorf("monitored %v default %q", c.MonitoredConfigSets(), c.DefaultConfigSetName())
				}
			}},
		{name: "second stack gets its own SES names", ctx: map[string]any{ctxStackName: "Sesguard-Eu"}, check: func(t *testing.T, c *Config) {
			// Configuration sets and identity policy names are per account and Region.
			if c.ConfigSetName != "sesguard-eu-monitored" || c.IdentityPolicyName() != "sesguard-eu-preventive" {
				t.Errorf("set %q identity policy %q", c.ConfigSetName, c.IdentityPolicyName())
			}
		}},
		{name: "default stack names", ctx: map[string]any{}, check: func(t *testing.T, c *Config) {
			if c.ConfigSetName != "sesguard-monitored" || c.IdentityPolicyName() != "sesguard-preventive" {
				t.Errorf("set %q identity policy %q", c.ConfigSetName, c.IdentityPolicyName())
			}
		}},
		{name: "bad stack name", ctx: map[string]any{ctxStackName: "1sesguard"}, wantErr: ctxStackName},
		{name: "stack name with underscore", ctx: map[string]any{ctxStackName: "ses_guard"}, wantErr: ctxStackName},
		{name: "stack name too long", ctx: map[string]any{ctxStackName: "S" + strings.Repeat("x", maxStackName)}, wantErr: "at most 53 characters"},
		{name: "missing explicit policy", ctx: map[string]any{ctxPolicy: "nope/sesguard.yaml"}, wantErr: "read policy"},
		{name: "invalid policy names the line", ctx: map[string]any{ctxPolicy: bad}, wantErr: "bad.yaml:3"},
		{name: "policy file", ctx: map[string]any{ctxPolicy: "infra/testdata/local.yaml"},
			check: func(t *testing.T, c *Config) {
				if !strings.HasSuffix(c.PolicyPath, "infra/testdata/local.yaml") || !slices.Equal(c.LiteralIdentities(), []string{"example.com", "mail.example.com"}) {
					t.Errorf("path %s identities %v", c.PolicyPath, c.LiteralIdentities())
				}
			}},
		{name: "vpc cidrs env form", ctx: map[string]any{ctxVpcCidrs: vpc + "=10.20.0.0/16,10.30.0.0/16"},
			check: func(t *testing.T, c *Config) {
				if got := approvedCIDRs(c); !slices.Equal(got, []string{"10.20.0.0/16", "10.30.0.0/16"}) {
					t.Errorf("approved %v", got)
				}
			}},
		{name: "vpc cidrs JSON string", ctx: map[string]any{ctxVpcCidrs: `{"` + vpc + `": ["10.40.0.1/16"]}`},
			check: func(t *testing.T, c *Config) {
				if got := approvedCIDRs(c); !slices.Contains(got, "10.40.0.0/16") {
					t.Errorf("approved %v (blocks are masked)", got)
				}
			}},
		{name: "vpc cidrs bad block", ctx: map[string]any{ctxVpcCidrs: map[string]any{vpc: []any{"10.0.0.0/99"}}}, wantErr: ctxVpcCidrs},
		{name: "vpc cidrs bad id", ctx: map[string]any{ctxVpcCidrs: map[string]any{"vpc-zz": []any{"10.0.0.0/8"}}}, wantErr: `"vpc-zz" is not a VPC id`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(root, getter(tc.ctx))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestAllContextErrorsReported(t *testing.T) {
	_, err := loadConfig(testRoot(t), getter(map[string]any{ctxEndpointMode: "x", ctxEventTransport: "y", ctxAlertEmail: "z"}))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, k := range []string{ctxEndpointMode, ctxEventTransport, ctxAlertEmail} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error does not mention %s: %v", k, err)
		}
	}
}

// elfHeader is a minimal ELF64 little-endian header (no sections) for machine and osabi.
func elfHeader(machine elf.Machine, osabi elf.OSABI) []byte {
	h := make([]byte, 64)
	copy(h, elf.ELFMAG)
	h[elf.EI_CLASS], h[elf.EI_DATA], h[elf.EI_VERSION], h[elf.EI_OSABI] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT), byte(osabi)
	binary.LittleEndian.PutUint16(h[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(h[18:], uint16(machine))
	binary.LittleEndian.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	binary.LittleEndian.PutUint16(h[52:], 64) // e_ehsize
	binary.LittleEndian.PutUint16(h[54:], 56) // e_phentsize
	binary.LittleEndian.PutUint16(h[58:], 64) // e_shentsize
	return h
}

func TestFunctionCode(t *testing.T) {
	build := t.TempDir()
	write := func(fn string, data []byte, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(build, fn), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(build, fn, "bootstrap"), data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(build, fn, "bootstrap"), mode); err != nil { // umask
			t.Fatal(err)
		}
	}
	write("ingest", elfHeader(elf.EM_AARCH64, elf.ELFOSABI_NONE), 0o755)
	write("respond", elfHeader(elf.EM_X86_64, elf.ELFOSABI_NONE), 0o755)      // go run ./cmd/build -arch amd64
	write("coverage", elfHeader(elf.EM_AARCH64, elf.ELFOSABI_FREEBSD), 0o755) // GOOS=freebsd
	write("notify", []byte("\xcf\xfa\xed\xfe not ELF"), 0o755)                // a macOS host build
	write("stale", elfHeader(elf.EM_AARCH64, elf.ELFOSABI_NONE), 0o644)
	cfg := &Config{Root: testRoot(t), BuildDir: build}
	if _, placeholder, err := functionCode(cfg, "ingest"); placeholder || err != nil {
		t.Errorf("built linux/arm64 ingest: placeholder %v, error %v", placeholder, err)
	}
	for fn, want := range map[string]string{"respond": "EM_X86_64", "coverage": "ELFOSABI_FREEBSD", "notify": "not a Linux executable", "stale": "not executable"} {
		if _, placeholder, err := functionCode(cfg, fn); placeholder || err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: placeholder %v, error %v; want an error naming %s", fn, placeholder, err, want)
		}
	}
	if _, placeholder, err := functionCode(cfg, "missing"); !placeholder || err != nil {
		t.Errorf("missing binary: placeholder %v, error %v; want the placeholder", placeholder, err)
	}
	st, err := os.Stat(filepath.Join(cfg.Root, "infra", "placeholder", "bootstrap"))
	if err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("placeholder bootstrap must exist and be executable: %v %v", err, st)
	}
}

func TestPolicyLayerDir(t *testing.T) {
	cfg := &Config{PolicyYAML: []byte("version: 1\n# layer test\n")}
	dir := policyLayerDir(cfg)
	b, err := os.ReadFile(filepath.Join(dir, "sesguard", "sesguard.yaml"))
	if err != nil || string(b) != string(cfg.PolicyYAML) {
		t.Fatalf("layer file: %v %q", err, b)
	}
	if again := policyLayerDir(cfg); again != dir {
		t.Errorf("layer dir not stable: %s then %s", dir, again)
	}
	if !strings.HasPrefix(bundledPolicyPath, "/opt/sesguard/") {
		t.Errorf("layers mount under /opt: %s", bundledPolicyPath)
	}
}
