package alert

import (
	"fmt"
	"strings"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/sanitize"
)

// Slack Block Kit limits (reference §5.2). Totals are kept well under the ~13k characters at
// which Slack was observed to answer msg_blocks_too_long.
const (
	SlackMaxBlocks      = 50
	SlackMaxHeader      = 150
	SlackMaxSectionText = 3000
	SlackMaxFields      = 10
	slackMaxField       = 600   // per field: Slack allows 2,000; 10 fields must fit the total
	slackMaxContext     = 10    // context elements
	slackMaxTotal       = 12000 // all text in all blocks plus the fallback text
	slackMaxFallback    = 300
)

// Raw (pre-escape) caps for attacker-controlled values.
const (
	capName   = 200
	capDetail = 1000
	capShort  = 100
)

// SlackMessage is an incoming-webhook payload. Text is the notification fallback.
type SlackMessage struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks,omitempty"`
	// ResponseType and ReplaceOriginal are for messages posted to an interaction's response_url
	// (ephemeral refusals, the updated original); incoming-webhook messages leave them empty.
	ResponseType    string `json:"response_type,omitempty"`
	ReplaceOriginal bool   `json:"replace_original,omitempty"`
}

// SlackBlock is the subset of Block Kit sesguard uses: header, section, context, divider, and
// actions (buttons; see buttons.go for its JSON form).
type SlackBlock struct {
	Type     string      `json:"type"`
	BlockID  string      `json:"block_id,omitempty"`
	Text     *SlackText  `json:"text,omitempty"`
	Fields   []SlackText `json:"fields,omitempty"`
	Elements []SlackText `json:"elements,omitempty"`
	// Buttons are the elements of an actions block, marshalled as "elements".
	Buttons []SlackButton `json:"-"`
}

// SlackText is a Block Kit text object.
type SlackText struct {
	Type string `json:"type"` // plain_text | mrkdwn
	Text string `json:"text"`
	// Emoji is only valid on plain_text; sesguard sets it false so :shortcodes: in attacker text
	// stay text.
	Emoji *bool `json:"emoji,omitempty"`
	// Verbatim (mrkdwn only) stops Slack from auto-linking URLs and channel names and parsing
	// mentions; sesguard sets it on every mrkdwn object.
	Verbatim bool `json:"verbatim,omitempty"`
}

func plainText(s string) SlackText {
	emoji := false // per object: a shared pointer would be package-level mutable state
	return SlackText{Type: "plain_text", Text: s, Emoji: &emoji}
}
func mrkdwn(s string) SlackText { return SlackText{Type: "mrkdwn", Text: s, Verbatim: true} }

func headerBlock(s string) SlackBlock {
	t := plainText(sanitize.Clip(s, SlackMaxHeader))
	return SlackBlock{Type: "header", Text: &t}
}

func sectionMrkdwn(s string) SlackBlock {
	t := mrkdwn(fitMrkdwn(s, SlackMaxSectionText))
	return SlackBlock{Type: "section", Text: &t}
}

func fieldsBlock(fields []string) SlackBlock {
	b := SlackBlock{Type: "section"}
	for i, f := range fields {
		if i == SlackMaxFields {
			break
		}
		b.Fields = append(b.Fields, mrkdwn(fitMrkdwn(f, slackMaxField)))
	}
	return b
}

func contextBlock(parts ...string) SlackBlock {
	b := SlackBlock{Type: "context"}
	for i, p := range parts {
		if i == slackMaxContext {
			break
		}
		b.Elements = append(b.Elements, mrkdwn(fitMrkdwn(p, SlackMaxSectionText)))
	}
	return b
}

func field(label, value string) string { return "*" + label + "*\n" + value }

// principalField renders name (kind) and the access key, all as code spans.
func principalField(p finding.Principal) string {
	kind := string(p.Kind)
	if kind == "" {
		kind = string(finding.KindUnknown)
	}
	s := code(p.Name, capName) + " (" + prose(kind, 20) + ")"
	if p.AccessKeyID != "" {
		s += "\nkey " + code(p.AccessKeyID, 40)
	}
	return s
}

func ipField(ip string) string {
	s, ok := ipText(ip)
	switch {
	case s == "":
		return "unknown (not in the event)"
	case !ok:
		return code(s, capShort) + " (unparsed)"
	}
	return code(s, capShort)
}

// listCodes renders up to max values as code spans, then "+N more".
func listCodes(vals []string, max, each int) string {
	if len(vals) == 0 {
		return "—"
	}
	var parts []string
	for i, v := range vals {
		if i == max {
			parts = append(parts, fmt.Sprintf("+%d more", len(vals)-max))
			break
		}
		parts = append(parts, code(v, each))
	}
	return strings.Join(parts, ", ")
}

// fallback is the notification text shown in push notifications and by clients that cannot
// render blocks. Only sanitised prose reaches it, and dots in the principal are defanged so a
// principal named like a domain does not become a link.
func fallback(emoji, head, principal, ip string) string {
	s := emoji + " " + head
	if principal != "" {
		s += " — " + prose(principal, capShort)
	}
	if t, ok := ipText(ip); ok {
		s += " from " + t
	}
	return fitMrkdwn(s, slackMaxFallback)
}

// SlackFinding renders a new finding: header, the who/where/what fields, detail, the planned
// actions (saying clearly when nothing will be changed) and identifiers for follow-up.
func SlackFinding(f *finding.Finding) SlackMessage {
	head := severityEmoji(f.Severity) + " " + severityLabel(f.Severity) + ": " + sanitize.Clean(title(f.Rule), capShort)
	msg := SlackMessage{Text: fallback(severityEmoji(f.Severity), severityLabel(f.Severity)+": "+prose(title(f.Rule), capShort)+" ["+modeLabel(f.Mode)+"]", f.Principal.Name, f.SourceIP)}
	msg.Blocks = append(msg.Blocks, headerBlock(plainReplacer.Replace(head)))
	msg.Blocks = append(msg.Blocks, fieldsBlock(findingFields(f)))
	if f.Evidence.Detail != "" {
		// A code span, not plain_text: the detail quotes attacker From addresses and domains,
		// which Slack would turn into links in plain_text.
		msg.Blocks = append(msg.Blocks, sectionMrkdwn(field("Why", code(f.Evidence.Detail, capDetail))))
	}
	if len(f.Chain) > 0 {
		// The same key's earlier steps: the responder sees one incident, not unrelated alerts.
		msg.Blocks = append(msg.Blocks, sectionMrkdwn(field("Earlier steps of this key", code(chainText(f.Chain), capDetail))))
	}
	if len(f.Evidence.RecipientsSample) > 0 {
		msg.Blocks = append(msg.Blocks, sectionMrkdwn(field("Recipients (sample)", listCodes(f.Evidence.RecipientsSample, 5, capShort))))
	}
	msg.Blocks = append(msg.Blocks, sectionMrkdwn(plannedActions(f)))
	msg.Blocks = append(msg.Blocks, contextBlock(findingContext(f)...))
	return budget(msg)
}

func findingFields(f *finding.Finding) []string {
	ev := f.Evidence
	from := listCodes(ev.From, 3, capName)
	return []string{
		field("Account", code(f.Account, 40)),
		field("Region", code(f.Region, 40)),
		field("Principal", principalField(f.Principal)),
		field("Source IP", ipField(f.SourceIP)),
		field("From", from),
		field("Identity", code(ev.Identity, capName)),
		field("Configuration set", code(ev.ConfigurationSet, capName)),
		field("Count", countText(ev.Count)+" sends"+metricText(ev)),
		field("First seen", timeText(ev.FirstSeen)),
		field("Last seen", timeText(ev.LastSeen)),
	}
}

func metricText(ev finding.Evidence) string {
	if ev.Threshold == 0 {
		return ""
	}
	return fmt.Sprintf(" (metric %g, threshold %g)", ev.Metric, ev.Threshold)
}

func plannedActions(f *finding.Finding) string {
	if len(f.Actions) == 0 {
		return "*Containment*\nNone configured for this rule: investigate manually."
	}
	var b strings.Builder
	if dryRun(f.Mode) {
		b.WriteString("*Containment: DRY-RUN — nothing will be changed.* The policy would apply:")
	} else {
		b.WriteString("*Containment: ENFORCE — the responder is applying:* (a follow-up message reports each result and its restore command)")
	}
	for _, a := range f.Actions {
		b.WriteString("\n• " + code(a, capShort))
	}
	return b.String()
}

func findingContext(f *finding.Finding) []string {
	parts := []string{
		"finding " + code(f.ID, capName),
		"rule " + code(f.Rule, capShort) + " · severity " + prose(string(f.Severity), 20) + " · mode " + prose(modeLabel(f.Mode), 20),
		"window " + timeText(f.WindowStart) + " → " + timeText(f.WindowEnd),
	}
	if len(f.Evidence.MessageIDs) > 0 {
		parts = append(parts, "message ids "+listCodes(f.Evidence.MessageIDs, 3, capShort))
	}
	return parts
}

// SlackUpdate renders a repeat of a known finding: no header and a plain fallback, so it reads
// as a thread-style update rather than a new incident.
func SlackUpdate(f *finding.Finding, prev int64) SlackMessage {
	line := fmt.Sprintf("Update: %s still active — %s sends (was %s), last seen %s",
		prose(title(f.Rule), capShort), countText(f.Evidence.Count), countText(prev), timeText(f.Evidence.LastSeen))
	msg := SlackMessage{Text: fitMrkdwn(line, slackMaxFallback)}
	msg.Blocks = append(msg.Blocks,
		sectionMrkdwn(line+"\nPrincipal "+principalField(f.Principal)+" · source IP "+ipField(f.SourceIP)),
		contextBlock("finding "+code(f.ID, capName), "mode "+modeLabel(f.Mode)),
	)
	return budget(msg)
}

// SlackResult renders a containment result: one section per action with its outcome, concrete
// changes and, for every applied action, the exact `sesguard restore ACTION_ID` command.
func SlackResult(r *finding.Result) SlackMessage {
	head := resultHeadline(r)
	emoji := "🛡️"
	switch {
	case r.Failed():
		emoji = "⚠️"
	case dryRun(r.Mode):
		emoji = "🧪"
	}
	msg := SlackMessage{Text: fallback(emoji, head, r.Principal.Name, r.SourceIP)}
	msg.Blocks = append(msg.Blocks, headerBlock(emoji+" "+head+": "+plain(r.Principal.Name, capName)))
	msg.Blocks = append(msg.Blocks, fieldsBlock([]string{
		field("Account", code(r.Account, 40)),
		field("Region", code(r.Region, 40)),
		field("Principal", principalField(r.Principal)),
		field("Source IP", ipField(r.SourceIP)),
		field("Rule", code(r.Rule, capShort)+" ("+prose(string(r.Severity), 20)+")"),
		field("Mode", modeLabel(r.Mode)),
		field("Actor", code(r.Actor, capName)),
		field("Time", timeText(r.Time)),
	}))
	if dryRun(r.Mode) {
		msg.Blocks = append(msg.Blocks, sectionMrkdwn("*DRY-RUN: nothing was changed.* Each action below is what enforce mode would do."))
	}
	if len(r.Actions) == 0 {
		msg.Blocks = append(msg.Blocks, sectionMrkdwn("*No containment actions* for this finding."))
	}
	for _, a := range r.Actions {
		msg.Blocks = append(msg.Blocks, sectionMrkdwn(actionText(a)))
	}
	if b, ok := resultButtons(r); ok {
		msg.Blocks = append(msg.Blocks, b...)
	}
	msg.Blocks = append(msg.Blocks, contextBlock("finding "+code(r.FindingID, capName)))
	return budget(msg)
}

func actionText(a finding.ActionResult) string {
	var b strings.Builder
	b.WriteString(code(a.Action, capShort) + " on " + code(a.Target, capName) + " — *" + prose(outcomeLabel(a.Outcome), capShort) + "*")
	for i, c := range a.Changes {
		if i == 5 {
			fmt.Fprintf(&b, "\n• +%d more changes", len(a.Changes)-5)
			break
		}
		b.WriteString("\n• " + code(c, capName))
	}
	if a.Reason != "" {
		b.WriteString("\nReason: " + prose(a.Reason, 500))
	}
	if a.Error != "" {
		b.WriteString("\nError: " + code(a.Error, 500))
	}
	if a.Outcome == finding.OutcomeApplied {
		if a.ActionID == "" {
			b.WriteString("\nUndo: no action id was recorded; find it in the ledger")
		} else {
			b.WriteString("\nUndo: " + code(restoreCommand(a.ActionID), capName))
		}
	}
	return b.String()
}

// budget enforces the message-wide limits: at most SlackMaxBlocks blocks and slackMaxTotal
// characters. Blocks that do not fit are replaced by one marked truncation notice before the
// final (context) block, so the message is shortened, never rejected.
func budget(msg SlackMessage) SlackMessage {
	total := sanitize.Len(msg.Text)
	sizes := make([]int, len(msg.Blocks))
	for i, b := range msg.Blocks {
		sizes[i] = blockLen(b)
		total += sizes[i]
	}
	if len(msg.Blocks) <= SlackMaxBlocks && total <= slackMaxTotal {
		return msg
	}
	const notice = 80 // room for the truncation notice
	// The tail is kept whole: the final (context) block and, before it, the buttons block with
	// its explanation, so a long result never loses its Contain now / Undo buttons.
	tail := 1
	for tail < len(msg.Blocks) && tail < 3 && msg.Blocks[len(msg.Blocks)-1-tail].BlockID == buttonsBlockID {
		tail++
	}
	if tail > 1 && tail < len(msg.Blocks) && msg.Blocks[len(msg.Blocks)-1-tail].BlockID == buttonsNoteID {
		tail++
	}
	head, last := msg.Blocks[:len(msg.Blocks)-tail], msg.Blocks[len(msg.Blocks)-tail:]
	keep := msg.Blocks[:0:0]
	used := sanitize.Len(msg.Text) + notice
	for i := len(msg.Blocks) - tail; i < len(msg.Blocks); i++ {
		used += sizes[i]
	}
	for i, b := range head {
		if len(keep) >= SlackMaxBlocks-1-tail || used+sizes[i] > slackMaxTotal {
			dropped := len(head) - i
			keep = append(keep, sectionMrkdwn(fmt.Sprintf("%d more blocks not shown %s", dropped, TruncationMarker)))
			break
		}
		keep = append(keep, b)
		used += sizes[i]
	}
	msg.Blocks = append(keep, last...)
	return msg
}

func blockLen(b SlackBlock) int {
	n := 0
	if b.Text != nil {
		n += sanitize.Len(b.Text.Text)
	}
	for _, f := range b.Fields {
		n += sanitize.Len(f.Text)
	}
	for _, e := range b.Elements {
		n += sanitize.Len(e.Text)
	}
	for _, e := range b.Buttons {
		n += sanitize.Len(e.Text.Text)
		if e.Confirm != nil {
			n += sanitize.Len(e.Confirm.Title.Text) + sanitize.Len(e.Confirm.Text.Text) + sanitize.Len(e.Confirm.Confirm.Text) + sanitize.Len(e.Confirm.Deny.Text)
		}
	}
	return n
}
