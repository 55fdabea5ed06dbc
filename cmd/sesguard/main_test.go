package main

import (
	"strings"
	"testing"
)

// The dispatcher: usage on no command (exit 1) and on help (exit 0), a named error for an unknown
// command, and every registered subcommand answers -h without touching AWS.
func TestDispatch(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"no command", nil, exitUsage, "usage: sesguard <command>"},
		{"help", []string{"help"}, exitOK, "usage: sesguard <command>"},
		{"--help", []string{"--help"}, exitOK, "smtp-password"},
		{"unknown", []string{"exfiltrate"}, exitUsage, `unknown command "exfiltrate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", nil, tt.args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantStderr) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, errOut, tt.wantCode, tt.wantStderr)
			}
			if out != "" {
				t.Errorf("usage went to stdout: %q", out)
			}
		})
	}
	for name := range commands() {
		t.Run(name+" -h", func(t *testing.T) {
			code, out, errOut := runCLI(t, "", nil, name, "-h")
			if code != exitOK {
				t.Fatalf("%s -h: exit %d, want 0", name, code)
			}
			if !strings.Contains(out+errOut, "usage: sesguard "+name) {
				t.Fatalf("%s -h printed no usage line: stdout %q stderr %q", name, out, errOut)
			}
		})
	}
}
