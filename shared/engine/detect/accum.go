package detect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
)

// maxIPs bounds the distinct source IPs named in a finding's detail.
const maxIPs = 5

// accum collects one batch's hits and counter increments.
type accum struct {
	groups     map[groupKey]*group
	groupOrder []groupKey
	// sendGroups holds, per (account, dimension, window), the group of each per-send rule
	// (indexed as Detector.perSend), so a send that breaks several rules looks its groups up once.
	sendGroups map[groupKey][]*group
	// verdicts memoises per-send checks by Rule.key for the batch (whose events keep the key
	// strings alive, so nothing outlives the batch). recent is its first level, one small
	// direct-mapped table per rule (see Detector.violates).
	verdicts map[verdictKey]bool
	recent   [][recentVerdicts]recentVerdict

	vol      map[volKey]*volGroup
	volOrder []volKey

	sends          map[rateKey]*int64
	recentSends    [16]recentSend // a front for sends, as recent is for verdicts
	sendOrder      []rateKey
	bounces        map[rateKey]*rateGroup
	bounceOrder    []rateKey
	complaints     map[rateKey]*rateGroup
	complaintOrder []rateKey

	undo []undoOp // State increments made so far, taken back if the batch fails

	sendCounts map[sendPeriod]int64 // first-seen Send events of the batch per counter period

	// Counters read by principalCounters (one item per principal and rate bucket): the volume
	// bucket and its predecessor, and the principal's rate denominator. Nil: evalVolume and
	// evalRates keep their own counters.
	volCur, volPrev map[volKey]int64
	sndCount        map[rateKey]int64
}

func newAccum() *accum {
	return &accum{
		groups: make(map[groupKey]*group), sendGroups: make(map[groupKey][]*group), verdicts: make(map[verdictKey]bool), vol: make(map[volKey]*volGroup),
		sends: make(map[rateKey]*int64), bounces: make(map[rateKey]*rateGroup), complaints: make(map[rateKey]*rateGroup),
		sendCounts: make(map[sendPeriod]int64),
	}
}

// addSend counts n deliveries (recipients) of a send.
func (a *accum) addSend(k rateKey, n int64) {
	// Every Send adds to two counters; most sends of a batch share a few (hint.go).
	h := addrHint(k.name, k.account, "") + uintptr(k.start) + uintptr(k.win)*7 //nolint:gosec // a hint: wrapping is fine
	if k.identity {
		h++
	}
	slot := &a.recentSends[slotOf(h, len(a.recentSends))]
	if slot.n != nil && slot.k == k {
		*slot.n += n
		return
	}
	c := a.sends[k]
	if c == nil {
		c = new(int64)
		a.sends[k] = c
		a.sendOrder = append(a.sendOrder, k)
	}
	*c += n
	*slot = recentSend{k: k, n: c}
}

type recentSend struct {
	k rateKey
	n *int64
}

func (a *accum) addFeedback(kind feedbackKind, k rateKey, e *sesevent.Event) {
	m, order := a.bounces, &a.bounceOrder
	if kind == kindComplaint {
		m, order = a.complaints, &a.complaintOrder
	}
	g := m[k]
	if g == nil {
		g = &rateGroup{}
		m[k] = g
		*order = append(*order, k)
	}
	g.events = append(g.events, e)
	g.n += deliveries(len(feedbackRecipients(e)))
}

// deliveries is how many emails SES counts for a message or feedback event naming n recipients:
// one per recipient (at least one).
func deliveries(n int) int64 { return int64(max(n, 1)) }

// hitSpec says which finding a hit belongs to.
type hitSpec struct {
	rule      string
	account   string
	principal string // caller name ("" when unknown or for identity-dimension findings)
	identity  string // set for identity-dimension rate findings
	dim       string // aggregation dimension: the principal, or "identity:NAME"
	start     time.Time
	end       time.Time
	detail    string
	// why gives the detail of a per-send rule, computed once per group rather than per hit.
	why       func(p *policy.Policy, e *sesevent.Event) string
	metric    float64
	threshold float64
	key, vpce string // API sends joined to their CloudTrail data event (apisend.go)
	// unapprovedOnly keeps only the recipients the policy does not approve in the sample.
	unapprovedOnly bool
}

// recentVerdicts is the size of a rule's first-level verdict table (a power of two).
const recentVerdicts = 64

// recentVerdict is one slot of a first-level verdict table.
type recentVerdict struct {
	k       [3]string
	v, used bool
}

// verdictKey is a per-send rule (its index in Detector.perSend) and the inputs its check reads.
type verdictKey struct {
	rule int
	k    [3]string
}

// groupKey is a finding group of a batch: rule, account, dimension and window start.
type groupKey struct {
	rule, account, dim string
	start              int64 // Unix seconds
}

// group is one finding's share of a batch.
type group struct {
	id, rule, account, principal string
	identity                     string // fixed identity (identity-dimension findings)
	start, end                   time.Time
	detail                       string
	metric, threshold            float64

	n           int64
	first, last time.Time
	region      string
	ips         []string
	msgIDs      []string
	from        []string
	recipients  []string
	identities  string // first identity seen
	configSet   string

	// API-call findings: the principal from the call itself, and the CloudTrail records.
	callPrincipal *finding.Principal
	eventIDs      []string
	eventNames    []string
	vpce          string
	key           string // a per-send finding's exact key, from joined data events
	created       []finding.Created

	// Every Region, SES identity and caller seen (the evidence lists them when more than one).
	regions, identityList, callers []string
}

// seen records the Region, identity and caller of one hit.
func (g *group) seen(region, identity, caller string) {
	addUnique(&g.regions, region, finding.MaxRegions)
	addUnique(&g.identityList, identity, finding.MaxIdentities)
	addUnique(&g.callers, caller, finding.MaxPrincipals)
}

// several returns list when it holds more than one value, else nil.
func several(list []string) []string {
	if len(list) > 1 {
		return list
	}
	return nil
}

// FindingID is the deterministic id of the finding for (rule, account, dimension, window start):
// the dimension is the principal name, or "identity:NAME" for per-identity rate findings.
func FindingID(rule, account, dim string, windowStart time.Time) string {
	sum := sha256.Sum256([]byte(finding.SchemaFinding + "\x00" + rule + "\x00" + account + "\x00" + dim + "\x00" + windowStart.UTC().Format(time.RFC3339)))
	return "sgf-" + hex.EncodeToString(sum[:16])
}

func (a *accum) hit(d *Detector, h hitSpec, e *sesevent.Event, recipients []string) {
	a.add(d, a.group(d, &h, e), &h, e, recipients)
}

// group returns the batch's group of h, creating it (with its detail) on the first hit. h is a
// pointer (it is about 200 bytes, and a flood passes it six times a send) and is not changed.
func (a *accum) group(d *Detector, h *hitSpec, e *sesevent.Event) *group {
	key := groupKey{h.rule, h.account, h.dim, h.start.Unix()}
	g := a.groups[key]
	if g == nil {
		detail := h.detail
		if h.why != nil {
			detail = h.why(d.p, e)
		}
		g = &group{id: FindingID(h.rule, h.account, h.dim, h.start), rule: h.rule, account: h.account, principal: h.principal,
			identity: h.identity, start: h.start, end: h.end, detail: detail, key: h.key}
		a.groups[key] = g
		a.groupOrder = append(a.groupOrder, key)
	}
	return g
}

// add records one hit of e in g.
func (a *accum) add(d *Detector, g *group, h *hitSpec, e *sesevent.Event, recipients []string) {
	// Rate and volume details and metrics describe the latest state: keep the newest.
	if h.metric != 0 {
		g.metric, g.threshold, g.detail = h.metric, h.threshold, h.detail
	}
	t := d.when(e)
	g.n++
	if g.first.IsZero() || t.Before(g.first) {
		g.first = t
	}
	if t.After(g.last) {
		g.last = t
	}
	if g.region == "" {
		g.region = e.Region
	}
	g.seen(e.Region, e.Identity, e.CallerIdentity)
	if e.SourceIP.IsValid() && len(g.ips) < maxIPs+1 {
		addUnique(&g.ips, e.SourceIP.String(), maxIPs+1)
	}
	addUnique(&g.msgIDs, e.MessageID, finding.MaxMessageIDs)
	for _, f := range e.From {
		addUnique(&g.from, f.Address, finding.MaxFrom)
	}
	for _, r := range recipients {
		if len(g.recipients) >= finding.MaxRecipients {
			break
		}
		if h.unapprovedOnly && d.p.RecipientApproved(r) {
			continue
		}
		addUnique(&g.recipients, r, finding.MaxRecipients)
	}
	if g.identities == "" {
		g.identities = e.Identity
	}
	if g.configSet == "" {
		g.configSet = e.ConfigurationSet
	}
	if g.vpce == "" {
		g.vpce = h.vpce
	}
}

// hitCall is hit for a CloudTrail API call at time t by principal pr.
func (a *accum) hitCall(d *Detector, h hitSpec, c *cloudtrail.Event, t time.Time, pr finding.Principal) *group {
	key := groupKey{h.rule, h.account, h.dim, h.start.Unix()}
	g := a.groups[key]
	if g == nil {
		g = &group{id: FindingID(h.rule, h.account, h.dim, h.start), rule: h.rule, account: h.account, principal: h.principal,
			start: h.start, end: h.end, detail: h.detail, callPrincipal: &pr}
		a.groups[key] = g
		a.groupOrder = append(a.groupOrder, key)
	}
	g.n++
	if g.first.IsZero() || t.Before(g.first) {
		g.first = t
	}
	if t.After(g.last) {
		g.last = t
	}
	if g.region == "" {
		g.region = c.Region
	}
	g.seen(c.Region, c.Identity, c.Principal.Name)
	if c.SourceIP.IsValid() {
		addUnique(&g.ips, c.SourceIP.String(), maxIPs+1)
	}
	for _, id := range c.MessageIDs {
		addUnique(&g.msgIDs, id, finding.MaxMessageIDs)
	}
	addUnique(&g.eventIDs, c.EventID, finding.MaxEventIDs)
	addUnique(&g.eventNames, c.EventName, finding.MaxEventIDs)
	addUnique(&g.from, c.From, finding.MaxFrom)
	if g.identities == "" {
		g.identities = c.Identity
	}
	if g.configSet == "" {
		g.configSet = c.ConfigurationSet
	}
	if g.vpce == "" {
		g.vpce = c.VPCEndpointID
	}
	return g
}

// addUnique appends v to *list unless present, empty, or the list holds max values.
func addUnique(list *[]string, v string, max int) {
	if v == "" || len(*list) >= max {
		return
	}
	for _, x := range *list {
		if x == v {
			return
		}
	}
	*list = append(*list, v)
}

func (g *group) finding(d *Detector, pr finding.Principal, agg Aggregate) finding.Finding {
	detail := g.detail
	ips := g.ips
	if len(ips) > 1 {
		more := ""
		if len(ips) > maxIPs {
			ips, more = ips[:maxIPs], ", ..."
		}
		detail += fmt.Sprintf(" [source IPs: %s%s]", strings.Join(ips, ", "), more)
	}
	if len(g.eventNames) > 1 {
		detail += " [calls: " + strings.Join(g.eventNames, ", ") + "]"
	}
	if len(g.regions) > 1 {
		detail += " [Regions: " + strings.Join(g.regions, ", ") + "]"
	}
	sourceIP := ""
	if len(g.ips) > 0 {
		sourceIP = g.ips[0]
	}
	identity := g.identity
	if identity == "" {
		identity = g.identities
	}
	first := agg.FirstSeen
	if first.IsZero() || g.first.Before(first) {
		first = g.first
	}
	return finding.Finding{
		Schema:      finding.SchemaFinding,
		ID:          g.id,
		Rule:        g.rule,
		Severity:    d.p.Severity(g.rule, d.severity[g.rule]),
		Account:     g.account,
		Region:      g.region,
		Principal:   pr,
		SourceIP:    sourceIP,
		WindowStart: g.start,
		WindowEnd:   g.end,
		Evidence: finding.Evidence{
			MessageIDs:       nonNil(g.msgIDs),
			Count:            agg.Count,
			FirstSeen:        first.UTC(),
			LastSeen:         g.last.UTC(),
			From:             g.from,
			Identity:         identity,
			ConfigurationSet: g.configSet,
			RecipientsSample: g.recipients,
			Detail:           detail,
			Metric:           g.metric,
			Threshold:        g.threshold,
			EventIDs:         g.eventIDs,
			EventNames:       g.eventNames,
			VPCEndpointID:    g.vpce,
			Regions:          several(g.regions),
			Identities:       several(g.identityList),
			Principals:       several(g.callers),
		},
		Actions: d.actions(g.rule),
		Mode:    d.p.Response.Mode,
		// Which build raised it, so an alert can be traced to the code.
		ProducerVersion: finding.ProducerVersion(),
		Created:         g.created,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// AttrDelta is an increment of one counter attribute of a State item.
type AttrDelta struct {
	Attr  string
	Delta int64
}

// itemCounters is implemented by States that keep several counters in one item and add to them
// in one write (DynamoState: one UpdateItem, one write unit for an item under 1 KB).
type itemCounters interface {
	// AddItem adds the deltas to their attributes of item and returns every counter attribute
	// of the item after the update.
	AddItem(ctx context.Context, item string, deltas []AttrDelta, expires time.Time) (map[string]int64, error)
	// GetAttr returns one counter attribute of item (0 when absent).
	GetAttr(ctx context.Context, item, attr string) (int64, error)
}

// principalCounters puts a principal's volume buckets and its rate denominator for one rate
// bucket in one item, so a batch costs one write per principal instead of two writes and a
// read: volume is then read from the same update (its previous bucket too, unless that lies in
// the previous rate bucket). It applies when the State supports it and every volume bucket lies
// inside one rate bucket (the rate window a multiple of the volume window); else evalVolume and
// evalRates write their own counters as before.
func (d *Detector) principalCounters(ctx context.Context, a *accum) error {
	ic, wv, rw, ok := d.itemCounters()
	if !ok {
		return nil
	}
	vs, rs := int64(wv/time.Second), int64(rw/time.Second)
	items := map[itemKey][]AttrDelta{}
	var order []itemKey
	add := func(k itemKey, attr string, n int64) {
		if _, ok := items[k]; !ok {
			order = append(order, k)
		}
		items[k] = append(items[k], AttrDelta{Attr: attr, Delta: n})
	}
	volAttr := func(start int64) string { return "v" + strconv.FormatInt(vs, 10) + "_" + strconv.FormatInt(start, 10) }
	itemName := func(k itemKey) string { return counterItem(k.account, k.principal, rs, k.start) }
	for _, k := range a.volOrder {
		add(itemKey{k.account, k.principal, floorDiv(k.start, rs) * rs}, volAttr(k.start), int64(len(a.vol[k].sends)))
	}
	for _, k := range a.sendOrder {
		if !k.identity && k.win == rs {
			add(itemKey{k.account, k.name, k.start}, "snd", *a.sends[k])
		}
	}
	a.volCur, a.volPrev, a.sndCount = map[volKey]int64{}, map[volKey]int64{}, map[rateKey]int64{}
	got := make(map[itemKey]map[string]int64, len(order))
	for _, k := range order {
		start := time.Unix(k.start, 0)
		expires := d.expiry(maxTime(start.Add(rw+MarkTTL), start.Add(rw+2*wv)))
		vals, err := ic.AddItem(ctx, itemName(k), items[k], expires)
		if err != nil {
			return err
		}
		a.undo = append(a.undo, undoOp{key: itemName(k), attrs: items[k], expires: expires})
		got[k] = vals
		if n, ok := vals["snd"]; ok && slicesHasSnd(items[k]) {
			a.sndCount[rateKey{account: k.account, name: k.principal, win: rs, start: k.start}] = n
		}
	}
	for _, k := range a.volOrder {
		ik := itemKey{k.account, k.principal, floorDiv(k.start, rs) * rs}
		a.volCur[k] = got[ik][volAttr(k.start)]
		prev := k.start - vs
		pk := itemKey{k.account, k.principal, floorDiv(prev, rs) * rs}
		if pk == ik {
			a.volPrev[k] = got[ik][volAttr(prev)]
			continue
		}
		n, err := ic.GetAttr(ctx, itemName(pk), volAttr(prev))
		if err != nil {
			return err
		}
		a.volPrev[k] = n
	}
	return nil
}

// itemKey is a principal's counter item: account, principal and rate bucket start.
type itemKey struct {
	account, principal string
	start              int64
}

// counterItem is the State item of a principal's counters for one rate bucket.
func counterItem(account, principal string, rateWin, start int64) string {
	return "ctr#" + account + "#" + principal + "#" + strconv.FormatInt(rateWin, 10) + "#" + strconv.FormatInt(start, 10)
}

// itemCounters reports whether principal counters share items (principalCounters), with the
// volume and rate windows.
func (d *Detector) itemCounters() (itemCounters, time.Duration, time.Duration, bool) {
	ic, ok := d.st.(itemCounters)
	if !ok || !d.volume || len(d.rateWins) == 0 {
		return nil, 0, 0, false
	}
	wv, rw := d.p.Limits.PerPrincipal.Window, d.rateWins[0]
	if wv <= 0 || rw%wv != 0 {
		return nil, 0, 0, false
	}
	return ic, wv, rw, true
}

// rateDenominator reads the send counter of k outside the batch's own updates.
func (d *Detector) rateDenominator(ctx context.Context, k rateKey) (int64, error) {
	if ic, _, rw, ok := d.itemCounters(); ok && !k.identity && k.win == int64(rw/time.Second) {
		return ic.GetAttr(ctx, counterItem(k.account, k.name, k.win, k.start), "snd")
	}
	return d.st.Get(ctx, rateCounterKey("snd", k))
}

func slicesHasSnd(ds []AttrDelta) bool {
	for _, d := range ds {
		if d.Attr == "snd" {
			return true
		}
	}
	return false
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
