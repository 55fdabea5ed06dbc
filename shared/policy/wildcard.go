// Package policy loads and validates sesguard.yaml, matches events against its approved sets and
// renders the preventive AWS policies from it.
package policy

import "strings"

// Like reports whether s matches pattern with IAM StringLike semantics: `*` matches any run of
// characters (including none), `?` exactly one character; everything else is literal and
// case-sensitive. It runs in O(len(pattern)*len(s)) worst case without allocating.
func Like(pattern, s string) bool {
	if m, ok := likeSimple(pattern, s); ok {
		return m
	}
	return likeGlob(pattern, s)
}

// likeSimple decides the patterns policies are made of — a literal, "*", "prefix*", "*suffix",
// "prefix*suffix" — without backtracking, when that gives what likeGlob gives: the pattern has no
// '?' and at most one '*', and the part of s the '*' may cover is ASCII (every position in it is
// then one likeGlob can try). ok is false otherwise. FuzzLikeMatchesGlob checks the equivalence.
func likeSimple(pattern, s string) (match, ok bool) {
	if pattern == "*" {
		return true, true
	}
	if strings.IndexByte(pattern, '?') >= 0 {
		return false, false
	}
	star := strings.IndexByte(pattern, '*')
	if star >= 0 && strings.IndexByte(pattern[star+1:], '*') >= 0 {
		return false, false
	}
	if star < 0 {
		return pattern == s, true
	}
	prefix, suffix := pattern[:star], pattern[star+1:]
	if len(s) < len(prefix)+len(suffix) || s[:len(prefix)] != prefix || s[len(s)-len(suffix):] != suffix {
		// No split of s matches; likeGlob finds none either (it compares the literal parts
		// byte by byte).
		return false, true
	}
	for i := len(prefix); i < len(s)-len(suffix); i++ {
		if s[i] >= 0x80 {
			return false, false
		}
	}
	return true, true
}

// likeGlob is Like for any pattern.
func likeGlob(pattern, s string) bool {
	// Iterative glob with single backtrack point: the classic linear-time approach for '*'.
	p, i := 0, 0
	starP, starI := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			starP, starI = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			if pattern[p] == '?' {
				// '?' consumes one UTF-8 character, not one byte.
				i += runeLen(s[i:])
			} else {
				i++
			}
			p++
		case starP >= 0:
			starI += runeLen(s[starI:])
			p, i = starP+1, starI
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// runeLen is the byte length of the first UTF-8 sequence in s (1 for invalid bytes).
func runeLen(s string) int {
	c := s[0]
	switch {
	case c < 0xC0:
		return 1
	case c < 0xE0 && len(s) >= 2:
		return 2
	case c < 0xF0 && len(s) >= 3:
		return 3
	case len(s) >= 4:
		return 4
	}
	return 1
}

// LikeAny reports whether s matches any of patterns.
func LikeAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if Like(p, s) {
			return true
		}
	}
	return false
}
