package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := runCLI(t, "", nil, args...)
		if code != exitOK || !strings.HasPrefix(out, "sesguard github.com/sesguard/sesguard ") || !strings.Contains(out, "\nrevision ") {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
}

// TestVersionStamped builds the binary the way an operator does and checks it names the
// commit it was built from.
func TestVersionStamped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("no git: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "sesguard")
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if out, _ := exec.Command("go", "version", "-m", bin).Output(); !strings.Contains(string(out), "vcs.revision=") {
		// go does not stamp builds from a git worktree (.git is a file there) or under
		// GOFLAGS=-buildvcs=false; TestBuildFrom covers the parsing.
		t.Skip("this checkout does not produce VCS-stamped builds")
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	rev := strings.TrimSpace(string(head))
	// Go 1.24+ stamps the main module with a pseudo-version from VCS (v0.0.0-<time>-<rev>); older
	// builds say (devel)+<rev>. Either way the producer version names the short commit.
	if !strings.Contains(string(out), "revision "+rev) || !strings.Contains(string(out), "producer_version \"") ||
		!strings.Contains(string(out)[strings.Index(string(out), "producer_version"):], rev[:12]) {
		t.Errorf("version output does not name HEAD %s:\n%s", rev, out)
	}
}
