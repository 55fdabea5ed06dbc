package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/shared/core/finding"
)

type fakeContainer struct {
	calls []string
}

func (c *fakeContainer) Contain(_ context.Context, f *finding.Finding) (*finding.Result, []finding.Finding, error) {
	c.calls = append(c.calls, f.ID)
	switch f.ID {
	case "f-broken":
		return nil, nil, errors.New("ledger table missing")
	case "f-capped":
		return &finding.Result{Schema: finding.SchemaResult, FindingID: f.ID, Actions: []finding.ActionResult{{Action: "deactivate_keys", Outcome: finding.OutcomeRateCapped}}},
			[]finding.Finding{{Schema: finding.SchemaFinding, ID: "f-capped-rate", Rule: "containment.rate_capped"}}, nil
	case "f-fails":
		return &finding.Result{Schema: finding.SchemaResult, FindingID: f.ID, Actions: []finding.ActionResult{{Action: "deactivate_keys", Outcome: finding.OutcomeFailed, Error: "AccessDenied"}}}, nil, nil
	}
	return &finding.Result{Schema: finding.SchemaResult, FindingID: f.ID, Mode: "enforce", Actions: []finding.ActionResult{{ActionID: "sg-1", Action: "deactivate_keys", Outcome: finding.OutcomeApplied}}}, nil, nil
}

type fakePublisher struct {
	findings, results []string
	failResult        string
}

func (p *fakePublisher) PublishFinding(_ context.Context, f *finding.Finding) (string, error) {
	p.findings = append(p.findings, f.ID)
	return "m", nil
}

func (p *fakePublisher) PublishResult(_ context.Context, r *finding.Result) (string, error) {
	if r.FindingID == p.failResult {
		return "", errors.New("sns: throttled")
	}
	p.results = append(p.results, r.FindingID)
	return "m", nil
}

func body(id string, actions ...string) string {
	b, _ := json.Marshal(finding.Finding{Schema: finding.SchemaFinding, ID: id, Rule: "network.outside_approved", Actions: actions})
	return string(b)
}

func TestHandle(t *testing.T) {
	res, _ := json.Marshal(finding.Result{Schema: finding.SchemaResult, FindingID: "f-x"})
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "1", Body: body("f-ok", "deactivate_keys")},
		{MessageId: "2", Body: body("f-info")}, // not actionable
		{MessageId: "3", Body: string(res)},    // result: ignored
		{MessageId: "4", Body: "{"},
		{MessageId: "5", Body: body("f-broken", "deactivate_keys")},
		{MessageId: "6", Body: body("f-capped", "deactivate_keys")},
		{MessageId: "7", Body: body("f-fails", "deactivate_keys")},
		{MessageId: "8", Body: body("f-nopub", "deactivate_keys")},
	}}
	c, p := &fakeContainer{}, &fakePublisher{failResult: "f-nopub"}
	h := &Handler{Container: c, Publisher: p, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	resp, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if want := []string{"4", "5", "7", "8"}; !slices.Equal(failed, want) {
		t.Errorf("batchItemFailures = %v, want %v", failed, want)
	}
	if want := []string{"f-ok", "f-broken", "f-capped", "f-fails", "f-nopub"}; !slices.Equal(c.calls, want) {
		t.Errorf("contained %v, want %v", c.calls, want)
	}
	if want := []string{"f-ok", "f-capped", "f-fails"}; !slices.Equal(p.results, want) {
		t.Errorf("results published %v, want %v", p.results, want)
	}
	if want := []string{"f-capped-rate"}; !slices.Equal(p.findings, want) {
		t.Errorf("extra findings published %v, want %v", p.findings, want)
	}
}
