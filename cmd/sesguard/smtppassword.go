package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sesguard/sesguard/shared/ops/smtpcheck"
)

const smtpPasswordUsage = `usage: sesguard smtp-password --region R < secret-key-file

Derive the Amazon SES SMTP password (SigV4, version byte 0x04) for one Region from an IAM secret
access key read on stdin (one line; surrounding whitespace is ignored). The SMTP user name is the
access key id. The secret is never taken from the command line, so it stays out of shell history
and the process list.

flags:
`

// runSMTPPassword prints the SES SMTP password derived from the secret access key on stdin.
func runSMTPPassword(ctx context.Context, e env, args []string) int {
	fs := opFlagSet(e, "smtp-password", smtpPasswordUsage)
	region := fs.String("region", "", "AWS Region the SMTP endpoint is in, e.g. eu-west-1 (required; passwords are per Region)")
	rest, code, ok := opParse(fs, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		// Never echo the argument: it may well be the secret itself.
		fmt.Fprintf(e.stderr, "smtp-password: unexpected argument (%d given); the secret is read from stdin only\n", len(rest))
		return exitUsage
	}
	if *region == "" {
		fmt.Fprintln(e.stderr, "smtp-password: --region is required")
		return exitUsage
	}
	secret, err := readSecret(e.stdin)
	if err != nil {
		fmt.Fprintf(e.stderr, "smtp-password: %v\n", err)
		return exitUsage
	}
	pw, err := smtpcheck.SMTPPassword(secret, *region)
	if err != nil {
		fmt.Fprintf(e.stderr, "smtp-password: %v\n", err)
		return exitUsage
	}
	fmt.Fprintln(e.stdout, pw)
	return exitOK
}

// readSecret reads exactly one non-empty line (bounded) from r.
func readSecret(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("no stdin")
	}
	sc := bufio.NewScanner(io.LimitReader(r, 64<<10))
	var lines []string
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			lines = append(lines, s)
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read secret access key from stdin: %w", err)
	}
	switch len(lines) {
	case 0:
		return "", errors.New("no secret access key on stdin")
	case 1:
		return lines[0], nil
	default:
		return "", fmt.Errorf("stdin has %d non-empty lines; give exactly one secret access key", len(lines))
	}
}

// opFlagSet returns a flag set for one operator subcommand that reports to e.stderr and prints
// the long usage text before the flag defaults.
func opFlagSet(e env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprint(e.stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// opParse parses flags that may appear before, between or after positional arguments (so
// `investigate a.json --by ip` works) and returns the positionals; everything after a literal
// "--" is positional. ok is false when the caller should return code at once: exitOK for
// -h/--help, exitUsage for a bad flag.
func opParse(fs *flag.FlagSet, args []string) (rest []string, code int, ok bool) {
	var tail []string
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return append(rest, tail...), 0, true
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}
