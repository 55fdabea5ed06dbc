package rules

import (
	"regexp"
	"testing"
)

// TestCatalogEntries holds every entry to what its readers assume: a unique dotted id, a title
// and a doc line, a known severity, and not both stateful and external.
func TestCatalogEntries(t *testing.T) {
	idRe := regexp.MustCompile(`^[a-z]+\.[a-z_]+$`)
	seen := map[string]bool{}
	titles := map[string]string{}
	for _, r := range All() {
		switch {
		case !idRe.MatchString(r.ID):
			t.Errorf("%q: id is not family.name", r.ID)
		case seen[r.ID]:
			t.Errorf("%s: declared twice", r.ID)
		case r.Title == "" || r.Doc == "":
			t.Errorf("%s: empty title or doc", r.ID)
		case r.Severity.Rank() == 0:
			t.Errorf("%s: unknown severity %q", r.ID, r.Severity)
		case r.Stateful && r.External:
			t.Errorf("%s: both stateful and external", r.ID)
		}
		if other, ok := titles[r.Title]; ok {
			t.Errorf("%s and %s share the title %q", r.ID, other, r.Title)
		}
		seen[r.ID], titles[r.Title] = true, r.ID
	}
	if got := len(Names()); got != len(All()) {
		t.Errorf("Names() = %d, All() = %d", got, len(All()))
	}
	if _, ok := Lookup("no.such_rule"); ok {
		t.Error("Lookup found an unknown id")
	}
}
