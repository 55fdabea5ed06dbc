package forensics

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
)

// Defaults for the memory bounds.
const (
	// DefaultMaxJoin message ids (~130 bytes each: ~32 MB).
	DefaultMaxJoin = 250_000
	// DefaultMaxGroups groups (a few hundred bytes each).
	DefaultMaxGroups = 100_000
	// SampleSize is how many distinct values of the other dimensions a group keeps.
	SampleSize = 5
)

// Approver judges principals and networks; *policy.Policy satisfies it.
type Approver interface {
	NetworkApproved(ip netip.Addr) bool
	PrincipalApproved(name string) bool
}

var _ Approver = (*policy.Policy)(nil)

// Filter selects messages by their Send's (or, unjoined, their own) mail fields. Zero fields
// select everything.
type Filter struct {
	Since, Until time.Time    // mail.timestamp in [Since, Until)
	Principal    string       // IAM StringLike pattern on ses:caller-identity
	IP           netip.Prefix // ses:source-ip inside this prefix
	// OutsideNetwork keeps only sends whose source IP the Approver does not approve (a missing
	// source IP counts as outside: unknown is never approved).
	OutsideNetwork bool
}

// Options configures an Aggregator.
type Options struct {
	By     Dimension
	Filter Filter
	// Approver, when set, adds per-group counts of sends from unapproved networks and
	// principals; required by Filter.OutsideNetwork.
	Approver  Approver
	MaxJoin   int // default DefaultMaxJoin; negative disables the join
	MaxGroups int // default DefaultMaxGroups
}

// Sample is up to SampleSize distinct values; More is set when further values were seen.
type Sample struct {
	Values []string `json:"values"`
	More   bool     `json:"more,omitempty"`
}

func (s *Sample) add(v string) {
	if v == "" || slices.Contains(s.Values, v) {
		return
	}
	if len(s.Values) < SampleSize {
		s.Values = append(s.Values, v)
		return
	}
	s.More = true
}

// String shows the sample as "a, b, c +more".
func (s Sample) String() string {
	out := strings.Join(s.Values, ", ")
	if s.More {
		out += " +more"
	}
	if out == "" {
		return "-"
	}
	return out
}

// Group is everything known about one key. Counts of recipients follow SES: a Send counts its
// destination addresses, a Bounce or Delivery the recipients it lists.
type Group struct {
	Key string `json:"key"`

	Sends             int64 `json:"sends"`
	Recipients        int64 `json:"recipients"`
	Rejects           int64 `json:"rejects"`
	Delivered         int64 `json:"delivered"`
	Bounced           int64 `json:"bounced"`
	PermanentBounces  int64 `json:"permanent_bounces"`
	Complaints        int64 `json:"complaints"`
	DeliveryDelays    int64 `json:"delivery_delays"`
	RenderingFailures int64 `json:"rendering_failures"`
	Opens             int64 `json:"opens"`
	Clicks            int64 `json:"clicks"`
	Unjoined          int64 `json:"unjoined_outcomes"` // outcomes grouped by their own tags

	// With an Approver: sends from networks / principals the policy does not approve.
	OutsideNetwork      int64 `json:"outside_network,omitempty"`
	UnapprovedPrincipal int64 `json:"unapproved_principal,omitempty"`

	First time.Time `json:"first"`
	Last  time.Time `json:"last"`

	Principals        Sample `json:"principals"`
	IPs               Sample `json:"ips"`
	From              Sample `json:"from"`
	Identities        Sample `json:"identities"`
	ConfigurationSets Sample `json:"configuration_sets"`

	// CloudTrail SES API calls (AddCall): how many, how many were refused, by which keys.
	APICalls   int64  `json:"api_calls,omitempty"`
	APIRefused int64  `json:"api_refused,omitempty"`
	AccessKeys Sample `json:"access_keys,omitzero"`
	Operations Sample `json:"operations,omitzero"`
}

// BounceRate is bounced recipients per sent recipient (0 without sends).
func (g *Group) BounceRate() float64 { return rate(g.Bounced, g.Recipients) }

// ComplaintRate is complaints per sent recipient (0 without sends).
func (g *Group) ComplaintRate() float64 { return rate(g.Complaints, g.Recipients) }

func rate(n, d int64) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// Summary counts what the aggregator saw.
type Summary struct {
	Events           int64 `json:"events"`              // events given to Add
	Sends            int64 `json:"sends"`               // Send events counted
	DuplicateSends   int64 `json:"duplicate_sends"`     // same message id again (at-least-once delivery)
	Outcomes         int64 `json:"outcomes"`            // non-Send events counted
	JoinedOutcomes   int64 `json:"joined_outcomes"`     // ... whose Send was in the join table
	UnjoinedOutcomes int64 `json:"unjoined_outcomes"`   // ... grouped by their own tags
	Filtered         int64 `json:"filtered"`            // events left out by the filter
	APICalls         int64 `json:"api_calls,omitempty"` // CloudTrail SES API calls counted
	JoinEvictions    int64 `json:"join_evictions"`      // message ids forgotten to stay within MaxJoin
	FoldedIntoOther  int64 `json:"folded_into_other"`   // events whose key arrived after MaxGroups
	Groups           int   `json:"groups"`
	MaxJoin          int   `json:"max_join"`
	MaxGroups        int   `json:"max_groups"`
}

// Aggregator folds events into groups. It is not safe for concurrent use.
type Aggregator struct {
	opt    Options
	join   *joinTable
	index  map[string]int32
	groups []*Group
	sum    Summary
}

// New validates opt and returns an empty Aggregator.
func New(opt Options) (*Aggregator, error) {
	if _, err := ParseDimension(string(opt.By)); err != nil {
		return nil, err
	}
	if opt.Filter.OutsideNetwork && opt.Approver == nil {
		return nil, errors.New("outside-network filter needs a policy (approved networks)")
	}
	if !opt.Filter.Since.IsZero() && !opt.Filter.Until.IsZero() && !opt.Filter.Since.Before(opt.Filter.Until) {
		return nil, fmt.Errorf("since %s is not before until %s", opt.Filter.Since.Format(time.RFC3339), opt.Filter.Until.Format(time.RFC3339))
	}
	if opt.Filter.Principal != "" && opt.Filter.Principal != strings.TrimSpace(opt.Filter.Principal) {
		return nil, fmt.Errorf("principal pattern %q has surrounding spaces", opt.Filter.Principal)
	}
	if opt.MaxJoin == 0 {
		opt.MaxJoin = DefaultMaxJoin
	}
	if opt.MaxGroups <= 0 {
		opt.MaxGroups = DefaultMaxGroups
	}
	a := &Aggregator{opt: opt, join: newJoinTable(opt.MaxJoin), index: map[string]int32{}}
	a.sum.MaxJoin, a.sum.MaxGroups = max(opt.MaxJoin, 0), opt.MaxGroups
	return a, nil
}

// pass applies the filter to an event's own mail fields.
func (a *Aggregator) pass(ev *sesevent.Event) bool {
	f := &a.opt.Filter
	if !f.Since.IsZero() || !f.Until.IsZero() {
		t := mailTime(ev)
		if t.IsZero() || (!f.Since.IsZero() && t.Before(f.Since)) || (!f.Until.IsZero() && !t.Before(f.Until)) {
			return false
		}
	}
	if f.Principal != "" && (ev.CallerIdentity == "" || !policy.Like(f.Principal, ev.CallerIdentity)) {
		return false
	}
	if f.IP.IsValid() && (!ev.SourceIP.IsValid() || !f.IP.Contains(ev.SourceIP.Unmap())) {
		return false
	}
	if f.OutsideNetwork && a.opt.Approver.NetworkApproved(ev.SourceIP) {
		return false
	}
	return true
}

// group returns the index of k's group, creating it (or folding into Other) as needed.
func (a *Aggregator) group(k string) int32 {
	if i, ok := a.index[k]; ok {
		return i
	}
	if len(a.groups) >= a.opt.MaxGroups && k != Other {
		a.sum.FoldedIntoOther++
		return a.group(Other)
	}
	k = strings.Clone(k)      // kept to the end: no reference into a decoder's buffers
	i := int32(len(a.groups)) //nolint:gosec // groups are capped at opt.MaxGroups, far below 2^31
	a.groups = append(a.groups, &Group{Key: k})
	a.index[k] = i
	return i
}

// Add folds one event in. A Send opens (or, seen again, is a duplicate of) its message; any other
// event is an outcome of the message and goes to the Send's group when the Send is still in the
// join table, else to the group its own tags name.
func (a *Aggregator) Add(ev *sesevent.Event) {
	a.sum.Events++
	if ev.Type == sesevent.TypeSend {
		a.addSend(ev)
		return
	}
	if ev.Type == sesevent.TypeSubscription {
		// Subscription events concern a contact list, not a message outcome.
		a.sum.Filtered++
		return
	}
	gi, joined := a.join.get(ev.MessageID)
	if ev.MessageID == "" {
		joined = false
	}
	if joined && gi == filteredOut {
		a.sum.Filtered++
		return
	}
	if !joined {
		if !a.pass(ev) {
			a.sum.Filtered++
			return
		}
		gi = a.group(key(a.opt.By, ev))
	}
	g := a.groups[gi]
	a.sum.Outcomes++
	if joined {
		a.sum.JoinedOutcomes++
	} else {
		a.sum.UnjoinedOutcomes++
		g.Unjoined++
		a.sample(g, ev)
	}
	a.seen(g, ev)
	switch ev.Type {
	case sesevent.TypeReject:
		g.Rejects++
	case sesevent.TypeDelivery:
		g.Delivered += recipients(ev.Delivery != nil, func() []string { return ev.Delivery.Recipients })
	case sesevent.TypeBounce:
		n := recipients(ev.Bounce != nil, func() []string { return ev.Bounce.Recipients })
		g.Bounced += n
		if ev.Bounce != nil && ev.Bounce.Type == "Permanent" {
			g.PermanentBounces += n
		}
	case sesevent.TypeComplaint:
		g.Complaints += recipients(ev.Complaint != nil, func() []string { return ev.Complaint.Recipients })
	case sesevent.TypeDeliveryDelay:
		g.DeliveryDelays++
	case sesevent.TypeRenderingFailure:
		g.RenderingFailures++
	case sesevent.TypeOpen:
		g.Opens++
	case sesevent.TypeClick:
		g.Clicks++
	}
}

// recipients counts the recipients an outcome lists (1 when it lists none).
func recipients(ok bool, list func() []string) int64 {
	if ok {
		if n := len(list()); n > 0 {
			return int64(n)
		}
	}
	return 1
}

func (a *Aggregator) addSend(ev *sesevent.Event) {
	if ev.MessageID != "" {
		if _, dup := a.join.get(ev.MessageID); dup {
			a.sum.DuplicateSends++
			return
		}
	}
	id := strings.Clone(ev.MessageID) // keep no reference into a decoder's buffers
	if !a.pass(ev) {
		a.sum.Filtered++
		if id != "" {
			a.join.put(id, filteredOut)
		}
		return
	}
	gi := a.group(key(a.opt.By, ev))
	if id != "" {
		a.join.put(id, gi)
	}
	g := a.groups[gi]
	a.sum.Sends++
	g.Sends++
	g.Recipients += int64(len(ev.Recipients))
	a.seen(g, ev)
	a.sample(g, ev)
	if ap := a.opt.Approver; ap != nil {
		if !ap.NetworkApproved(ev.SourceIP) {
			g.OutsideNetwork++
		}
		if !ap.PrincipalApproved(ev.CallerIdentity) {
			g.UnapprovedPrincipal++
		}
	}
}

func (a *Aggregator) seen(g *Group, ev *sesevent.Event) {
	t := mailTime(ev)
	if t.IsZero() {
		return
	}
	if g.First.IsZero() || t.Before(g.First) {
		g.First = t
	}
	if t.After(g.Last) {
		g.Last = t
	}
}

func (a *Aggregator) sample(g *Group, ev *sesevent.Event) {
	g.Principals.add(ev.CallerIdentity)
	if ev.SourceIP.IsValid() {
		g.IPs.add(ev.SourceIP.String())
	}
	g.From.add(fromAddress(ev))
	g.Identities.add(ev.Identity)
	g.ConfigurationSets.add(ev.ConfigurationSet)
}

// Report is the aggregation result.
type Report struct {
	By      Dimension `json:"by"`
	Groups  []Group   `json:"groups"`
	Summary Summary   `json:"summary"`
}

// Report returns the groups sorted — chronologically by hour, else by sends then outcomes
// (descending) then key, with (unknown) and (other) after real keys — and the summary. The Aggregator may keep receiving events afterwards.
func (a *Aggregator) Report() Report {
	out := make([]Group, len(a.groups))
	for i, g := range a.groups {
		out[i] = *g
	}
	slices.SortFunc(out, func(x, y Group) int {
		// Unknown and Other go after real keys whenever counts do not decide.
		keyOrder := func() int {
			if sx, sy := x.Key == Unknown || x.Key == Other, y.Key == Unknown || y.Key == Other; sx != sy {
				if sx {
					return 1
				}
				return -1
			}
			return strings.Compare(x.Key, y.Key)
		}
		if a.opt.By == ByHour {
			return keyOrder()
		}
		if x.Sends != y.Sends {
			if x.Sends > y.Sends {
				return -1
			}
			return 1
		}
		ox, oy := x.Rejects+x.Bounced+x.Complaints+x.Delivered, y.Rejects+y.Bounced+y.Complaints+y.Delivered
		if ox != oy {
			if ox > oy {
				return -1
			}
			return 1
		}
		return keyOrder()
	})
	s := a.sum
	s.Groups = len(out)
	s.JoinEvictions = a.join.evicted
	return Report{By: a.opt.By, Groups: out, Summary: s}
}
