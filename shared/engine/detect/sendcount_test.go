package detect

import (
	"context"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// TestSendCounters: first-seen Send events are counted per account, Region and 5-minute period
// (by mail.timestamp); redeliveries and non-Send events are not; a failed batch takes its
// increments back.
func TestSendCounters(t *testing.T) {
	st := &failingState{MemoryState: NewMemoryState()}
	d := newDetector(t, examplePolicy(t), st)
	ctx := context.Background()
	a, b, c := goodSend(1), goodSend(2), goodSend(3)
	c.MailTime = t0.Add(6 * time.Minute) // next period
	other := goodSend(4)
	other.Region = "us-east-1"
	bounce := goodSend(5)
	bounce.Type = sesevent.TypeBounce
	process(t, d, []sesevent.Event{a, b, c, other, bounce, a})
	process(t, d, []sesevent.Event{b}) // redelivered
	for _, tc := range []struct {
		region string
		at     time.Time
		want   int64
	}{{"eu-west-1", t0, 2}, {"eu-west-1", t0.Add(6 * time.Minute), 1}, {"us-east-1", t0, 1}, {"eu-west-1", t0.Add(10 * time.Minute), 0}} {
		got, err := st.Get(ctx, SendCountKey("111122223333", tc.region, tc.at))
		if err != nil || got != tc.want {
			t.Errorf("%s %s: %d %v, want %d", tc.region, tc.at, got, err, tc.want)
		}
	}
	// A failing batch leaves the counters as they were.
	st.fail = true
	bad := goodSend(9)
	bad.ConfigurationSet = "marketing"
	if _, err := d.Process(ctx, []sesevent.Event{bad}); err == nil {
		t.Fatal("no error")
	}
	if got, _ := st.Get(ctx, SendCountKey("111122223333", "eu-west-1", t0)); got != 2 {
		t.Errorf("after a failed batch: %d, want 2", got)
	}
}
