package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
	"github.com/sesguard/sesguard/shared/testsupport/sescorpus"
)

// TestPythonPeerCountsLikeSesguard runs the Python peer on a small corpus and compares its counts
// with the same checks done by shared/policy on shared/decode/sesevent's events: the peer must do the
// work it is credited with.
func TestPythonPeerCountsLikeSesguard(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is needed by the benchmark's peer")
		}
		t.Skip("python3 not installed")
	}
	dir := t.TempDir()
	corpus := filepath.Join(dir, "c.ndjson")
	st, err := writeCorpus(corpus, sescorpus.Options{Seed: 5, Records: 3000})
	if err != nil {
		t.Fatal(err)
	}
	py := filepath.Join(dir, "peer.py")
	if err := os.WriteFile(py, peerPy, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("python3", py, corpus, strings.Join(sescorpus.ApprovedCIDRs, ","), strings.Join(sescorpus.ApprovedPrincipals, ",")).CombinedOutput()
	if err != nil {
		t.Fatalf("peer: %v\n%s", err, out)
	}
	p, err := policy.Load([]byte(sescorpus.Policy), "corpus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var records, sends, outside, unapproved int
	for res := range sesevent.DecodeFile(corpus) {
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		records++
		ev := res.Events[0]
		if ev.Type != sesevent.TypeSend {
			continue
		}
		sends++
		if !p.NetworkApproved(ev.SourceIP) {
			outside++
		}
		if !p.PrincipalApproved(ev.CallerIdentity) {
			unapproved++
		}
	}
	want := "records=" + strconv.Itoa(records) + " sends=" + strconv.Itoa(sends) + " outside=" + strconv.Itoa(outside) + " unapproved=" + strconv.Itoa(unapproved)
	if strings.TrimSpace(string(out)) != want || int64(records) != st.Records {
		t.Fatalf("peer printed %q, want %q", out, want)
	}
	if err := peerCheck(out, st.Records); err != nil {
		t.Fatal(err)
	}
}

func TestChecks(t *testing.T) {
	tests := []struct {
		name  string
		check func([]byte, int64) error
		out   string
		ok    bool
	}{
		{"replay ok", replayCheck, "replay: 1 file(s), 10 record(s): 10 event(s) (5 Send), 0 duplicate(s), 0 skipped, 0 bad; 2 finding(s)\n", true},
		{"replay short", replayCheck, "replay: 1 file(s), 9 record(s): 9 event(s) (5 Send), 0 duplicate(s), 0 skipped, 0 bad; 2 finding(s)\n", false},
		{"replay bad records", replayCheck, "replay: 1 file(s), 10 record(s): 9 event(s) (5 Send), 0 duplicate(s), 0 skipped, 1 bad; 2 finding(s)\n", false},
		{"replay no findings", replayCheck, "replay: 1 file(s), 10 record(s): 10 event(s) (5 Send), 0 duplicate(s), 0 skipped, 0 bad; 0 finding(s)\n", false},
		{"replay no summary", replayCheck, "panic", false},
		{"peer ok", peerCheck, "records=10 sends=5 outside=1 unapproved=1\n", true},
		{"peer short", peerCheck, "records=9 sends=5 outside=1 unapproved=1\n", false},
		{"peer no violations", peerCheck, "records=10 sends=5 outside=0 unapproved=0\n", false},
		{"investigate ok", investigateCheck, `{"by":"principal","groups":[],"summary":{"events":10,"sends":5}}`, true},
		{"investigate short", investigateCheck, `{"summary":{"events":8,"sends":5}}`, false},
		{"investigate no report", investigateCheck, "investigate: stopped", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check([]byte(tt.out), 10); (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{{"-records", "0"}, {"-runs", "0"}, {"extra"}, {"-shapes", "realistic,huge"}} {
		var stderr bytes.Buffer
		if code := run(context.Background(), args, &bytes.Buffer{}, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
}

// TestPrintSummary checks the verdict against each target: a corpus misses when any one of them
// is missed.
func TestPrintSummary(t *testing.T) {
	m := func(cpu float64) measurement { return measurement{cpu: time.Duration(cpu * float64(time.Second))} }
	sum := func(name string, replay, flood, python, simd float64) summary {
		return summary{shape: sescorpus.Shape{Name: name}, records: 1000, meanBytes: 1500,
			replay: m(replay), flood: m(flood), python: m(python), simd: m(simd), haveSimd: true}
	}
	var out bytes.Buffer
	printSummary(&out, []summary{
		sum("all-met", 1, 1.2, 5, 0.5),
		sum("slow-python", 1, 1, 4.9, 0.4),
		sum("slow-simd", 1, 1, 6, 0.49),
		sum("slow-flood", 1, 1.31, 6, 0.4),
	})
	lines := strings.Split(out.String(), "\n")
	for name, want := range map[string]string{"all-met": "| met |", "slow-python": "MISSED", "slow-simd": "MISSED", "slow-flood": "MISSED"} {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, "| "+name+" |") {
				found = true
				if !strings.Contains(l, want) {
					t.Errorf("%s: %q, want %s", name, l, want)
				}
			}
		}
		if !found {
			t.Errorf("no line for %s in\n%s", name, out.String())
		}
	}
	if !strings.Contains(out.String(), "targets met on 1 of 4 corpora") {
		t.Errorf("summary line missing:\n%s", out.String())
	}
}

// TestInterleaved: the programs take turns, round by round, each round starting one later, and a
// failed check stops the run.
func TestInterleaved(t *testing.T) {
	log := filepath.Join(t.TempDir(), "order")
	ok := func([]byte, int64) error { return nil }
	progs := []program{
		{name: "a", argv: []string{"sh", "-c", "echo a >> " + log}, check: ok},
		{name: "b", argv: []string{"sh", "-c", "echo b >> " + log}, check: ok},
	}
	var rounds []int
	ms, err := interleaved(context.Background(), progs, 3, 0, func(r int) { rounds = append(rounds, r) })
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(log)
	if string(got) != "a\nb\nb\na\na\nb\n" || len(ms) != 2 || len(rounds) != 3 {
		t.Fatalf("order %q, %d results, rounds %v", got, len(ms), rounds)
	}
	progs[1].check = func([]byte, int64) error { return errors.New("wrong count") }
	if _, err := interleaved(context.Background(), progs, 2, 0, func(int) {}); err == nil || !strings.Contains(err.Error(), "b: wrong count") {
		t.Fatalf("err = %v, want b's check failure", err)
	}
}
