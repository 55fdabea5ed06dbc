package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/render/emf"
)

// TestMetrics: notify emits exactly its emf.Catalog metric: the alerts sent in the batch.
func TestMetrics(t *testing.T) {
	var buf bytes.Buffer
	h := &Handler{Notifier: &fakeNotifier{failID: "f-fail"}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Metrics: &emf.Writer{Function: "notify", Out: &buf}}
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "1", Body: js(&finding.Finding{Schema: finding.SchemaFinding, ID: "f-1", Severity: finding.SeverityHigh})},
		{MessageId: "2", Body: js(&finding.Result{Schema: finding.SchemaResult, FindingID: "f-1", Severity: finding.SeverityHigh})},
		{MessageId: "3", Body: js(&finding.Finding{Schema: finding.SchemaFinding, ID: "f-fail", Severity: finding.SeverityHigh})},
	}}
	if _, err := h.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("%q: %v", buf.String(), err)
	}
	name := m["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Metrics"].([]any)[0].(map[string]any)["Name"].(string)
	if d, ok := emf.Lookup(name); !ok || d.Function != "notify" || m[name] != 2.0 {
		t.Errorf("emitted %s=%v, want %s=2", name, m[name], emf.MetricAlerts)
	}
}
