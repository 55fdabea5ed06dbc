package policy

import "testing"

func TestLike(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything", true},
		{"ses-smtp-user.2026*", "ses-smtp-user.20260112-101500", true},
		{"ses-smtp-user.2026*", "ses-smtp-user.20250112-101500", false},
		{"break-glass-*", "break-glass-admin", true},
		{"break-glass-*", "Break-glass-admin", false}, // case-sensitive like IAM
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "aéc", true}, // ? is one character, not one byte
		{"*@mail.example.com", "billing@mail.example.com", true},
		{"*@mail.example.com", "billing@mail.example.com.evil.test", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"**", "x", true},
		{"*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	}
	for _, tt := range tests {
		if got := Like(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Like(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func BenchmarkLike(b *testing.B) {
	for b.Loop() {
		Like("ses-smtp-user.2026*", "ses-smtp-user.20260112-101500")
	}
}
