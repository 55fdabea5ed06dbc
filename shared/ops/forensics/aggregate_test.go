package forensics

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
)

var t0 = time.Date(2026, 5, 4, 9, 15, 0, 0, time.UTC)

// mk builds a normalised event the way sesevent would.
func mk(typ sesevent.Type, id, caller, ip string, at time.Duration, mods ...func(*sesevent.Event)) sesevent.Event {
	ev := sesevent.Event{Type: typ, MessageID: id, MailTime: t0.Add(at), CallerIdentity: caller,
		Identity: "mail.example.com", ConfigurationSet: "prod-outbound", Source: "app@mail.example.com",
		From: []sesevent.Address{{Address: "App@Mail.Example.com"}}, Recipients: []string{"a@example.net", "b@example.net"}}
	if ip != "" {
		ev.SourceIP = netip.MustParseAddr(ip)
	}
	switch typ {
	case sesevent.TypeBounce:
		ev.Bounce = &sesevent.BounceDetail{Type: "Permanent", Recipients: []string{"a@example.net"}}
	case sesevent.TypeComplaint:
		ev.Complaint = &sesevent.ComplaintDetail{Recipients: []string{"b@example.net"}}
	case sesevent.TypeDelivery:
		ev.Delivery = &sesevent.DeliveryDetail{Recipients: []string{"a@example.net", "b@example.net"}}
	}
	for _, m := range mods {
		m(&ev)
	}
	return ev
}

func noTags(ev *sesevent.Event) {
	ev.CallerIdentity, ev.SourceIP, ev.ConfigurationSet, ev.Identity, ev.From, ev.Source = "", netip.Addr{}, "", "", nil, ""
}

func run(t *testing.T, opt Options, evs ...sesevent.Event) Report {
	t.Helper()
	a, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		a.Add(&evs[i])
	}
	return a.Report()
}

func find(r Report, key string) *Group {
	for i := range r.Groups {
		if r.Groups[i].Key == key {
			return &r.Groups[i]
		}
	}
	return nil
}

func TestJoinOutcomesToSend(t *testing.T) {
	evs := []sesevent.Event{
		mk(sesevent.TypeSend, "m1", "mailer", "10.20.0.5", 0),
		mk(sesevent.TypeSend, "m2", "leaked-user", "203.0.113.9", time.Minute),
		mk(sesevent.TypeDelivery, "m1", "mailer", "10.20.0.5", 0),
		// Tag-less outcomes (DeliveryDelay, Rendering Failure carry no caller in SES examples):
		// only the join can attribute them.
		mk(sesevent.TypeDeliveryDelay, "m2", "", "", time.Minute, noTags),
		mk(sesevent.TypeBounce, "m2", "leaked-user", "203.0.113.9", time.Minute),
		mk(sesevent.TypeComplaint, "m2", "leaked-user", "203.0.113.9", time.Minute),
		mk(sesevent.TypeSend, "m2", "leaked-user", "203.0.113.9", time.Minute), // redelivered duplicate
		mk(sesevent.TypeOpen, "m1", "mailer", "10.20.0.5", 0),
		mk(sesevent.TypeClick, "m1", "mailer", "10.20.0.5", 0),
		mk(sesevent.TypeRenderingFailure, "m3", "", "", 2*time.Minute, noTags), // Send never seen
		mk(sesevent.TypeSubscription, "m1", "mailer", "10.20.0.5", 0),
	}
	r := run(t, Options{By: ByPrincipal}, evs...)
	leaked, mailer, unknown := find(r, "leaked-user"), find(r, "mailer"), find(r, Unknown)
	if leaked == nil || mailer == nil || unknown == nil {
		t.Fatalf("groups %+v", r.Groups)
	}
	if leaked.Sends != 1 || leaked.Recipients != 2 || leaked.Bounced != 1 || leaked.PermanentBounces != 1 || leaked.Complaints != 1 ||
		leaked.DeliveryDelays != 1 || leaked.Unjoined != 0 || leaked.BounceRate() != 0.5 || leaked.ComplaintRate() != 0.5 {
		t.Errorf("leaked-user: %+v", *leaked)
	}
	if mailer.Sends != 1 || mailer.Delivered != 2 || mailer.Opens != 1 || mailer.Clicks != 1 || mailer.Bounced != 0 {
		t.Errorf("mailer: %+v", *mailer)
	}
	if unknown.Sends != 0 || unknown.RenderingFailures != 1 || unknown.Unjoined != 1 {
		t.Errorf("unknown: %+v", *unknown)
	}
	s := r.Summary
	if s.Events != 11 || s.Sends != 2 || s.DuplicateSends != 1 || s.Outcomes != 7 || s.JoinedOutcomes != 6 || s.UnjoinedOutcomes != 1 || s.Filtered != 1 {
		t.Errorf("summary %+v", s)
	}
	if leaked.IPs.String() != "203.0.113.9" || leaked.From.String() != "app@mail.example.com" || !leaked.First.Equal(t0.Add(time.Minute)) {
		t.Errorf("samples/time: %+v", *leaked)
	}
	// Sorted by sends, then outcomes: mailer (1 send, 2 delivered) before leaked-user (1 send, 2 outcomes)? equal
	// outcome totals fall back to the key.
	if r.Groups[len(r.Groups)-1].Key != Unknown {
		t.Errorf("group order %v", keys(r))
	}
}

func keys(r Report) []string {
	var k []string
	for _, g := range r.Groups {
		k = append(k, g.Key)
	}
	return k
}

func TestDimensions(t *testing.T) {
	evs := []sesevent.Event{
		mk(sesevent.TypeSend, "m1", "mailer", "10.20.0.5", 0),
		mk(sesevent.TypeSend, "m2", "mailer", "10.20.0.6", 70*time.Minute, func(e *sesevent.Event) {
			e.From = []sesevent.Address{{Name: "Evil", Address: "ceo@Mail.Example.com"}}
			e.Identity, e.ConfigurationSet = "other.example.com", ""
		}),
		mk(sesevent.TypeSend, "m3", "", "", 2*time.Hour, noTags),
	}
	tests := []struct {
		by   Dimension
		want []string // keys in report order
	}{
		{ByPrincipal, []string{"mailer", Unknown}},
		{ByIP, []string{"10.20.0.5", "10.20.0.6", Unknown}},
		{ByFrom, []string{"app@mail.example.com", "ceo@mail.example.com", Unknown}},
		{ByIdentity, []string{"mail.example.com", "other.example.com", Unknown}},
		{ByConfigurationSet, []string{Unknown, "prod-outbound"}}, // two sends without a set outnumber one
		{ByHour, []string{"2026-05-04T09Z", "2026-05-04T10Z", "2026-05-04T11Z"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.by), func(t *testing.T) {
			r := run(t, Options{By: tt.by}, evs...)
			if got := strings.Join(keys(r), ","); got != strings.Join(tt.want, ",") {
				t.Errorf("keys %s, want %s", got, strings.Join(tt.want, ","))
			}
		})
	}
	if _, err := ParseDimension("sender"); err == nil || !strings.Contains(err.Error(), "principal, ip, from, identity, configuration-set, hour") {
		t.Errorf("ParseDimension: %v", err)
	}
}

func TestFilters(t *testing.T) {
	pol, err := policy.Load([]byte("version: 1\nnetwork:\n  cidrs: [10.20.0.0/16]\nsenders:\n  principals: [mailer]\n"), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	evs := []sesevent.Event{
		mk(sesevent.TypeSend, "m1", "mailer", "10.20.0.5", 0),
		mk(sesevent.TypeSend, "m2", "leaked-user", "203.0.113.9", time.Hour),
		mk(sesevent.TypeSend, "m3", "", "", 2*time.Hour, noTags),
		mk(sesevent.TypeBounce, "m2", "leaked-user", "203.0.113.9", time.Hour),
		mk(sesevent.TypeDeliveryDelay, "m1", "", "", 0, noTags),                  // joined: follows m1's verdict
		mk(sesevent.TypeBounce, "m9", "leaked-user", "203.0.113.9", 3*time.Hour), // unjoined: own fields
	}
	tests := []struct {
		name      string
		f         Filter
		wantSends int64
		wantOut   int64 // outcomes counted
	}{
		{"none", Filter{}, 3, 3},
		{"since", Filter{Since: t0.Add(30 * time.Minute)}, 2, 2},
		{"until", Filter{Until: t0.Add(30 * time.Minute)}, 1, 1},
		{"window", Filter{Since: t0.Add(30 * time.Minute), Until: t0.Add(90 * time.Minute)}, 1, 1},
		// Boundaries: --since is inclusive, --until exclusive (m2 and its bounce sit at t0+1h).
		{"since exactly at a send", Filter{Since: t0.Add(time.Hour)}, 2, 2},
		{"until exactly at a send", Filter{Until: t0.Add(time.Hour)}, 1, 1},
		{"one-instant window", Filter{Since: t0.Add(time.Hour), Until: t0.Add(time.Hour + time.Nanosecond)}, 1, 1},
		{"principal pattern", Filter{Principal: "leak*"}, 1, 2},
		{"principal exact miss", Filter{Principal: "leak"}, 0, 0},
		{"ip prefix", Filter{IP: netip.MustParsePrefix("203.0.113.0/24")}, 1, 2},
		{"ip single", Filter{IP: netip.MustParsePrefix("10.20.0.5/32")}, 1, 1},
		{"outside network (unknown counts)", Filter{OutsideNetwork: true}, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, Options{By: ByPrincipal, Filter: tt.f, Approver: pol}, evs...)
			if r.Summary.Sends != tt.wantSends || r.Summary.Outcomes != tt.wantOut {
				t.Errorf("sends %d outcomes %d, want %d %d (summary %+v)", r.Summary.Sends, r.Summary.Outcomes, tt.wantSends, tt.wantOut, r.Summary)
			}
			if r.Summary.Sends+r.Summary.Outcomes+r.Summary.Filtered != int64(len(evs)) {
				t.Errorf("events lost: %+v", r.Summary)
			}
		})
	}
	r := run(t, Options{By: ByPrincipal, Approver: pol}, evs...)
	if g := find(r, "leaked-user"); g == nil || g.OutsideNetwork != 1 || g.UnapprovedPrincipal != 1 {
		t.Errorf("leaked-user policy counts: %+v", g)
	}
	if g := find(r, "mailer"); g == nil || g.OutsideNetwork != 0 || g.UnapprovedPrincipal != 0 {
		t.Errorf("mailer policy counts: %+v", g)
	}
	if g := find(r, Unknown); g == nil || g.OutsideNetwork != 1 || g.UnapprovedPrincipal != 1 {
		t.Errorf("unknown sender must count as unapproved on both: %+v", g)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		opt  Options
		want string
	}{
		{"bad dimension", Options{By: "sender"}, "unknown dimension"},
		{"outside without policy", Options{By: ByIP, Filter: Filter{OutsideNetwork: true}}, "needs a policy"},
		{"since after until", Options{By: ByIP, Filter: Filter{Since: t0, Until: t0}}, "is not before"},
		{"principal spaces", Options{By: ByIP, Filter: Filter{Principal: " x"}}, "surrounding spaces"},
	}
	for _, tt := range tests {
		if _, err := New(tt.opt); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestBounds(t *testing.T) {
	t.Run("join window evicts oldest; late outcomes fall back to own tags", func(t *testing.T) {
		evs := []sesevent.Event{
			mk(sesevent.TypeSend, "m1", "mailer", "10.20.0.5", 0),
			mk(sesevent.TypeSend, "m2", "mailer", "10.20.0.5", 0),
			mk(sesevent.TypeSend, "m3", "mailer", "10.20.0.5", 0), // evicts m1
			mk(sesevent.TypeBounce, "m1", "mailer", "10.20.0.5", 0),
			mk(sesevent.TypeDeliveryDelay, "m1", "", "", 0, noTags),
			mk(sesevent.TypeBounce, "m3", "mailer", "10.20.0.5", 0),
			mk(sesevent.TypeSend, "m1", "mailer", "10.20.0.5", 0), // duplicate no longer recognised
		}
		r := run(t, Options{By: ByPrincipal, MaxJoin: 2}, evs...)
		s := r.Summary
		if s.JoinEvictions != 2 || s.JoinedOutcomes != 1 || s.UnjoinedOutcomes != 2 || s.Sends != 4 || s.DuplicateSends != 0 {
			t.Errorf("summary %+v", s)
		}
		if g := find(r, "mailer"); g == nil || g.Bounced != 2 || g.Unjoined != 1 {
			t.Errorf("mailer %+v", g)
		}
		if g := find(r, Unknown); g == nil || g.DeliveryDelays != 1 {
			t.Errorf("unknown %+v", g)
		}
	})
	t.Run("groups beyond the cap fold into (other)", func(t *testing.T) {
		var evs []sesevent.Event
		for i, who := range []string{"a", "b", "c", "d", "a"} {
			evs = append(evs, mk(sesevent.TypeSend, "m"+who+string(rune('0'+i)), who, "10.0.0.1", 0))
		}
		r := run(t, Options{By: ByPrincipal, MaxGroups: 2}, evs...)
		if got := strings.Join(keys(r), ","); got != "a,(other),b" { // by sends: 2, 2, 1
			t.Errorf("keys %s", got)
		}
		if g := find(r, Other); g.Sends != 2 || r.Summary.FoldedIntoOther != 2 {
			t.Errorf("other %+v summary %+v", g, r.Summary)
		}
	})
	t.Run("join disabled", func(t *testing.T) {
		r := run(t, Options{By: ByPrincipal, MaxJoin: -1},
			mk(sesevent.TypeSend, "m1", "mailer", "10.20.0.5", 0), mk(sesevent.TypeBounce, "m1", "mailer", "10.20.0.5", 0))
		if r.Summary.UnjoinedOutcomes != 1 || r.Summary.MaxJoin != 0 {
			t.Errorf("summary %+v", r.Summary)
		}
	})
}
