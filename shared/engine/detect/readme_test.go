package detect

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeDocumentsRules keeps README's rule table in step with the registry.
func TestReadmeDocumentsRules(t *testing.T) {
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Skipf("README: %v", err)
	}
	readme := string(b)
	for _, r := range Rules() {
		row := "| `" + r.ID + "` | " + string(r.Severity) + " |"
		if !strings.Contains(readme, row) {
			t.Errorf("README has no row starting %q", row)
		}
	}
}
