package alert

import (
	"fmt"
	"strings"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/sanitize"
)

// Chatbot caps. AWS does not document per-field limits (reference §5.3), so sesguard keeps each
// field short; the whole message stays far below SNS's 256 KB.
const (
	chatbotMaxTitle       = 250
	chatbotMaxDescription = 3500
	chatbotMaxStep        = 300
	chatbotMaxSummary     = 250
)

// ChatbotNotification is an AWS Chatbot (Amazon Q Developer in chat applications) custom
// notification, published as the SNS Message to a topic mapped to a chat channel.
type ChatbotNotification struct {
	Version  string          `json:"version"` // always "1.0"
	Source   string          `json:"source"`  // always "custom"
	ID       string          `json:"id,omitempty"`
	Content  ChatbotContent  `json:"content"`
	Metadata ChatbotMetadata `json:"metadata"`
}

// ChatbotContent is what the chat message shows.
type ChatbotContent struct {
	TextType    string   `json:"textType,omitempty"` // "client-markdown"
	Title       string   `json:"title"`
	Description string   `json:"description"`
	NextSteps   []string `json:"nextSteps,omitempty"`
	Keywords    []string `json:"keywords,omitempty"`
}

// ChatbotMetadata threads and labels the message.
type ChatbotMetadata struct {
	ThreadID          string            `json:"threadId,omitempty"`
	Summary           string            `json:"summary,omitempty"`
	EventType         string            `json:"eventType,omitempty"`
	RelatedResources  []string          `json:"relatedResources,omitempty"`
	AdditionalContext map[string]string `json:"additionalContext,omitempty"`
}

func newChatbot(id, threadID, eventType string) ChatbotNotification {
	return ChatbotNotification{
		Version: "1.0",
		Source:  "custom",
		ID:      sanitize.Clean(id, capName),
		Content: ChatbotContent{TextType: "client-markdown"},
		Metadata: ChatbotMetadata{
			// The finding id threads the page, its updates and its containment result together.
			ThreadID:  "sesguard-" + sanitize.Clean(threadID, capName),
			EventType: eventType,
		},
	}
}

func mdLine(label, value string) string { return "*" + label + ":* " + value }

func chatbotFindingLines(f *finding.Finding) []string {
	ev := f.Evidence
	var from []string
	for i, v := range ev.From {
		if i == 3 {
			from = append(from, fmt.Sprintf("+%d more", len(ev.From)-3))
			break
		}
		from = append(from, md(v, capName))
	}
	lines := []string{
		mdLine("Account / region", md(f.Account, 40)+" / "+md(f.Region, 40)),
		mdLine("Principal", md(f.Principal.Name, capName)+" ("+mdText(string(f.Principal.Kind), 20)+")"),
		mdLine("Source IP", mdIP(f.SourceIP)),
		mdLine("From", strings.Join(from, ", ")),
		mdLine("Identity", md(ev.Identity, capName)),
		mdLine("Configuration set", md(ev.ConfigurationSet, capName)),
		mdLine("Sends", countText(ev.Count)+" between "+timeText(ev.FirstSeen)+" and "+timeText(ev.LastSeen)),
	}
	if f.Principal.AccessKeyID != "" {
		lines = append(lines, mdLine("Access key", md(f.Principal.AccessKeyID, 40)))
	}
	if ev.Detail != "" {
		lines = append(lines, mdLine("Why", md(ev.Detail, capDetail))) // code span: quotes attacker addresses
	}
	return lines
}

func mdIP(ip string) string {
	s, ok := ipText(ip)
	switch {
	case s == "":
		return "unknown"
	case !ok:
		return md(s, capShort) + " (unparsed)"
	}
	return md(s, capShort)
}

func chatbotFindingResources(f *finding.Finding) []string {
	if f.Principal.ARN == "" {
		return nil
	}
	return []string{sanitize.Clean(f.Principal.ARN, capName)}
}

// ChatbotFinding renders a new finding as a custom notification.
func ChatbotFinding(f *finding.Finding) ChatbotNotification {
	n := newChatbot(f.ID, f.ID, "sesguard.finding")
	n.Content.Title = sanitize.Clip(severityEmoji(f.Severity)+" "+severityLabel(f.Severity)+": "+mdText(title(f.Rule), capShort), chatbotMaxTitle)
	lines := chatbotFindingLines(f)
	switch {
	case len(f.Actions) == 0:
		lines = append(lines, "*Containment:* none configured for this rule")
	case dryRun(f.Mode):
		lines = append(lines, "*Containment: DRY-RUN, nothing will be changed.* Would apply: "+mdList(f.Actions))
	default:
		lines = append(lines, "*Containment: ENFORCE.* Applying: "+mdList(f.Actions))
	}
	n.Content.Description = fitMrkdwn(strings.Join(lines, "\n"), chatbotMaxDescription)
	n.Content.NextSteps = []string{
		sanitize.Clip("Review the principal's recent activity: "+md(f.Principal.Name, capName), chatbotMaxStep),
		sanitize.Clip("Investigate sends: `sesguard investigate ARCHIVE --by principal`", chatbotMaxStep),
	}
	n.Content.Keywords = keywords(string(f.Severity), f.Rule, f.Region)
	n.Metadata.Summary = sanitize.Clip(severityLabel(f.Severity)+" "+mdText(title(f.Rule), capShort)+" by "+mdName(f.Principal.Name, capShort), chatbotMaxSummary)
	n.Metadata.RelatedResources = chatbotFindingResources(f)
	n.Metadata.AdditionalContext = map[string]string{
		"findingId": sanitize.Clean(f.ID, capName),
		"rule":      sanitize.Clean(f.Rule, capShort),
		"mode":      modeLabel(f.Mode),
	}
	return n
}

// ChatbotUpdate renders a repeat of a known finding, threaded under the original.
func ChatbotUpdate(f *finding.Finding, prev int64) ChatbotNotification {
	n := newChatbot(fmt.Sprintf("%s-%d", f.ID, f.Evidence.Count), f.ID, "sesguard.finding.update")
	n.Content.Title = sanitize.Clip(fmt.Sprintf("Update: %s: %s sends (was %s)", mdText(title(f.Rule), capShort), countText(f.Evidence.Count), countText(prev)), chatbotMaxTitle)
	n.Content.Description = fitMrkdwn(strings.Join(chatbotFindingLines(f), "\n"), chatbotMaxDescription)
	n.Content.Keywords = keywords(string(f.Severity), f.Rule, f.Region)
	n.Metadata.Summary = sanitize.Clip("Update: "+countText(f.Evidence.Count)+" sends by "+mdName(f.Principal.Name, capShort), chatbotMaxSummary)
	n.Metadata.AdditionalContext = map[string]string{"findingId": sanitize.Clean(f.ID, capName)}
	return n
}

// ChatbotResult renders a containment result; next steps carry the restore commands.
func ChatbotResult(r *finding.Result) ChatbotNotification {
	// The id names the outcome set: a retry that changes an outcome is a new event, not a duplicate.
	n := newChatbot(fmt.Sprintf("%s-result-%016x", r.FindingID, resultDigest(r)), r.FindingID, "sesguard.containment_result")
	n.Content.Title = sanitize.Clip(mdText(resultHeadline(r), capShort)+": "+mdName(r.Principal.Name, capShort), chatbotMaxTitle)
	lines := []string{
		mdLine("Account / region", md(r.Account, 40)+" / "+md(r.Region, 40)),
		mdLine("Principal", md(r.Principal.Name, capName)),
		mdLine("Source IP", mdIP(r.SourceIP)),
		mdLine("Mode", modeLabel(r.Mode)),
	}
	if dryRun(r.Mode) {
		lines = append(lines, "*DRY-RUN: nothing was changed.*")
	}
	var steps []string
	for i, a := range r.Actions {
		if i == 20 {
			lines = append(lines, fmt.Sprintf("+%d more actions %s", len(r.Actions)-20, TruncationMarker))
			break
		}
		l := "• " + mdName(a.Action, capShort) + " on " + md(a.Target, capName) + ": *" + outcomeLabel(a.Outcome) + "*"
		if a.Error != "" {
			l += " — " + md(a.Error, 300)
		}
		lines = append(lines, l)
		if a.Outcome == finding.OutcomeApplied && a.ActionID != "" {
			steps = append(steps, sanitize.Clip("Undo "+mdName(a.Action, capShort)+": "+md(restoreCommand(a.ActionID), capName), chatbotMaxStep))
		}
	}
	n.Content.Description = fitMrkdwn(strings.Join(lines, "\n"), chatbotMaxDescription)
	n.Content.NextSteps = steps
	n.Content.Keywords = keywords(string(r.Severity), r.Rule, r.Region)
	n.Metadata.Summary = sanitize.Clip(mdText(resultHeadline(r), capShort), chatbotMaxSummary)
	n.Metadata.AdditionalContext = map[string]string{
		"findingId": sanitize.Clean(r.FindingID, capName),
		"mode":      modeLabel(r.Mode),
	}
	return n
}

func mdList(vals []string) string {
	var parts []string
	for i, v := range vals {
		if i == 20 {
			parts = append(parts, fmt.Sprintf("+%d more", len(vals)-20))
			break
		}
		parts = append(parts, md(v, capShort))
	}
	return strings.Join(parts, ", ")
}

func keywords(vals ...string) []string {
	out := []string{"sesguard"}
	for _, v := range vals {
		if c := sanitize.Clean(v, 50); c != "" {
			out = append(out, mdReplacer.Replace(c))
		}
	}
	return out
}
