package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/shared/core/finding"
)

type fakeNotifier struct {
	findings []string
	results  []string
	failID   string
}

func (n *fakeNotifier) NotifyFinding(_ context.Context, f *finding.Finding) error {
	if f.ID == n.failID {
		return errors.New("slack: 500")
	}
	n.findings = append(n.findings, f.ID)
	return nil
}

func (n *fakeNotifier) NotifyResult(_ context.Context, r *finding.Result) error {
	if r.FindingID == n.failID {
		return errors.New("sns: throttled")
	}
	n.results = append(n.results, r.FindingID)
	return nil
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func snsWrap(msg string) string {
	return js(map[string]any{"Type": "Notification", "MessageId": "n", "TopicArn": "arn:aws:sns:us-east-1:123456789012:findings", "Message": msg})
}

func TestHandle(t *testing.T) {
	high := &finding.Finding{Schema: finding.SchemaFinding, ID: "f-high", Rule: "network.outside_approved", Severity: finding.SeverityHigh}
	low := &finding.Finding{Schema: finding.SchemaFinding, ID: "f-low", Rule: "sender.from_unapproved", Severity: finding.SeverityLow}
	res := &finding.Result{Schema: finding.SchemaResult, FindingID: "f-high", Severity: finding.SeverityHigh, Mode: "enforce"}
	bad := &finding.Finding{Schema: finding.SchemaFinding, ID: "f-fail", Severity: finding.SeverityCritical}
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "1", Body: js(high)},
		{MessageId: "2", Body: snsWrap(js(res))},
		{MessageId: "3", Body: js(low)},
		{MessageId: "4", Body: "not json"},
		{MessageId: "5", Body: `{"schema":"sesguard.finding/v9"}`},
		{MessageId: "6", Body: js(bad)},
		{MessageId: "7", Body: ""},
	}}
	n := &fakeNotifier{failID: "f-fail"}
	h := &Handler{Notifier: n, MinSeverity: finding.SeverityMedium, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	resp, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if want := []string{"4", "5", "6", "7"}; !slices.Equal(failed, want) {
		t.Errorf("batchItemFailures = %v, want %v", failed, want)
	}
	if !slices.Equal(n.findings, []string{"f-high"}) || !slices.Equal(n.results, []string{"f-high"}) {
		t.Errorf("notified findings %v results %v", n.findings, n.results)
	}
}

func TestNoMinSeverityAlertsEverything(t *testing.T) {
	low := &finding.Finding{Schema: finding.SchemaFinding, ID: "f-low", Severity: finding.SeverityLow}
	n := &fakeNotifier{}
	h := &Handler{Notifier: n, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	if _, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "1", Body: js(low)}}}); err != nil {
		t.Fatal(err)
	}
	if len(n.findings) != 1 {
		t.Errorf("findings notified = %v", n.findings)
	}
}

// hangingNotifier blocks every delivery until its context ends, like Slack timing out with
// retries.
type hangingNotifier struct{ calls []string }

func (n *hangingNotifier) NotifyFinding(ctx context.Context, f *finding.Finding) error {
	n.calls = append(n.calls, f.ID)
	<-ctx.Done()
	return ctx.Err()
}

func (n *hangingNotifier) NotifyResult(ctx context.Context, r *finding.Result) error {
	n.calls = append(n.calls, r.FindingID)
	<-ctx.Done()
	return ctx.Err()
}

// TestHangingDestinationReturnsBeforeDeadline: a hanging destination must not run the invocation
// into its timeout (which would hand the whole batch back to SQS): the handler stops early, fails
// the hung record and the ones it had no time for, and returns before the deadline.
func TestHangingDestinationReturnsBeforeDeadline(t *testing.T) {
	f1 := &finding.Finding{Schema: finding.SchemaFinding, ID: "f-1", Severity: finding.SeverityHigh}
	f2 := &finding.Finding{Schema: finding.SchemaFinding, ID: "f-2", Severity: finding.SeverityHigh}
	n := &hangingNotifier{}
	h := &Handler{Notifier: n, Reserve: 150 * time.Millisecond, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	deadline := time.Now().Add(600 * time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "1", Body: js(f1)}, {MessageId: "2", Body: js(f2)}}})
	if err != nil {
		t.Fatal(err)
	}
	if !time.Now().Before(deadline.Add(-100 * time.Millisecond)) {
		t.Errorf("returned %v after the deadline reserve", time.Since(deadline.Add(-150*time.Millisecond)))
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if !slices.Equal(failed, []string{"1", "2"}) || !slices.Equal(n.calls, []string{"f-1"}) {
		t.Errorf("failed %v, attempted %v; want both failed and only f-1 attempted", failed, n.calls)
	}
}

// TestUnknownSeverityIsNotFiltered: with alerts.min_severity set, a finding or result whose
// severity is missing or not one sesguard knows (a newer producer, a typo, "CRITICAL") must be
// alerted, not dropped as "below" the minimum.
func TestUnknownSeverityIsNotFiltered(t *testing.T) {
	var recs []events.SQSMessage
	for i, sev := range []finding.Severity{"", "CRITICAL", "urgent"} {
		f := &finding.Finding{Schema: finding.SchemaFinding, ID: "f-" + string(rune('a'+i)), Severity: sev}
		r := &finding.Result{Schema: finding.SchemaResult, FindingID: f.ID, Severity: sev, Mode: "enforce"}
		recs = append(recs, events.SQSMessage{MessageId: "f" + f.ID, Body: js(f)}, events.SQSMessage{MessageId: "r" + f.ID, Body: js(r)})
	}
	n := &fakeNotifier{}
	h := &Handler{Notifier: n, MinSeverity: finding.SeverityHigh, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	resp, err := h.Handle(context.Background(), events.SQSEvent{Records: recs})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("err %v, failures %v", err, resp.BatchItemFailures)
	}
	if want := []string{"f-a", "f-b", "f-c"}; !slices.Equal(n.findings, want) || !slices.Equal(n.results, want) {
		t.Errorf("notified findings %v results %v; want all of %v", n.findings, n.results, want)
	}
}
