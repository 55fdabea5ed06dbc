package forensics

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
)

// SuggestOptions tune a Suggester. Zero fields take the documented defaults.
type SuggestOptions struct {
	Since, Until time.Time // on mail.timestamp (events) and eventTime (API calls); Until exclusive
	// MaxPrefix4/6: an observed address is approved as its /MaxPrefix block (default 24 / 48).
	MaxPrefix4, MaxPrefix6 int
	// MinPrefix4/6: sibling blocks are merged, but never into a block wider than this (default
	// 16 / 32). The CLI refuses a wider floor without --allow-wide.
	MinPrefix4, MinPrefix6 int
	// Network is the operator's hint of where legitimate traffic comes from: traffic from
	// outside it is never approved.
	Network []netip.Prefix
	// FromWildcardOver: a From domain with more than this many distinct local parts is approved
	// as *@domain (default 10); otherwise every address is listed.
	FromWildcardOver int
	// RecipientTopN: up to this many recipient domains are listed; more, and the policy approves
	// any domain ("*") with the top N as a comment (default 20, at most RecipientCap).
	RecipientTopN int
	// MinBlockSends: a block with fewer sends/calls is a one-off and not approved (default 5).
	MinBlockSends int64
	// ShortLived: when the history spans more than three days, a block active for less than
	// this (first to last send) is not approved: a new network used for one burst is what a
	// leaked key looks like (default 6h).
	ShortLived time.Duration
	// Limits are the thresholds (bounce/complaint rates, volume window) the policy will use.
	Limits policy.Limits
	// Headroom multiplies the observed volume peak (default 2).
	Headroom float64
}

// RecipientCap bounds the distinct recipient domains remembered per group: a newsletter's tail is
// unbounded, and past the cap only a count is kept.
const RecipientCap = 64

func (o *SuggestOptions) defaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.MaxPrefix4, 24)
	def(&o.MaxPrefix6, 48)
	def(&o.MinPrefix4, 16)
	def(&o.MinPrefix6, 32)
	def(&o.FromWildcardOver, 10)
	def(&o.RecipientTopN, 20)
	o.RecipientTopN = min(o.RecipientTopN, RecipientCap)
	if o.MinBlockSends == 0 {
		o.MinBlockSends = 5
	}
	if o.ShortLived == 0 {
		o.ShortLived = 6 * time.Hour
	}
	if o.Limits.PerPrincipal.Window == 0 {
		o.Limits.PerPrincipal.Window = policy.DefaultVolumeWindow
	}
	if o.Limits.BounceRate.Max == 0 {
		o.Limits.BounceRate = policy.RateLimit{Window: policy.DefaultRateWindow, Max: policy.DefaultBounceRateMax, MinSends: policy.DefaultRateMinSends}
	}
	if o.Limits.ComplaintRate.Max == 0 {
		o.Limits.ComplaintRate = policy.RateLimit{Window: policy.DefaultRateWindow, Max: policy.DefaultComplaintRateMax, MinSends: policy.DefaultRateMinSends}
	}
	if o.Headroom <= 1 {
		o.Headroom = 2
	}
}

// groupKey is what history is tallied by: who, from which block, in which UTC hour. Every
// decision not to approve is made on these keys after the whole history is read, so one pass
// suffices and memory grows with principals × blocks × hours, not with sends.
type groupKey struct {
	principal string // "" unknown; a foreign caller is "arn-ish" acct/name
	block     netip.Prefix
	hour      int64 // unix hours
}

// evidence is what an approved entry is commented with.
type evidence struct {
	n           int64
	first, last time.Time
	sample      string
}

func (e *evidence) add(t time.Time, id string, n int64) {
	if e.n == 0 || t.Before(e.first) {
		e.first = t
	}
	if e.n == 0 || t.After(e.last) {
		e.last = t
	}
	if e.sample == "" && id != "" {
		e.sample = strings.Clone(id)
	}
	e.n += n
}

// merge adds o. The sample is the earliest message's, so the output does not depend on the
// order groups are merged in (map order).
func (e *evidence) merge(o *evidence) {
	if o.n == 0 {
		return
	}
	if e.n == 0 || o.first.Before(e.first) || (o.first.Equal(e.first) && o.sample < e.sample) {
		e.first = o.first
		e.sample = o.sample
	}
	if e.n == 0 || o.last.After(e.last) {
		e.last = o.last
	}
	e.n += o.n
}

type group struct {
	ev         evidence
	calls      int64 // CloudTrail calls (other than sends) in this group
	callEv     evidence
	recon      int64 // read-only calls of which
	setup      []string
	from       map[string]*evidence
	identity   map[string]*evidence
	cs         map[string]*evidence
	rcpt       map[string]int64
	rcptOther  int64 // recipients whose domain did not fit RecipientCap
	missing    map[string]int64
	vpce       map[string]int64
	root       bool
	foreign    string // the caller's account when it is not the identity's
	sendEvents int64  // Send events (not calls)
}

type volKey struct {
	g      groupKey
	bucket int64
}

type principalRate struct{ sent, bounced, complained int64 }

// Suggester tallies history for Suggest. Not safe for concurrent use.
type Suggester struct {
	opt       SuggestOptions
	groups    map[groupKey]*group
	vol       map[volKey]int64
	rates     map[string]*principalRate
	blockIPs  map[netip.Prefix]map[netip.Addr]bool
	noIP      evidence // sends with no source IP
	noCaller  evidence
	first     time.Time
	last      time.Time
	sends     int64
	calls     int64
	skipped   int64 // outside --since/--until
	foreignCt map[string]bool
}

// NewSuggester returns an empty Suggester.
func NewSuggester(opt SuggestOptions) *Suggester {
	opt.defaults()
	return &Suggester{opt: opt, groups: map[groupKey]*group{}, vol: map[volKey]int64{},
		rates: map[string]*principalRate{}, blockIPs: map[netip.Prefix]map[netip.Addr]bool{}, foreignCt: map[string]bool{}}
}

func (s *Suggester) inRange(t time.Time) bool {
	return (s.opt.Since.IsZero() || !t.Before(s.opt.Since)) && (s.opt.Until.IsZero() || t.Before(s.opt.Until))
}

func (s *Suggester) block(ip netip.Addr) netip.Prefix {
	if !ip.IsValid() {
		return netip.Prefix{}
	}
	ip = ip.Unmap()
	bits := s.opt.MaxPrefix4
	if ip.Is6() {
		bits = s.opt.MaxPrefix6
	}
	b, _ := ip.Prefix(bits)
	if m := s.blockIPs[b]; m == nil {
		s.blockIPs[b] = map[netip.Addr]bool{ip: true}
	} else if len(m) < 256 {
		m[ip] = true
	}
	return b
}

func (s *Suggester) span(t time.Time) {
	if s.first.IsZero() || t.Before(s.first) {
		s.first = t
	}
	if t.After(s.last) {
		s.last = t
	}
}

func (s *Suggester) group(k groupKey) *group {
	g := s.groups[k]
	if g == nil {
		k.principal = strings.Clone(k.principal)
		g = &group{}
		s.groups[k] = g
	}
	return g
}

func bump(m *map[string]*evidence, key string, t time.Time, id string) {
	if *m == nil {
		*m = map[string]*evidence{}
	}
	e := (*m)[key]
	if e == nil {
		e = &evidence{}
		(*m)[strings.Clone(key)] = e
	}
	e.add(t, id, 1)
}

// Add tallies one SES event. Sends are the evidence; bounces and complaints feed the
// per-principal rates (by the caller their own tags name, so no join is needed).
func (s *Suggester) Add(e *sesevent.Event) {
	if !s.inRange(e.MailTime) {
		s.skipped++
		return
	}
	caller := e.CallerIdentity
	switch e.Type {
	case sesevent.TypeBounce:
		if e.Bounce != nil && e.Bounce.Type == "Permanent" {
			s.rate(caller).bounced += int64(max(1, len(e.Bounce.Recipients)))
		}
		return
	case sesevent.TypeComplaint:
		n := 1
		if e.Complaint != nil {
			n = max(1, len(e.Complaint.Recipients))
		}
		s.rate(caller).complained += int64(n)
		return
	case sesevent.TypeSend:
	default:
		return
	}
	s.sends++
	s.span(e.MailTime)
	s.rate(caller).sent += int64(max(1, len(e.Recipients)))
	if caller == "" {
		s.noCaller.add(e.MailTime, e.MessageID, 1)
	}
	if !e.SourceIP.IsValid() {
		s.noIP.add(e.MailTime, e.MessageID, 1)
	}
	k := groupKey{principal: caller, block: s.block(e.SourceIP), hour: e.MailTime.Unix() / 3600}
	g := s.group(k)
	g.ev.add(e.MailTime, e.MessageID, 1)
	g.sendEvents++
	if caller == "root" {
		g.root = true
	}
	if home := policy.ARNAccount(e.IdentityArn); policy.Foreign(e.Account, home) {
		g.foreign = strings.Clone(e.Account)
	}
	for _, a := range e.From {
		bump(&g.from, strings.ToLower(a.Address), e.MailTime, e.MessageID)
	}
	if len(e.From) == 0 {
		g.miss("From")
	}
	if e.Identity != "" {
		bump(&g.identity, e.Identity, e.MailTime, e.MessageID)
	} else {
		g.miss("identity")
	}
	if e.ConfigurationSet != "" {
		bump(&g.cs, e.ConfigurationSet, e.MailTime, e.MessageID)
	} else {
		g.miss("configuration set")
	}
	if len(e.Recipients) == 0 {
		g.miss("recipients")
	}
	for _, r := range e.Recipients {
		d := policy.DomainOf(r)
		if d == "" {
			g.miss("recipient domain")
			continue
		}
		if g.rcpt == nil {
			g.rcpt = map[string]int64{}
		}
		if _, ok := g.rcpt[d]; ok || len(g.rcpt) < RecipientCap {
			if !ok {
				d = strings.Clone(d)
			}
			g.rcpt[d]++
		} else {
			g.rcptOther++
		}
	}
	w := int64(s.opt.Limits.PerPrincipal.Window / time.Second)
	s.vol[volKey{g: k, bucket: e.MailTime.Unix() / w}]++
}

func (g *group) miss(what string) {
	if g.missing == nil {
		g.missing = map[string]int64{}
	}
	g.missing[what]++
}

func (s *Suggester) rate(caller string) *principalRate {
	r := s.rates[caller]
	if r == nil {
		r = &principalRate{}
		s.rates[strings.Clone(caller)] = r
	}
	return r
}

// setupCalls change what the account may send; they are never taken as evidence of legitimate
// traffic (an attacker's first moves look exactly like them).
var setupCalls = map[string]bool{
	"CreateEmailIdentity": true, "VerifyEmailIdentity": true, "VerifyDomainIdentity": true, "VerifyEmailAddress": true,
	"PutAccountDetails": true, "UpdateAccountSendingEnabled": true, "PutAccountSendingAttributes": true,
	"UpdateConfigurationSetSendingEnabled": true, "PutConfigurationSetSendingOptions": true,
	"PutEmailIdentityPolicy": true, "CreateEmailIdentityPolicy": true, "PutIdentityPolicy": true, "DeleteIdentityPolicy": true,
}

// AddCall tallies one CloudTrail SES API call.
func (s *Suggester) AddCall(c *cloudtrail.Event) {
	if !s.inRange(c.EventTime) {
		s.skipped++
		return
	}
	if !c.SourceIP.IsValid() {
		// An AWS service calling on a principal's behalf: no network to approve, and detection
		// raises nothing for the address.
		return
	}
	s.calls++
	s.span(c.EventTime)
	name := c.Principal.Name
	k := groupKey{principal: name, block: s.block(c.SourceIP), hour: c.EventTime.Unix() / 3600}
	g := s.group(k)
	if c.Principal.Type == cloudtrail.TypeRoot || name == "root" {
		g.root = true
	}
	if policy.Foreign(c.Principal.AccountID, c.Account) {
		g.foreign = strings.Clone(c.Principal.AccountID)
	}
	if c.VPCEndpointID != "" {
		if g.vpce == nil {
			g.vpce = map[string]int64{}
		}
		g.vpce[strings.Clone(c.VPCEndpointID)]++
	}
	id := c.EventID
	if len(c.MessageIDs) > 0 {
		id = c.MessageIDs[0]
	}
	switch {
	case c.IsSend() && !c.Failed():
		g.ev.add(c.EventTime, id, 1)
		if c.From != "" {
			if addr, ok := policy.MailboxAddress(c.From); ok {
				bump(&g.from, strings.ToLower(addr), c.EventTime, id)
			}
		}
		if c.ConfigurationSet != "" {
			bump(&g.cs, c.ConfigurationSet, c.EventTime, id)
		}
	case setupCalls[c.EventName]:
		g.callEv.add(c.EventTime, c.EventID, 1)
		if !slices.Contains(g.setup, c.EventName) {
			g.setup = append(g.setup, strings.Clone(c.EventName))
		}
		g.calls++
	default:
		g.calls++
		g.callEv.add(c.EventTime, c.EventID, 1)
		if c.ReadOnly || strings.HasPrefix(c.EventName, "Get") || strings.HasPrefix(c.EventName, "List") {
			g.recon++
		}
	}
}
