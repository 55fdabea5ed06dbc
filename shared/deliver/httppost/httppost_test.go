package httppost

import (
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"0": 0, "5": 5 * time.Second, " 10 ": 10 * time.Second, "999999": 24 * time.Hour,
		"Mon, 04 May 2026 09:00:30 GMT": 30 * time.Second, "Mon, 04 May 2026 08:00:00 GMT": 0,
	} {
		if got, ok := parseRetryAfter(in, now); !ok || got != want {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-1", "soon", "1.5"} {
		if _, ok := parseRetryAfter(in, now); ok {
			t.Errorf("parseRetryAfter(%q) accepted", in)
		}
	}
}
