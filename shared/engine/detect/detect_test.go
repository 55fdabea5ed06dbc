package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
)

func newDetector(t testing.TB, p *policy.Policy, st State, opts ...Option) *Detector {
	t.Helper()
	if st == nil {
		st = NewMemoryState()
	}
	opts = append([]Option{WithClock(func() time.Time { return t0 })}, opts...)
	d, err := New(p, st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func process(t testing.TB, d *Detector, evs []sesevent.Event) Batch {
	t.Helper()
	b, err := d.Process(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func byRule(updates []Update) map[string]Update {
	m := map[string]Update{}
	for _, u := range updates {
		m[u.Finding.Rule] = u
	}
	return m
}

func TestApprovedSendYieldsNothing(t *testing.T) {
	d := newDetector(t, examplePolicy(t), nil)
	b := process(t, d, []sesevent.Event{goodSend(1), goodSend(2)})
	if len(b.Updates) != 0 || b.Events != 2 {
		t.Errorf("updates = %+v, events %d", b.Updates, b.Events)
	}
}

// TestAggregation: 10,000 sends from outside the network make one finding with count 10,000 and
// capped evidence, whatever the batching.
func TestAggregation(t *testing.T) {
	d := newDetector(t, examplePolicy(t), nil)
	c := NewCollector()
	const n = 10000
	var published []int64
	batch := make([]sesevent.Event, 0, 100)
	for i := range n {
		e := goodSend(i)
		e.SourceIP = netip.MustParseAddr(fmt.Sprintf("203.0.113.%d", i%7))
		e.Recipients = []string{fmt.Sprintf("victim%d@example.net", i)}
		batch = append(batch, e)
		if len(batch) == cap(batch) {
			b := process(t, d, batch)
			for _, u := range b.Updates {
				if u.Publish && u.Finding.Rule == rules.NetworkOutsideApproved {
					published = append(published, u.Finding.Evidence.Count)
				}
			}
			c.Add(b.Updates)
			batch = batch[:0]
		}
	}
	fs := c.Findings()
	// One network finding; the same 10,000 sends in ten seconds also exceed the volume limit
	// (500 per 5 minutes) by 9,500.
	if len(fs) != 2 || fs[1].Rule != rules.VolumePrincipalSpike || fs[1].Evidence.Count != n-500 {
		t.Fatalf("findings = %d, want 2: %+v", len(fs), fs)
	}
	f := fs[0]
	if f.Rule != rules.NetworkOutsideApproved || f.Evidence.Count != n || f.Severity != finding.SeverityHigh {
		t.Errorf("finding = %s count %d severity %s", f.Rule, f.Evidence.Count, f.Severity)
	}
	if len(f.Evidence.MessageIDs) != finding.MaxMessageIDs || len(f.Evidence.RecipientsSample) != finding.MaxRecipients {
		t.Errorf("evidence not capped: %d ids, %d recipients", len(f.Evidence.MessageIDs), len(f.Evidence.RecipientsSample))
	}
	if f.ID != FindingID(f.Rule, "111122223333", "ses-smtp-user.20260112-101500", t0) || !strings.HasPrefix(f.ID, "sgf-") {
		t.Errorf("id = %s", f.ID)
	}
	if !f.WindowStart.Equal(t0) || !f.WindowEnd.Equal(t0.Add(time.Hour)) || !f.Evidence.FirstSeen.Equal(t0) {
		t.Errorf("window %s..%s first %s", f.WindowStart, f.WindowEnd, f.Evidence.FirstSeen)
	}
	if f.SourceIP != "203.0.113.0" || !strings.Contains(f.Evidence.Detail, "[source IPs: 203.0.113.0, ") {
		t.Errorf("source ip %q detail %q", f.SourceIP, f.Evidence.Detail)
	}
	if strings.Join(f.Actions, ",") != "deactivate_keys,deny_send_policy" || f.Mode != policy.ModeDryRun {
		t.Errorf("actions %v mode %s", f.Actions, f.Mode)
	}
	// Published when new, then when the count crossed 100 and 1,000 and 10,000 (batches of 100).
	if got := fmt.Sprint(published); got != "[100 1000 10000]" {
		t.Errorf("published at counts %s", got)
	}
}

func TestDeduplication(t *testing.T) {
	d := newDetector(t, examplePolicy(t), nil)
	bad := with(goodSend(1), func(e *sesevent.Event) { e.ConfigurationSet = "marketing" })
	b := process(t, d, []sesevent.Event{bad, bad})
	if b.Duplicates != 1 || len(b.Updates) != 1 || b.Updates[0].Finding.Evidence.Count != 1 {
		t.Fatalf("batch = %+v", b)
	}
	// Redelivered in a later batch: nothing new.
	b = process(t, d, []sesevent.Event{bad})
	if b.Duplicates != 1 || len(b.Updates) != 0 {
		t.Errorf("redelivery: %+v", b)
	}
}

func TestFindingShape(t *testing.T) {
	p := examplePolicy(t)
	d := newDetector(t, p, nil)
	e := goodSend(1)
	e.CallerIdentity = ""
	e.SourceIP = netip.Addr{}
	e.ConfigurationSet = "marketing"
	b := process(t, d, []sesevent.Event{e})
	got := byRule(b.Updates)
	for _, r := range []string{rules.AttributionMissing, rules.NetworkUnknownSource, rules.SenderConfigurationSetUnapproved} {
		u, ok := got[r]
		if !ok {
			t.Errorf("missing %s", r)
			continue
		}
		if !u.New || !u.Publish || u.Finding.Principal.Kind != finding.KindUnknown || u.Finding.Principal.Name != "" {
			t.Errorf("%s: %+v", r, u)
		}
	}
	if len(got) != 3 {
		t.Errorf("rules fired: %v", b.Updates)
	}
	// The policy's severity override applies.
	if s := got[rules.AttributionMissing].Finding.Severity; s != finding.SeverityHigh {
		t.Errorf("attribution.missing severity = %s", s)
	}
	// Unmapped rules carry an empty (not null) action list.
	js, _ := json.Marshal(got[rules.NetworkUnknownSource].Finding)
	if !strings.Contains(string(js), `"actions":[]`) || !strings.Contains(string(js), `"schema":"sesguard.finding/v1"`) {
		t.Errorf("json = %s", js)
	}
	if _, _, err := finding.Decode(js); err != nil {
		t.Errorf("finding.Decode: %v", err)
	}
}

type fakeAttributor map[string]finding.Principal

func (f fakeAttributor) Attribute(_ context.Context, account, name string) finding.Principal {
	if p, ok := f[account+"/"+name]; ok {
		return p
	}
	return finding.Principal{Kind: finding.KindUnknown}
}

var _ Attributor = fakeAttributor(nil)

func TestAttribution(t *testing.T) {
	attr := fakeAttributor{"111122223333/intruder": {Name: "intruder", Kind: finding.KindUser,
		ARN: "arn:aws:iam::111122223333:user/intruder", AccessKeyID: "AKIAEXAMPLE"}}
	d := newDetector(t, examplePolicy(t), nil, WithAttributor(attr))
	b := process(t, d, []sesevent.Event{
		with(goodSend(1), func(e *sesevent.Event) { e.CallerIdentity = "intruder" }),
		with(goodSend(2), func(e *sesevent.Event) { e.CallerIdentity = "stranger" }),
	})
	if len(b.Updates) != 2 {
		t.Fatalf("updates = %+v", b.Updates)
	}
	for _, u := range b.Updates {
		p := u.Finding.Principal
		switch p.Name {
		case "intruder":
			if p.Kind != finding.KindUser || p.AccessKeyID != "AKIAEXAMPLE" {
				t.Errorf("intruder = %+v", p)
			}
		case "stranger":
			if p.Kind != finding.KindUnknown {
				t.Errorf("stranger = %+v", p)
			}
		default:
			t.Errorf("principal %+v", p)
		}
	}
	// Offline (no attributor) root is inferred.
	d = newDetector(t, examplePolicy(t), nil)
	b = process(t, d, []sesevent.Event{with(goodSend(3), func(e *sesevent.Event) { e.CallerIdentity = "root" })})
	if p := b.Updates[0].Finding.Principal; p.Kind != finding.KindRoot || p.ARN != "arn:aws:iam::111122223333:root" {
		t.Errorf("root = %+v", p)
	}
}

func TestVolumeSpike(t *testing.T) {
	p := loadPolicy(t, `version: 1
network: { cidrs: [10.20.0.0/16] }
senders: { principals: ["*"], from: ["*"], identities: ["*"], configuration_sets: ["*"] }
recipients: { domains: ["*"] }
limits: { per_principal: { window: 5m, max_sends: 100 } }
response: { on: { volume.principal_spike: [pause_configuration_set] } }
`)
	d := newDetector(t, p, nil)
	c := NewCollector()
	// 100 sends in the first 5-minute bucket: at the limit, no finding.
	var evs []sesevent.Event
	for i := range 100 {
		evs = append(evs, with(goodSend(i), func(e *sesevent.Event) { e.MailTime = t0.Add(time.Duration(i) * time.Second) }))
	}
	b := process(t, d, evs)
	if len(b.Updates) != 0 {
		t.Fatalf("at the limit: %+v", b.Updates)
	}
	// 30 more at the start of the next bucket: the sliding estimate still counts ~all of the
	// previous bucket, so ~30 sends are over the limit.
	evs = nil
	for i := range 30 {
		evs = append(evs, with(goodSend(100+i), func(e *sesevent.Event) { e.MailTime = t0.Add(5*time.Minute + time.Duration(i)*time.Millisecond) }))
	}
	b = process(t, d, evs)
	c.Add(b.Updates)
	fs := c.Findings()
	if len(fs) != 1 || fs[0].Rule != rules.VolumePrincipalSpike {
		t.Fatalf("findings = %+v", fs)
	}
	f := fs[0]
	if f.Evidence.Count < 29 || f.Evidence.Count > 30 || f.Evidence.Threshold != 100 || f.Evidence.Metric < 129 {
		t.Errorf("count %d metric %.1f threshold %.0f", f.Evidence.Count, f.Evidence.Metric, f.Evidence.Threshold)
	}
	if !f.WindowStart.Equal(t0.Add(5*time.Minute)) || strings.Join(f.Actions, ",") != "pause_configuration_set" {
		t.Errorf("window %s actions %v", f.WindowStart, f.Actions)
	}
	if !strings.Contains(f.Evidence.Detail, `"ses-smtp-user.20260112-101500" sent ~130 messages in 5m0s (limit 100)`) {
		t.Errorf("detail = %q", f.Evidence.Detail)
	}
	// Much later, the old buckets no longer count.
	b = process(t, d, []sesevent.Event{with(goodSend(999), func(e *sesevent.Event) { e.MailTime = t0.Add(time.Hour) })})
	if len(b.Updates) != 0 {
		t.Errorf("an hour later: %+v", b.Updates)
	}
}

func reputationPolicy(t testing.TB) *policy.Policy {
	return loadPolicy(t, `version: 1
network: { cidrs: [10.20.0.0/16] }
senders: { principals: ["*"], from: ["*"], identities: ["*"], configuration_sets: ["*"] }
recipients: { domains: ["*"] }
limits:
  bounce_rate: { window: 1h, max: 0.05, min_sends: 20 }
  complaint_rate: { window: 1h, max: 0.01, min_sends: 20 }
`)
}

func TestBounceSpike(t *testing.T) {
	d := newDetector(t, reputationPolicy(t), nil)
	var sends []sesevent.Event
	for i := range 40 {
		sends = append(sends, goodSend(i))
	}
	process(t, d, sends)
	// Two permanent bounces (5 %: not above) and transient ones (not counted): nothing.
	b := process(t, d, []sesevent.Event{
		bounceOf(sends[0], "Permanent", time.Minute), bounceOf(sends[1], "Permanent", time.Minute),
		bounceOf(sends[2], "Transient", time.Minute), bounceOf(sends[3], "Transient", time.Minute),
	})
	if len(b.Updates) != 0 || b.Unjoined != 0 {
		t.Fatalf("at 5%%: %+v", b)
	}
	// A third: 7.5 % for the principal and for the identity.
	bn := bounceOf(sends[4], "Permanent", 2*time.Minute)
	bn.CallerIdentity = "" // attribution comes from the joined Send, not the bounce's own tags
	b = process(t, d, []sesevent.Event{bn})
	got := map[string]finding.Finding{}
	for _, u := range b.Updates {
		got[u.Finding.Principal.Name+"|"+u.Finding.Evidence.Identity] = u.Finding
		if u.Finding.Rule != rules.ReputationBounceSpike || u.Finding.Evidence.Threshold != 0.05 {
			t.Errorf("update %+v", u.Finding)
		}
	}
	pf, ok := got["ses-smtp-user.20260112-101500|mail.example.com"]
	if !ok || pf.Evidence.Metric != 3.0/40 || !strings.Contains(pf.Evidence.Detail, "bounce rate 7.50% (3/40 recipients)") {
		t.Errorf("principal finding = %+v", pf)
	}
	idf, ok := got["|mail.example.com"]
	if !ok || idf.Principal.Kind != finding.KindUnknown || !strings.Contains(idf.Evidence.Detail, `identity "mail.example.com"`) ||
		idf.ID != FindingID(rules.ReputationBounceSpike, "111122223333", "identity:mail.example.com", t0) {
		t.Errorf("identity finding = %+v", idf)
	}
	if len(got) != 2 {
		t.Errorf("findings = %v", got)
	}
}

func TestBounceMinVolumeGuard(t *testing.T) {
	d := newDetector(t, reputationPolicy(t), nil)
	var evs []sesevent.Event
	for i := range 10 {
		s := goodSend(i)
		evs = append(evs, s, bounceOf(s, "Permanent", time.Minute))
	}
	// 100 % bounces but only 10 sends (min 20): no finding.
	if b := process(t, d, evs); len(b.Updates) != 0 {
		t.Errorf("below min_sends: %+v", b.Updates)
	}
}

// Rates count recipients, as SES does: two bounced addresses of a send to forty is 5 %, not
// "two bounces for one send".
func TestBounceRateCountsRecipients(t *testing.T) {
	d := newDetector(t, reputationPolicy(t), nil)
	send := goodSend(1)
	send.Recipients = nil
	for i := range 40 {
		send.Recipients = append(send.Recipients, fmt.Sprintf("r%02d@example.org", i))
	}
	process(t, d, []sesevent.Event{send})
	one := func(i int, after time.Duration) sesevent.Event {
		b := bounceOf(send, "Permanent", after)
		b.Bounce.Recipients = []string{send.Recipients[i]}
		return b
	}
	if b := process(t, d, []sesevent.Event{one(0, time.Minute), one(1, 2*time.Minute)}); len(b.Updates) != 0 {
		t.Fatalf("2 of 40 recipients bounced (5 %%, not above): %+v", b.Updates)
	}
	// One event naming two more bounced recipients: 4/40 = 10 %.
	two := bounceOf(send, "Permanent", 3*time.Minute)
	two.Bounce.Recipients = send.Recipients[2:4]
	b := process(t, d, []sesevent.Event{two})
	u, ok := byRule(b.Updates)[rules.ReputationBounceSpike]
	if !ok || u.Finding.Evidence.Metric != 4.0/40 || !strings.Contains(u.Finding.Evidence.Detail, "(4/40 recipients)") {
		t.Fatalf("after 4 of 40 bounced: %+v", b.Updates)
	}
}

func TestComplaintSpikeUnjoined(t *testing.T) {
	d := newDetector(t, reputationPolicy(t), nil)
	var sends []sesevent.Event
	for i := range 50 {
		sends = append(sends, goodSend(i))
	}
	process(t, d, sends)
	// A complaint for a send never seen is attributed from its own tags and counted.
	stranger := goodSend(777)
	b := process(t, d, []sesevent.Event{complaintOf(sends[0], time.Hour), complaintOf(stranger, time.Hour)})
	if b.Unjoined != 1 {
		t.Errorf("unjoined = %d", b.Unjoined)
	}
	byID := byRule(b.Updates)
	if u, ok := byID[rules.ReputationComplaintSpike]; !ok || u.Finding.Evidence.Metric != 2.0/50 {
		t.Errorf("complaint spike = %+v", b.Updates)
	}
	// not-spam feedback is not a complaint.
	ns := complaintOf(sends[1], time.Hour)
	ns.Complaint.FeedbackType = "not-spam"
	if b := process(t, d, []sesevent.Event{ns}); len(b.Updates) != 0 {
		t.Errorf("not-spam counted: %+v", b.Updates)
	}
}

func TestDisabledRule(t *testing.T) {
	p := loadPolicy(t, `version: 1
network: { cidrs: [10.20.0.0/16] }
senders: { principals: ["*"], from: ["*"], identities: ["*"], configuration_sets: ["*"] }
rules: { recipient.domain_unapproved: { enabled: false } }
`)
	d := newDetector(t, p, nil)
	if b := process(t, d, []sesevent.Event{goodSend(1)}); len(b.Updates) != 0 {
		t.Errorf("disabled rule fired: %+v", b.Updates)
	}
}

// failingState fails Tally so the rollback of marks can be observed.
type failingState struct {
	*MemoryState
	fail bool
}

func (f *failingState) Tally(ctx context.Context, key string, n int64, first, exp time.Time) (Aggregate, error) {
	if f.fail {
		return Aggregate{}, errors.New("throttled")
	}
	return f.MemoryState.Tally(ctx, key, n, first, exp)
}

func TestRollbackOnStateError(t *testing.T) {
	st := &failingState{MemoryState: NewMemoryState(), fail: true}
	d := newDetector(t, examplePolicy(t), st)
	bad := with(goodSend(1), func(e *sesevent.Event) { e.ConfigurationSet = "marketing" })
	if _, err := d.Process(context.Background(), []sesevent.Event{bad}); err == nil || !strings.Contains(err.Error(), "throttled") {
		t.Fatalf("err = %v", err)
	}
	// The retry is not mistaken for a duplicate.
	st.fail = false
	b := process(t, d, []sesevent.Event{bad})
	if b.Duplicates != 0 || len(b.Updates) != 1 || b.Updates[0].Finding.Evidence.Count != 1 {
		t.Errorf("retry = %+v", b)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(nil, NewMemoryState()); err == nil {
		t.Error("nil policy accepted")
	}
	if _, err := New(examplePolicy(t), NewMemoryState(), WithWindow(0)); err == nil {
		t.Error("zero window accepted")
	}
}

// TestPropertyApprovedNeverFires: for random policies and random sends drawn from their approved
// sets (under the volume limit), no finding is ever produced.
func TestPropertyApprovedNeverFires(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		const letters = "abcdefghijklmnopqrstuvwxyz0123456789-"
		n := 1 + rng.IntN(10)
		b := make([]byte, n)
		for i := range b {
			b[i] = letters[rng.IntN(26)]
			if i > 0 {
				b[i] = letters[rng.IntN(len(letters))]
			}
		}
		return string(b)
	}
	// instance turns a pattern into a concrete value it matches.
	instance := func(pat string) string {
		var b strings.Builder
		for _, c := range pat {
			switch c {
			case '*':
				if rng.IntN(2) == 0 {
					b.WriteString(word())
				}
			case '?':
				b.WriteByte('x')
			default:
				b.WriteRune(c)
			}
		}
		return b.String()
	}
	pattern := func() string {
		switch rng.IntN(4) {
		case 0:
			return word() + "*"
		case 1:
			return word() + "?" + word()
		default:
			return word()
		}
	}
	checked := 0
	defer func() {
		if checked < 150 {
			t.Errorf("only %d of 200 random policies were checked", checked)
		}
	}()
	for iter := range 200 {
		var principals, from, idents, sets, domains, cidrs []string
		for range 1 + rng.IntN(3) {
			principals = append(principals, pattern())
			from = append(from, pattern()+"@"+word()+".example")
			idents = append(idents, word()+".example")
			sets = append(sets, pattern())
			domains = append(domains, word()+".test")
		}
		for range 1 + rng.IntN(2) {
			if rng.IntN(2) == 0 {
				cidrs = append(cidrs, fmt.Sprintf("10.%d.0.0/16", rng.IntN(256)))
			} else {
				cidrs = append(cidrs, fmt.Sprintf("2001:db8:%x::/48", rng.IntN(65536)))
			}
		}
		q := func(xs []string) string { return `["` + strings.Join(xs, `","`) + `"]` }
		src := fmt.Sprintf("version: 1\nnetwork: { cidrs: %s }\nsenders: { principals: %s, from: %s, identities: %s, configuration_sets: %s }\nrecipients: { domains: %s }\nlimits: { per_principal: { window: 5m, max_sends: 1000 } }\n",
			q(cidrs), q(principals), q(from), q(idents), q(sets), q(domains))
		p, err := policy.Load([]byte(src), "prop.yaml")
		if err != nil {
			// Random patterns may repeat; that is a policy error, not a detection bug.
			if strings.Contains(err.Error(), "listed twice") {
				continue
			}
			t.Fatalf("policy:\n%s\n%v", src, err)
		}
		d := newDetector(t, p, nil)
		var evs []sesevent.Event
		for i := range 20 {
			pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
			pf := netip.MustParsePrefix(pick(cidrs))
			ip := pf.Addr().As16()
			if pf.Addr().Is4() {
				a4 := pf.Addr().As4()
				a4[2], a4[3] = byte(rng.IntN(256)), byte(rng.IntN(256))
				ip = netip.AddrFrom4(a4).As16()
			} else {
				ip[15] = byte(rng.IntN(256))
			}
			addr := netip.AddrFrom16(ip).Unmap()
			fromAddr := instance(pick(from))
			local, dom, _ := strings.Cut(fromAddr, "@")
			if rng.IntN(2) == 0 {
				dom = strings.ToUpper(dom) // domains compare case-insensitively
			}
			e := sesevent.Event{
				Type: sesevent.TypeSend, MessageID: fmt.Sprintf("m-%d-%d", iter, i), MailTime: t0.Add(time.Duration(i) * time.Second),
				Account: "111122223333", CallerIdentity: instance(pick(principals)), SourceIP: addr,
				ConfigurationSet: instance(pick(sets)), Identity: pick(idents),
				From:       []sesevent.Address{{Address: local + "@" + dom}},
				Recipients: []string{word() + "@" + pick(domains), word() + "@" + strings.ToUpper(pick(domains))},
			}
			evs = append(evs, e)
		}
		b := process(t, d, evs)
		checked++
		if len(b.Updates) != 0 {
			f := b.Updates[0].Finding
			t.Fatalf("iteration %d: approved send produced %s (%s)\npolicy:\n%s", iter, f.Rule, f.Evidence.Detail, src)
		}
	}
}

// A recipient.domain_unapproved finding samples only the recipients that broke the rule, so the
// alert shows the attacker's targets rather than the approved customers on the same send.
func TestRecipientFindingSamplesOnlyUnapproved(t *testing.T) {
	p := loadPolicy(t, `
version: 1
network: {cidrs: [10.20.0.0/16]}
senders: {principals: ["ses-smtp-user.*"], from: ["*@mail.example.com"], identities: [mail.example.com], configuration_sets: [prod-outbound]}
recipients: {domains: ["example.org"]}
`)
	e := goodSend(1)
	e.Recipients = []string{"customer@example.org", "target@evil.test", "Other@EXAMPLE.org", "second@evil.test"}
	b := process(t, newDetector(t, p, nil), []sesevent.Event{e})
	if len(b.Updates) != 1 {
		t.Fatalf("updates = %+v, want one recipient finding", b.Updates)
	}
	f := b.Updates[0].Finding
	if f.Rule != rules.RecipientDomainUnapproved {
		t.Fatalf("rule = %s", f.Rule)
	}
	if got := f.Evidence.RecipientsSample; !slices.Equal(got, []string{"target@evil.test", "second@evil.test"}) {
		t.Errorf("recipients sample = %v, want only the evil.test recipients", got)
	}
}
