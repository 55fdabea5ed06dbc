package fnenv

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/policy"
)

var envLiteral = regexp.MustCompile(`"(SESGUARD_[A-Z0-9_]+)"`)

// envNames collects the SESGUARD_* string literals in the non-test Go files under dir, plus
// policy.EnvVPCCIDRs where the code refers to it by name.
func envNames(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range envLiteral.FindAllSubmatch(b, -1) {
			out = append(out, string(m[1]))
		}
		if strings.Contains(string(b), "policy.EnvVPCCIDRs") {
			out = append(out, policy.EnvVPCCIDRs)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestInfraSetsWhatFunctionsRead cross-checks the CDK app (infra/, which cannot import this
// internal package) with the functions: every variable the app sets is read by a function, and
// every variable a function reads is set by the app, so a rename on either side fails here and
// not at the first cold start.
func TestInfraSetsWhatFunctionsRead(t *testing.T) {
	set := envNames(t, filepath.Join("..", "..", "..", "infra"))
	read := envNames(t, filepath.Join("..", ".."))
	if len(set) == 0 || len(read) == 0 {
		t.Fatalf("found nothing: infra %v, functions %v", set, read)
	}
	for _, k := range set {
		if !slices.Contains(read, k) {
			t.Errorf("infra sets %s, which no function reads", k)
		}
	}
	for _, k := range read {
		if !slices.Contains(set, k) {
			t.Errorf("a function reads %s, which infra never sets", k)
		}
	}
	for _, k := range []string{EnvTable, EnvFindingsTopicARN, EnvAlertsTopicARN, EnvSlackSecretARN, EnvMode, EnvPolicy, policy.EnvVPCCIDRs} {
		if !slices.Contains(set, k) {
			t.Errorf("infra does not set %s", k)
		}
	}
}
