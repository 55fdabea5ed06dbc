package sanitize

import (
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		limit    int
		want     string
	}{
		{"plain ascii unchanged", "deploy-role", 64, "deploy-role"},
		{"controls and newlines become one space", "a\r\n\tb\x00c", 64, "a b c"},
		{"bidi override and zero-width dropped", "ev\u202eil\u200b.example", 64, "evil.example"},
		{"invalid UTF-8 becomes U+FFFD", "a\xffb", 64, "a\ufffdb"},
		{"chat-wide mention defused", "hi @here and @Channel", 64, "hi ＠here and ＠Channel"},
		{"ordinary at sign kept", "a@b.example", 64, "a@b.example"},
		{"combining marks capped", "z\u0301\u0301\u0301\u0301\u0301", 64, "z\u0301\u0301\u0301"},
		{"clipped with the marker", strings.Repeat("x", 40), 20, "xxxxxxxx" + TruncationMarker},
		{"huge input cut before cleaning and marked", strings.Repeat("\u202e", 1<<20), 16, "…(truncated)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Clean(tc.in, tc.limit)
			if got != tc.want {
				t.Errorf("Clean(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
			}
			if Len(got) > tc.limit {
				t.Errorf("Len = %d > limit %d", Len(got), tc.limit)
			}
		})
	}
}
