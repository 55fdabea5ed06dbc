package sescorpus

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
)

func TestWriteIsDeterministic(t *testing.T) {
	var a, b, c bytes.Buffer
	if _, err := Write(&a, Options{Seed: 7, Records: 500}); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(&b, Options{Seed: 7, Records: 500}); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(&c, Options{Seed: 8, Records: 500}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same seed gave different corpora")
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatal("different seeds gave the same corpus")
	}
}

// TestCorpusIsRealistic decodes the corpus with sesevent and checks the shape the benchmark
// figures claim: every record decodes, Send and Delivery per message, sizes 1–10 KB, headers and
// the SES tags present, about one message in ViolationEvery outside the policy.
func TestCorpusIsRealistic(t *testing.T) {
	const n = 20000
	var buf bytes.Buffer
	st, err := Write(&buf, Options{Seed: 1, Records: n})
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != n || st.Bytes != int64(buf.Len()) {
		t.Fatalf("stats %+v for %d bytes", st, buf.Len())
	}
	if st.MinSize < 1000 || st.MaxSize > 10240 || st.MaxSize < 8000 {
		t.Errorf("record sizes %d..%d, want within 1,000..10,240 reaching past 8,000", st.MinSize, st.MaxSize)
	}
	if avg := st.Bytes / st.Records; avg < 1300 || avg > 2200 {
		t.Errorf("average record %d bytes, want about 1.4–2 KB", avg)
	}
	if st.ByType["Send"] != st.Messages && st.ByType["Send"] != st.Messages-1 || st.ByType["Delivery"] < st.Messages-1 ||
		st.ByType["Bounce"] == 0 || st.ByType["Complaint"] == 0 {
		t.Errorf("types %v for %d messages", st.ByType, st.Messages)
	}
	p, err := policy.Load([]byte(Policy), "corpus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var records, sends, outside, unapproved int
	types := map[sesevent.Type]int64{}
	for res := range sesevent.DecodeReader(bytes.NewReader(buf.Bytes()), "corpus") {
		records++
		if res.Err != nil || res.Skip != "" || len(res.Events) != 1 {
			t.Fatalf("%s: err %v skip %q events %d", res.Ref, res.Err, res.Skip, len(res.Events))
		}
		ev := res.Events[0]
		types[ev.Type]++
		if ev.CallerIdentity == "" || !ev.SourceIP.IsValid() || ev.Operation == "" || ev.ConfigurationSet == "" ||
			ev.TLSVersion == "" || ev.FromDomain == "" || len(ev.From) != 1 || ev.Subject == "" || len(ev.Recipients) == 0 {
			t.Fatalf("%s: incomplete event %+v", res.Ref, ev)
		}
		if len(ev.Tags) < 7 {
			t.Fatalf("%s: %d tags, want at least 7", res.Ref, len(ev.Tags))
		}
		if ev.Type != sesevent.TypeSend {
			continue
		}
		sends++
		if !p.NetworkApproved(ev.SourceIP) {
			outside++
		}
		if !p.PrincipalApproved(ev.CallerIdentity) {
			unapproved++
		}
	}
	if records != n {
		t.Fatalf("decoded %d records, want %d", records, n)
	}
	for typ, want := range map[sesevent.Type]int64{sesevent.TypeSend: st.ByType["Send"], sesevent.TypeDelivery: st.ByType["Delivery"], sesevent.TypeBounce: st.ByType["Bounce"], sesevent.TypeComplaint: st.ByType["Complaint"]} {
		if types[typ] != want {
			t.Errorf("%s: decoded %d, generated %d", typ, types[typ], want)
		}
	}
	bad := sends / ViolationEvery
	if outside+unapproved < bad || outside > bad || unapproved > bad {
		t.Errorf("%d sends: %d outside the network, %d unapproved principals; want about %d violating messages", sends, outside, unapproved, bad)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"headers":[{"name":"From"`)) || !bytes.Contains(buf.Bytes(), []byte(`"headersTruncated":true`)) {
		t.Error("corpus lacks mail.headers or truncated-header records")
	}
}

// TestPeerListsMatchPolicy keeps the lists the non-Go peers use in step with Policy.
func TestPeerListsMatchPolicy(t *testing.T) {
	p, err := policy.Load([]byte(Policy), "corpus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ApprovedCIDRs {
		pfx := netip.MustParsePrefix(c)
		if !p.NetworkApproved(pfx.Addr().Next()) {
			t.Errorf("%s not approved by Policy", c)
		}
	}
	for _, pat := range ApprovedPrincipals {
		name := pat
		if name[len(name)-1] == '*' {
			name = name[:len(name)-1] + "x"
		}
		if !p.PrincipalApproved(name) {
			t.Errorf("%s not approved by Policy", pat)
		}
	}
	if p.NetworkApproved(netip.MustParseAddr("203.0.113.9")) || p.PrincipalApproved("ci-deploy-role") {
		t.Error("Policy approves the corpus's violations")
	}
}
