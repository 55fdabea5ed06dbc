package ocsf

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// hivePaths parses a Hive type string and adds every attribute path it declares (arrays are
// transparent: resources.uid) with its leaf type.
func hivePaths(t *testing.T, prefix, typ string, out map[string]string) {
	t.Helper()
	switch {
	case strings.HasPrefix(typ, "array<") && strings.HasSuffix(typ, ">"):
		hivePaths(t, prefix, typ[len("array<"):len(typ)-1], out)
	case strings.HasPrefix(typ, "struct<") && strings.HasSuffix(typ, ">"):
		body, depth, start := typ[len("struct<"):len(typ)-1], 0, 0
		var fields []string
		for i, c := range body {
			switch c {
			case '<':
				depth++
			case '>':
				depth--
			case ',':
				if depth == 0 {
					fields, start = append(fields, body[start:i]), i+1
				}
			}
		}
		fields = append(fields, body[start:])
		for _, f := range fields {
			name, ft, ok := strings.Cut(f, ":")
			if !ok || name == "" {
				t.Fatalf("malformed struct field %q in %s", f, typ)
			}
			hivePaths(t, prefix+"."+name, ft, out)
		}
	case typ == "string" || typ == "int" || typ == "bigint" || typ == "boolean":
		out[strings.TrimPrefix(prefix, ".")] = typ
	default:
		t.Fatalf("%s: unknown Hive type %q", prefix, typ)
	}
}

// jsonPaths adds every attribute path of a decoded JSON render with a Hive type for its value.
func jsonPaths(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			jsonPaths(prefix+"."+k, e, out)
		}
	case []any:
		for _, e := range x {
			jsonPaths(prefix, e, out)
		}
	case string:
		out[strings.TrimPrefix(prefix, ".")] = "string"
	case float64:
		out[strings.TrimPrefix(prefix, ".")] = "number"
	case bool:
		out[strings.TrimPrefix(prefix, ".")] = "boolean"
	}
}

// TestGlueColumnsMatchRenders: the Glue table Firehose converts against declares exactly the
// attributes the renders emit (union over a full finding, a coverage finding and results), each
// with a type its JSON value converts to. A column the renders never fill, or an attribute
// without a column (which Parquet conversion would drop), fails.
func TestGlueColumnsMatchRenders(t *testing.T) {
	declared := map[string]string{}
	seen := map[string]bool{}
	for _, c := range GlueColumns() {
		if seen[c.Name] || c.Name != strings.ToLower(c.Name) {
			t.Errorf("column %q: duplicate or not lower case (the OpenX JSON SerDe matches lower-case names)", c.Name)
		}
		seen[c.Name] = true
		hivePaths(t, "."+c.Name, c.Type, declared)
	}
	emitted := map[string]string{}
	var renders []DetectionFinding
	for _, f := range []struct {
		name string
		a    int
	}{{"user", ActivityCreate}, {"coverage", ActivityUpdate}} {
		src := sampleFinding()
		if f.name == "coverage" {
			src = coverageFinding()
		}
		d, err := Finding(src, f.a)
		if err != nil {
			t.Fatal(err)
		}
		renders = append(renders, d)
	}
	for _, o := range []finding.Outcome{finding.OutcomeApplied, finding.OutcomeFailed, finding.OutcomeRestored} {
		d, err := Result(result(o))
		if err != nil {
			t.Fatal(err)
		}
		renders = append(renders, d)
	}
	for _, d := range renders {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		jsonPaths("", v, emitted)
	}
	for _, p := range slices.Sorted(maps.Keys(emitted)) {
		typ, ok := declared[p]
		switch {
		case !ok:
			t.Errorf("rendered attribute %s has no Glue column (Parquet conversion would drop it)", p)
		case emitted[p] == "number" && typ != "int" && typ != "bigint", emitted[p] == "string" && typ != "string":
			t.Errorf("attribute %s: JSON %s in a Glue %s column", p, emitted[p], typ)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(declared)) {
		if _, ok := emitted[p]; !ok {
			t.Errorf("Glue column %s (%s) is never rendered by these samples: fill it in a sample or drop it", p, declared[p])
		}
	}
	// Times are epoch milliseconds: they overflow a Hive int.
	for _, p := range []string{"time", "start_time", "end_time", "finding_info.created_time", "count"} {
		if declared[p] != "bigint" {
			t.Errorf("%s is %q, want bigint", p, declared[p])
		}
	}
}
