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
				v, ok := m[k.(string)].(string)
				if !ok {
					t.Errorf("dimension %v has no string value at the root", k)
					continue
				}
				// CloudWatch Dimension.Value: 1..1024 characters, ASCII without control
				// characters, at least one non-whitespace character.
				if len(v) == 0 || len(v) > 1024 || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r > 0x7e }) ||
					strings.TrimLeft(v, " ") == "" {
					t.Errorf("dimension %v = %q is not a valid CloudWatch dimension value", k, v)
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

// hostileNames are principal names, accounts, rules and actions as an attacker or a bad
// record could make them; each must reach CloudWatch as a valid dimension value.
var hostileNames = map[string]string{
	"":                         DimValueNone,
	" ":                        DimValueNone,
	"\t\n ":                    DimValueNone,
	"\u00a0":                   DimValueOther, // no-break space: whitespace, and not ASCII
	"\u3000":                   DimValueOther,
	"ses-smtp-usér":            DimValueOther,
	"用户":                       DimValueOther,
	"ⅿallory":                  DimValueOther,
	"pay\u200bpal":             DimValueOther,
	"\u202eresu":               DimValueOther,
	"🚨":                        DimValueOther,
	"a\nb":                     DimValueOther,
	"\x7f":                     DimValueOther,
	"\xff":                     DimValueOther,
	strings.Repeat("x", 500):   DimValueOther,
	" padded ":                 " padded ",
	"ses-smtp-user.2026":       "ses-smtp-user.2026",
	"network.outside_approved": "network.outside_approved",
}

// TestHostileDimension: whatever value a dimension gets, the record carries one CloudWatch
// accepts (validate checks the Dimension.Value rules), mapped as documented on dimValue.
func TestHostileDimension(t *testing.T) {
	var buf bytes.Buffer
	ingest := &Writer{Function: "ingest", Out: &buf, Now: func() time.Time { return t0 }}
	respond := &Writer{Function: "respond", Out: &buf, Now: func() time.Time { return t0 }}
	for v, want := range hostileNames {
		buf.Reset()
		emits := []error{
			ingest.Emit(MetricSendsSeen, 1, map[string]string{DimAccount: v, DimPrincipalClass: v}),
			ingest.Emit(MetricFindings, 1, map[string]string{DimRule: v}),
			respond.Emit(MetricActions, 1, map[string]string{DimAction: v, DimOutcome: v}),
		}
		for _, err := range emits {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			validate(t, line)
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{DimAccount, DimPrincipalClass, DimRule, DimAction, DimOutcome} {
				if got, ok := m[d]; ok && got != want {
					t.Errorf("%s %q became %q, want %q", d, v, got, want)
				}
			}
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
