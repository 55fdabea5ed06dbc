package detect

import (
	"testing"
	"unsafe"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// The Collector keeps copies of the evidence strings: the decoder hands out strings that live in
// chunks of its own, and a sample kept to the end of the stream must not hold on to them (nor
// see their bytes change).
func TestCollectorCopiesEvidence(t *testing.T) {
	buf := []byte("msg-1msg-2a@example.com")
	view := func(i, j int) string { return unsafe.String(&buf[i], j-i) }
	c := NewCollector()
	f := finding.Finding{ID: "f", Evidence: finding.Evidence{MessageIDs: []string{view(0, 5)}, RecipientsSample: []string{view(10, 23)}}}
	c.Add([]Update{{Finding: f}})
	f.Evidence.MessageIDs = []string{view(5, 10)}
	c.Add([]Update{{Finding: f}})
	for i := range buf {
		buf[i] = 'x'
	}
	got := c.Findings()
	if len(got) != 1 {
		t.Fatalf("%d findings, want 1", len(got))
	}
	ev := got[0].Evidence
	if len(ev.MessageIDs) != 2 || ev.MessageIDs[0] != "msg-1" || ev.MessageIDs[1] != "msg-2" || ev.RecipientsSample[0] != "a@example.com" {
		t.Errorf("evidence changed with the decoder's bytes: %+v", ev)
	}
}
