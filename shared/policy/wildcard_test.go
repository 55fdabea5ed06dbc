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

// FuzzLikeMatchesGlob: the shortcut for simple patterns decides as the general glob does.
func FuzzLikeMatchesGlob(f *testing.F) {
	for _, s := range [][2]string{{"*@mail.example.com", "billing@mail.example.com"}, {"ses-smtp-user.2026*", "ses-smtp-user.20260112"},
		{"*", "x"}, {"a*c", "aéc"}, {"*\x80", "\xc3\x80"}, {"ab*ba", "aba"}, {"mail.example.com", "mail.example.com"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if got, want := Like(pattern, s), likeGlob(pattern, s); got != want {
			t.Fatalf("Like(%q, %q) = %v, likeGlob gives %v", pattern, s, got, want)
		}
	})
}
