package detect

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
)

// A batch decides a keyed per-send rule once per distinct key (Detector.violates), so a key must
// name every input its check reads. Each mutation below changes one field of a send; whenever
// the key is unchanged, the check's verdict must be unchanged too.
func TestRuleKeysCoverTheirChecks(t *testing.T) {
	p, err := policy.Load([]byte(`version: 1
network:
  cidrs: [10.0.0.0/8]
senders:
  principals: ["app-*", "arn:aws:iam::444455556666:role/delegate"]
  from: ["*@mail.example.com"]
  identities: ["mail.example.com"]
  configuration_sets: ["prod"]
recipients:
  domains: ["example.net"]
`), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bases := []sesevent.Event{
		{Type: sesevent.TypeSend, Account: "111122223333", CallerIdentity: "app-1", IdentityArn: "arn:aws:ses:eu-west-1:111122223333:identity/mail.example.com",
			Identity: "mail.example.com", ConfigurationSet: "prod", From: []sesevent.Address{{Name: "A", Address: "a@mail.example.com"}}},
		{Type: sesevent.TypeSend, Account: "444455556666", CallerIdentity: "delegate", IdentityArn: "arn:aws:ses:eu-west-1:111122223333:identity/mail.example.com",
			Identity: "other.example", ConfigurationSet: "", From: []sesevent.Address{{Address: "x@evil.example"}}},
		{Type: sesevent.TypeSend, Account: "111122223333", CallerIdentity: "intruder", IdentityArn: "",
			Identity: "", ConfigurationSet: "test", From: []sesevent.Address{{Address: "a@MAIL.example.com"}}},
	}
	mutations := map[string]func(e *sesevent.Event){
		"source ip":     func(e *sesevent.Event) { e.SourceIP = netip.MustParseAddr("203.0.113.9") },
		"recipients":    func(e *sesevent.Event) { e.Recipients = []string{"x@evil.example", "y@example.net"} },
		"subject":       func(e *sesevent.Event) { e.Subject = "hello" },
		"message id":    func(e *sesevent.Event) { e.MessageID = "m-2" },
		"region":        func(e *sesevent.Event) { e.Region = "us-east-1" },
		"operation":     func(e *sesevent.Event) { e.Operation = "SendRawEmail" },
		"tls":           func(e *sesevent.Event) { e.TLSVersion = "TLSv1.2" },
		"tags":          func(e *sesevent.Event) { e.Tags = map[string][]string{"ses:caller-identity": {"other"}} },
		"source":        func(e *sesevent.Event) { e.Source = "bounce@evil.example" },
		"from domain":   func(e *sesevent.Event) { e.FromDomain = "evil.example" },
		"from name":     func(e *sesevent.Event) { e.From = []sesevent.Address{{Name: "Other", Address: e.From[0].Address}} },
		"time":          func(e *sesevent.Event) { e.MailTime = time.Unix(1e9, 0) },
		"caller":        func(e *sesevent.Event) { e.CallerIdentity = "intruder" },
		"account":       func(e *sesevent.Event) { e.Account = "999999999999" },
		"identity arn":  func(e *sesevent.Event) { e.IdentityArn = "arn:aws:ses:eu-west-1:999999999999:identity/x" },
		"identity":      func(e *sesevent.Event) { e.Identity = "evil.example" },
		"config set":    func(e *sesevent.Event) { e.ConfigurationSet = "other" },
		"from address":  func(e *sesevent.Event) { e.From = []sesevent.Address{{Address: "z@evil.example"}} },
		"two froms":     func(e *sesevent.Event) { e.From = append(e.From, sesevent.Address{Address: "z@evil.example"}) },
		"no from":       func(e *sesevent.Event) { e.From = nil },
		"legacy":        func(e *sesevent.Event) { e.Legacy = true },
		"event time":    func(e *sesevent.Event) { e.EventTime = time.Unix(2e9, 0) },
		"reject reason": func(e *sesevent.Event) { e.Reject = "x" },
	}
	keyed := 0
	for _, r := range Rules() {
		if r.key == nil {
			continue
		}
		keyed++
		for bi, base := range bases {
			bk, bok := r.key(&base)
			for name, mutate := range mutations {
				e := base
				e.From = append([]sesevent.Address(nil), base.From...)
				mutate(&e)
				k, ok := r.key(&e)
				if !ok || !bok || k != bk {
					continue
				}
				if got, want := r.check(p, &e), r.check(p, &base); got != want {
					t.Errorf("%s, base %d, %s: key unchanged but verdict %v -> %v", r.ID, bi, name, want, got)
				}
			}
		}
	}
	if keyed != 4 {
		t.Errorf("%d keyed rules, want 4 (principal, From, identity, configuration set)", keyed)
	}
}

// The first-level verdict table (Detector.violates) picks a slot by where a key's strings live.
// It must only ever be a hint: equal keys held in different strings, and different keys that
// share a slot, get the verdict the check gives.
func TestViolatesFirstLevelIsAHint(t *testing.T) {
	p, err := policy.Load([]byte(`version: 1
senders:
  principals: ["app-*"]
  from: ["*@mail.example.com"]
`), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(p, NewMemoryState())
	if err != nil {
		t.Fatal(err)
	}
	a := newAccum()
	// 300 keys over 64 slots per rule, each seen three times in fresh strings: collisions and
	// pointer-distinct repeats both happen.
	var sends []sesevent.Event
	for round := range 3 {
		for i := range 300 {
			caller := fmt.Sprintf("app-%d", i)
			from := fmt.Sprintf("u%d@mail.example.com", i)
			if i%3 == round%3 {
				caller = "intruder-" + strings.Clone(caller)
			}
			if i%5 == 0 {
				from = "u@evil.example"
			}
			sends = append(sends, sesevent.Event{Type: sesevent.TypeSend, Account: strings.Clone("111122223333"),
				CallerIdentity: strings.Clone(caller), From: []sesevent.Address{{Address: strings.Clone(from)}}})
		}
	}
	checked := 0
	for i := range d.perSend {
		r := &d.perSend[i]
		if r.key == nil {
			continue
		}
		for j := range sends {
			e := &sends[j]
			if got, want := d.violates(a, i, r, e), r.check(d.p, e); got != want {
				t.Fatalf("%s, send %d (%q, %q): violates %v, check %v", r.ID, j, e.CallerIdentity, e.From[0].Address, got, want)
			}
			checked++
		}
	}
	if checked < 2*len(sends) {
		t.Fatalf("checked %d verdicts, want at least %d (principal and From rules)", checked, 2*len(sends))
	}
}

// addSend's front slots are hints: counts per key and the first-seen order equal a plain map's
// whatever the keys share (slots, strings, buckets).
func TestAddSendMatchesMap(t *testing.T) {
	a := newAccum()
	want := map[rateKey]int64{}
	var order []rateKey
	names := []string{"app-1", "app-2", "mail.example.com", "intruder", "app-1"}
	for i := range 5000 {
		k := rateKey{account: strings.Clone("111122223333"), name: names[i%len(names)], identity: i%3 == 0,
			win: int64(3600 * (1 + i%2)), start: int64(3600 * (i % 7))}
		if i%4 == 0 {
			k.name = strings.Clone(k.name) // equal content, another address
		}
		n := int64(1 + i%5)
		if _, ok := want[k]; !ok {
			order = append(order, k)
		}
		want[k] += n
		a.addSend(k, n)
	}
	if len(a.sends) != len(want) || len(a.sendOrder) != len(order) {
		t.Fatalf("%d counters in order %d, want %d", len(a.sends), len(a.sendOrder), len(want))
	}
	for i, k := range order {
		if a.sendOrder[i] != k || *a.sends[k] != want[k] {
			t.Fatalf("counter %d %+v = %d (order %+v), want %d", i, k, *a.sends[k], a.sendOrder[i], want[k])
		}
	}
}
