package alert

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeSlackExample keeps shared/deliver/README.md's rendered Slack example identical to the golden file.
func TestReadmeSlackExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatalf("read README: %v", err)
	}
	_, after, ok := strings.Cut(string(readme), "<!-- alert-slack-example -->\n```json\n")
	if !ok {
		t.Fatal("README has no <!-- alert-slack-example --> json block")
	}
	example, _, ok := strings.Cut(after, "\n```")
	if !ok {
		t.Fatal("README alert example block is not closed")
	}
	want, err := os.ReadFile("testdata/slack_finding_dryrun.json")
	if err != nil {
		t.Fatal(err)
	}
	if example != strings.TrimRight(string(want), "\n") {
		t.Errorf("README Slack example differs from testdata/slack_finding_dryrun.json; copy the golden file into README")
	}
}
