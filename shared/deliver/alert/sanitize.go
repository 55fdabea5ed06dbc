package alert

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

// clean turns attacker-controlled text into single-line, valid UTF-8 without control or invisible
// formatting characters: invalid bytes become U+FFFD, control characters and line/paragraph
// separators become spaces (runs collapse), format characters (zero-width, bidi overrides and
// isolates, soft hyphen, tag characters) and the non-XML U+FFFE/U+FFFF are dropped, and
// chat-wide mentions written as plain text (@here, @channel, @everyone) get a full-width at sign
// so no chat client expands them.
func clean(s string) string {
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
	return defuseMentions(b.String())
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

// clipClean is clip(clean(s), limit) without cleaning more of a huge input than can be shown:
// the raw text is cut (on a rune boundary) to a few bytes per output character first, and a cut
// input is always marked even when cleaning shrank it below limit.
func clipClean(s string, limit int) string {
	maxBytes := 4*limit + 16
	if len(s) <= maxBytes {
		return clip(clean(s), limit)
	}
	cut := maxBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	c := clip(clean(s[:cut]), limit)
	if strings.HasSuffix(c, TruncationMarker) {
		return c
	}
	room := limit - textLen(TruncationMarker)
	if room <= 0 {
		return prefixLen(TruncationMarker, limit)
	}
	return strings.TrimRight(prefixLen(c, room), " ") + TruncationMarker
}

// defuseMentions replaces the @ of @here, @channel and @everyone (any case) with U+FF20.
func defuseMentions(s string) string {
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

// textLen is the length Slack and AWS limits are checked against. It counts UTF-16 code units,
// which is never less than the number of characters, so it is safe under either reading.
func textLen(s string) int {
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

// prefixLen returns the longest prefix of s, ending on a rune boundary, with textLen ≤ limit.
func prefixLen(s string, limit int) string {
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

// clip shortens s to at most limit (textLen), ending with TruncationMarker when cut.
func clip(s string, limit int) string {
	if textLen(s) <= limit {
		return s
	}
	room := limit - textLen(TruncationMarker)
	if room <= 0 {
		return prefixLen(TruncationMarker, limit)
	}
	return strings.TrimRight(prefixLen(s, room), " ") + TruncationMarker
}

// plain prepares attacker text for a Slack plain_text object: cleaned, angle brackets replaced by
// look-alikes (no client ever reads them as <!channel> or <url|text>), defanged (Slack clients
// still turn URLs, domains and e-mail addresses in plain_text into links), clipped to limit.
func plain(s string, limit int) string {
	return defang(plainReplacer.Replace(clipClean(s, limit)))
}

// defang breaks what chat clients auto-link outside code spans — "https://x", "evil.example",
// "a@b.example" — the way security teams write indicators: "hxxps[:]//evil[.]example".
var defang = strings.NewReplacer(".", "[.]", "://", "[:]//").Replace

var plainReplacer = strings.NewReplacer("<", "‹", ">", "›")

// slackEsc applies Slack's three mandatory entity escapes.
var slackEsc = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// code renders attacker text as a Slack mrkdwn inline code span: inside it *, _, ~ and URLs are
// inert; backticks in the text become U+02CB so they cannot close the span early. Empty text
// renders as an em dash. The raw text is clipped to limit before escaping.
func code(s string, limit int) string {
	c := clipClean(s, limit)
	if c == "" {
		return "—"
	}
	return "`" + slackEsc(strings.ReplaceAll(c, "`", "ˋ")) + "`"
}

// prose renders attacker text for Slack mrkdwn outside a code span: mrkdwn markers become
// look-alikes so nothing turns bold, italic, struck or code, URLs and domains are defanged (verbatim
// stops Slack's server-side linking; this does not depend on every client honouring it), then the
// entities are escaped. Since clean removes newlines and callers never start a line with prose,
// ">" cannot quote.
func prose(s string, limit int) string {
	return slackEsc(defang(proseReplacer.Replace(clipClean(s, limit))))
}

var proseReplacer = strings.NewReplacer("*", "∗", "_", "＿", "~", "∼", "`", "ˋ")

// fitMrkdwn cuts assembled mrkdwn text to limit without splitting an entity (&amp;) and closes a
// code span left open by the cut, then appends TruncationMarker.
func fitMrkdwn(s string, limit int) string {
	if textLen(s) <= limit {
		return s
	}
	cut := prefixLen(s, limit-textLen(TruncationMarker)-1)
	if amp := strings.LastIndexByte(cut, '&'); amp >= 0 && !strings.Contains(cut[amp:], ";") {
		cut = cut[:amp]
	}
	if strings.Count(cut, "`")%2 == 1 {
		if strings.HasSuffix(cut, "`") {
			cut = cut[:len(cut)-1]
		} else {
			cut += "`"
		}
	}
	return cut + TruncationMarker
}

// ascii makes an SNS subject: printable ASCII only (others become '?'), one line, clipped to limit
// with an ASCII marker.
func ascii(s string, limit int) string {
	c := clipClean(s, 2*limit)
	var b strings.Builder
	for _, r := range c {
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(r)
		} else {
			b.WriteByte('?')
		}
	}
	out := b.String()
	if len(out) <= limit {
		return out
	}
	const marker = "...(truncated)"
	if limit <= len(marker) {
		return out[:limit]
	}
	return strings.TrimRight(out[:limit-len(marker)], " ") + marker
}

// md renders attacker text for AWS Chatbot client-markdown inside a code span. The chat platform
// behind Chatbot is unknown, so no entity escaping is relied on: <, > and & become look-alikes.
func md(s string, limit int) string {
	c := clipClean(s, limit)
	if c == "" {
		return "—"
	}
	return "`" + mdReplacer.Replace(c) + "`"
}

// mdText is md without the code span, for titles and summaries.
func mdText(s string, limit int) string {
	return mdProse.Replace(clipClean(s, limit))
}

// mdName is mdText for attacker-chosen names outside a code span: defanged so it is no link.
func mdName(s string, limit int) string { return defang(mdText(s, limit)) }

var (
	mdReplacer = strings.NewReplacer("<", "‹", ">", "›", "&", "＆", "`", "ˋ")
	mdProse    = strings.NewReplacer("<", "‹", ">", "›", "&", "＆", "`", "ˋ", "*", "∗", "_", "＿", "~", "∼", "[", "［", "]", "］")
)
