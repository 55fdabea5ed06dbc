package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/ops/forensics"
	"github.com/sesguard/sesguard/shared/policy"
)

const preflightUsage = `usage: sesguard policy preflight --policy FILE [--vpc-cidrs SPEC] [--since T] [--until T] PATH...|s3://bucket/prefix/

Before preventive controls are enforced: replay archived sends (SES Send events and successful
CloudTrail send calls) against the SES identity policy rendered from FILE (the Deny statements on
aws:SourceVpc, aws:SourceIp, ses:FromAddress and ses:Recipients, exactly as 'policy render --kind
identity' renders them) and list every send it would have denied, grouped by principal, network,
From and statement. Only sends through an identity the policy names (senders.identities) are
judged: the identity policy is attached to those alone.

The records carry the source IP, not the VPC: a private address is taken as a request through
the VPC whose block (--vpc-cidrs or $SESGUARD_VPC_CIDRS) holds it; a private address in no known
block has no aws:SourceVpc and is reported as denied, because nothing shows it would pass.
Exit status: 0 no send would have been denied, 2 some would (or some input could not be read),
1 usage or policy error.

flags:
`

type preflightKey struct {
	principal, network, from, sid string
}

type preflightGroup struct {
	n           int64
	first, last time.Time
	sample      string
	reason      string
}

func runPolicyPreflight(ctx context.Context, e env, args []string) int {
	fs := opFlagSet(e, "policy preflight", preflightUsage)
	policyPath := fs.String("policy", "", "the policy whose preventive controls are checked (required)")
	vpcCIDRs := fs.String("vpc-cidrs", "", "CIDR blocks of the policy's VPCs, \"vpc-a=10.0.0.0/16,...;vpc-b=...\" (default $"+policy.EnvVPCCIDRs+")")
	since := fs.String("since", "", "only sends at or after T")
	until := fs.String("until", "", "only sends before T")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	paths, code, ok := opParse(fs, args)
	if !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "policy preflight: "+format+"\n", a...)
		return exitUsage
	}
	if *policyPath == "" || len(paths) == 0 {
		return fail("give --policy FILE and at least one PATH (file, folder, s3://bucket/prefix/, or - for stdin)")
	}
	from, err := parseWhen(*since)
	if err != nil {
		return fail("--since: %v", err)
	}
	to, err := parseWhen(*until)
	if err != nil {
		return fail("--until: %v", err)
	}
	p, err := opReadPolicy(e, *policyPath)
	if err != nil {
		printPolicyErr(e.stderr, "policy preflight", err)
		return exitUsage
	}
	if err := opResolveVPCs(e, "policy preflight", p, *vpcCIDRs); err != nil {
		return fail("--vpc-cidrs: %v", err)
	}
	// The conditions are the same for every identity; the ARN only fills Resource.
	doc, err := policy.IdentityPolicy(p, "arn:aws:ses:us-east-1:000000000000:identity/preflight")
	if err != nil {
		return fail("%v", err)
	}
	inputs, opener, done, err := cliInputs(ctx, e, "policy preflight", paths, from, to, *quiet)
	defer done()
	if err != nil {
		return fail("%v", err)
	}
	inRange := func(t time.Time) bool {
		return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
	}
	groups := map[preflightKey]*preflightGroup{}
	var judged, unjudged, evalErrs int64
	vpcs := slices.Sorted(maps.Keys(p.Network.Resolved))
	judge := func(principal string, ip netip.Addr, fromAddr string, rcpts []string, at time.Time, id string) {
		req, network := preflightRequest(p, vpcs, ip)
		req.FromAddress, req.Recipients = fromAddr, rcpts
		d, err := doc.Denies(req)
		if err != nil {
			evalErrs++
			fmt.Fprintf(e.stderr, "policy preflight: %s: %v\n", id, err)
			return
		}
		judged++
		if d == nil {
			return
		}
		k := preflightKey{principal: principal, network: network, from: fromAddr, sid: d.Sid}
		g := groups[k]
		if g == nil {
			g = &preflightGroup{first: at, sample: strings.Clone(id), reason: d.Reason}
			k.principal, k.from = strings.Clone(k.principal), strings.Clone(k.from)
			groups[k] = g
		}
		g.n++
		g.first, g.last = minTime(g.first, at), maxTime(g.last, at)
	}
	var prog forensics.Progress
	stop := func() {}
	if !*quiet {
		stop = startProgress(relabel{e.stderr, "policy preflight"}, &prog, inputsSize(inputs), 5*time.Second)
	}
	errs := &errorLog{w: e.stderr, max: 10}
	runErr := forensics.Visit(ctx, inputs, forensics.VisitOptions{Stdin: e.stdin, Progress: &prog, OnError: errs.add, Open: opener},
		func(res *sesevent.Result) {
			for i := range res.Events {
				ev := &res.Events[i]
				if ev.Type != sesevent.TypeSend || !inRange(ev.MailTime) {
					continue
				}
				if ev.Identity == "" || !p.IdentityApproved(ev.Identity) {
					unjudged++
					continue
				}
				judge(ev.CallerIdentity, ev.SourceIP, sendFrom(ev), ev.Recipients, ev.MailTime, ev.MessageID)
			}
			if c := res.APICall; c != nil && c.IsSend() && !c.Failed() && inRange(c.EventTime) && c.SourceIP.IsValid() {
				addr, _ := policy.MailboxAddress(c.From)
				id := c.EventID
				if len(c.MessageIDs) > 0 {
					id = c.MessageIDs[0]
				}
				judge(c.Principal.Name, c.SourceIP, addr, nil, c.EventTime, id)
			}
		})
	stop()
	errs.finish()
	if runErr != nil {
		fmt.Fprintf(e.stderr, "policy preflight: stopped after %d file(s), %d record(s): %v (partial result follows)\n", prog.Files.Load(), prog.Records.Load(), runErr)
	}
	denied := printPreflight(e.stdout, groups, judged, unjudged)
	switch {
	case denied > 0, errs.n > 0, evalErrs > 0, runErr != nil:
		return exitInput
	}
	return exitOK
}

// cgnat is the shared address space (RFC 6598) a VPC may use besides the private blocks.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// preflightRequest fills the network keys the way the request would have reached SES. vpcs are
// the policy's resolved VPC ids, sorted once by the caller (this runs for every send).
func preflightRequest(p *policy.Policy, vpcs []string, ip netip.Addr) (policy.Request, string) {
	if !ip.IsValid() {
		return policy.Request{}, "(no source IP)"
	}
	ip = ip.Unmap()
	if ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || cgnat.Contains(ip) {
		for _, id := range vpcs {
			for _, b := range p.Network.Resolved[id] {
				if b.Contains(ip) {
					return policy.Request{SourceVpc: id}, id
				}
			}
		}
		return policy.Request{}, blockOf(ip) + " (private, in no known VPC block)"
	}
	return policy.Request{SourceIP: ip}, blockOf(ip)
}

func blockOf(ip netip.Addr) string {
	bits := 24
	if ip.Is6() {
		bits = 48
	}
	pf, _ := ip.Prefix(bits)
	return pf.String()
}

// sendFrom is ses:FromAddress: the envelope source SES recorded, else the first From.
func sendFrom(ev *sesevent.Event) string {
	if a, ok := policy.MailboxAddress(ev.Source); ok {
		return a
	}
	if len(ev.From) > 0 {
		return ev.From[0].Address
	}
	return ""
}

func printPreflight(w io.Writer, groups map[preflightKey]*preflightGroup, judged, unjudged int64) int64 {
	keys := make([]preflightKey, 0, len(groups))
	var denied int64
	for k, g := range groups {
		keys = append(keys, k)
		denied += g.n
	}
	slices.SortFunc(keys, func(a, b preflightKey) int {
		return cmp.Or(cmp.Compare(groups[b].n, groups[a].n), cmp.Compare(a.principal, b.principal), cmp.Compare(a.network, b.network), cmp.Compare(a.from, b.from), cmp.Compare(a.sid, b.sid))
	})
	fmt.Fprintf(w, "preflight: %d send(s) judged against the rendered identity policy, %d would have been DENIED", judged, denied)
	if unjudged > 0 {
		fmt.Fprintf(w, " (%d send(s) through identities the policy does not name were not judged)", unjudged)
	}
	fmt.Fprintln(w)
	if len(keys) == 0 {
		return 0
	}
	// The summary first: which principals and networks would lose mail.
	byWho := map[[2]string]int64{}
	for k, g := range groups {
		byWho[[2]string{k.principal, k.network}] += g.n
	}
	who := make([][2]string, 0, len(byWho))
	for k := range byWho {
		who = append(who, k)
	}
	slices.SortFunc(who, func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(byWho[b], byWho[a]), cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	})
	fmt.Fprintln(w, "\ndenied, by principal and network:")
	for _, k := range who {
		fmt.Fprintf(w, "  %-8d  %-32s  %s\n", byWho[k], orDash(safeText(k[0])), k[1])
	}
	fmt.Fprintf(w, "\n%-8s  %-32s  %-34s  %-32s  %-28s  %s\n", "SENDS", "PRINCIPAL", "NETWORK", "FROM", "STATEMENT", "SEEN / SAMPLE")
	for _, k := range keys {
		g := groups[k]
		fmt.Fprintf(w, "%-8d  %-32s  %-34s  %-32s  %-28s  %s .. %s  %s\n", g.n, orDash(safeText(k.principal)), k.network, orDash(safeText(k.from)), k.sid,
			g.first.UTC().Format(time.RFC3339), g.last.UTC().Format(time.RFC3339), safeText(g.sample))
	}
	return denied
}

// safeText keeps attacker-controlled text on one printable line.
func safeText(s string) string {
	q := fmt.Sprintf("%q", s)
	if q[1:len(q)-1] == s {
		return s
	}
	return q
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
