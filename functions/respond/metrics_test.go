package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/shared/render/emf"
)

// TestMetrics: respond emits exactly its emf.Catalog metric, one series per action and outcome.
func TestMetrics(t *testing.T) {
	var buf bytes.Buffer
	h := &Handler{Container: &fakeContainer{}, Publisher: &fakePublisher{}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Metrics: &emf.Writer{Function: "respond", Out: &buf}}
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "1", Body: body("f-ok", "deactivate_keys")},
		{MessageId: "2", Body: body("f-ok2", "deactivate_keys")},
		{MessageId: "3", Body: body("f-capped", "deactivate_keys")},
		{MessageId: "4", Body: body("f-fails", "deactivate_keys")},
	}}
	if _, err := h.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		name := m["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Metrics"].([]any)[0].(map[string]any)["Name"].(string)
		if d, ok := emf.Lookup(name); !ok || d.Function != "respond" {
			t.Errorf("respond emitted %s, not one of its catalog metrics", name)
		}
		got[m[emf.DimAction].(string)+"/"+m[emf.DimOutcome].(string)] += m[name].(float64)
	}
	want := map[string]float64{"deactivate_keys/applied": 2, "deactivate_keys/rate_capped": 1, "deactivate_keys/failed": 1}
	if !maps.Equal(got, want) {
		t.Errorf("actions %v, want %v", got, want)
	}
}
