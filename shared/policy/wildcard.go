// Package policy loads and validates sesguard.yaml, matches events against its approved sets and
// renders the preventive AWS policies from it.
package policy

// Like reports whether s matches pattern with IAM StringLike semantics: `*` matches any run of
// characters (including none), `?` exactly one character; everything else is literal and
// case-sensitive. It runs in O(len(pattern)*len(s)) worst case without allocating.
func Like(pattern, s string) bool {
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
