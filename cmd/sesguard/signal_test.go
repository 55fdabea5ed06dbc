package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const sendRecord = `{"eventType":"Send","mail":{"timestamp":"2026-05-04T09:15:27Z","messageId":"m%d","source":"a@example.com"}}`

// TestSignalHelper is the sesguard process of TestInterrupt (the test binary re-executed).
func TestSignalHelper(t *testing.T) {
	if os.Getenv("SESGUARD_SIGNAL_HELPER") != "1" {
		t.Skip("helper process for TestInterrupt")
	}
	i := len(os.Args) - 1
	for os.Args[i] != "--" {
		i--
	}
	os.Args = append([]string{"sesguard"}, os.Args[i+1:]...)
	main()
}

// lockedBuffer collects a child's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func mkfifo(t *testing.T, path string) string {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return path
}

// TestInterrupt: replay and investigate stop within about a second of SIGINT (exit 130) or
// SIGTERM (exit 143) with a summary of what they read, even while blocked opening a FIFO that has
// no writer, reading a FIFO or a stdin that never ends, or reading /dev/zero (the context used to
// be checked only between records: one run ignored Ctrl-C for 7 minutes). Each run first walks a
// folder holding a FIFO, which it must report as skipped (not open it): that line on stderr also
// tells the test the signal handler is installed.
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the command in child processes")
	}
	dir := t.TempDir()
	walked := filepath.Join(dir, "archive")
	if err := os.Mkdir(walked, 0o700); err != nil {
		t.Fatal(err)
	}
	inner := mkfifo(t, filepath.Join(walked, "leftover.fifo"))
	records := func(n int) []byte {
		var b bytes.Buffer
		for i := range n {
			b.WriteString(strings.Replace(sendRecord, "%d", string(rune('a'+i)), 1) + "\n")
		}
		return b.Bytes()
	}
	for _, tc := range []struct {
		name string
		args []string
		// feed, if set, writes to the input and keeps it open; it returns what to close at the end.
		feed    func(t *testing.T, stdin io.Writer) io.Closer
		sig     syscall.Signal
		code    int
		summary string
	}{
		{"replay FIFO without writer", []string{"replay", walked, mkfifo(t, filepath.Join(dir, "nowriter"))}, nil, syscall.SIGINT, 130, "stopped after 1 file(s), 0 record(s)"},
		{"replay FIFO writer never closes", []string{"replay", walked, mkfifo(t, filepath.Join(dir, "open"))}, func(t *testing.T, _ io.Writer) io.Closer {
			// Non-blocking: ENXIO until replay has opened the FIFO for reading.
			deadline := time.Now().Add(30 * time.Second)
			for {
				w, err := os.OpenFile(filepath.Join(dir, "open"), os.O_WRONLY|syscall.O_NONBLOCK, 0)
				if err == nil {
					w.Write(records(3))
					return w
				}
				if time.Now().After(deadline) {
					t.Errorf("replay never opened the FIFO: %v", err)
					return nil
				}
				time.Sleep(10 * time.Millisecond)
			}
		}, syscall.SIGINT, 130, "stopped after 1 file(s), 3 record(s): 3 event(s)"},
		{"replay /dev/zero", []string{"replay", walked, "/dev/zero"}, nil, syscall.SIGINT, 130, "stopped after 1 file(s)"},
		{"replay stdin that never ends, SIGTERM", []string{"replay", walked, "-"}, func(t *testing.T, stdin io.Writer) io.Closer {
			stdin.Write(records(2))
			return nil
		}, syscall.SIGTERM, 143, "stopped after 1 file(s), 2 record(s)"},
		{"investigate FIFO without writer", []string{"investigate", "--by", "principal", walked, mkfifo(t, filepath.Join(dir, "nowriter2"))}, nil, syscall.SIGINT, 130, "read before stopping"},
		{"investigate /dev/zero", []string{"investigate", "--by", "principal", walked, "/dev/zero"}, nil, syscall.SIGINT, 130, "read before stopping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestSignalHelper$", "--"}, tc.args...)...)
			cmd.Env = append(os.Environ(), "SESGUARD_SIGNAL_HELPER=1")
			cmd.Dir = dir
			var stderr lockedBuffer
			cmd.Stderr = &stderr
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close() // never closed before the signal: an endless stdin
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			// Wait for the walk's report (the handler is installed by then).
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(stderr.String(), "skipped "+inner) {
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatalf("no report of the skipped FIFO; stderr:\n%s", stderr.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			if tc.feed != nil {
				if c := tc.feed(t, stdin); c != nil {
					defer c.Close()
				}
			}
			time.Sleep(300 * time.Millisecond) // let it block in the open or read
			sent := time.Now()
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				took := time.Since(sent)
				var ee *exec.ExitError
				code := 0
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				}
				t.Logf("exit %d %s after the signal", code, took.Round(time.Millisecond))
				if code != tc.code {
					t.Errorf("exit %d (%v), want %d; stderr:\n%s", code, err, tc.code, stderr.String())
				}
				// Loose: the point is seconds, not minutes; the machine may be loaded.
				if took > 3*time.Second {
					t.Errorf("took %s to stop", took)
				}
				if !strings.Contains(stderr.String(), tc.summary) {
					t.Errorf("stderr lacks %q:\n%s", tc.summary, stderr.String())
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("still running 10 s after %v; stderr:\n%s", tc.sig, stderr.String())
			}
		})
	}
}
