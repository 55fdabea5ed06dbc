package main

import (
	"context"

	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/sesguard/sesguard/shared/ops/forensics"
)

const investigateUsage = `usage: sesguard investigate PATH... --by principal|ip|from|identity|configuration-set|hour|access-key
         [--since T] [--until T] [--principal PATTERN] [--ip CIDR] [--outside-network]
         [--policy F] [--format table|json|csv]

Who sent what, from where, and what became of it. Reads SES event archives — files, folders in
the Firehose YYYY/MM/DD/HH layout (walked in order; with --since, hour folders ending more than
an hour before it are skipped), gzip, NDJSON or any envelope sesguard decodes, and - for stdin —
as a stream, so memory stays flat for any archive size. Groups sends by the --by dimension and
joins Reject, Bounce, Complaint, Delivery and the other events to their Send by message id to
count outcomes per group. CloudTrail SES API-call records (EventBridge, bare, CloudTrail log
files) are counted per group as API calls, with the access keys and operations seen; --by
access-key groups by the exact key that signed each call (SES events carry no key: (unknown)).

Filters apply to the message (mail.timestamp, ses:caller-identity, ses:source-ip), so a Send and
its outcomes are kept or dropped together. T is RFC 3339 (2026-05-04T09:30:00Z), or UTC
2026-05-04T09:30, 2026-05-04T09 or 2026-05-04; --since is inclusive, --until exclusive.
--outside-network keeps sends whose source IP is outside the policy's networks (a missing IP
counts as outside); with a policy the table also counts sends from unapproved networks and
principals. VPC ids in the policy need their blocks from --vpc-cidrs or $SESGUARD_VPC_CIDRS.

Memory bounds: the join remembers the last --max-join message ids (about 130 bytes each); an
outcome whose Send is older than that (or never seen) is grouped by its own tags and counted as
unjoined. At most --max-groups groups are kept; later keys are folded into "(other)". Duplicate
Sends (same message id within the join window) are counted once; duplicate outcome events are not
detected.

Progress goes to stderr every 5 s on long runs (--quiet turns it off). Records that fail to
decode are reported on stderr by file:line and skipped.
Exit status: 0, 2 when some records could not be decoded (the report is still printed), 1 on
usage errors.

flags:
`

// runInvestigate aggregates archives with shared/ops/forensics.
func runInvestigate(ctx context.Context, e env, args []string) int {
	fs := opFlagSet(e, "investigate", investigateUsage)
	by := fs.String("by", "", "dimension: principal, ip, from, identity, configuration-set, hour or access-key (required)")
	since := fs.String("since", "", "only messages sent at or after T")
	until := fs.String("until", "", "only messages sent before T")
	principal := fs.String("principal", "", "only callers matching this IAM StringLike pattern (e.g. 'ses-smtp-user.*')")
	ipFlag := fs.String("ip", "", "only source IPs in this CIDR or equal to this address")
	outside := fs.Bool("outside-network", false, "only sends from outside the policy's approved networks")
	policyPath := fs.String("policy", "", "policy file (default ./sesguard.yaml when present)")
	vpcCIDRs := fs.String("vpc-cidrs", "", "CIDR blocks of the policy's VPC ids: \"vpc-id=cidr,cidr;...\" (default $SESGUARD_VPC_CIDRS)")
	format := fs.String("format", "table", "output format: table, json or csv")
	maxJoin := fs.Int("max-join", forensics.DefaultMaxJoin, "message ids kept for joining outcomes to their Send")
	maxGroups := fs.Int("max-groups", forensics.DefaultMaxGroups, "groups kept before folding new keys into (other)")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	paths, code, ok := opParse(fs, args)
	if !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "investigate: "+format+"\n", a...)
		return exitUsage
	}
	if len(paths) == 0 {
		return fail("give at least one PATH (file, folder, or - for stdin)")
	}
	if *by == "" {
		return fail("--by is required (principal, ip, from, identity, configuration-set, hour or access-key)")
	}
	dim, err := forensics.ParseDimension(*by)
	if err != nil {
		return fail("--by: %v", err)
	}
	outFormat, err := forensics.ParseFormat(*format)
	if err != nil {
		return fail("--format: %v", err)
	}
	if *maxJoin < 0 || *maxGroups < 1 {
		return fail("--max-join must be >= 0 and --max-groups >= 1")
	}
	var f forensics.Filter
	if f.Since, err = parseWhen(*since); err != nil {
		return fail("--since: %v", err)
	}
	if f.Until, err = parseWhen(*until); err != nil {
		return fail("--until: %v", err)
	}
	f.Principal = *principal
	if *ipFlag != "" {
		if f.IP, err = parsePrefixOrAddr(*ipFlag); err != nil {
			return fail("--ip: %v", err)
		}
	}
	f.OutsideNetwork = *outside
	pol, err := opLoadPolicy(e, *policyPath)
	if err != nil {
		printPolicyErr(e.stderr, "investigate", err)
		return exitUsage
	}
	opt := forensics.Options{By: dim, Filter: f, MaxJoin: *maxJoin, MaxGroups: *maxGroups}
	if *maxJoin == 0 {
		opt.MaxJoin = -1 // 0 on the command line means no join; the package treats 0 as default
	}
	if pol != nil {
		if err := opResolveVPCs(e, "investigate", pol, *vpcCIDRs); err != nil {
			return fail("--vpc-cidrs: %v", err)
		}
		opt.Approver = pol
	} else if *outside {
		return fail("--outside-network needs a policy (--policy F, or ./sesguard.yaml)")
	}
	agg, err := forensics.New(opt)
	if err != nil {
		return fail("%v", err)
	}
	exp, err := forensics.Expand(localPaths(paths), f.Since)
	if err != nil {
		return fail("%v", err)
	}
	inputs, opener, doneS3, err := s3Inputs(ctx, e, "investigate", paths, exp.Inputs, f.Since, f.Until, *quiet)
	defer doneS3()
	if err != nil {
		return fail("%v", err)
	}
	for _, err := range exp.Errors {
		fmt.Fprintf(e.stderr, "investigate: skipped: %v\n", err)
	}
	for _, s := range exp.Skipped {
		fmt.Fprintf(e.stderr, "investigate: skipped %s, not read\n", s)
	}
	if exp.PrunedDirs > 0 && !*quiet {
		fmt.Fprintf(e.stderr, "investigate: skipped %d Firehose folder(s) that end before --since\n", exp.PrunedDirs)
	}

	var prog forensics.Progress
	var total int64
	for _, in := range inputs {
		total += in.Size
	}
	stopProgress := func() {}
	if !*quiet {
		stopProgress = startProgress(e.stderr, &prog, total, 5*time.Second)
	}
	tuneBulkGC(e.getenv, investigateMemoryLimit)
	errs := &errorLog{w: e.stderr, max: 10}
	start := time.Now()
	runErr := forensics.Run(ctx, agg, inputs, forensics.RunOptions{Stdin: e.stdin, Progress: &prog, OnError: errs.add, Open: opener})
	stopProgress()
	if runErr != nil {
		fmt.Fprintf(e.stderr, "investigate: stopped: %v (partial report follows)\n", runErr)
		fmt.Fprintln(e.stderr, progressLine(&prog, total, time.Since(start), "read before stopping"))
	}
	rep := agg.Report()
	if err := rep.Write(e.stdout, outFormat, pol != nil); err != nil {
		return fail("write report: %v", err)
	}
	errs.finish()
	if !*quiet && time.Since(start) > 5*time.Second {
		fmt.Fprintln(e.stderr, progressLine(&prog, total, time.Since(start), "done"))
	}
	if code, ok := interruptedExit(ctx); ok && runErr != nil {
		return code
	}
	if errs.n > 0 || runErr != nil || len(exp.Errors) > 0 {
		return exitInput
	}
	return exitOK
}

// parseWhen accepts RFC 3339 or UTC shorthands; "" is the zero time.
func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02T15", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2026-05-04T09:30:00Z) or UTC 2026-05-04T09:30, 2026-05-04T09, 2026-05-04", s)
}

func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("%s has host bits set (did you mean %s?)", s, p.Masked())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// errorLog prints the first max decode errors and counts the rest.
type errorLog struct {
	w   io.Writer
	max int
	n   int
	mu  sync.Mutex
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if l.n <= l.max {
		fmt.Fprintf(l.w, "investigate: skipped: %v\n", err)
	}
}

func (l *errorLog) finish() {
	if l.n > l.max {
		fmt.Fprintf(l.w, "investigate: ... and %d more undecodable record(s)\n", l.n-l.max)
	}
	if l.n > 0 {
		fmt.Fprintf(l.w, "investigate: %d record(s) could not be decoded\n", l.n)
	}
}

// startProgress prints a progress line to w every interval until the returned stop is called.
func startProgress(w io.Writer, p *forensics.Progress, total int64, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	start := time.Now()
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintln(w, progressLine(p, total, time.Since(start), "reading"))
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func progressLine(p *forensics.Progress, total int64, el time.Duration, what string) string {
	b := p.Bytes.Load()
	of := ""
	if total > 0 {
		of = fmt.Sprintf(" of %s (%.0f%%)", mib(total), 100*float64(b)/float64(total))
	}
	eta := ""
	if total > b && b > 0 && what != "done" {
		eta = ", ETA " + time.Duration(float64(el)*float64(total-b)/float64(b)).Round(time.Second).String()
	}
	return fmt.Sprintf("investigate: %s %s%s, %d file(s), %d record(s), %d error(s), %.1f MB/s, %s%s",
		what, mib(b), of, p.Files.Load(), p.Records.Load(), p.Errors.Load(), float64(b)/1e6/max(el.Seconds(), 1e-9), el.Round(time.Second), eta)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
