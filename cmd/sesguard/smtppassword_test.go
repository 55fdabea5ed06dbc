package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runCLI runs one command in-process and returns exit code, stdout and stderr.
func runCLI(t *testing.T, stdin string, getenv func(string) string, args ...string) (int, string, string) {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: getenv}, args)
	return code, out.String(), errb.String()
}

func TestSMTPPasswordCommand(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	tests := []struct {
		name       string
		stdin      string
		args       []string
		wantCode   int
		wantOut    string
		wantErrSub string
	}{
		{"us-east-1", secret + "\n", []string{"--region", "us-east-1"}, exitOK, "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9\n", ""},
		{"eu-west-1 with blank lines and spaces", "\n  " + secret + "  \r\n\n", []string{"--region=eu-west-1"}, exitOK, "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk\n", ""},
		{"missing region", secret, nil, exitUsage, "", "--region is required"},
		{"bad region", secret, []string{"--region", "Frankfurt"}, exitUsage, "", "not an AWS Region"},
		{"empty stdin", "", []string{"--region", "us-east-1"}, exitUsage, "", "no secret access key on stdin"},
		{"inner space kept and refused", "wJalrXUtnFEMI/K7MDENG bPxRfiCYEXAMPLEKEY\n", []string{"--region", "us-east-1"}, exitUsage, "", "whitespace"},
		{"byte-order mark refused", "\ufeff" + secret + "\r\n", []string{"--region", "us-east-1"}, exitUsage, "", "not printable ASCII"},
		{"two lines", secret + "\n" + secret + "\n", []string{"--region", "us-east-1"}, exitUsage, "", "exactly one"},
		{"secret as argument refused", "", []string{"--region", "us-east-1", secret}, exitUsage, "", "unexpected argument"},
		{"help", "", []string{"-h"}, exitOK, "", "usage: sesguard smtp-password"},
		{"unknown flag", "", []string{"--nope"}, exitUsage, "", "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.stdin, nil, append([]string{"smtp-password"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, errOut)
			}
			if out != tt.wantOut {
				t.Errorf("stdout %q, want %q", out, tt.wantOut)
			}
			if tt.wantErrSub != "" && !strings.Contains(errOut, tt.wantErrSub) {
				t.Errorf("stderr %q, want it to contain %q", errOut, tt.wantErrSub)
			}
			if strings.Contains(errOut, secret) {
				t.Errorf("stderr leaks the secret: %q", errOut)
			}
		})
	}
}

func TestOpParseInterspersed(t *testing.T) {
	var errb bytes.Buffer
	fs := opFlagSet(env{stderr: &errb}, "x", "usage\n")
	by := fs.String("by", "", "")
	v := fs.Bool("v", false, "")
	rest, _, ok := opParse(fs, []string{"a", "--by", "ip", "b", "-v", "--", "-c", "--by"})
	if !ok {
		t.Fatalf("parse failed: %s", errb.String())
	}
	if *by != "ip" || !*v || strings.Join(rest, ",") != "a,b,-c,--by" {
		t.Fatalf("by=%q v=%v rest=%q", *by, *v, rest)
	}
}
