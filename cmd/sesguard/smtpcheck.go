package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/sesguard/sesguard/shared/ops/smtpcheck"
)

const smtpCheckUsage = `usage: sesguard smtp-check --host H [--port P] [--user U --password-env V] [flags]

Check an SMTP endpoint step by step and print a verdict per step: DNS (is the answer private, i.e.
the SMTP VPC endpoint, or public?), TCP connect (with a timeout, so a blocking security group
shows up in seconds instead of minutes), greeting, EHLO, STARTTLS (or implicit TLS on 465/2465),
TLS version and certificate, AUTH PLAIN or LOGIN, QUIT. It never sends mail.

The password is read from the environment variable named by --password-env, never from the
command line. For SES, the user is the IAM access key id and the password comes from
'sesguard smtp-password'.

Exit status: 0 when no step failed (warnings allowed), 2 when a step failed, 1 on usage errors.

flags:
`

// runSMTPCheck runs smtpcheck.Check with flags from the command line.
func runSMTPCheck(ctx context.Context, e env, args []string) int {
	fs := opFlagSet(e, "smtp-check", smtpCheckUsage)
	host := fs.String("host", "", "SMTP host, e.g. email-smtp.eu-west-1.amazonaws.com (required)")
	port := fs.Int("port", 587, "TCP port (SES: STARTTLS on 25, 587, 2587; implicit TLS on 465, 2465)")
	user := fs.String("user", "", "AUTH user name (SES: the access key id); AUTH is skipped without it")
	passEnv := fs.String("password-env", "SMTP_PASSWORD", "environment variable holding the AUTH password")
	mech := fs.String("auth", "", "AUTH mechanism PLAIN or LOGIN (default: PLAIN if offered, else LOGIN)")
	timeout := fs.Duration("timeout", smtpcheck.DefaultTimeout, "timeout for each network step")
	mode := fs.String("tls-mode", "", "starttls or implicit (default: implicit for 465 and 2465, else starttls)")
	expect := fs.String("expect-dns", "", "fail unless the host resolves to a private or public answer (private|public)")
	serverName := fs.String("server-name", "", "name to verify the certificate against (default: --host), e.g. when connecting to a vpce-… name")
	insecure := fs.Bool("insecure", false, "do not verify the server certificate (reported as a warning)")
	format := fs.String("format", "text", "output format: text or json")
	rest, code, ok := opParse(fs, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintf(e.stderr, "smtp-check: unexpected argument %q\n", rest[0])
		return exitUsage
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(e.stderr, "smtp-check: --format %q: want text or json\n", *format)
		return exitUsage
	}
	cfg := smtpcheck.Config{
		Host: *host, Port: *port, Timeout: *timeout,
		TLSMode: smtpcheck.TLSMode(*mode), AuthMech: *mech, ExpectReach: smtpcheck.Reach(*expect),
		ServerName: *serverName, Username: *user,
	}
	if *insecure {
		cfg.TLSConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // operator's explicit choice, reported as a warning
	}
	if !envVarName(*passEnv) {
		// Never echo it: this is where a password pasted in the wrong place ends up.
		fmt.Fprintln(e.stderr, "smtp-check: --password-env is not an environment variable name (or looks like an SMTP password itself); give the variable's NAME, e.g. --password-env SMTP_PASSWORD")
		return exitUsage
	}
	if *user != "" {
		cfg.Password = e.getenv(*passEnv)
		if cfg.Password == "" {
			fmt.Fprintf(e.stderr, "smtp-check: --user given but $%s is empty; export the password there (or name another variable with --password-env)\n", *passEnv)
			return exitUsage
		}
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(e.stderr, "smtp-check: %v\n", err)
		return exitUsage
	}
	rep := smtpcheck.Check(ctx, cfg)
	var err error
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.WriteText(e.stdout)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "smtp-check: write report: %v\n", err)
		return exitUsage
	}
	if rep.Failed() {
		return exitInput
	}
	return exitOK
}

// envVarName reports whether s is a plausible environment variable name: a shell identifier that
// is not itself an SES SMTP password (44 base64 characters decoding to version byte 0x04 + 32).
func envVarName(s string) bool {
	if s == "" || len(s) > 128 || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 33 && b[0] == smtpcheck.SMTPPasswordVersion {
		return false
	}
	return true
}
