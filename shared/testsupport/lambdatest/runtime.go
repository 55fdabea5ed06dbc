// Package lambdatest drives a real Lambda `bootstrap` binary through a local implementation of the
// Lambda Runtime API (the AWS Runtime Interface Emulator cannot be downloaded here). It serves
// /2018-06-01/runtime/invocation/{next,ID/response,ID/error} on 127.0.0.1, starts the binary with
// AWS_LAMBDA_RUNTIME_API and the usual Lambda environment, and behaves as Lambda does when the
// process dies: the invoke fails with Runtime.ExitError and the next invoke starts a fresh process
// (a cold start). Tests only.
package lambdatest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

const apiPrefix = "/2018-06-01/runtime/invocation/"

// Error types the harness reports itself, as Lambda does.
const (
	ErrorTypeExit    = "Runtime.ExitError"
	ErrorTypeTimeout = "Sandbox.Timedout"
)

// Options configure a Runtime.
type Options struct {
	// Binary is the path of the bootstrap executable (required). Its directory is the working
	// directory and LAMBDA_TASK_ROOT, as /var/task is in Lambda.
	Binary string
	// FunctionName defaults to the binary's directory name.
	FunctionName string
	// Env is added to (and overrides) the Lambda environment the harness sets. The parent
	// process environment is NOT inherited, so a function cannot depend on the developer's shell.
	Env map[string]string
	// Timeout is the function timeout: the invoke deadline header and the point at which the
	// harness kills the process and reports Sandbox.Timedout. Default 60s.
	Timeout time.Duration
	// MemoryMB is AWS_LAMBDA_FUNCTION_MEMORY_SIZE; default 128.
	MemoryMB int
}

// FunctionError is a failed invocation: what the function posted to /error, or what the harness
// observed (Runtime.ExitError, Sandbox.Timedout). It mirrors Lambda's error payload.
type FunctionError struct {
	Type       string          `json:"errorType"`
	Message    string          `json:"errorMessage"`
	StackTrace json.RawMessage `json:"stackTrace,omitempty"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// Runtime is one simulated execution environment: at most one process and one in-flight invoke.
type Runtime struct {
	opts   Options
	srv    *http.Server
	addr   string
	closed chan struct{}

	// invokeMu serialises Invoke: one execution environment handles one event at a time.
	invokeMu sync.Mutex

	mu       sync.Mutex
	proc     *process
	inflight map[string]*invocation
	seq      int
	inits    []time.Duration
	starts   int
	// logs is a file, not a pipe: the process writes it directly, so everything it logged before
	// answering an invoke is readable when Invoke returns (a pipe copier would lag behind).
	logs      *os.File
	closeOnce sync.Once
}

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	done     chan result // buffered 1
}

type result struct {
	body  []byte
	fnErr *FunctionError
}

type process struct {
	cmd     *exec.Cmd
	started time.Time
	ready   chan struct{} // closed at the first /next
	readyMu sync.Once
	exited  chan struct{} // closed when the process has exited
	waitErr error
	// queue hands an invocation to this process's pending /next. Per process, so a /next left
	// over from a killed process can never swallow an event meant for its successor.
	queue chan *invocation
}

// New starts the Runtime API server. The process itself starts lazily on the first Invoke (a
// cold start), and again after a crash. Close stops both.
func New(opts Options) (*Runtime, error) {
	if opts.Binary == "" {
		return nil, errors.New("lambdatest: Options.Binary is required")
	}
	bin, err := filepath.Abs(opts.Binary)
	if err != nil {
		return nil, fmt.Errorf("lambdatest: binary path: %w", err)
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("lambdatest: binary: %w", err)
	}
	opts.Binary = bin
	if opts.FunctionName == "" {
		opts.FunctionName = filepath.Base(filepath.Dir(bin))
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.MemoryMB <= 0 {
		opts.MemoryMB = 128
	}
	logs, err := os.CreateTemp("", "lambdatest-"+opts.FunctionName+"-*.log")
	if err != nil {
		return nil, fmt.Errorf("lambdatest: log file: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		logs.Close()
		os.Remove(logs.Name())
		return nil, fmt.Errorf("lambdatest: listen: %w", err)
	}
	r := &Runtime{
		opts:     opts,
		addr:     ln.Addr().String(),
		closed:   make(chan struct{}),
		inflight: map[string]*invocation{},
		logs:     logs,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"next", r.handleNext)
	mux.HandleFunc("POST "+apiPrefix+"{id}/response", r.handleResponse)
	mux.HandleFunc("POST "+apiPrefix+"{id}/error", r.handleError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", r.handleInitError)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// Addr is the host:port given to the process as AWS_LAMBDA_RUNTIME_API.
func (r *Runtime) Addr() string { return r.addr }

// Invoke sends payload to the function and waits for its answer. A function failure (an error
// returned by the handler, a panic, the process dying in init or mid-invoke, a timeout) is a
// *FunctionError with a nil err; err is for harness problems and ctx cancellation.
func (r *Runtime) Invoke(ctx context.Context, payload []byte) ([]byte, *FunctionError, error) {
	r.invokeMu.Lock()
	defer r.invokeMu.Unlock()
	select {
	case <-r.closed:
		return nil, nil, errors.New("lambdatest: runtime closed")
	default:
	}
	r.mu.Lock()
	r.seq++
	inv := &invocation{
		id:       fmt.Sprintf("00000000-0000-4000-8000-%012d", r.seq),
		payload:  payload,
		deadline: time.Now().Add(r.opts.Timeout),
		done:     make(chan result, 1),
	}
	r.inflight[inv.id] = inv
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.inflight, inv.id)
		r.mu.Unlock()
	}()

	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()

	// Hand the event to the process's /next. The process may die in init before asking (the
	// invoke fails, as in Lambda), or may be exiting after its previous invoke, e.g. after a panic
	// it reported: then this invoke simply gets a fresh process (a cold start).
	var p *process
	for {
		var err error
		if p, err = r.ensureProcess(); err != nil {
			return nil, nil, err
		}
		select {
		case p.queue <- inv:
		case <-p.exited:
			if p.isReady() {
				continue
			}
			return nil, r.exitError(inv, p), nil
		case <-timer.C:
			return nil, r.timeout(p), nil
		case <-ctx.Done():
			r.kill(p)
			return nil, nil, ctx.Err()
		}
		break
	}

	select {
	case res := <-inv.done:
		return res.body, res.fnErr, nil
	case <-p.exited:
		// A panicking runtime posts /error and then exits: prefer what it posted.
		select {
		case res := <-inv.done:
			return res.body, res.fnErr, nil
		default:
		}
		return nil, r.exitError(inv, p), nil
	case <-timer.C:
		return nil, r.timeout(p), nil
	case <-ctx.Done():
		r.kill(p)
		return nil, nil, ctx.Err()
	}
}

// ensureProcess returns the live process, starting one if there is none (cold start).
func (r *Runtime) ensureProcess() (*process, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil {
		select {
		case <-r.proc.exited:
		default:
			return r.proc, nil
		}
	}
	cmd := exec.Command(r.opts.Binary)
	cmd.Dir = filepath.Dir(r.opts.Binary)
	cmd.Env = r.environ()
	cmd.Stdout, cmd.Stderr = r.logs, r.logs
	p := &process{cmd: cmd, ready: make(chan struct{}), exited: make(chan struct{}), queue: make(chan *invocation)}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("lambdatest: start %s: %w", r.opts.Binary, err)
	}
	r.starts++
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	r.proc = p
	return p, nil
}

func (r *Runtime) environ() []string {
	name := r.opts.FunctionName
	env := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          r.addr,
		"AWS_LAMBDA_FUNCTION_NAME":        name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(r.opts.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      "2026/01/01/[$LATEST]lambdatest",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_EXECUTION_ENV":               "AWS_Lambda_provided.al2023",
		"AWS_REGION":                      "us-east-1",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"LAMBDA_TASK_ROOT":                filepath.Dir(r.opts.Binary),
		"LAMBDA_RUNTIME_DIR":              filepath.Dir(r.opts.Binary),
		"_HANDLER":                        "bootstrap",
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
	}
	maps.Copy(env, r.opts.Env)
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func (p *process) isReady() bool {
	select {
	case <-p.ready:
		return true
	default:
		return false
	}
}

func (r *Runtime) exitError(inv *invocation, p *process) *FunctionError {
	<-p.exited
	status := "exit status 0"
	if p.waitErr != nil {
		status = p.waitErr.Error() // "exit status 3", "signal: killed", ...
	}
	phase := "during invoke"
	if !p.isReady() {
		phase = "during init"
	}
	return &FunctionError{
		Type:    ErrorTypeExit,
		Message: fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s (%s)", inv.id, status, phase),
	}
}

func (r *Runtime) timeout(p *process) *FunctionError {
	r.kill(p)
	return &FunctionError{
		Type:    ErrorTypeTimeout,
		Message: fmt.Sprintf("Task timed out after %.2f seconds", r.opts.Timeout.Seconds()),
	}
}

func (r *Runtime) kill(p *process) {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

func (r *Runtime) handleNext(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p == nil {
		http.Error(w, "no process", http.StatusGone)
		return
	}
	p.readyMu.Do(func() {
		r.mu.Lock()
		r.inits = append(r.inits, time.Since(p.started))
		r.mu.Unlock()
		close(p.ready)
	})
	select {
	case inv := <-p.queue:
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:"+r.opts.FunctionName)
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0")
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
	case <-req.Context().Done():
	case <-p.exited:
	case <-r.closed:
		// Any status but 200 makes the runtime exit, which is what shutdown wants.
		http.Error(w, "runtime shutting down", http.StatusGone)
	}
}

func (r *Runtime) handleResponse(w http.ResponseWriter, req *http.Request) {
	r.complete(w, req, false)
}

func (r *Runtime) handleError(w http.ResponseWriter, req *http.Request) {
	r.complete(w, req, true)
}

func (r *Runtime) complete(w http.ResponseWriter, req *http.Request, failed bool) {
	id := req.PathValue("id")
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	inv, ok := r.inflight[id]
	r.mu.Unlock()
	if !ok {
		http.Error(w, fmt.Sprintf("unknown request id %q", id), http.StatusBadRequest)
		return
	}
	res := result{body: body}
	if failed {
		fe := &FunctionError{}
		if err := json.Unmarshal(body, fe); err != nil || fe.Type == "" && fe.Message == "" {
			fe = &FunctionError{Type: "Runtime.InvalidErrorPayload", Message: string(body)}
		}
		res = result{fnErr: fe}
	}
	select {
	case inv.done <- res:
		w.WriteHeader(http.StatusAccepted)
	default:
		http.Error(w, fmt.Sprintf("request id %q already completed", id), http.StatusBadRequest)
	}
}

// handleInitError accepts the init error report some runtimes send (aws-lambda-go does not);
// the harness learns of init failures from the process exit either way.
func (r *Runtime) handleInitError(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	fmt.Fprintf(r.logs, "lambdatest: init error reported: %s\n", body)
	r.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// InitDurations returns, for each process that reached its first /next, the time from process
// start to that first /next (Lambda's "Init Duration").
func (r *Runtime) InitDurations() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.inits...)
}

// Starts is how many processes the runtime has started (1 + restarts).
func (r *Runtime) Starts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts
}

// Logs returns everything the processes wrote to stdout and stderr so far.
func (r *Runtime) Logs() string { return r.LogsSince(0) }

// LogOffset returns the current length of the log, to read only later output with LogsSince.
func (r *Runtime) LogOffset() int {
	fi, err := os.Stat(r.logs.Name())
	if err != nil {
		return 0
	}
	return int(fi.Size())
}

// LogsSince returns what was logged after offset.
func (r *Runtime) LogsSince(offset int) string {
	b, err := os.ReadFile(r.logs.Name())
	if err != nil {
		return fmt.Sprintf("lambdatest: read logs: %v", err)
	}
	if offset > len(b) {
		return ""
	}
	return string(b[offset:])
}

// Close stops the process (if any) and the Runtime API server, and deletes the log file.
func (r *Runtime) Close() error {
	var err error
	r.closeOnce.Do(func() {
		close(r.closed)
		r.mu.Lock()
		p := r.proc
		r.mu.Unlock()
		if p != nil {
			select {
			case <-p.exited:
			default:
				_ = p.cmd.Process.Kill()
				select {
				case <-p.exited:
				case <-time.After(10 * time.Second):
					err = errors.New("lambdatest: process did not exit after kill")
				}
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if e := r.srv.Shutdown(ctx); e != nil && err == nil {
			err = fmt.Errorf("lambdatest: shutdown: %w", e)
		}
		r.logs.Close()
		os.Remove(r.logs.Name())
	})
	return err
}

// LogLines returns the JSON log lines in s that decode as objects, skipping any other output.
func LogLines(s string) []map[string]any {
	var out []map[string]any
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}
