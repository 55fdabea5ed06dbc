package forensics

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

const fixtureDir = "../../../events/archive"

// firehoseTree lays the repo's archive fixtures out as Firehose writes them, plus an old hour
// that --since can prune, a hidden file, and a file with a broken record.
func firehoseTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	put := func(rel string, data []byte) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	plain, err := os.ReadFile(filepath.Join(fixtureDir, "ses-events-1-2026-05-04-09-15-27-6f1c2b9a.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	gz, err := os.ReadFile(filepath.Join(fixtureDir, "ses-events-1-2026-05-04-10-15-27-0d4e8a71.ndjson.gz"))
	if err != nil {
		t.Fatal(err)
	}
	put("2026/05/04/09/ses-events-1-2026-05-04-09-15-27-6f1c2b9a", plain)
	put("2026/05/04/10/ses-events-1-2026-05-04-10-15-27-0d4e8a71.gz", gz)
	var old bytes.Buffer
	if _, err := genArchive(&old, 3, time.Date(2026, 5, 3, 22, 10, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	put("2026/05/03/22/ses-events-1-2026-05-03-22-10-00-aaaa", old.Bytes())
	put("2026/05/04/09/.DS_Store", []byte("junk"))
	var good bytes.Buffer
	if _, err := genArchive(&good, 1, time.Date(2026, 5, 4, 11, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	first, _, _ := bytes.Cut(good.Bytes(), []byte("\n")) // its Send
	put("2026/05/04/11/broken.ndjson", append(first, "\n"+`{"eventType":"Send","mail":{"timestamp":"2026-05-04T11:00:00Z"`+"\n"+`not json`+"\n"...))
	return root
}

func TestExpandAndPrune(t *testing.T) {
	root := firehoseTree(t)
	exp, err := Expand([]string{root}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, in := range exp.Inputs {
		r, _ := filepath.Rel(root, in.Path)
		rel = append(rel, filepath.ToSlash(r))
		if in.Size == 0 {
			t.Errorf("%s: no size", r)
		}
	}
	want := "2026/05/03/22/ses-events-1-2026-05-03-22-10-00-aaaa,2026/05/04/09/ses-events-1-2026-05-04-09-15-27-6f1c2b9a,2026/05/04/10/ses-events-1-2026-05-04-10-15-27-0d4e8a71.gz,2026/05/04/11/broken.ndjson"
	if got := strings.Join(rel, ","); got != want {
		t.Errorf("inputs\n got %s\nwant %s", got, want)
	}
	// since 09:30: hour 22 of the day before ends 23:00, more than an hour before: pruned. Hour 09
	// ends 10:00 — within the slack — and is read.
	exp, err = Expand([]string{root}, time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if exp.PrunedDirs != 1 || len(exp.Inputs) != 3 {
		t.Errorf("pruned %d, inputs %d", exp.PrunedDirs, len(exp.Inputs))
	}
	// A whole earlier day or year is pruned at its own level.
	exp, _ = Expand([]string{root}, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	if exp.PrunedDirs != 1 || len(exp.Inputs) != 0 {
		t.Errorf("year pruning: %d dirs, %d inputs", exp.PrunedDirs, len(exp.Inputs))
	}
	if _, err := Expand([]string{"-", "-"}, time.Time{}); err == nil {
		t.Error("stdin twice accepted")
	}
	if _, err := Expand([]string{filepath.Join(root, "nope")}, time.Time{}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing path: %v", err)
	}
}

func TestFirehosePeriodEnd(t *testing.T) {
	tests := []struct {
		path string
		want string
	}{
		{"/a/2026/05/04/09", "2026-05-04T10:00:00Z"},
		{"/a/2026/05/04", "2026-05-05T00:00:00Z"},
		{"2026/12", "2027-01-01T00:00:00Z"},
		{"/x/2026", "2027-01-01T00:00:00Z"},
		{"/a/2026/05/04/24", "2026-05-05T00:00:00Z"}, // "24" is no hour: 2026/05/04 is the match? no: suffix 05/04/24 fails, 04/24 fails... see below
		{"/a/b/c", ""},
		{"/a/20260/05", ""},
	}
	for _, tt := range tests {
		end, ok := firehosePeriodEnd(tt.path)
		got := ""
		if ok {
			got = end.Format(time.RFC3339)
		}
		if tt.path == "/a/2026/05/04/24" {
			// The last component is not an hour, so no suffix of the path is a Firehose period.
			if ok {
				t.Errorf("%s: got %s, want no match", tt.path, got)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestRunTreeAndStdin(t *testing.T) {
	root := firehoseTree(t)
	exp, err := Expand([]string{root, Stdin}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var stdin bytes.Buffer
	if _, err := genArchive(&stdin, 2, time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	agg, err := New(Options{By: ByPrincipal})
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	var p Progress
	if err := Run(context.Background(), agg, exp.Inputs, RunOptions{Stdin: &stdin, Progress: &p, OnError: func(e error) { errs = append(errs, e) }}); err != nil {
		t.Fatal(err)
	}
	r := agg.Report()
	// The broken file: one truncated record and one non-JSON line, each named by file:line.
	if len(errs) != 2 {
		t.Fatalf("errors %v", errs)
	}
	for i, line := range []string{"broken.ndjson:2", "broken.ndjson:3"} {
		var de *sesevent.DecodeError
		if !errors.As(errs[i], &de) || !strings.HasSuffix(de.Ref, line) {
			t.Errorf("error %d: %v, want a DecodeError for %s", i, errs[i], line)
		}
	}
	if p.Files.Load() != 5 || p.Errors.Load() != 2 || p.Bytes.Load() == 0 {
		t.Errorf("progress files=%d errors=%d bytes=%d", p.Files.Load(), p.Errors.Load(), p.Bytes.Load())
	}
	// Fixture facts (see events/archive): the SMTP user sent twice (plain file and the gzip copy
	// with its own message id) and got a Delivery, an Open and a Click on its first message.
	smtp := find(r, "ses-smtp-user.20260112-101500")
	if smtp == nil || smtp.Sends < 1 || smtp.Delivered < 1 || smtp.Opens < 1 || smtp.Clicks < 1 {
		t.Errorf("smtp user group: %+v", smtp)
	}
	if g := find(r, "ci-deploy-role"); g == nil || g.Sends < 1 || !g.IPs.contains("203.0.113.77") {
		t.Errorf("ci-deploy-role: %+v", g)
	}
	if g := find(r, "svc-01"); g == nil || g.Sends != 2 || g.Delivered != 2 || g.Bounced != 0 {
		t.Errorf("generated svc-01 (old hour and stdin): %+v", g)
	}
	if g := find(r, "ses-smtp-user.20190301-090000"); g == nil || g.Sends != 3 || g.Delivered != 2 || g.Bounced != 2 || g.Complaints != 2 ||
		!g.IPs.contains("203.0.113.0") {
		t.Errorf("generated SMTP user (old hour, broken file's good Send without outcomes, stdin): %+v", g)
	}
	if r.Summary.Events == 0 || r.Summary.JoinedOutcomes == 0 {
		t.Errorf("summary %+v", r.Summary)
	}
}

func (s Sample) contains(v string) bool {
	for _, x := range s.Values {
		if x == v {
			return true
		}
	}
	return false
}

func TestRunCancelled(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "big.ndjson.gz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	if _, err := genArchive(zw, 20000, time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	f.Close()
	agg, _ := New(Options{By: ByHour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Run(ctx, agg, []Input{{Path: p}}, RunOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	// And uncancelled, the gzip archive is fully read: 20000 sends.
	agg, _ = New(Options{By: ByHour})
	if err := Run(context.Background(), agg, []Input{{Path: p}}, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	r := agg.Report()
	if r.Summary.Sends != 20000 || r.Summary.Outcomes != 20000+1000+100 || r.Summary.UnjoinedOutcomes != 0 {
		t.Errorf("summary %+v", r.Summary)
	}
	if len(r.Groups) != 1 || r.Groups[0].Key != "2026-05-04T00Z" {
		t.Errorf("hours %v", keys(r))
	}
}

// An archive reached through symbolic links (a linked root folder, linked hour folders, linked
// files) must not read as empty: that would print an empty report and exit 0.
func TestExpandFollowsSymlinks(t *testing.T) {
	tree := firehoseTree(t)
	links := t.TempDir()
	mk := func(target, link string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, link); err != nil {
			t.Skipf("symlinks not supported: %v", err)
		}
	}
	// root itself a link to the tree
	mk(tree, filepath.Join(links, "root"))
	// a folder of links: an hour folder and a single file
	mk(filepath.Join(tree, "2026/05/04/10"), filepath.Join(links, "mixed", "2026/05/04/10"))
	mk(filepath.Join(tree, "2026/05/04/09/ses-events-1-2026-05-04-09-15-27-6f1c2b9a"), filepath.Join(links, "mixed", "one.ndjson"))
	// a cycle must end
	mk(filepath.Join(links, "mixed"), filepath.Join(links, "mixed", "loop"))
	// a dangling link is reported, the rest still read
	mk(filepath.Join(links, "gone"), filepath.Join(links, "mixed", "dangling"))

	exp, err := Expand([]string{filepath.Join(links, "root")}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Inputs) != 4 {
		t.Errorf("linked root: %d inputs, want 4: %+v", len(exp.Inputs), exp.Inputs)
	}
	exp, err = Expand([]string{filepath.Join(links, "mixed")}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range exp.Inputs {
		r, _ := filepath.Rel(filepath.Join(links, "mixed"), in.Path)
		got = append(got, filepath.ToSlash(r))
		if in.Size == 0 {
			t.Errorf("%s: no size", r)
		}
	}
	if len(exp.Errors) != 1 || !strings.Contains(exp.Errors[0].Error(), "dangling") {
		t.Errorf("dangling link errors: %v", exp.Errors)
	}
	if want := "2026/05/04/10/ses-events-1-2026-05-04-10-15-27-0d4e8a71.gz,one.ndjson"; strings.Join(got, ",") != want {
		t.Errorf("linked entries\n got %s\nwant %s", strings.Join(got, ","), want)
	}
	// Pruning still applies to a linked hour folder.
	exp, err = Expand([]string{filepath.Join(links, "mixed")}, time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if exp.PrunedDirs != 1 || len(exp.Inputs) != 1 {
		t.Errorf("linked hour folder pruning: pruned %d, inputs %+v", exp.PrunedDirs, exp.Inputs)
	}
}

// TestExpandReportsSkipped: a walk names the FIFOs it does not open (reading one without a
// writer blocks) instead of passing over them silently; files beside them are still read.
func TestExpandReportsSkipped(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "2026", "p.fifo")
	if err := os.MkdirAll(filepath.Dir(fifo), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "2026", "events.ndjson"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	exp, err := Expand([]string{dir}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Inputs) != 1 || !strings.HasSuffix(exp.Inputs[0].Path, "events.ndjson") {
		t.Errorf("inputs %+v", exp.Inputs)
	}
	if want := fifo + ": a named pipe (FIFO)"; len(exp.Skipped) != 1 || exp.Skipped[0] != want {
		t.Errorf("skipped %q, want [%q]", exp.Skipped, want)
	}
}

// TestRunInterrupted: Run returns ctx's cause promptly while blocked opening a FIFO without a
// writer or reading a stdin that never ends.
func TestRunInterrupted(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "nowriter")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	cause := errors.New("interrupted (test)")
	for _, in := range []Input{{Path: fifo}, {Path: Stdin}} {
		ctx, cancel := context.WithCancelCause(context.Background())
		time.AfterFunc(200*time.Millisecond, func() { cancel(cause) })
		agg, err := New(Options{By: ByPrincipal})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- Run(ctx, agg, []Input{in}, RunOptions{Stdin: pr}) }()
		select {
		case err := <-done:
			if !errors.Is(err, cause) {
				t.Errorf("%s: Run = %v, want the cancellation cause", in.Path, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Run still blocked 10 s after cancellation", in.Path)
		}
	}
}
