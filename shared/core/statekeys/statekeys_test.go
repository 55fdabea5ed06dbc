package statekeys

import (
	"strings"
	"testing"
)

// TestPrefixesNeverOverlap: no user's prefix is a prefix of another's, so no key one user
// writes can fall in another's range (a Query on one prefix never returns another's items).
func TestPrefixesNeverOverlap(t *testing.T) {
	all := Prefixes()
	for i, a := range all {
		if a.Value == "" || !strings.HasSuffix(a.Value, "#") {
			t.Errorf("%s: prefix %q must be non-empty and end in #", a.Owner, a.Value)
		}
		for j, b := range all {
			if i != j && strings.HasPrefix(b.Value, a.Value) {
				t.Errorf("%s (%q) overlaps %s (%q)", a.Owner, a.Value, b.Owner, b.Value)
			}
		}
	}
}
