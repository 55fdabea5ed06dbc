package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/ops/forensics"
	"github.com/sesguard/sesguard/shared/policy"
)

const suggestUsage = `usage: sesguard policy suggest PATH... [--since T] [--until T] [-o FILE] [--network CIDR,...]

Read SES event archives and CloudTrail SES records (files, folders, - for stdin, s3://bucket/prefix/)
and write a policy that approves the observed legitimate traffic, as YAML for a person to review:
every entry carries its evidence (sends, first/last seen, a sample message id), lists are sorted
by volume, and a closing "NOT approved, and why" section lists what was deliberately left out:
networks outside --network, one-off and short-lived networks (a burst from a new network is what
a leaked key looks like), the root user, unidentified and other-account callers, principals whose
bounce or complaint rate is above the limits, sends outside a principal's usual hours, and SES API
calls by principals that never sent (reconnaissance). Replaying the same history under the output
raises findings only for what that section lists.

Choices: addresses are approved as /24 (IPv4) and /48 (IPv6) blocks, sibling blocks merged but
never wider than /16 (IPv4) or /32 (IPv6) unless --allow-wide; a From domain with more than
--from-wildcard-over local parts becomes *@domain; up to --recipient-top recipient domains are
listed, beyond that any domain is approved ("*") with the top ones as a comment; max_sends is the
peak of one principal in two adjacent windows times --headroom, rounded up to 1/2/5×10^n.
The output is checked with the policy loader before it is written.
Exit status: 0 written, 1 usage error, 2 some input could not be read (the policy is still written).

flags:
`

func runPolicySuggest(ctx context.Context, e env, args []string) int {
	fs := opFlagSet(e, "policy suggest", suggestUsage)
	since := fs.String("since", "", "only history at or after T")
	until := fs.String("until", "", "only history before T")
	outPath := fs.String("o", "", "write the policy to FILE (default stdout)")
	network := fs.String("network", "", "comma-separated CIDRs legitimate traffic comes from; anything outside is not approved")
	max4 := fs.Int("max-prefix4", 24, "approve IPv4 addresses as blocks of this prefix length")
	max6 := fs.Int("max-prefix6", 48, "approve IPv6 addresses as blocks of this prefix length")
	min4 := fs.Int("min-prefix4", 16, "never merge IPv4 blocks wider than this (below 16 needs --allow-wide)")
	min6 := fs.Int("min-prefix6", 32, "never merge IPv6 blocks wider than this (below 32 needs --allow-wide)")
	wide := fs.Bool("allow-wide", false, "allow --min-prefix4 < 16 / --min-prefix6 < 32")
	fromOver := fs.Int("from-wildcard-over", 10, "approve *@domain when a From domain has more than this many local parts")
	rcptTop := fs.Int("recipient-top", 20, fmt.Sprintf("list at most this many recipient domains (1..%d); more approves any", forensics.RecipientCap))
	headroom := fs.Float64("headroom", 2, "max_sends = observed peak × this (> 1)")
	minBlock := fs.Int64("min-block-sends", 5, "a network block with fewer sends/calls is a one-off and not approved")
	policyPath := fs.String("policy", "", "take limits (window, bounce/complaint thresholds) from this policy (default: the defaults)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	paths, code, ok := opParse(fs, args)
	if !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "policy suggest: "+format+"\n", a...)
		return exitUsage
	}
	if len(paths) == 0 {
		return fail("give at least one PATH (file, folder, s3://bucket/prefix/, or - for stdin)")
	}
	var opt forensics.SuggestOptions
	var err error
	if opt.Since, err = parseWhen(*since); err != nil {
		return fail("--since: %v", err)
	}
	if opt.Until, err = parseWhen(*until); err != nil {
		return fail("--until: %v", err)
	}
	if *network != "" {
		for _, s := range strings.Split(*network, ",") {
			pf, err := parsePrefixOrAddr(strings.TrimSpace(s))
			if err != nil {
				return fail("--network: %v", err)
			}
			opt.Network = append(opt.Network, pf)
		}
	}
	switch {
	case *max4 < 8 || *max4 > 32 || *max6 < 16 || *max6 > 128:
		return fail("--max-prefix4 must be 8..32 and --max-prefix6 16..128")
	case *min4 > *max4 || *min6 > *max6:
		return fail("--min-prefix4/6 must not exceed --max-prefix4/6")
	case (*min4 < 16 || *min6 < 32) && !*wide:
		return fail("--min-prefix4 below 16 or --min-prefix6 below 32 approves very wide ranges: add --allow-wide if you mean it")
	case *min4 < 1 || *min6 < 1:
		return fail("--min-prefix4/6 must be at least 1")
	case *rcptTop < 1 || *rcptTop > forensics.RecipientCap:
		return fail("--recipient-top must be 1..%d", forensics.RecipientCap)
	case *headroom <= 1:
		return fail("--headroom must be above 1")
	case *fromOver < 1 || *minBlock < 1:
		return fail("--from-wildcard-over and --min-block-sends must be at least 1")
	}
	opt.MaxPrefix4, opt.MaxPrefix6, opt.MinPrefix4, opt.MinPrefix6 = *max4, *max6, *min4, *min6
	opt.FromWildcardOver, opt.RecipientTopN, opt.Headroom, opt.MinBlockSends = *fromOver, *rcptTop, *headroom, *minBlock
	if *policyPath != "" {
		base, err := opReadPolicy(e, *policyPath)
		if err != nil {
			printPolicyErr(e.stderr, "policy suggest", err)
			return exitUsage
		}
		opt.Limits = base.Limits
	}

	inputs, opener, done, err := cliInputs(ctx, e, "policy suggest", paths, opt.Since, opt.Until, *quiet)
	defer done()
	if err != nil {
		return fail("%v", err)
	}
	sg := forensics.NewSuggester(opt)
	var prog forensics.Progress
	stop := func() {}
	if !*quiet {
		stop = startProgress(relabel{e.stderr, "policy suggest"}, &prog, inputsSize(inputs), 5*time.Second)
	}
	errs := &errorLog{w: e.stderr, max: 10}
	runErr := forensics.Visit(ctx, inputs, forensics.VisitOptions{Stdin: e.stdin, Progress: &prog, OnError: errs.add, Open: opener},
		func(res *sesevent.Result) {
			for i := range res.Events {
				sg.Add(&res.Events[i])
			}
			if res.APICall != nil {
				sg.AddCall(res.APICall)
			}
		})
	stop()
	errs.finish()
	if runErr != nil {
		fmt.Fprintf(e.stderr, "policy suggest: stopped after %d file(s), %d record(s): %v; no policy written from a partial history\n",
			prog.Files.Load(), prog.Records.Load(), runErr)
		return exitInput
	}
	s := sg.Suggest()
	if s.Sends == 0 && s.Calls == 0 {
		return fail("no sends or SES API calls in the input (%d record(s) read): nothing to suggest from", prog.Records.Load())
	}
	var buf bytes.Buffer
	if err := s.WriteYAML(&buf); err != nil {
		return fail("%v", err)
	}
	name := *outPath
	if name == "" {
		name = "<suggested>"
	}
	// Never hand a person a policy the loader would refuse.
	if _, err := policy.Load(buf.Bytes(), name); err != nil {
		printPolicyErr(e.stderr, "policy suggest: internal error: the suggested policy does not load", err)
		return exitUsage
	}
	if *outPath == "" {
		if _, err := e.stdout.Write(buf.Bytes()); err != nil {
			return fail("write: %v", err)
		}
	} else if err := os.WriteFile(*outPath, buf.Bytes(), 0o644); err != nil {
		return fail("write %s: %v", *outPath, err)
	}
	fmt.Fprintf(e.stderr, "policy suggest: %d send(s), %d API call(s) → %d network block(s), %d principal(s), %d From, %d identit(ies), %d configuration set(s); %d item(s) not approved\n",
		s.Sends, s.Calls, len(s.Networks), len(s.Principals), len(s.From), len(s.Identities), len(s.ConfigurationSets), len(s.NotApproved))
	if errs.n > 0 {
		return exitInput
	}
	return exitOK
}

func inputsSize(in []forensics.Input) int64 {
	var n int64
	for _, i := range in {
		n += i.Size
	}
	return n
}
