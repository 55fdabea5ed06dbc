package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/policy"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

var updateReplay = flag.Bool("update-replay", false, "rewrite the replay goldens under testdata/replay")

func replayGolden(t *testing.T, path, got string) {
	t.Helper()
	if *updateReplay {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/sesguard -run Replay -update-replay)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got ---\n%s\n--- want ---\n%s", filepath.Base(path), got, want)
	}
}

// TestReplayEventsGolden runs the README's command (`replay events/`) from the repository root
// and compares stdout and stderr, in text and JSON, with the goldens.
func TestReplayEventsGolden(t *testing.T) {
	dir, err := filepath.Abs("testdata/replay")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir("../..")
	if _, err := os.Stat("sesguard.yaml"); err == nil {
		t.Skip("a sesguard.yaml at the repository root would replace the embedded example policy")
	}
	for _, tc := range []struct{ format, out string }{{"text", "events.txt"}, {"json", "events.jsonl"}} {
		code, out, errOut := runCLI(t, "", nil, "replay", "--format", tc.format, "events/")
		// events/bad holds deliberately broken inputs, so the run reports input errors.
		if code != exitInput {
			t.Errorf("%s: exit %d, want %d\nstderr:\n%s", tc.format, code, exitInput, errOut)
		}
		replayGolden(t, filepath.Join(dir, tc.out), out)
		replayGolden(t, filepath.Join(dir, tc.out+".stderr"), errOut)
	}
}

func TestReplayJSONLines(t *testing.T) {
	t.Chdir("../..")
	code, out, _ := runCLI(t, "", nil, "replay", "--format=json", "events/sns", "events/record")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	byID := map[string]bool{}
	n := 0
	for sc.Scan() {
		f, r, err := finding.Decode(sc.Bytes())
		if err != nil || r != nil || f == nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		if f.Mode != policy.ModeDryRun || f.Evidence.Count < 1 || len(f.Evidence.MessageIDs) == 0 {
			t.Errorf("finding %+v", f)
		}
		byID[f.Rule] = true
		n++
	}
	for _, r := range []string{rules.NetworkOutsideApproved, rules.SenderPrincipalUnapproved, rules.AttributionMissing, rules.NetworkUnknownSource} {
		if !byID[r] {
			t.Errorf("no %s finding in %d lines", r, n)
		}
	}
}

func TestReplayInputsAndErrors(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	publicSend, err := os.ReadFile(filepath.Join(root, "events/record/send-api-public-role.json"))
	if err != nil {
		t.Fatal(err)
	}
	vpcSend, err := os.ReadFile(filepath.Join(root, "events/record/send-smtp-vpc.json"))
	if err != nil {
		t.Fatal(err)
	}
	compact := func(b []byte) string { return strings.Join(strings.Fields(string(b)), " ") }
	ndjson := compact(publicSend) + "\n" + compact(vpcSend) + "\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(ndjson))
	zw.Close()

	work := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	archive := write("archive/2026/05/04/part-0001.gz", gz.String())
	write("archive/README.md", "not events")
	write("archive/.hidden/x.json", "{garbage")
	approveAll := write("open.yaml", `version: 1
network: { cidrs: [0.0.0.0/0] }
senders: { principals: ["*"], from: ["*"], identities: ["*"], configuration_sets: ["*"] }
recipients: { domains: ["*"] }
`)
	badPolicy := write("bad.yaml", "version: 1\nsenders: { principalz: [x] }\n")
	// A folder of symbolic links (to a file, to a directory, and back to itself) reads what they
	// point at, each directory once.
	links := filepath.Join(work, "links")
	if err := os.MkdirAll(links, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"part.gz": archive, "archive": filepath.Join(work, "archive"), "loop": links} {
		if err := os.Symlink(target, filepath.Join(links, name)); err != nil {
			t.Fatal(err)
		}
	}
	empty := filepath.Join(work, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		outHas   []string
		errHas   []string
	}{
		{name: "gzip NDJSON on stdin", stdin: gz.String(), args: []string{"-"}, wantCode: exitOK,
			outHas: []string{"1 file(s), 2 record(s): 2 event(s) (2 Send)", "network.outside_approved", "203.0.113.77", "plan (dry-run):"}},
		{name: "directory walk skips docs and hidden files", args: []string{filepath.Join(work, "archive")}, wantCode: exitOK,
			outHas: []string{"1 file(s), 2 record(s)", "sender.principal_unapproved"}},
		{name: "file", args: []string{archive, "--format", "json"}, wantCode: exitOK,
			outHas: []string{`"schema":"sesguard.finding/v1"`}, errHas: []string{"replay: 1 file(s)"}},
		{name: "policy that approves everything", args: []string{"--policy", approveAll, archive}, wantCode: exitOK,
			outHas: []string{"no findings: every send matched the policy"}},
		{name: "bad policy", args: []string{"--policy", badPolicy, archive}, wantCode: exitUsage,
			errHas: []string{"bad.yaml:2:12: senders: unknown key \"principalz\""}},
		{name: "bad record keeps going", stdin: "{\"eventType\":\"Send\"}\n" + compact(publicSend) + "\n", args: []string{"-"}, wantCode: exitInput,
			errHas: []string{"<stdin>:1", "field mail: missing"}, outHas: []string{"2 record(s): 1 event(s)", "1 bad", "network.outside_approved"}},
		{name: "missing path", args: []string{filepath.Join(work, "nope.json"), archive}, wantCode: exitInput,
			errHas: []string{"nope.json: stat"}, outHas: []string{"network.outside_approved"}},
		{name: "symbolic links followed once", args: []string{links}, wantCode: exitOK,
			outHas: []string{"2 file(s), 4 record(s): 4 event(s) (4 Send), 2 duplicate(s)", "sender.principal_unapproved"}},
		{name: "nothing read is not clean", args: []string{empty}, wantCode: exitOK,
			outHas: []string{"0 event(s)", "no findings: no events were read"}},
		{name: "no path", args: nil, wantCode: exitUsage, errHas: []string{"give at least one PATH"}},
		{name: "bad format", args: []string{"--format", "xml", archive}, wantCode: exitUsage, errHas: []string{"want text or json"}},
		{name: "bad flag", args: []string{"--nope", archive}, wantCode: exitUsage},
		{name: "bad vpc cidrs", args: []string{"--vpc-cidrs", "vpc-1=x", archive}, wantCode: exitUsage, errHas: []string{"--vpc-cidrs"}},
		{name: "help", args: []string{"-h"}, wantCode: exitOK, errHas: []string{"usage: sesguard replay"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.stdin, nil, append([]string{"replay"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, s := range tt.outHas {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tt.errHas {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut)
				}
			}
		})
	}
}

// TestReplayPolicyFromWorkingDirectory: ./sesguard.yaml replaces the embedded example.
func TestReplayPolicyFromWorkingDirectory(t *testing.T) {
	send, err := os.ReadFile("../../events/record/send-api-public-role.json")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if err := os.WriteFile("sesguard.yaml", []byte("version: 1\nnetwork: { cidrs: [203.0.113.0/24] }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, string(send), nil, "replay", "-")
	if code != exitOK || !strings.Contains(out, "policy sesguard.yaml") || strings.Contains(out, "network.outside_approved") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
	// The VPC blocks from the environment count as approved networks.
	if err := os.WriteFile("sesguard.yaml", []byte("version: 1\nnetwork: { vpcs: [vpc-0a1b2c3d] }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == policy.EnvVPCCIDRs {
			return "vpc-0a1b2c3d=203.0.113.0/24"
		}
		return ""
	}
	code, out, _ = runCLI(t, string(send), env, "replay", "-")
	if code != exitOK || strings.Contains(out, "network.outside_approved") {
		t.Errorf("with $%s: exit %d\n%s", policy.EnvVPCCIDRs, code, out)
	}
}

// TestReplayAttributeAgainstMoto: --attribute resolves principals in IAM (here moto), so the plan
// can target them.
func TestReplayAttributeAgainstMoto(t *testing.T) {
	m := awstest.Start(t)
	m.Setenv(t)
	roleARN := m.SeedRole(t, "ci-deploy-role")
	send, err := os.ReadFile("../../events/record/send-api-public-role.json")
	if err != nil {
		t.Fatal(err)
	}
	// The fixture was sent from account 111122223333: a role of the same name in moto's account is
	// another principal, and attributing to it would contain the wrong one.
	code, out, errOut := runCLI(t, string(send), nil, "replay", "--attribute", "-")
	if code != exitOK || !strings.Contains(out, "ci-deploy-role [unknown]") || strings.Contains(out, roleARN) {
		t.Fatalf("send from another account: exit %d\n%s\n%s", code, out, errOut)
	}
	send = bytes.ReplaceAll(send, []byte(`"111122223333"`), []byte(`"`+awstest.Account+`"`))
	code, out, errOut = runCLI(t, string(send), nil, "replay", "--attribute", "-")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, "ci-deploy-role [role] "+roleARN) {
		t.Errorf("principal not resolved to the role:\n%s", out)
	}
	// A role has no keys (skipped) but can get the deny-send policy (planned).
	if !strings.Contains(out, "roles have no access keys") || !regexp.MustCompile(`deny_send_policy\s+ci-deploy-role\s+planned`).MatchString(out) {
		t.Errorf("plan:\n%s", out)
	}
}
