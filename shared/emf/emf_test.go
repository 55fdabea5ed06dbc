package emf

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

var t0 = time.Date(2026, 5, 4, 9, 15, 0, 0, time.UTC)

func TestGolden(t *testing.T) {
	var buf bytes.Buffer
	w := &Writer{Function: "ingest", Out: &buf, Now: func() time.Time { return t0 }}
	c := NewCounter(MetricSendsSeen)
	c.Add(3, map[string]string{DimAccount: "111122223333", DimPrincipalClass: "named"})
	c.Add(1, map[string]string{DimAccount: "111122223333", DimPrincipalClass: "unknown"})
	c.Add(2, map[string]string{DimPrincipalClass: "named", DimAccount: "111122223333"})
	if err := c.Flush(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Emit(MetricEventLag, 1250, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Emit(MetricFindings, 1, map[string]string{DimRule: "network.outside_approved"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "ingest.ndjson")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("got\n%s", buf.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		validate(t, line)
	}
}

// validate checks a line against the EMF specification: _aws.Timestamp (epoch ms),
// CloudWatchMetrics with Namespace, Dimensions (each ≤ 30 keys, each key present at the root as a
// string) and Metrics (Name present at the root as a number).
func validate(t *testing.T, line string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	aws, _ := m["_aws"].(map[string]any)
	if ts, _ := aws["Timestamp"].(float64); ts < 1e12 {
		t.Errorf("Timestamp %v", aws["Timestamp"])
	}
	for _, d := range aws["CloudWatchMetrics"].([]any) {
		dir := d.(map[string]any)
		if dir["Namespace"] != Namespace {
			t.Errorf("namespace %v", dir["Namespace"])
		}
		for _, set := range dir["Dimensions"].([]any) {
			keys := set.([]any)
			if len(keys) == 0 || len(keys) > 30 {
				t.Errorf("dimension set %v", keys)
			}
			for _, k := range keys {
				if _, ok := m[k.(string)].(string); !ok {
					t.Errorf("dimension %v has no string value at the root", k)
				}
			}
		}
		for _, mt := range dir["Metrics"].([]any) {
			name := mt.(map[string]any)["Name"].(string)
			if _, ok := m[name].(float64); !ok {
				t.Errorf("metric %s has no number at the root", name)
			}
			if _, ok := Lookup(name); !ok {
				t.Errorf("metric %s not in the catalog", name)
			}
		}
	}
}

func TestMisuse(t *testing.T) {
	w := &Writer{Function: "ingest", Out: io.Discard}
	for _, tc := range []struct {
		name string
		dims map[string]string
		want string
	}{
		{"NoSuchMetric", nil, "not in the catalog"},
		{MetricActions, map[string]string{DimAction: "a", DimOutcome: "b"}, "belongs to respond"},
		{MetricFindings, nil, "wants dimensions"},
		{MetricFindings, map[string]string{DimRule: "r", DimAccount: "1"}, "wants dimensions"},
	} {
		if err := w.Emit(tc.name, 1, tc.dims); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %v, want %q", tc.name, tc.dims, err, tc.want)
		}
	}
	var nilW *Writer
	if err := nilW.Emit(MetricFindings, 1, map[string]string{DimRule: "r"}); err != nil {
		t.Errorf("nil writer: %v", err)
	}
}

func TestHostileDimension(t *testing.T) {
	var buf bytes.Buffer
	w := &Writer{Function: "ingest", Out: &buf}
	for _, v := range []string{strings.Repeat("x", 500), "a\nb", "\xff", ""} {
		buf.Reset()
		if err := w.Emit(MetricFindings, 1, map[string]string{DimRule: v}); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if got := m[DimRule]; got != "other" && got != "none" {
			t.Errorf("%q became %q", v, got)
		}
	}
}

func TestCatalog(t *testing.T) {
	var names []string
	for _, d := range Catalog {
		if d.Function == "" || d.Unit == "" || slices.Contains(names, d.Name) {
			t.Errorf("bad or duplicate definition %+v", d)
		}
		names = append(names, d.Name)
	}
}

func BenchmarkEmit(b *testing.B) {
	w := &Writer{Function: "ingest", Out: io.Discard}
	dims := map[string]string{DimAccount: "111122223333", DimPrincipalClass: "named"}
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Emit(MetricSendsSeen, 3, dims); err != nil {
			b.Fatal(err)
		}
	}
}
