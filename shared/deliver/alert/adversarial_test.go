package alert

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/sanitize"
)

// hostile fills every attacker-influenced string of a finding with s.
func hostileFinding(s string) *finding.Finding {
	f := sampleFinding()
	f.Principal.Name, f.Principal.ARN, f.Principal.AccessKeyID = s, s, s
	f.SourceIP = s
	f.Evidence.From = []string{s, s + "2", s + "3", s + "4"}
	f.Evidence.Identity, f.Evidence.ConfigurationSet, f.Evidence.Detail = s, s, s
	f.Evidence.RecipientsSample = []string{s, s, s, s, s, s, s}
	f.Evidence.MessageIDs = []string{s, s, s, s}
	f.Actions = []string{s, s}
	return f
}

func hostileResult(s string) *finding.Result {
	r := sampleResult("enforce")
	r.Principal.Name, r.SourceIP, r.Actor, r.Account, r.Region = s, s, s, s, s
	for i := range r.Actions {
		a := &r.Actions[i]
		a.Target, a.Reason, a.Error, a.ActionID = s, s, s, s
		a.Changes = []string{s, s, s, s, s, s, s}
	}
	for range 60 { // more actions than Slack has blocks
		r.Actions = append(r.Actions, finding.ActionResult{ActionID: s, Action: s, Target: s, Outcome: finding.OutcomeApplied, Reason: s})
	}
	return r
}

var hostileInputs = map[string]string{
	"channel mention":      "<!channel> <!here> <!everyone> @here @channel @everyone @HeRe",
	"user and channel ref": "<@U123ABC> <#C0123|general> <!subteam^S123>",
	"link":                 "<https://evil.test|click here> https://evil.test/login mailto:x@evil.test",
	"bare url and address": "https://evil.test/reset security@evil.example evil.example",
	"mrkdwn":               "*bold* _it_ ~st~ `code` ```block``` > quote",
	"quote at line start":  "\n> quoted\n>>> all quoted",
	"entities":             "&lt;!channel&gt; &amp; &#60;!here&#62;",
	"10KB subject":         strings.Repeat("Your invoice <!channel> is overdue ", 300),
	"rtl override":         "invoice\u202Efdp.exe \u2066x\u2069 \u200Finv\u200E",
	"zero width":           "pay\u200Bpal\u200C\u200D\uFEFF\u2060.test",
	"tag characters":       "ok\U000E0041\U000E0042\U000E0043",
	"emoji":                "🚨💥 👩‍💻 🏳️‍🌈 :rotating_light:",
	"invalid utf-8":        "bad\xff\xfe\xc3(utf8\xed\xa0\x80",
	"control chars":        "a\x00b\x07c\x1bd\x7fe\u0085f\r\ng\th\u2028i\u2029",
	"zalgo":                "z" + strings.Repeat("\u0301\u0302\u0303", 200),
	"backticks":            "`close` then *bold*`",
	"long unbroken":        strings.Repeat("&", 5000),
}

func TestAdversarialSlack(t *testing.T) {
	for name, in := range hostileInputs {
		t.Run(name, func(t *testing.T) {
			msgs := map[string]SlackMessage{
				"finding": SlackFinding(hostileFinding(in)),
				"update":  SlackUpdate(hostileFinding(in), 1),
				"result":  SlackResult(hostileResult(in)),
			}
			for kind, m := range msgs {
				checkSlack(t, kind, m, in)
			}
		})
	}
}

func checkSlack(t *testing.T, kind string, m SlackMessage, in string) {
	t.Helper()
	if len(m.Blocks) > SlackMaxBlocks {
		t.Errorf("%s: %d blocks", kind, len(m.Blocks))
	}
	total := sanitize.Len(m.Text)
	checkText(t, kind+" fallback", m.Text, "mrkdwn")
	if sanitize.Len(m.Text) > slackMaxFallback {
		t.Errorf("%s: fallback %d chars", kind, sanitize.Len(m.Text))
	}
	for i, b := range m.Blocks {
		if b.Text != nil {
			limit := SlackMaxSectionText
			if b.Type == "header" {
				limit = SlackMaxHeader
				if b.Text.Type != "plain_text" {
					t.Errorf("%s: header is %s", kind, b.Text.Type)
				}
			}
			if n := sanitize.Len(b.Text.Text); n > limit {
				t.Errorf("%s block %d (%s): %d chars > %d", kind, i, b.Type, n, limit)
			}
			checkText(t, kind, b.Text.Text, b.Text.Type)
			total += sanitize.Len(b.Text.Text)
		}
		if len(b.Fields) > SlackMaxFields {
			t.Errorf("%s block %d: %d fields", kind, i, len(b.Fields))
		}
		for _, f := range b.Fields {
			if n := sanitize.Len(f.Text); n > 2000 {
				t.Errorf("%s field: %d chars", kind, n)
			}
			checkText(t, kind+" field", f.Text, f.Type)
			total += sanitize.Len(f.Text)
		}
		if len(b.Elements) > slackMaxContext {
			t.Errorf("%s block %d: %d context elements", kind, i, len(b.Elements))
		}
		for _, e := range b.Elements {
			checkText(t, kind+" context", e.Text, e.Type)
			total += sanitize.Len(e.Text)
		}
	}
	if total > slackMaxTotal {
		t.Errorf("%s: %d chars of text in total > %d", kind, total, slackMaxTotal)
	}
	if len(in) > 3000 {
		if !strings.Contains(mustJSON(t, m), TruncationMarker) {
			t.Errorf("%s: a %d-byte input was not visibly truncated", kind, len(in))
		}
	}
	// The JSON itself must be valid and decode back to the same texts.
	var back SlackMessage
	if err := json.Unmarshal([]byte(mustJSON(t, m)), &back); err != nil {
		t.Fatalf("%s: payload does not round-trip: %v", kind, err)
	}
}

// checkText asserts one Slack text object is inert.
func checkText(t *testing.T, where, s, typ string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s: invalid UTF-8 in %q", where, s)
	}
	for _, r := range s {
		if (unicode.IsControl(r) && r != '\n') || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			t.Errorf("%s: control/format character %U in %q", where, r, short(s))
			break
		}
	}
	if strings.ContainsAny(s, "<>") {
		t.Errorf("%s: raw angle bracket (mention/link syntax possible) in %q", where, short(s))
	}
	low := strings.ToLower(s)
	for _, m := range []string{"@here", "@channel", "@everyone"} {
		if strings.Contains(low, m) {
			t.Errorf("%s: plain-text mention %s in %q", where, m, short(s))
		}
	}
	// Where Slack interprets text (plain_text, and mrkdwn outside code spans) no attacker URL,
	// domain or e-mail address survives intact to be auto-linked.
	linkable := s
	if typ == "mrkdwn" {
		linkable = stripCodeSpans(s)
	}
	for _, l := range []string{"://", "evil.test", "evil.example"} {
		if strings.Contains(linkable, l) {
			t.Errorf("%s: linkable %q outside a code span in %q", where, l, short(s))
		}
	}
	if typ == "mrkdwn" {
		// Every code span we open is closed, and attacker backticks never survive.
		if strings.Count(s, "`")%2 != 0 {
			t.Errorf("%s: unbalanced backticks in %q", where, short(s))
		}
		// Outside code spans (where mrkdwn is interpreted) no attacker formatting survives.
		outside := stripCodeSpans(s)
		for _, m := range []string{"*bold*", "_it_", "~st~", "```"} {
			if strings.Contains(outside, m) {
				t.Errorf("%s: formatting %q survived in %q", where, m, short(s))
			}
		}
		// A bare "&" would let the attacker write entities; every & must start one of ours.
		for i := 0; i < len(s); i++ {
			if s[i] == '&' && !(strings.HasPrefix(s[i:], "&amp;") || strings.HasPrefix(s[i:], "&lt;") || strings.HasPrefix(s[i:], "&gt;")) {
				t.Errorf("%s: unescaped & at %d in %q", where, i, short(s))
				break
			}
		}
		for _, line := range strings.Split(s, "\n") {
			if strings.HasPrefix(line, "&gt;") || strings.HasPrefix(line, ">") {
				t.Errorf("%s: line starts as a quote: %q", where, short(line))
			}
		}
	}
}

// stripCodeSpans removes `...` spans (balanced, as checked above).
func stripCodeSpans(s string) string {
	parts := strings.Split(s, "`")
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 0 {
			b.WriteString(p)
		}
	}
	return b.String()
}

func short(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

func TestAdversarialSNSAndChatbot(t *testing.T) {
	for name, in := range hostileInputs {
		t.Run(name, func(t *testing.T) {
			for kind, m := range map[string]SNSMessage{
				"finding": SNSFinding(hostileFinding(in)),
				"update":  SNSUpdate(hostileFinding(in), 1),
				"result":  SNSResult(hostileResult(in)),
			} {
				if len(m.Subject) > SNSMaxSubject {
					t.Errorf("%s: subject %d chars", kind, len(m.Subject))
				}
				for _, r := range m.Subject {
					if r < 0x20 || r > 0x7e {
						t.Errorf("%s: subject has %U: %q", kind, r, m.Subject)
						break
					}
				}
				if !utf8.ValidString(m.Body) || len(m.Body) > 256*1024 {
					t.Errorf("%s: body invalid or too long (%d bytes)", kind, len(m.Body))
				}
				for _, r := range m.Body {
					if (unicode.IsControl(r) && r != '\n') || unicode.Is(unicode.Cf, r) {
						t.Errorf("%s: body has %U", kind, r)
						break
					}
				}
				for k, v := range m.Attributes {
					if v == "" || !utf8.ValidString(v) || sanitize.Len(v) > snsMaxAttribute || strings.ContainsFunc(v, unicode.IsControl) {
						t.Errorf("%s: attribute %s = %q", kind, k, short(v))
					}
				}
			}
			for kind, n := range map[string]ChatbotNotification{
				"finding": ChatbotFinding(hostileFinding(in)),
				"update":  ChatbotUpdate(hostileFinding(in), 1),
				"result":  ChatbotResult(hostileResult(in)),
			} {
				texts := append([]string{n.Content.Title, n.Content.Description, n.Metadata.Summary, n.Metadata.ThreadID, n.ID},
					n.Content.NextSteps...)
				// Keywords (severity, rule, region: values sesguard derives, shown as tags) and
				// additionalContext (key/value metadata) are not checked for links.
				shown := len(texts)
				texts = append(texts, n.Content.Keywords...)
				for _, v := range n.Metadata.AdditionalContext {
					texts = append(texts, v)
				}
				for i, s := range texts {
					if strings.ContainsAny(s, "<>") || !utf8.ValidString(s) {
						t.Errorf("chatbot %s: unsafe text %q", kind, short(s))
					}
					if strings.ContainsFunc(s, func(r rune) bool { return (unicode.IsControl(r) && r != '\n') || unicode.Is(unicode.Cf, r) }) {
						t.Errorf("chatbot %s: control/format character in %q", kind, short(s))
					}
					if strings.Contains(strings.ToLower(s), "@channel") || strings.Contains(strings.ToLower(s), "@here") {
						t.Errorf("chatbot %s: mention in %q", kind, short(s))
					}
					if out := stripCodeSpans(s); i < shown && (strings.Contains(out, "://") || strings.Contains(out, "evil.test") || strings.Contains(out, "evil.example")) {
						t.Errorf("chatbot %s: linkable text outside a code span in %q", kind, short(s))
					}
				}
				if strings.Count(n.Content.Description, "`")%2 != 0 {
					t.Errorf("chatbot %s: truncation left a code span open: %q", kind, short(n.Content.Description))
				}
				if sanitize.Len(n.Content.Title) > chatbotMaxTitle || sanitize.Len(n.Content.Description) > chatbotMaxDescription {
					t.Errorf("chatbot %s: title/description over caps", kind)
				}
			}
		})
	}
}

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"a\u202Eb\u200Bc\uFEFFd", "abcd"},
		{"bad\xffbyte", "bad\uFFFDbyte"},
		{"line1\r\nline2\tx", "line1 line2 x"},
		{"  lead  and   trail  ", "lead and trail"},
		{"@here and @Channel and user@example.com", "＠here and ＠Channel and user@example.com"},
		{"🚨 👩‍💻", "🚨 👩💻"}, // ZWJ is a format character: the sequence degrades to two emoji
		{"e\u0301\u0301\u0301\u0301\u0301", "e\u0301\u0301\u0301"},
		{"tag\U000E0041", "tag"},
		{"non\uFFFExml\uFFFF", "nonxml"},
	}
	for _, tt := range tests {
		if got := sanitize.Line(tt.in); got != tt.want {
			t.Errorf("sanitize.Line(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTruncationOnRuneBoundaries(t *testing.T) {
	in := strings.Repeat("🚨é", 100) // 4- and 2-byte runes; 🚨 is two UTF-16 units
	for limit := 13; limit < 60; limit++ {
		got := sanitize.Clip(in, limit)
		if !utf8.ValidString(got) || sanitize.Len(got) > limit || !strings.HasSuffix(got, TruncationMarker) {
			t.Fatalf("sanitize.Clip(limit %d) = %q (len %d)", limit, got, sanitize.Len(got))
		}
	}
	// A huge input is cut before cleaning but always visibly marked, even when cleaning removes
	// almost everything (a flood of zero-width spaces).
	for _, in := range []string{strings.Repeat("\u200b", 100000) + "tail", strings.Repeat("é", 100000), strings.Repeat("a", 100000)} {
		got := sanitize.Clean(in, 50)
		if !strings.HasSuffix(got, TruncationMarker) || sanitize.Len(got) > 50 || !utf8.ValidString(got) {
			t.Errorf("sanitize.Clean(%d bytes) = %q", len(in), got)
		}
	}
	if got := sanitize.Clean("exact", 5); got != "exact" {
		t.Errorf("clipClean changed a fitting string: %q", got)
	}
	if got := sanitize.Clip("short", 10); got != "short" {
		t.Errorf("clip changed a short string: %q", got)
	}
	// fitMrkdwn never splits an entity or leaves a code span open.
	s := "*x*\n`" + strings.Repeat("a&amp;", 50) + "`"
	for limit := 20; limit < len(s); limit++ {
		got := fitMrkdwn(s, limit)
		if sanitize.Len(got) > limit || strings.Count(got, "`")%2 != 0 {
			t.Fatalf("fitMrkdwn(limit %d) = %q", limit, got)
		}
		body := strings.TrimSuffix(strings.TrimSuffix(got, TruncationMarker), "`")
		if i := strings.LastIndexByte(body, '&'); i >= 0 && !strings.HasPrefix(body[i:], "&amp;") {
			t.Fatalf("fitMrkdwn(limit %d) split an entity: %q", limit, got)
		}
	}
	if got := ascii("Résumé ‮ "+strings.Repeat("x", 200), SNSMaxSubject); len(got) > SNSMaxSubject || !strings.HasPrefix(got, "R?sum? x") {
		t.Errorf("ascii = %q", got)
	}
}

func TestCountAndTimeText(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 12: "12", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := countText(n); got != want {
			t.Errorf("countText(%d) = %q, want %q", n, got, want)
		}
	}
}
