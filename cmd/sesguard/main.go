// Command sesguard is the operator CLI: replay and investigate SES event archives, inspect keys,
// validate and render the policy, contain and restore, check coverage and SMTP connectivity.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Exit codes shared by every subcommand.
const (
	exitOK    = 0
	exitUsage = 1 // usage or configuration error
	exitInput = 2 // input errors (bad records), or a check that found a problem
)

// env is what a subcommand gets instead of globals, so tests can run commands in-process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// replayChunk overrides defaultReplayChunk (tests: output must not depend on it).
	replayChunk int
}

type command struct {
	summary string
	run     func(ctx context.Context, e env, args []string) int
}

func commands() map[string]command {
	return map[string]command{
		"replay":        {"decode events, detect, print findings and the (dry-run) containment plan", runReplay},
		"investigate":   {"aggregate archived events by principal, ip, from, identity, configuration set or hour", runInvestigate},
		"keys":          {"list IAM access keys last used for ses / ses-smtp", runKeys},
		"policy":        {"validate or render the policy file", runPolicy},
		"contain":       {"plan or apply containment for a finding", runContain},
		"restore":       {"roll back one containment action from the ledger", runRestore},
		"coverage":      {"report identities and configuration sets sesguard does not monitor", runCoverage},
		"smtp-check":    {"check DNS, TCP, STARTTLS and AUTH against an SMTP endpoint (sends no mail)", runSMTPCheck},
		"smtp-password": {"derive the SES SMTP password from a secret access key on stdin", runSMTPPassword},
		"version":       {"print the module version and VCS revision this binary was built from", runVersion},
	}
}

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		cancel(interrupted{s})
		// A second signal: whatever still runs did not stop on the first; stop now.
		s = <-sigs
		os.Exit(signalExit(s))
	}()
	code := run(ctx, env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	signal.Stop(sigs)
	os.Exit(code)
}

// interrupted is the cause of the command context's cancellation when a signal stopped it.
type interrupted struct{ sig os.Signal }

func (i interrupted) Error() string { return "interrupted (" + i.sig.String() + ")" }

// signalExit is the shell's exit status for a process killed by s: 128 + its number (130 for
// SIGINT, 143 for SIGTERM).
func signalExit(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 128 + int(syscall.SIGINT)
}

// interruptedExit reports whether ctx was cancelled by a signal, and the exit status to use.
func interruptedExit(ctx context.Context) (int, bool) {
	var in interrupted
	if errors.As(context.Cause(ctx), &in) {
		return signalExit(in.sig), true
	}
	return 0, false
}

func run(ctx context.Context, e env, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr, cmds)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "--version" || args[0] == "-version" {
		return runVersion(ctx, e, nil)
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "sesguard: unknown command %q\n\n", args[0])
		usage(e.stderr, cmds)
		return exitUsage
	}
	return c.run(ctx, e, args[1:])
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: sesguard <command> [flags] [args]\n\ncommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'sesguard <command> -h' for the flags of one command.")
}
