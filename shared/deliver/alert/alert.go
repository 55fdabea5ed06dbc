// Package alert turns findings and containment results into messages a tired on-call engineer
// can act on — Slack Block Kit, SNS text with filterable message attributes, and AWS Chatbot
// (Amazon Q Developer in chat applications) custom notifications — and delivers them.
//
// Much of a finding is written by the attacker (From display names, recipients, principal names,
// detail strings). Every such string goes through one sanitiser (see sanitize.go) so nothing in
// an alert pings a channel, links somewhere, formats itself or hides behind invisible
// characters, and every message fits its destination's limits by marked truncation.
//
// Noise control: one page per finding id and destination; a repeat of the same finding (same id,
// higher count) sends a quiet "update" only when the count has grown by Notifier.Factor since the
// last message, otherwise nothing. See Notifier.
package alert

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
)

// Kind says what an Alert announces.
type Kind string

// Alert kinds, also the SNS message attribute "alert".
const (
	KindPage   Kind = "page"   // a new finding
	KindUpdate Kind = "update" // a known finding whose count grew; never pages
	KindResult Kind = "result" // what containment did (or would do, in dry-run)
)

// Alert is one message to render: exactly one of Finding or Result is set.
type Alert struct {
	Kind    Kind
	Finding *finding.Finding
	Result  *finding.Result
	// PrevCount is the count last announced, for KindUpdate.
	PrevCount int64
}

// Validate reports whether the alert can be rendered, naming the missing field.
func (a Alert) Validate() error {
	switch a.Kind {
	case KindPage, KindUpdate:
		if a.Finding == nil {
			return fmt.Errorf("alert %s: finding is nil", a.Kind)
		}
		if a.Finding.ID == "" {
			return fmt.Errorf("alert %s: finding field id is empty", a.Kind)
		}
	case KindResult:
		if a.Result == nil {
			return fmt.Errorf("alert result: result is nil")
		}
		if a.Result.FindingID == "" {
			return fmt.Errorf("alert result: result field finding_id is empty")
		}
	default:
		return fmt.Errorf("alert: unknown kind %q", a.Kind)
	}
	return nil
}

// title is the human title of a rule (shared/core/rules). Callers sanitise it.
func title(rule string) string { return rules.Title(rule) }

// severityLabel is the upper-case severity, or UNKNOWN.
func severityLabel(s finding.Severity) string {
	if s.Rank() == 0 {
		return "UNKNOWN"
	}
	return strings.ToUpper(string(s))
}

// severityEmoji is a Unicode emoji (not a :shortcode:, so plain_text can keep emoji off).
func severityEmoji(s finding.Severity) string {
	switch s {
	case finding.SeverityCritical:
		return "🚨"
	case finding.SeverityHigh:
		return "🔴"
	case finding.SeverityMedium:
		return "🟠"
	case finding.SeverityLow:
		return "🟡"
	}
	return "⚪"
}

// dryRun reports whether a mode string means nothing is changed. Anything but "enforce" is
// treated as dry-run so an alert never claims changes that were not made.
func dryRun(mode string) bool { return mode != "enforce" }

// modeLabel names the mode for humans.
func modeLabel(mode string) string {
	if dryRun(mode) {
		return "DRY-RUN"
	}
	return "ENFORCE"
}

// ipText renders a source IP: a parsed address as is, otherwise the raw text marked unparsed.
func ipText(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String(), true
	}
	return s, false
}

// timeText is UTC to the second, or "unknown".
func timeText(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// countText groups thousands: 1234567 → "1,234,567".
func countText(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// outcomeLabel says what happened to an action, in words that cannot be misread in dry-run.
func outcomeLabel(o finding.Outcome) string {
	switch o {
	case finding.OutcomePlanned:
		return "PLANNED (dry-run, not applied)"
	case finding.OutcomeApplied:
		return "APPLIED"
	case finding.OutcomeAlreadyContained:
		return "already contained (no change)"
	case finding.OutcomeSkippedProtected:
		return "SKIPPED (protected principal)"
	case finding.OutcomeRateCapped:
		return "SKIPPED (rate cap reached)"
	case finding.OutcomeFailed:
		return "FAILED"
	case finding.OutcomeRestored:
		return "restored"
	case finding.OutcomeUnrestorable:
		return "CANNOT BE RESTORED (target gone)"
	case finding.OutcomeSkipped:
		return "skipped (does not apply)"
	}
	return "unknown outcome " + string(o)
}

// restoreCommand is the command that undoes an applied action.
func restoreCommand(actionID string) string { return "sesguard restore " + actionID }

// resultHeadline summarises a containment result in one line (sanitised by callers).
func resultHeadline(r *finding.Result) string {
	var applied, planned, failed int
	for _, a := range r.Actions {
		switch a.Outcome {
		case finding.OutcomeApplied:
			applied++
		case finding.OutcomePlanned:
			planned++
		case finding.OutcomeFailed:
			failed++
		}
	}
	switch {
	case failed > 0:
		return fmt.Sprintf("Containment FAILED (%d of %d actions)", failed, len(r.Actions))
	case dryRun(r.Mode):
		return fmt.Sprintf("DRY-RUN: containment planned, nothing changed (%d actions)", planned)
	case applied > 0:
		return fmt.Sprintf("Contained: %d actions applied", applied)
	default:
		return "Containment: no change needed"
	}
}

// Slack renders the alert for a Slack incoming webhook. Call Validate first.
func (a Alert) Slack() SlackMessage {
	switch a.Kind {
	case KindUpdate:
		return SlackUpdate(a.Finding, a.PrevCount)
	case KindResult:
		return SlackResult(a.Result)
	}
	return SlackFinding(a.Finding)
}

// SNS renders the alert as SNS text with message attributes. Call Validate first.
func (a Alert) SNS() SNSMessage {
	switch a.Kind {
	case KindUpdate:
		return SNSUpdate(a.Finding, a.PrevCount)
	case KindResult:
		return SNSResult(a.Result)
	}
	return SNSFinding(a.Finding)
}

// Chatbot renders the alert as an AWS Chatbot custom notification. Call Validate first.
func (a Alert) Chatbot() ChatbotNotification {
	switch a.Kind {
	case KindUpdate:
		return ChatbotUpdate(a.Finding, a.PrevCount)
	case KindResult:
		return ChatbotResult(a.Result)
	}
	return ChatbotFinding(a.Finding)
}
