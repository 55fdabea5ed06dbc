package main

import "testing"

func TestSmoke(t *testing.T) {
	for _, name := range sortedKeys(synths) {
		s := get(t, name)
		t.Logf("%s: %d resources, %d errors, %d warnings", name, len(s.json["Resources"].(map[string]any)), len(s.errors), len(s.warnings))
		for _, e := range s.errors {
			t.Logf("  ERR %s", e)
		}
		for _, w := range s.warnings {
			t.Logf("  WARN %s", w)
		}
	}
}
