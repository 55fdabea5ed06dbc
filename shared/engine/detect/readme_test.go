package detect

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the rule table in README.md from the catalog")

const (
	tableBegin = "<!-- rules:begin"
	tableEnd   = "<!-- rules:end -->"
)

// ruleTable is the README's rule table, rendered from the registry (the catalog's entries in
// order, so it lists what detect actually evaluates or knows is raised elsewhere).
func ruleTable() string {
	var b strings.Builder
	b.WriteString("| rule | default severity | title | fires when |\n|---|---|---|---|\n")
	for _, r := range Rules() {
		b.WriteString("| `" + r.ID + "` | " + string(r.Severity) + " | " + r.Title + " | " + r.Doc + " |\n")
	}
	return b.String()
}

// TestReadmeRuleTable keeps README.md's rule table generated from the catalog; with
// -update-readme it rewrites the table.
func TestReadmeRuleTable(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i := strings.Index(readme, tableBegin)
	j := strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %s … %s block", tableBegin, tableEnd)
	}
	head := readme[:i]
	beginLine, _, _ := strings.Cut(readme[i:], "\n")
	want := head + beginLine + "\n" + ruleTable() + readme[j:]
	if *updateReadme {
		if err := os.WriteFile("README.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if readme != want {
		t.Error("README.md's rule table is stale: go test ./shared/engine/detect -run TestReadmeRuleTable -update-readme")
	}
}
