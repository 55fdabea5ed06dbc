// Package sanitize turns attacker-controlled text (From display names, subjects, identities,
// principal names) into something every destination can show: one line of valid UTF-8 without
// control, bidi or zero-width characters, chat-wide mentions defused, clipped to a limit. It is
// the lowest room for these words: the Slack, SNS, Chatbot, ASFF and OCSF renderers all use it.
package sanitize

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// TruncationMarker ends every text sesguard had to shorten to fit a destination's limits.
const TruncationMarker = "…(truncated)"

// maxCombining caps runs of combining marks so "Zalgo" text cannot blow up a message's layout.
const maxCombining = 3

// Line turns attacker-controlled text into single-line, valid UTF-8 without control or invisible
// formatting characters: invalid bytes become U+FFFD, control characters and line/paragraph
// separators become spaces (runs collapse), format characters (zero-width, bidi overrides and
// isolates, soft hyphen, tag characters) and the non-XML U+FFFE/U+FFFF are dropped, and
// chat-wide mentions written as plain text (@here, @channel, @everyone) get a full-width at sign
// so no chat client expands them.
func Line(s string) string {
	if plainASCII(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space, marks := false, 0
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		switch {
		case r < utf8.RuneSelf: // ASCII fast path: only controls need care
			if r < 0x20 || r == 0x7f {
				r = ' '
			}
		case r == utf8.RuneError && size <= 1:
			r = utf8.RuneError
		case unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) || unicode.IsSpace(r):
			r = ' '
		case unicode.Is(unicode.Cf, r), r == 0xFFFE, r == 0xFFFF:
			// Format characters hide or reorder text; U+FFFE/U+FFFF are not XML characters, which
			// SNS message attributes and SQS bodies reject.
			continue
		}
		if r == ' ' {
			space = true
			marks = 0
			continue
		}
		if unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) {
			if marks >= maxCombining {
				continue
			}
			marks++
		} else {
			marks = 0
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return DefuseMentions(b.String())
}

// plainASCII reports whether clean would return s unchanged: printable ASCII, single spaces,
// no leading or trailing space, no @. Most values (ids, IPs, ARNs) take this path.
func plainASCII(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return s == ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '@' || (c == ' ' && s[i+1] == ' ') {
			return false
		}
	}
	return true
}

// Clean is Clip(Line(s), limit) without cleaning more of a huge input than can be shown:
// the raw text is cut (on a rune boundary) to a few bytes per output character first, and a cut
// input is always marked even when cleaning shrank it below limit.
func Clean(s string, limit int) string {
	maxBytes := 4*limit + 16
	if len(s) <= maxBytes {
		return Clip(Line(s), limit)
	}
	cut := maxBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	c := Clip(Line(s[:cut]), limit)
	if strings.HasSuffix(c, TruncationMarker) {
		return c
	}
	room := limit - Len(TruncationMarker)
	if room <= 0 {
		return Prefix(TruncationMarker, limit)
	}
	return strings.TrimRight(Prefix(c, room), " ") + TruncationMarker
}

// DefuseMentions replaces the @ of @here, @channel and @everyone (any case) with U+FF20.
func DefuseMentions(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '@')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		rest := strings.ToLower(s[i+1:])
		if strings.HasPrefix(rest, "here") || strings.HasPrefix(rest, "channel") || strings.HasPrefix(rest, "everyone") {
			b.WriteString("＠")
		} else {
			b.WriteByte('@')
		}
		s = s[i+1:]
	}
}

// Len is the length Slack and AWS limits are checked against. It counts UTF-16 code units,
// which is never less than the number of characters, so it is safe under either reading.
func Len(s string) int {
	n := 0
	for _, r := range s {
		if w := utf16.RuneLen(r); w > 0 {
			n += w
		} else {
			n++
		}
	}
	return n
}

// Prefix returns the longest prefix of s, ending on a rune boundary, with textLen ≤ limit.
func Prefix(s string, limit int) string {
	n := 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if w < 0 {
			w = 1
		}
		if n+w > limit {
			return s[:i]
		}
		n += w
	}
	return s
}

// Clip shortens s to at most limit (textLen), ending with TruncationMarker when cut.
func Clip(s string, limit int) string {
	if Len(s) <= limit {
		return s
	}
	room := limit - Len(TruncationMarker)
	if room <= 0 {
		return Prefix(TruncationMarker, limit)
	}
	return strings.TrimRight(Prefix(s, room), " ") + TruncationMarker
}
