package reconcile

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/engine/detect"
)

// TestAPISendsMessageByMessage runs the real detector (ingest's half: data events and Send
// events into the state) and the reconciler (coverage's half) on one state: of four API sends in
// a period, one had its Send before the data event, one after, one only after the first check
// (late), and one never. Only the last is coverage.unobserved_sends, at the second check, naming
// the exact key; a second key of the same user is a second finding; a period is scanned until
// settled and then skipped.
func TestAPISendsMessageByMessage(t *testing.T) {
	ctx := context.Background()
	acct, region := "111122223333", "eu-west-1"
	p0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	st := detect.NewMemoryState()
	pol := examplePolicy(t)
	pol.Limits.UnobservedSends.Absolute, pol.Limits.UnobservedSends.Relative = 0, 0 // every message counts
	det, err := detect.New(pol, st, detect.WithClock(func() time.Time { return p0 }))
	if err != nil {
		t.Fatal(err)
	}
	call := func(id, key string, sec int) cloudtrail.Event {
		return cloudtrail.Event{
			EventID: "ev-" + id, EventTime: p0.Add(time.Duration(sec) * time.Second), EventName: "SendEmail",
			Category: cloudtrail.CategoryData, Account: acct, Region: region, MessageIDs: []string{id},
			Principal: cloudtrail.Principal{Type: cloudtrail.TypeIAMUser, Name: "leaked-user",
				ARN: "arn:aws:iam::" + acct + ":user/leaked-user", AccessKeyID: key},
			SourceIP: netip.MustParseAddr("203.0.113.9"), VPCEndpointID: "vpce-0a1b2c3d4e5f60718",
		}
	}
	send := func(id string, sec int) sesevent.Event {
		at := p0.Add(time.Duration(sec) * time.Second)
		return sesevent.Event{Type: sesevent.TypeSend, MessageID: id, MailTime: at, EventTime: at, Account: acct, Region: region,
			CallerIdentity: "leaked-user", Operation: "SendEmail", Recipients: []string{"x@example.org"}}
	}
	if _, err := det.Process(ctx, []sesevent.Event{send("m-before", 1)}); err != nil {
		t.Fatal(err)
	}
	const k1, k2 = "AKIALEAKEDUSER000001", "AKIALEAKEDUSER000002"
	if _, err := det.ProcessCalls(ctx, []cloudtrail.Event{call("m-before", k1, 1), call("m-after", k1, 2), call("m-late", k1, 3),
		call("m-never", k1, 4), call("m-never-2", k2, 5)}); err != nil {
		t.Fatal(err)
	}
	if _, err := det.Process(ctx, []sesevent.Event{send("m-after", 2)}); err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{CW: fakeCW{}, State: st, Policy: pol, Account: acct, Region: region}
	settled := p0.Add(Period + pol.Limits.UnobservedSends.Settle)

	first, err := r.Run(ctx, settled)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Findings) != 0 || len(first.APISends) != 1 || first.APISends[0].Status != StatusSuspect || first.APISends[0].Unobserved != 3 {
		t.Fatalf("first check: %+v, %d findings", first.APISends, len(first.Findings))
	}
	if _, err := det.Process(ctx, []sesevent.Event{send("m-late", 3)}); err != nil {
		t.Fatal(err)
	}
	second, err := r.Run(ctx, settled.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(second.APISends) != 1 || second.APISends[0].Status != StatusUnobserved || second.APISends[0].Unobserved != 2 || len(second.Findings) != 2 {
		t.Fatalf("second check: %+v, findings %+v", second.APISends, second.Findings)
	}
	byKey := map[string]finding.Finding{}
	for _, f := range second.Findings {
		byKey[f.Principal.AccessKeyID] = f
	}
	f := byKey[k1]
	if f.Rule != rules.CoverageUnobservedSends || f.Principal.Name != "leaked-user" || f.Principal.Kind != finding.KindUser ||
		f.Principal.ARN != "arn:aws:iam::"+acct+":user/leaked-user" || strings.Join(f.Evidence.MessageIDs, ",") != "m-never" ||
		f.Evidence.Count != 1 || f.Evidence.VPCEndpointID != "vpce-0a1b2c3d4e5f60718" || !f.WindowStart.Equal(p0) ||
		!strings.Contains(f.Evidence.Detail, "1 of 4 API send(s) by leaked-user") || !strings.Contains(f.Evidence.Detail, "CloudTrail") || !strings.Contains(f.Evidence.Detail, "with access key "+k1) {
		t.Errorf("finding %+v", f)
	}
	if g := byKey[k2]; g.ID == f.ID || strings.Join(g.Evidence.MessageIDs, ",") != "m-never-2" {
		t.Errorf("second key's finding %+v", g)
	}
	// Settled: later runs skip the period; a publish failure re-alerts only its own finding.
	third, err := r.Run(ctx, settled.Add(20*time.Minute))
	if err != nil || len(third.APISends) != 0 || len(third.Findings) != 0 {
		t.Fatalf("third check: %+v %v", third, err)
	}
	if err := r.Unalert(ctx, &f); err != nil {
		t.Fatal(err)
	}
	again, err := r.Run(ctx, settled.Add(30*time.Minute))
	if err != nil || len(again.Findings) != 1 || again.Findings[0].ID != f.ID {
		t.Fatalf("after Unalert: %+v %v", again, err)
	}
	// A data event CloudTrail delivers after the period was settled reopens it.
	const k3 = "AKIALEAKEDUSER000003"
	if _, err := det.ProcessCalls(ctx, []cloudtrail.Event{call("m-ct-late", k3, 6)}); err != nil {
		t.Fatal(err)
	}
	var late []finding.Finding
	for i := range 2 {
		res, err := r.Run(ctx, settled.Add(time.Duration(40+10*i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		late = append(late, res.Findings...)
	}
	if len(late) != 1 || late[0].Principal.AccessKeyID != k3 {
		t.Fatalf("late data event: %+v", late)
	}
}

// TestAPISendsTolerance: with the example policy's tolerance (more than 5 and more than 2 %), a
// principal's single straggler is tolerated (counted, not alerted); 6 missing sends of one key
// are alerted; the tolerance is per principal and key, so another key's sends do not dilute it.
func TestAPISendsTolerance(t *testing.T) {
	ctx := context.Background()
	acct, region := "111122223333", "eu-west-1"
	p0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	st := detect.NewMemoryState()
	pol := examplePolicy(t)
	exp := p0.Add(72 * time.Hour)
	slot := 0
	add := func(id, principal, key string, seen bool) {
		slot++
		info := detect.SendInfo{Account: acct, Principal: principal, AccessKeyID: key, MessageID: id}
		if _, err := st.Add(ctx, detect.APISendCountKey(acct, region, p0), 1, exp); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Mark(ctx, detect.APISendSlotKey(acct, region, p0, int64(slot)), info, exp); err != nil {
			t.Fatal(err)
		}
		if seen {
			if _, err := st.Mark(ctx, detect.SendSeenKey(id), detect.SendInfo{Account: acct}, exp); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 300 { // the application: approved, monitored; one straggler
		add(fmt.Sprintf("app-%d", i), "mailer-task-role", "ASIAMAILER", i != 7)
	}
	for i := range 6 { // a key sending past the monitored sets
		add(fmt.Sprintf("bypass-%d", i), "reports-user", "AKIAREPORTS", false)
	}
	r := &Reconciler{CW: fakeCW{}, State: st, Policy: pol, Account: acct, Region: region}
	at := p0.Add(Period + pol.Limits.UnobservedSends.Settle)
	if _, err := r.Run(ctx, at); err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(ctx, at.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || res.Findings[0].Principal.AccessKeyID != "AKIAREPORTS" || res.Findings[0].Evidence.Count != 6 ||
		len(res.APISends) != 1 || res.APISends[0].Tolerated != 1 || res.APISends[0].Unobserved != 7 {
		t.Fatalf("checks %+v findings %+v", res.APISends, res.Findings)
	}
	if !strings.Contains(res.Findings[0].Evidence.Detail, "6 of 6 API send(s) by reports-user with access key AKIAREPORTS") {
		t.Errorf("detail %s", res.Findings[0].Evidence.Detail)
	}
}

// failingState fails every call on a key with the given prefix.
type failingState struct {
	State
	prefix string
}

func (f failingState) fail(key string) error {
	if strings.HasPrefix(key, f.prefix) {
		return fmt.Errorf("throttled on %s", key)
	}
	return nil
}

func (f failingState) SendInfo(ctx context.Context, key string) (detect.SendInfo, bool, error) {
	if err := f.fail(key); err != nil {
		return detect.SendInfo{}, false, err
	}
	return f.State.SendInfo(ctx, key)
}

func (f failingState) Mark(ctx context.Context, key string, info detect.SendInfo, exp time.Time) (bool, error) {
	if err := f.fail(key); err != nil {
		return false, err
	}
	return f.State.Mark(ctx, key, info, exp)
}

// TestAPISendsStateErrors: a State failure while checking API sends stops the run with an error
// naming what was being read or marked (the coverage function then fails the invocation, and
// the schedule retries), and nothing is alerted.
func TestAPISendsStateErrors(t *testing.T) {
	ctx := context.Background()
	acct, region := "111122223333", "eu-west-1"
	p0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	mem := detect.NewMemoryState()
	exp := p0.Add(72 * time.Hour)
	if _, err := mem.Add(ctx, detect.APISendCountKey(acct, region, p0), 1, exp); err != nil {
		t.Fatal(err)
	}
	if _, err := mem.Mark(ctx, detect.APISendSlotKey(acct, region, p0, 1), detect.SendInfo{Principal: "p", AccessKeyID: "AKIAX", MessageID: "m-1"}, exp); err != nil {
		t.Fatal(err)
	}
	pol := examplePolicy(t)
	at := p0.Add(Period + pol.Limits.UnobservedSends.Settle)
	for _, c := range []struct{ prefix, want string }{
		{detect.APISendSlotKey(acct, region, p0, 1), "read API send 1 of 2026-12-01T10:00:00Z"},
		{detect.SendSeenKey("m-1"), "read Send of m-1"},
		{"recon#suspect-msg", "mark message m-1"},
	} {
		r := &Reconciler{CW: fakeCW{}, State: failingState{State: mem, prefix: c.prefix}, Policy: pol, Account: acct, Region: region}
		res, err := r.Run(ctx, at)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "throttled") {
			t.Errorf("%s: err %v, want %q", c.prefix, err, c.want)
		}
		if res != nil && len(res.Findings) != 0 {
			t.Errorf("%s: findings %+v", c.prefix, res.Findings)
		}
	}
}
