package forensics

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/sesguard/sesguard/shared/policy"
)

// Entry is one approved value with its evidence.
type Entry struct {
	Value       string
	Sends       int64 // sends (SES Send events and successful send API calls)
	Calls       int64 // other SES API calls
	First, Last time.Time
	Sample      string // a message id (or CloudTrail event id)
	Note        string
}

// Rejection is history the suggestion deliberately does not approve.
type Rejection struct {
	What   string // e.g. "network 203.0.113.0/24"
	Why    string
	Sends  int64
	Calls  int64
	First  time.Time
	Last   time.Time
	Sample string
}

// Suggestion is a reviewed-by-a-person policy proposal.
type Suggestion struct {
	Opt          SuggestOptions
	First, Last  time.Time
	Sends, Calls int64
	Skipped      int64

	Networks          []Entry
	VPCEndpoints      []Entry
	Principals        []Entry
	From              []Entry
	Identities        []Entry
	ConfigurationSets []Entry
	RecipientDomains  []Entry // the top N
	RecipientsAny     bool    // approve any domain: the tail did not fit in N
	RecipientTail     int64   // recipients outside the top N
	RecipientDistinct int     // distinct domains seen (a lower bound when RecipientCap was hit)

	PeakSends     int64 // most sends by one principal in any two adjacent windows
	PeakPrincipal string
	PeakAt        time.Time
	MaxSends      int64

	NotApproved []Rejection
	Review      []string // approved, but worth a look (setup calls)
}

// groupVerdict is why a group is not evidence ("" when it is).
type groupVerdict struct {
	what, why string
}

// Suggest decides what to approve. Every decision not to approve is made per block, per
// principal or per principal-hour on the whole history, so a burst cannot vouch for itself.
func (s *Suggester) Suggest() *Suggestion {
	o := s.opt
	out := &Suggestion{Opt: o, First: s.first, Last: s.last, Sends: s.sends, Calls: s.calls, Skipped: s.skipped}
	historyDays := s.last.Sub(s.first).Hours() / 24

	// 1. Blocks.
	type blockStat struct {
		ev         evidence
		principals map[string]bool
	}
	blocks := map[netip.Prefix]*blockStat{}
	for k, g := range s.groups {
		if !k.block.IsValid() {
			continue
		}
		b := blocks[k.block]
		if b == nil {
			b = &blockStat{principals: map[string]bool{}}
			blocks[k.block] = b
		}
		b.ev.merge(&g.ev)
		b.ev.merge(&g.callEv)
		b.principals[k.principal] = true
	}
	badBlock := map[netip.Prefix]groupVerdict{}
	for pf, b := range blocks {
		what := "network " + pf.String()
		who := "by " + quoteSet(b.principals)
		switch {
		case len(o.Network) > 0 && !inAny(o.Network, pf):
			badBlock[pf] = groupVerdict{what, "outside the --network hint (" + prefixList(o.Network) + ") " + who}
		case b.ev.n < o.MinBlockSends:
			badBlock[pf] = groupVerdict{what, fmt.Sprintf("one-off: %d send(s)/call(s) in all the history (fewer than %d) %s", b.ev.n, o.MinBlockSends, who)}
		case historyDays > 3 && b.ev.last.Sub(b.ev.first) < o.ShortLived:
			badBlock[pf] = groupVerdict{what, fmt.Sprintf("short-lived: every send/call within %s (history spans %.0f days) %s — a new network used for one burst is what a leaked key looks like",
				b.ev.last.Sub(b.ev.first).Round(time.Minute), historyDays, who)}
		}
	}

	// 2. Principals.
	badPrincipal := map[string]groupVerdict{}
	for k, g := range s.groups {
		p := k.principal
		if _, done := badPrincipal[p]; done {
			continue
		}
		switch {
		case p == "":
			badPrincipal[p] = groupVerdict{"unidentified principal", "no ses:caller-identity / userIdentity: cannot be approved (attribution.missing)"}
		case g.root:
			badPrincipal[p] = groupVerdict{"principal " + strconv.Quote(p), "the root user: never an approved sender"}
		case g.foreign != "":
			badPrincipal[p] = groupVerdict{"principal " + strconv.Quote(p), "of another account " + g.foreign +
				" (sending authorization): approve it by ARN, arn:aws:iam::" + g.foreign + ":user/" + p + " or :role/" + p + ", after checking the delegation"}
		}
	}
	for p, r := range s.rates {
		if _, done := badPrincipal[p]; done || p == "" || r.sent < o.Limits.BounceRate.MinSends {
			continue
		}
		br, cr := float64(r.bounced)/float64(r.sent), float64(r.complained)/float64(r.sent)
		switch {
		case br > o.Limits.BounceRate.Max:
			badPrincipal[p] = groupVerdict{"principal " + strconv.Quote(p), fmt.Sprintf("bounce rate %.2f%% over the history, above limits.bounce_rate.max %.2f%%", 100*br, 100*o.Limits.BounceRate.Max)}
		case r.sent >= o.Limits.ComplaintRate.MinSends && cr > o.Limits.ComplaintRate.Max:
			badPrincipal[p] = groupVerdict{"principal " + strconv.Quote(p), fmt.Sprintf("complaint rate %.3f%% over the history, above limits.complaint_rate.max %.3f%%", 100*cr, 100*o.Limits.ComplaintRate.Max)}
		}
	}

	verdict := func(k groupKey) (groupVerdict, bool) {
		if v, ok := badPrincipal[k.principal]; ok {
			return v, true
		}
		if !k.block.IsValid() {
			return groupVerdict{"sends with no source IP", "ses:source-ip missing: the network cannot be approved (network.unknown_source)"}, true
		}
		if v, ok := badBlock[k.block]; ok {
			return v, true
		}
		return groupVerdict{}, false
	}

	// 3. Usual hours, from the sends that passed 1 and 2.
	type hodKey struct {
		p   string
		hod int64
	}
	days := map[string]map[int64]bool{}
	hodDays := map[hodKey]map[int64]bool{}
	hodSends := map[hodKey]int64{}
	total := map[string]int64{}
	for k, g := range s.groups {
		if _, bad := verdict(k); bad || g.ev.n == 0 {
			continue
		}
		day, hod := k.hour/24, k.hour%24
		if days[k.principal] == nil {
			days[k.principal] = map[int64]bool{}
		}
		days[k.principal][day] = true
		hk := hodKey{k.principal, hod}
		if hodDays[hk] == nil {
			hodDays[hk] = map[int64]bool{}
		}
		hodDays[hk][day] = true
		hodSends[hk] += g.ev.n
		total[k.principal] += g.ev.n
	}
	unusual := func(k groupKey) (groupVerdict, bool) {
		hk := hodKey{k.principal, k.hour % 24}
		d := len(days[k.principal])
		if d < 7 || len(hodDays[hk]) > 2 || float64(hodSends[hk]) >= 0.01*float64(total[k.principal]) {
			return groupVerdict{}, false
		}
		return groupVerdict{fmt.Sprintf("principal %q at %02d:00-%02d:59 UTC", k.principal, hk.hod, hk.hod),
			fmt.Sprintf("outside its usual hours: active at this hour on %d of its %d days, %.2f%% of its sends", len(hodDays[hk]), d, 100*float64(hodSends[hk])/float64(total[k.principal]))}, true
	}

	// 4. Calls by principals that never sent are reconnaissance until a person says otherwise.
	sender := map[string]bool{}
	for k, g := range s.groups {
		if _, bad := verdict(k); !bad && g.ev.n > 0 {
			if _, odd := unusual(k); !odd {
				sender[k.principal] = true
			}
		}
	}

	rej := map[string]*Rejection{}
	reject := func(v groupVerdict, g *group) {
		key := v.what + "\x00" + v.why
		r := rej[key]
		if r == nil {
			r = &Rejection{What: v.what, Why: v.why}
			rej[key] = r
		}
		ev := g.ev
		ev.merge(&g.callEv)
		if r.Sends+r.Calls == 0 || ev.first.Before(r.First) || (ev.first.Equal(r.First) && ev.sample < r.Sample) {
			r.First, r.Sample = ev.first, ev.sample
		}
		if ev.last.After(r.Last) {
			r.Last = ev.last
		}
		r.Sends += g.ev.n
		r.Calls += g.calls
	}

	principals := map[string]*Entry{}
	nets := map[netip.Prefix]*Entry{}
	froms := map[string]*evidence{}
	ids := map[string]*evidence{}
	css := map[string]*evidence{}
	rcpt := map[string]int64{}
	vpce := map[string]int64{}
	var rcptOther int64
	clean := map[groupKey]bool{}
	for k, g := range s.groups {
		if v, bad := verdict(k); bad {
			reject(v, g)
			continue
		}
		if v, bad := unusual(k); bad && g.ev.n > 0 {
			reject(v, g)
			continue
		}
		if g.ev.n == 0 && !sender[k.principal] {
			if g.calls > 0 {
				reject(groupVerdict{fmt.Sprintf("API calls by %q from %s", k.principal, k.block),
					"reconnaissance-shaped: SES API calls by a principal with no approved sends (a leaked key is tried with GetSendQuota/GetAccount/ListIdentities first)"}, g)
			}
			continue
		}
		clean[k] = true
		addEntry(principals, k.principal, g)
		n := nets[k.block]
		if n == nil {
			n = &Entry{Value: k.block.String()}
			nets[k.block] = n
		}
		n.merge(g)
		for a, e := range g.from {
			mergeInto(froms, a, e)
		}
		for a, e := range g.identity {
			mergeInto(ids, a, e)
		}
		for a, e := range g.cs {
			mergeInto(css, a, e)
		}
		for d, c := range g.rcpt {
			rcpt[d] += c
		}
		rcptOther += g.rcptOther
		for id, c := range g.vpce {
			vpce[id] += c
		}
		for _, name := range g.setup {
			out.Review = append(out.Review, fmt.Sprintf("%s by %q from %s in the hour of %s: a setup change, approved here only because the principal and network are; check it was intended",
				name, k.principal, k.block, time.Unix(k.hour*3600, 0).UTC().Format("2006-01-02T15Z")))
		}
		if len(g.missing) > 0 {
			for what, c := range g.missing {
				out.Review = append(out.Review, fmt.Sprintf("%d send(s) by %q carry no %s: sesguard flags them whatever the policy says", c, k.principal, what))
			}
		}
	}
	slices.Sort(out.Review)
	out.Review = slices.Compact(out.Review)

	for _, r := range rej {
		out.NotApproved = append(out.NotApproved, *r)
	}

	// Networks: the approved blocks, merged where siblings are both present.
	var keys []netip.Prefix
	for pf := range nets {
		keys = append(keys, pf)
	}
	for agg, members := range policy.AggregatePrefixes(keys, o.MinPrefix4, o.MinPrefix6) {
		e := Entry{Value: agg.String()}
		addrs := 0
		for _, m := range members {
			e.mergeEntry(nets[m])
			addrs += len(s.blockIPs[m])
		}
		e.Note = fmt.Sprintf("%d address(es) seen", addrs)
		if len(members) > 1 {
			e.Note += fmt.Sprintf(" in %d /%d blocks", len(members), members[0].Bits())
		}
		if addrs >= 256 {
			e.Note = "256+ addresses seen"
		}
		out.Networks = append(out.Networks, e)
	}
	for id, c := range vpce {
		out.VPCEndpoints = append(out.VPCEndpoints, Entry{Value: id, Calls: c})
	}
	for _, e := range principals {
		out.Principals = append(out.Principals, *e)
	}
	out.From = fromEntries(froms, o.FromWildcardOver)
	out.Identities = evidenceEntries(ids)
	out.ConfigurationSets = evidenceEntries(css)

	// Recipient domains: list them while they fit, else approve any and show the head.
	var doms []Entry
	for d, c := range rcpt {
		doms = append(doms, Entry{Value: d, Sends: c})
	}
	sortEntries(doms)
	out.RecipientDistinct = len(doms)
	if len(doms) > o.RecipientTopN || rcptOther > 0 {
		out.RecipientsAny = true
		for _, d := range doms[o.RecipientTopN:] {
			out.RecipientTail += d.Sends
		}
		out.RecipientTail += rcptOther
		doms = doms[:o.RecipientTopN]
	}
	out.RecipientDomains = doms

	// Volume: the peak of two adjacent windows bounds the detector's sliding estimate.
	per := map[string]map[int64]int64{}
	for vk, c := range s.vol {
		if !clean[vk.g] {
			continue
		}
		m := per[vk.g.principal]
		if m == nil {
			m = map[int64]int64{}
			per[vk.g.principal] = m
		}
		m[vk.bucket] += c
	}
	w := int64(o.Limits.PerPrincipal.Window / time.Second)
	for p, m := range per {
		for b, c := range m {
			at := time.Unix((b-1)*w, 0).UTC()
			// Ties go to the first principal, then the earliest window: map order must not show.
			if sum := c + m[b-1]; sum > out.PeakSends || (sum == out.PeakSends &&
				(p < out.PeakPrincipal || (p == out.PeakPrincipal && at.Before(out.PeakAt)))) {
				out.PeakSends, out.PeakPrincipal, out.PeakAt = sum, p, at
			}
		}
	}
	out.MaxSends = niceCeil(int64(math.Ceil(float64(out.PeakSends) * o.Headroom)))
	out.MaxSends = max(out.MaxSends, 20)

	sortEntries(out.Networks)
	sortEntries(out.VPCEndpoints)
	sortEntries(out.Principals)

	// Observed values are attacker-controlled text: only those the loader accepts as literals are
	// written, so one crafted From can neither widen the policy nor stop the suggestion.
	out.Principals = out.keepLiteral("senders.principals", "principal", out.Principals)
	out.From = out.keepLiteral("senders.from", "From", out.From)
	out.Identities = out.keepLiteral("senders.identities", "identity", out.Identities)
	out.ConfigurationSets = out.keepLiteral("senders.configuration_sets", "configuration set", out.ConfigurationSets)
	if !out.RecipientsAny {
		out.RecipientDomains = out.keepLiteral("recipients.domains", "recipient domain", out.RecipientDomains)
	}
	slices.SortFunc(out.NotApproved, func(a, b Rejection) int {
		return cmp.Or(cmp.Compare(b.Sends+b.Calls, a.Sends+a.Calls), cmp.Compare(a.What, b.What), cmp.Compare(a.Why, b.Why))
	})
	return out
}

// keepLiteral moves the entries that may not be written to field into NotApproved. The
// *@domain entries fromEntries made are checked as patterns whose domain is a literal.
func (s *Suggestion) keepLiteral(field, what string, es []Entry) []Entry {
	kept := es[:0]
	for _, e := range es {
		var err error
		if d, ok := strings.CutPrefix(e.Value, "*@"); ok && field == "senders.from" && e.Note != "" {
			if err = policy.CheckLiteral("recipients.domains", d); err == nil {
				err = policy.CheckPattern(field, e.Value)
			}
		} else {
			err = policy.CheckLiteral(field, e.Value)
		}
		if err != nil {
			s.NotApproved = append(s.NotApproved, Rejection{What: what + " " + strconv.Quote(e.Value), Why: "not a valid " + field + " entry: " + err.Error(),
				Sends: e.Sends, Calls: e.Calls, First: e.First, Last: e.Last, Sample: e.Sample})
			continue
		}
		kept = append(kept, e)
	}
	return kept
}

func inAny(hint []netip.Prefix, b netip.Prefix) bool {
	for _, h := range hint {
		if h.Bits() <= b.Bits() && h.Contains(b.Addr()) {
			return true
		}
	}
	return false
}

func prefixList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

func quoteSet(m map[string]bool) string {
	var s []string
	for k := range m {
		if k == "" {
			k = "(unidentified)"
		}
		s = append(s, strconv.Quote(k))
	}
	slices.Sort(s)
	if len(s) > 5 {
		s = append(s[:5], fmt.Sprintf("+%d more", len(s)-5))
	}
	return strings.Join(s, ", ")
}

func (e *Entry) merge(g *group) {
	ev := g.ev
	ev.merge(&g.callEv)
	e.mergeEntry(&Entry{Sends: g.ev.n, Calls: g.calls, First: ev.first, Last: ev.last, Sample: ev.sample})
}

func (e *Entry) mergeEntry(o *Entry) {
	if o.Sends+o.Calls == 0 {
		return
	}
	if e.Sends+e.Calls == 0 || o.First.Before(e.First) || (o.First.Equal(e.First) && o.Sample < e.Sample) {
		e.First, e.Sample = o.First, o.Sample // the earliest message: independent of merge order
	}
	if o.Last.After(e.Last) {
		e.Last = o.Last
	}
	e.Sends += o.Sends
	e.Calls += o.Calls
}

func addEntry(m map[string]*Entry, key string, g *group) {
	e := m[key]
	if e == nil {
		e = &Entry{Value: key}
		m[key] = e
	}
	e.merge(g)
}

func mergeInto(m map[string]*evidence, key string, e *evidence) {
	t := m[key]
	if t == nil {
		t = &evidence{}
		m[key] = t
	}
	t.merge(e)
}

func evidenceEntries(m map[string]*evidence) []Entry {
	var out []Entry
	for k, e := range m {
		out = append(out, Entry{Value: k, Sends: e.n, First: e.first, Last: e.last, Sample: e.sample})
	}
	sortEntries(out)
	return out
}

// fromEntries lists From addresses literally, or as *@domain when a domain has more than over
// distinct local parts (per-recipient or per-order addresses would otherwise never settle).
func fromEntries(m map[string]*evidence, over int) []Entry {
	byDomain := map[string][]string{}
	for a := range m {
		d := policy.DomainOf(a)
		byDomain[d] = append(byDomain[d], a)
	}
	var out []Entry
	for d, addrs := range byDomain {
		if d != "" && len(addrs) > over {
			e := Entry{Value: "*@" + d, Note: fmt.Sprintf("%d distinct local parts, more than %d", len(addrs), over)}
			for _, a := range addrs {
				ev := m[a]
				e.mergeEntry(&Entry{Sends: ev.n, First: ev.first, Last: ev.last, Sample: ev.sample})
			}
			out = append(out, e)
			continue
		}
		for _, a := range addrs {
			ev := m[a]
			out = append(out, Entry{Value: a, Sends: ev.n, First: ev.first, Last: ev.last, Sample: ev.sample})
		}
	}
	sortEntries(out)
	return out
}

func sortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(b.Sends+b.Calls, a.Sends+a.Calls), cmp.Compare(a.Value, b.Value))
	})
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten, so a limit reads as chosen, not
// computed to the unit.
func niceCeil(n int64) int64 {
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}

// WriteYAML writes the suggestion as a commented sesguard.yaml.
func (s *Suggestion) WriteYAML(w io.Writer) error {
	b := &strings.Builder{}
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04Z") }
	ev := func(e Entry) string {
		var parts []string
		if e.Sends > 0 {
			parts = append(parts, fmt.Sprintf("%d send(s)", e.Sends))
		}
		if e.Calls > 0 {
			parts = append(parts, fmt.Sprintf("%d API call(s)", e.Calls))
		}
		if !e.First.IsZero() {
			parts = append(parts, day(e.First)+" .. "+day(e.Last))
		}
		if e.Sample != "" {
			parts = append(parts, "e.g. "+e.Sample)
		}
		if e.Note != "" {
			parts = append(parts, e.Note)
		}
		return comment(strings.Join(parts, "; "))
	}
	list := func(indent, key string, es []Entry, quote bool) {
		if len(es) == 0 {
			p("%s%s: []   # nothing observed that could be approved\n", indent, key)
			return
		}
		p("%s%s:\n", indent, key)
		for _, e := range es {
			v := e.Value
			if quote {
				v = yamlQuote(v)
			}
			p("%s  - %-40s # %s\n", indent, v, ev(e))
		}
	}

	p("# sesguard.yaml suggested by `sesguard policy suggest` from %d send(s) and %d SES API call(s),\n", s.Sends, s.Calls)
	if !s.First.IsZero() {
		p("# %s .. %s.\n", day(s.First), day(s.Last))
	}
	p("# A person reviews this before it is deployed: every entry names its evidence (sends, first and\n")
	p("# last seen, a sample message id), lists are sorted by volume, and what was deliberately NOT\n")
	p("# approved is listed, with why, at the end. Replaying the same history under this policy raises\n")
	p("# findings only for what that section lists.\n")
	p("version: 1\n\n")

	p("network:\n")
	p("  # Source addresses grouped into /%d (IPv4) and /%d (IPv6) blocks; sibling blocks merged, never\n", s.Opt.MaxPrefix4, s.Opt.MaxPrefix6)
	p("  # wider than /%d (IPv4) or /%d (IPv6).\n", s.Opt.MinPrefix4, s.Opt.MinPrefix6)
	list("  ", "cidrs", s.Networks, false)
	for _, e := range s.Networks {
		if pf, err := netip.ParsePrefix(e.Value); err == nil && pf.Addr().IsPrivate() {
			p("  # Private blocks (%s ...) reach SES through a VPC endpoint: detection matches them\n", e.Value)
			p("  # here, but the preventive identity policy can only let them through by VPC id, so\n")
			p("  # list those VPCs under vpcs: before enforcing preventive controls (policy preflight checks).\n")
			break
		}
	}
	if len(s.VPCEndpoints) > 0 {
		p("  # Calls came through these VPC endpoints; list the VPC ids behind them under vpcs so the\n")
		p("  # preventive policies (aws:SourceVpc) let them through:\n")
		for _, e := range s.VPCEndpoints {
			p("  #   %s (%d call(s))\n", comment(e.Value), e.Calls)
		}
	}
	p("\nsenders:\n")
	list("  ", "principals", s.Principals, true)
	p("  # From: literal addresses, or *@domain when a domain used more than %d local parts.\n", s.Opt.FromWildcardOver)
	list("  ", "from", s.From, true)
	list("  ", "identities", s.Identities, true)
	list("  ", "configuration_sets", s.ConfigurationSets, true)

	p("\nrecipients:\n")
	if s.RecipientsAny {
		p("  # %d+ distinct recipient domains: more than the %d a list here holds, and a newsletter's\n", s.RecipientDistinct, s.Opt.RecipientTopN)
		p("  # tail is unbounded, so any domain is approved. The top %d, for review:\n", len(s.RecipientDomains))
		for _, d := range s.RecipientDomains {
			p("  #   %-38s %d recipient(s)\n", comment(d.Value), d.Sends)
		}
		p("  #   (+ %d recipient(s) in the tail)\n", s.RecipientTail)
		p("  domains: [\"*\"]\n")
	} else {
		p("  # every recipient domain seen (%d, within the %d listed before approving any):\n", s.RecipientDistinct, s.Opt.RecipientTopN)
		if len(s.RecipientDomains) == 0 {
			p("  domains: []\n")
		} else {
			p("  domains:\n")
			for _, d := range s.RecipientDomains {
				p("    - %-40s # %d recipient(s)\n", yamlQuote(d.Value), d.Sends)
			}
		}
	}

	lim := s.Opt.Limits
	p("\nlimits:\n")
	if s.PeakSends > 0 {
		p("  # Peak: %q sent %d in two adjacent %s windows from %s (an upper bound of any sliding\n", s.PeakPrincipal, s.PeakSends, durationYAML(lim.PerPrincipal.Window), day(s.PeakAt))
		p("  # %s window); max_sends = that × %.1f headroom, rounded up to 1/2/5×10^n (at least 20).\n", durationYAML(lim.PerPrincipal.Window), s.Opt.Headroom)
	}
	p("  per_principal: { window: %s, max_sends: %d }\n", durationYAML(lim.PerPrincipal.Window), s.MaxSends)
	p("  bounce_rate: { window: %s, max: %g, min_sends: %d }\n", durationYAML(lim.BounceRate.Window), lim.BounceRate.Max, lim.BounceRate.MinSends)
	p("  complaint_rate: { window: %s, max: %g, min_sends: %d }\n", durationYAML(lim.ComplaintRate.Window), lim.ComplaintRate.Max, lim.ComplaintRate.MinSends)

	p("\nresponse:\n")
	p("  mode: dry-run   # switch to enforce once replay and the first days are quiet\n")

	p("\n# ---------------------------------------------------------------------------------------------\n")
	p("# NOT approved, and why. Replay under this policy raises findings for these; approve one by\n")
	p("# hand only after checking it.\n")
	if len(s.NotApproved) == 0 {
		p("#   (nothing)\n")
	}
	for _, r := range s.NotApproved {
		p("#   %s: %s\n", comment(r.What), comment(r.Why))
		p("#       %s\n", ev(Entry{Sends: r.Sends, Calls: r.Calls, First: r.First, Last: r.Last, Sample: r.Sample}))
	}
	if len(s.Review) > 0 {
		p("#\n# Approved, but worth a look:\n")
		for _, r := range s.Review {
			p("#   %s\n", comment(r))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func durationYAML(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// yamlQuote writes s as a YAML double-quoted scalar (Go's escapes are a subset of YAML's).
func yamlQuote(s string) string { return strconv.Quote(s) }

// comment makes attacker-controlled text safe inside a YAML comment: one line, printable, short.
func comment(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 400 {
		s = string(r[:400]) + "…"
	}
	return s
}
