package detect

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// apiSendCall is the CloudTrail data event of an API send of message id by leaked-user.
func apiSendCall(i int, id string) cloudtrail.Event {
	c := leaked(goodCall(i))
	c.EventName, c.Category = "SendEmail", cloudtrail.CategoryData
	c.MessageIDs = []string{id}
	c.VPCEndpointID = "vpce-0a1b2c3d4e5f60718"
	c.Identity = "arn:aws:ses:eu-west-1:111122223333:identity/mail.example.com"
	return c
}

// TestAPISendMarksAndSlots: an accepted API send leaves its mark (exact key, endpoint, message
// id) and a numbered slot in its period; a refused send, a management call and a redelivery
// leave none; a failed batch takes its marks and slot counter back.
func TestAPISendMarksAndSlots(t *testing.T) {
	ctx := context.Background()
	st := NewMemoryState()
	d := newDetector(t, examplePolicy(t), st)
	refused := apiSendCall(3, "msg-refused")
	refused.ErrorCode = "AccessDenied"
	calls := []cloudtrail.Event{apiSendCall(1, "msg-1"), apiSendCall(2, "msg-2"), refused, leaked(goodCall(4))}
	if _, err := d.ProcessCalls(ctx, calls); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ProcessCalls(ctx, calls[:1]); err != nil { // redelivered
		t.Fatal(err)
	}
	at := calls[0].EventTime
	if n, _ := st.Get(ctx, APISendCountKey("111122223333", "eu-west-1", at)); n != 2 {
		t.Fatalf("slots %d, want 2", n)
	}
	seen := map[string]SendInfo{}
	for i := int64(1); i <= 2; i++ {
		info, ok, err := st.SendInfo(ctx, APISendSlotKey("111122223333", "eu-west-1", at, i))
		if err != nil || !ok {
			t.Fatalf("slot %d: %v %v", i, ok, err)
		}
		seen[info.MessageID] = info
	}
	info := seen["msg-1"]
	if len(seen) != 2 || info.AccessKeyID != "AKIALEAKEDUSER000001" || info.Principal != "leaked-user" || info.VPCEndpointID != "vpce-0a1b2c3d4e5f60718" {
		t.Errorf("slots %+v", seen)
	}
	if _, ok, _ := st.SendInfo(ctx, APISendKey("msg-refused")); ok {
		t.Error("a refused send was marked as sent")
	}

	// Rollback: a batch failing after its marks leaves no mark, slot or count behind.
	fst := &failingState{MemoryState: NewMemoryState(), fail: true}
	fd := newDetector(t, examplePolicy(t), fst)
	if _, err := fd.ProcessCalls(ctx, []cloudtrail.Event{apiSendCall(1, "msg-1")}); err == nil {
		t.Fatal("want the tally failure")
	}
	if n, _ := fst.Get(ctx, APISendCountKey("111122223333", "eu-west-1", at)); n != 0 {
		t.Errorf("count after rollback %d", n)
	}
	for _, k := range []string{APISendKey("msg-1"), APISendSlotKey("111122223333", "eu-west-1", at, 1)} {
		if _, ok, _ := fst.SendInfo(ctx, k); ok {
			t.Errorf("%s kept after rollback", k)
		}
	}
}

// TestAPISendJoin: with WithAPISendJoin a Send whose data event came first is judged with the
// exact key and VPC endpoint of its call (one finding per key); without the option, or when the
// call's principal is not the Send's caller, the finding has no key (containment guesses it).
func TestAPISendJoin(t *testing.T) {
	ctx := context.Background()
	send := func(id, caller string) sesevent.Event {
		return with(goodSend(1), func(e *sesevent.Event) {
			e.MessageID, e.CallerIdentity = id, caller
			e.SourceIP = netip.MustParseAddr("203.0.113.9")
		})
	}
	for _, c := range []struct {
		name, caller string
		join         bool
		wantKey      string
	}{
		{"joined", "leaked-user", true, "AKIALEAKEDUSER000001"},
		{"option off", "leaked-user", false, ""},
		{"other caller", "someone-else", true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var opts []Option
			if c.join {
				opts = append(opts, WithAPISendJoin())
			}
			d := newDetector(t, examplePolicy(t), NewMemoryState(), opts...)
			if _, err := d.ProcessCalls(ctx, []cloudtrail.Event{apiSendCall(1, "msg-join")}); err != nil {
				t.Fatal(err)
			}
			b, err := d.Process(ctx, []sesevent.Event{send("msg-join", c.caller)})
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, u := range b.Updates {
				if u.Finding.Rule != rules.NetworkOutsideApproved {
					continue
				}
				found = true
				if u.Finding.Principal.AccessKeyID != c.wantKey {
					t.Errorf("key %q, want %q", u.Finding.Principal.AccessKeyID, c.wantKey)
				}
				if wantVPCE := map[bool]string{true: "vpce-0a1b2c3d4e5f60718"}[c.wantKey != ""]; u.Finding.Evidence.VPCEndpointID != wantVPCE {
					t.Errorf("vpce %q, want %q", u.Finding.Evidence.VPCEndpointID, wantVPCE)
				}
			}
			if !found {
				t.Fatalf("no %s finding: %+v", rules.NetworkOutsideApproved, b.Updates)
			}
		})
	}
}

// BenchmarkProcessJoinedSends: the cost of WithAPISendJoin on Process (one State read per Send),
// against the same batches without it.
func BenchmarkProcessJoinedSends(b *testing.B) {
	for _, join := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "join"}[join], func(b *testing.B) {
			ctx := context.Background()
			var opts []Option
			if join {
				opts = append(opts, WithAPISendJoin())
			}
			d := newDetector(b, examplePolicy(b), NewMemoryState(), opts...)
			events := make([]sesevent.Event, 100)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				for j := range events {
					events[j] = goodSend(i*len(events) + j)
				}
				if _, err := d.Process(ctx, events); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestStatesKeepEverySendInfoField: both States give back every SendInfo field (the join and
// the per-message reconciliation read the key, endpoint and message id back).
func TestStatesKeepEverySendInfoField(t *testing.T) {
	want := SendInfo{Account: "a", Principal: "p", Identity: "i", AccessKeyID: "AKIAX", VPCEndpointID: "vpce-1", MessageID: "m"}
	st := NewMemoryState()
	ctx := context.Background()
	if _, err := st.Mark(ctx, "k", want, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := st.SendInfo(ctx, "k"); err != nil || !ok || got != want {
		t.Errorf("memory: %+v %v %v", got, ok, err)
	}
}
