package lambdatest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// fnBinary is the test-only Lambda program under testdata/fn, built once in TestMain.
var fnBinary string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		fmt.Println("short: skipping the Lambda runtime harness tests (they build a binary)")
		return 0
	}
	dir, err := os.MkdirTemp("", "lambdatest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bins, err := Build(ctx, dir, "./testdata/fn")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fnBinary = bins["fn"]
	return m.Run()
}

func newRuntime(t *testing.T, opts Options) *Runtime {
	t.Helper()
	opts.Binary = fnBinary
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("function logs:\n%s", r.Logs())
		}
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

func invoke(t *testing.T, r *Runtime, payload string) ([]byte, *FunctionError) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, fnErr, err := r.Invoke(ctx, []byte(payload))
	if err != nil {
		t.Fatalf("invoke %s: harness error: %v", payload, err)
	}
	return out, fnErr
}

type echoReply struct {
	Value     string `json:"value"`
	RequestID string `json:"request_id"`
	Function  string `json:"function"`
	HasDL     bool   `json:"has_deadline"`
	Pid       int    `json:"pid"`
}

func echo(t *testing.T, r *Runtime, v string) echoReply {
	t.Helper()
	out, fnErr := invoke(t, r, `{"op":"echo","value":"`+v+`"}`)
	if fnErr != nil {
		t.Fatalf("echo: function error %v", fnErr)
	}
	var rep echoReply
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("echo reply %q: %v", out, err)
	}
	if rep.Value != v {
		t.Fatalf("echo value = %q, want %q", rep.Value, v)
	}
	return rep
}

func TestInvokeSuccessReusesProcess(t *testing.T) {
	r := newRuntime(t, Options{FunctionName: "echo-fn"})
	a := echo(t, r, "one")
	b := echo(t, r, "two")
	if a.Function != "echo-fn" || !a.HasDL || a.RequestID == "" || a.RequestID == b.RequestID {
		t.Errorf("lambda context not passed through: %+v %+v", a, b)
	}
	if a.Pid != b.Pid || r.Starts() != 1 {
		t.Errorf("warm invoke started a new process: pids %d %d, starts %d", a.Pid, b.Pid, r.Starts())
	}
	inits := r.InitDurations()
	if len(inits) != 1 || inits[0] <= 0 || inits[0] > 30*time.Second {
		t.Errorf("init durations = %v, want one positive", inits)
	}
	lines := LogLines(r.Logs())
	var sawInit, sawInvoke bool
	for _, l := range lines {
		sawInit = sawInit || l["msg"] == "init done"
		sawInvoke = sawInvoke || (l["msg"] == "invoke" && l["request_id"] == b.RequestID)
	}
	if !sawInit || !sawInvoke {
		t.Errorf("logs missing init/invoke lines:\n%s", r.Logs())
	}
}

func TestInvokeFailures(t *testing.T) {
	tests := []struct {
		name        string
		payload     string
		timeout     time.Duration
		wantType    string
		wantMessage string
		wantRestart bool
	}{
		{"handler error", `{"op":"error"}`, 0, "errorString", "asked to fail", false},
		{"panic", `{"op":"panic"}`, 0, "string", "asked to panic", true},
		{"exit mid-invoke", `{"op":"exit"}`, 0, ErrorTypeExit, "exit status 7 (during invoke)", true},
		{"timeout", `{"op":"sleep"}`, 700 * time.Millisecond, ErrorTypeTimeout, "Task timed out after 0.70 seconds", true},
		{"bad event", `{"op":42}`, 0, "UnmarshalTypeError", "cannot unmarshal number", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRuntime(t, Options{Timeout: tt.timeout})
			before := echo(t, r, "warm")
			_, fnErr := invoke(t, r, tt.payload)
			if fnErr == nil {
				t.Fatal("want a function error, got success")
			}
			if tt.wantType != "" && fnErr.Type != tt.wantType {
				t.Errorf("error type = %q, want %q (%v)", fnErr.Type, tt.wantType, fnErr)
			}
			if !strings.Contains(fnErr.Message, tt.wantMessage) {
				t.Errorf("error message = %q, want it to contain %q", fnErr.Message, tt.wantMessage)
			}
			after := echo(t, r, "again")
			restarted := after.Pid != before.Pid
			if restarted != tt.wantRestart {
				t.Errorf("restarted = %v, want %v (starts %d)", restarted, tt.wantRestart, r.Starts())
			}
			if tt.wantRestart && len(r.InitDurations()) != 2 {
				t.Errorf("init durations = %v, want one per process", r.InitDurations())
			}
		})
	}
}

func TestPanicCarriesStackTrace(t *testing.T) {
	r := newRuntime(t, Options{})
	_, fnErr := invoke(t, r, `{"op":"panic"}`)
	if fnErr == nil || len(fnErr.StackTrace) == 0 || string(fnErr.StackTrace) == "null" {
		t.Fatalf("panic error without stack trace: %+v", fnErr)
	}
}

func TestInitFailureIsExitErrorAndRetried(t *testing.T) {
	r := newRuntime(t, Options{Env: map[string]string{"FN_INIT_FAIL": "missing SESGUARD_TABLE"}})
	for i := range 2 {
		_, fnErr := invoke(t, r, `{"op":"echo","value":"x"}`)
		if fnErr == nil || fnErr.Type != ErrorTypeExit || !strings.Contains(fnErr.Message, "exit status 3 (during init)") {
			t.Fatalf("invoke %d: want Runtime.ExitError during init, got %+v", i, fnErr)
		}
	}
	if r.Starts() != 2 {
		t.Errorf("starts = %d, want a fresh process per invoke after init failure", r.Starts())
	}
	if len(r.InitDurations()) != 0 {
		t.Errorf("init durations = %v, want none (never reached /next)", r.InitDurations())
	}
	if !strings.Contains(r.Logs(), "missing SESGUARD_TABLE") {
		t.Errorf("init failure reason not captured in logs:\n%s", r.Logs())
	}
}

func TestContextCancel(t *testing.T) {
	r := newRuntime(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, _, err := r.Invoke(ctx, []byte(`{"op":"sleep"}`))
	if err != context.DeadlineExceeded {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	echo(t, r, "after cancel")
}

func TestLogsSince(t *testing.T) {
	r := newRuntime(t, Options{})
	echo(t, r, "first")
	off := r.LogOffset()
	b := echo(t, r, "second")
	got := r.LogsSince(off)
	if !strings.Contains(got, b.RequestID) || strings.Contains(got, "init done") {
		t.Errorf("LogsSince = %q, want only the second invoke", got)
	}
}

func TestClose(t *testing.T) {
	r, err := New(Options{Binary: fnBinary})
	if err != nil {
		t.Fatal(err)
	}
	echo(t, r, "x")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := r.Invoke(context.Background(), []byte(`{}`)); err == nil {
		t.Fatal("invoke after Close: want error")
	}
}

func TestNewRequiresBinary(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("want error without Binary")
	}
	if _, err := New(Options{Binary: "/nonexistent/bootstrap"}); err == nil {
		t.Fatal("want error for missing binary")
	}
}
