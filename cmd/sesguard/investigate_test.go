package main

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/ops/forensics"
)

const archiveDir = "../../events/archive"

func TestInvestigateCommand(t *testing.T) {
	pol := writeFile(t, "sesguard.yaml", "version: 1\nnetwork:\n  cidrs: [10.20.0.0/16]\nsenders:\n  principals: [\"ses-smtp-user.2026*\", mailer-task-role]\n")
	plain, err := os.ReadFile(filepath.Join(archiveDir, "ses-events-1-2026-05-04-09-15-27-6f1c2b9a.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	// A Firehose-style tree: the plain fixture in hour 09, a gzip copy with a bad record in 11.
	tree := t.TempDir()
	hour := func(h string) string {
		d := filepath.Join(tree, "2026", "05", "04", h)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	if err := os.WriteFile(filepath.Join(hour("09"), "part-1"), plain, 0o600); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain[:bytes.IndexByte(plain, '\n')+1]) // one good Send
	zw.Write([]byte("{\"eventType\":\"Send\",\"mail\":{\"timestamp\":\"2026-05-04T11:00:00Z\"}\n"))
	zw.Write([]byte("garbage\n"))
	zw.Close()
	if err := os.WriteFile(filepath.Join(hour("11"), "part-2.gz"), gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		outHas   []string
		outNot   []string
		errHas   []string
		check    func(t *testing.T, out string)
	}{
		{
			name: "by principal over the fixture archive", args: []string{archiveDir, "--by", "principal"}, wantCode: exitOK,
			outHas: []string{"PRINCIPAL", "ses-smtp-user.20260112-101500", "ci-deploy-role", "203.0.113.77", "root", "(unknown)", "5 group(s)"},
			outNot: []string{"OUTSIDE-NET"},
		},
		{
			name: "policy columns and outside-network filter", args: []string{"--policy", pol, archiveDir, "--by", "ip", "--outside-network"}, wantCode: exitOK,
			outHas: []string{"OUTSIDE-NET", "UNAPPROVED", "203.0.113.77", "192.0.2.44", "(unknown)"},
			outNot: []string{"10.20.3.41", "10.20.7.12"},
		},
		{
			name: "principal pattern, json", args: []string{archiveDir, "--by", "hour", "--principal", "ses-smtp-user.*", "--format", "json"}, wantCode: exitOK,
			check: func(t *testing.T, out string) {
				var r forensics.Report
				if err := json.Unmarshal([]byte(out), &r); err != nil {
					t.Fatal(err)
				}
				if r.By != forensics.ByHour || len(r.Groups) != 1 || r.Groups[0].Key != "2026-05-04T09Z" || r.Groups[0].Sends != 2 || r.Groups[0].Delivered != 2 {
					t.Errorf("report %+v", r)
				}
			},
		},
		{
			name: "ip and time window, csv", args: []string{archiveDir, "--by", "from", "--ip", "203.0.113.77", "--since", "2026-05-04T09", "--until", "2026-05-04T09:17", "--format", "csv"}, wantCode: exitOK,
			check: func(t *testing.T, out string) {
				rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) != 2 || rows[0][0] != "from" || rows[1][0] != "noreply@mail.example.com" || rows[1][1] != "2" {
					t.Errorf("rows %q", rows)
				}
			},
		},
		{
			name: "firehose tree: bad records named, exit 2, since prunes nothing needed", args: []string{tree, "--by", "configuration-set", "--since", "2026-05-04"}, wantCode: exitInput,
			outHas: []string{"prod-outbound"},
			errHas: []string{"part-2.gz:2", "part-2.gz:3", "2 record(s) could not be decoded"},
		},
		{
			name: "since prunes old hour folders", args: []string{tree, "--by", "principal", "--since", "2026-05-04T11:00:00Z"}, wantCode: exitInput,
			errHas: []string{"skipped 1 Firehose folder(s)"},
			// Hour 09 ends 10:00, an hour (the slack) before --since: skipped. The 09:15 Send copied
			// into hour 11 is read but filtered by its mail time.
			outHas: []string{"0 group(s); 1 event(s)", "1 filtered out"},
		},
		{
			name: "stdin", args: []string{"-", "--by", "identity"}, stdin: string(plain), wantCode: exitOK,
			outHas: []string{"IDENTITY", "mail.example.com"},
		},
		{name: "no path", args: []string{"--by", "ip"}, wantCode: exitUsage, errHas: []string{"at least one PATH"}},
		{name: "no --by", args: []string{archiveDir}, wantCode: exitUsage, errHas: []string{"--by is required"}},
		{name: "bad --by", args: []string{archiveDir, "--by", "sender"}, wantCode: exitUsage, errHas: []string{"unknown dimension"}},
		{name: "bad time", args: []string{archiveDir, "--by", "ip", "--since", "yesterday"}, wantCode: exitUsage, errHas: []string{"want RFC 3339"}},
		{name: "bad ip", args: []string{archiveDir, "--by", "ip", "--ip", "10.0.0.1/8"}, wantCode: exitUsage, errHas: []string{"host bits"}},
		{name: "outside without policy", args: []string{archiveDir, "--by", "ip", "--outside-network"}, wantCode: exitUsage, errHas: []string{"needs a policy"}},
		{name: "missing path", args: []string{"/nonexistent/archive", "--by", "ip"}, wantCode: exitUsage, errHas: []string{"/nonexistent/archive"}},
		{name: "bad format", args: []string{archiveDir, "--by", "ip", "--format", "xml"}, wantCode: exitUsage, errHas: []string{"want table, json or csv"}},
		{name: "help", args: []string{"-h"}, wantCode: exitOK, errHas: []string{"Memory bounds", "--max-join"}},
	}
	t.Chdir(t.TempDir()) // no ./sesguard.yaml unless a test names one
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"investigate"}, tt.args...)
			for i, a := range args {
				if a == archiveDir {
					abs, _ := filepath.Abs(filepath.Join(wd0, archiveDir))
					args[i] = abs
				}
			}
			code, out, errOut := runCLI(t, tt.stdin, nil, args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.outHas {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.outNot {
				if strings.Contains(out, w) {
					t.Errorf("stdout has %q:\n%s", w, out)
				}
			}
			for _, w := range tt.errHas {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}
}

// wd0 is the package directory, captured before tests change directory.
var wd0, _ = os.Getwd()

func TestParseWhen(t *testing.T) {
	for in, want := range map[string]string{
		"2026-05-04T09:30:00Z":      "2026-05-04T09:30:00Z",
		"2026-05-04T11:30:00+02:00": "2026-05-04T09:30:00Z",
		"2026-05-04T09:30":          "2026-05-04T09:30:00Z",
		"2026-05-04T09":             "2026-05-04T09:00:00Z",
		"2026-05-04":                "2026-05-04T00:00:00Z",
	} {
		got, err := parseWhen(in)
		if err != nil || got.Format(time.RFC3339) != want {
			t.Errorf("parseWhen(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
}

// An archive folder of symbolic links is read through them; a dangling link is named on stderr
// and turns the exit status to 2 while the rest is still reported.
func TestInvestigateLinkedArchive(t *testing.T) {
	dir := t.TempDir()
	src, _ := filepath.Abs(filepath.Join(wd0, archiveDir))
	if err := os.Symlink(src, filepath.Join(dir, "archive")); err != nil {
		t.Skipf("symlinks not supported: %v", err)
	}
	if err := os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", nil, "investigate", dir, "--by", "ip", "--quiet")
	if code != exitInput {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitInput, out, errOut)
	}
	if !strings.Contains(out, "203.0.113.77") {
		t.Errorf("linked archive not read:\n%s", out)
	}
	if !strings.Contains(errOut, "dangling") {
		t.Errorf("dangling link not reported:\n%s", errOut)
	}
}
