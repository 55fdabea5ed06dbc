package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/render/emf"
)

// emitted parses EMF lines into metric name → dimension values ("k=v,…") → value.
func emitted(t *testing.T, out string) map[string]map[string]float64 {
	t.Helper()
	got := map[string]map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		dir := m["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
		name := dir["Metrics"].([]any)[0].(map[string]any)["Name"].(string)
		var dims []string
		for _, k := range dir["Dimensions"].([]any)[0].([]any) {
			dims = append(dims, k.(string)+"="+m[k.(string)].(string))
		}
		if got[name] == nil {
			got[name] = map[string]float64{}
		}
		got[name][strings.Join(dims, ",")] += m[name].(float64)
	}
	return got
}

// TestMetrics: one batch emits every ingest metric of emf.Catalog and nothing else: decode
// errors, sends per account and principal class, findings per rule, lag of the oldest event.
func TestMetrics(t *testing.T) {
	var buf bytes.Buffer
	h := newHandler(newDetector(t, false), &fakePublisher{}, nil)
	now := time.Date(2026, 5, 4, 9, 16, 27, 418_000_000, time.UTC) // 60 s after the records' time
	h.Metrics = &emf.Writer{Function: "ingest", Out: &buf, Now: func() time.Time { return now }}
	if _, err := invoke(t, h, sqsEvent(sendRecord("a", "app", "10.1.2.3"), `{"eventType":`, sendRecord("b", "thief", "198.51.100.7"), sendRecord("c", "", "10.1.2.4"))); err != nil {
		t.Fatal(err)
	}
	got := emitted(t, buf.String())
	var want []string
	for _, d := range emf.Catalog {
		if d.Function == "ingest" {
			want = append(want, d.Name)
		}
	}
	if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, slices.Sorted(slices.Values(want))) {
		t.Fatalf("emitted %v, want ingest's catalog %v", names, want)
	}
	for name, series := range map[string]map[string]float64{
		emf.MetricDecodeErrors: {"Function=ingest": 1},
		emf.MetricSendsSeen:    {"Function=ingest,Account=123456789012,PrincipalClass=named": 2, "Function=ingest,Account=123456789012,PrincipalClass=unknown": 1},
		emf.MetricEventLag:     {"Function=ingest": 60000},
	} {
		if !maps.Equal(got[name], series) {
			t.Errorf("%s = %v, want %v", name, got[name], series)
		}
	}
	if got[emf.MetricFindings]["Function=ingest,Rule=network.outside_approved"] < 1 {
		t.Errorf("findings %v", got[emf.MetricFindings])
	}
}
