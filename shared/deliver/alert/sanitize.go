package alert

import (
	"strings"

	"github.com/sesguard/sesguard/shared/core/sanitize"
)

// TruncationMarker ends every text sesguard had to shorten to fit a destination's limits.
const TruncationMarker = sanitize.TruncationMarker

// plain prepares attacker text for a Slack plain_text object: cleaned, angle brackets replaced by
// look-alikes (no client ever reads them as <!channel> or <url|text>), defanged (Slack clients
// still turn URLs, domains and e-mail addresses in plain_text into links), clipped to limit.
func plain(s string, limit int) string {
	return defang(plainReplacer.Replace(sanitize.Clean(s, limit)))
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
	c := sanitize.Clean(s, limit)
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
	return slackEsc(defang(proseReplacer.Replace(sanitize.Clean(s, limit))))
}

var proseReplacer = strings.NewReplacer("*", "∗", "_", "＿", "~", "∼", "`", "ˋ")

// fitMrkdwn cuts assembled mrkdwn text to limit without splitting an entity (&amp;) and closes a
// code span left open by the cut, then appends TruncationMarker.
func fitMrkdwn(s string, limit int) string {
	if sanitize.Len(s) <= limit {
		return s
	}
	cut := sanitize.Prefix(s, limit-sanitize.Len(TruncationMarker)-1)
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
	c := sanitize.Clean(s, 2*limit)
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
	c := sanitize.Clean(s, limit)
	if c == "" {
		return "—"
	}
	return "`" + mdReplacer.Replace(c) + "`"
}

// mdText is md without the code span, for titles and summaries.
func mdText(s string, limit int) string {
	return mdProse.Replace(sanitize.Clean(s, limit))
}

// mdName is mdText for attacker-chosen names outside a code span: defanged so it is no link.
func mdName(s string, limit int) string { return defang(mdText(s, limit)) }

var (
	mdReplacer = strings.NewReplacer("<", "‹", ">", "›", "&", "＆", "`", "ˋ")
	mdProse    = strings.NewReplacer("<", "‹", ">", "›", "&", "＆", "`", "ˋ", "*", "∗", "_", "＿", "~", "∼", "[", "［", "]", "］")
)
