package sescorpus

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/policy"
)

// TestShapes decodes a corpus of every named shape and checks what its Shape says: every record
// decodes to a complete event, sizes stay within SES's bounds, the violating share, the user
// tags, and that a shuffled order really leaves SES's order.
func TestShapes(t *testing.T) {
	p, err := policy.Load([]byte(Policy), "corpus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range ShapeNames() {
		t.Run(name, func(t *testing.T) {
			shape, err := LookupShape(name)
			if err != nil {
				t.Fatal(err)
			}
			const n = 6000
			var buf, again bytes.Buffer
			st, err := Write(&buf, Options{Seed: 11, Records: n, Shape: shape})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Write(&again, Options{Seed: 11, Records: n, Shape: shape}); err != nil || !bytes.Equal(buf.Bytes(), again.Bytes()) {
				t.Fatalf("not deterministic (err %v)", err)
			}
			if st.MinSize < 1000 || st.MaxSize > 10500 {
				t.Errorf("record sizes %d..%d, want within 1,000..10,500", st.MinSize, st.MaxSize)
			}
			// SES takes at most 50 recipients; the realistic corpus draws up to 51 and is kept
			// byte for byte so that earlier figures still compare.
			maxRcpts := 50
			if shape.Name == "realistic" {
				maxRcpts = 51
			}
			var sends, violating, eventTypeLast, userTags int
			for res := range sesevent.DecodeReader(bytes.NewReader(buf.Bytes()), name) {
				if res.Err != nil || res.Skip != "" || len(res.Events) != 1 {
					t.Fatalf("%s: err %v skip %q events %d", res.Ref, res.Err, res.Skip, len(res.Events))
				}
				ev := res.Events[0]
				if ev.CallerIdentity == "" || !ev.SourceIP.IsValid() || ev.Operation == "" || ev.ConfigurationSet == "" ||
					len(ev.From) != 1 || ev.Subject == "" || len(ev.Recipients) == 0 || len(ev.Recipients) > maxRcpts {
					t.Fatalf("%s: incomplete event %+v", res.Ref, ev)
				}
				if len(ev.Tags) != 7+shape.CustomTags+map[bool]int{true: 2}[ev.Type == sesevent.TypeDelivery] {
					t.Fatalf("%s: %d tags, want 7 + %d user tags", res.Ref, len(ev.Tags), shape.CustomTags)
				}
				if _, ok := ev.Tags["campaign"]; ok {
					userTags++
				}
				if ev.Type != sesevent.TypeSend {
					continue
				}
				sends++
				if !p.NetworkApproved(ev.SourceIP) || !p.PrincipalApproved(ev.CallerIdentity) {
					violating++
				}
			}
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				if !strings.HasPrefix(line, `{"eventType"`) {
					eventTypeLast++
				}
			}
			want := float64(shape.ViolatePercent) / 100
			if shape.ViolatePercent == 0 {
				want = 1.0 / ViolationEvery
			}
			if got := float64(violating) / float64(sends); got < want*0.8 || got > want*1.2 {
				t.Errorf("%d of %d sends violate (%.3f), want about %.3f", violating, sends, got, want)
			}
			if (userTags > 0) != (shape.CustomTags > 0) {
				t.Errorf("%d records with user tags, shape has %d", userTags, shape.CustomTags)
			}
			if (eventTypeLast > 0) != (shape.Order == OrderShuffled) {
				t.Errorf("%d records not starting with eventType, order %d", eventTypeLast, shape.Order)
			}
			if shape.Describe() == "" {
				t.Error("no description")
			}
		})
	}
	if _, err := LookupShape("nope"); err == nil || !strings.Contains(err.Error(), "independent") {
		t.Errorf("LookupShape(nope) = %v, want an error listing the shapes", err)
	}
}
