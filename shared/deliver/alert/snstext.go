package alert

import (
	"fmt"
	"strings"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/sanitize"
)

// SNS limits (reference §5.1). The subject must be "less than 100 characters", one line, no
// control characters; sesguard also keeps it ASCII so every e-mail client shows it intact.
const (
	SNSMaxSubject   = 99
	snsMaxAttribute = 256 // sesguard's own cap; the hard limit is the 256 KB message total
	snsMaxBody      = 64 * 1024
)

// SNS message attribute names, for subscription filter policies.
const (
	AttrRule      = "rule"
	AttrSeverity  = "severity"
	AttrAccount   = "account"
	AttrPrincipal = "principal"
	AttrType      = "type"
	AttrAlert     = "alert" // page | update | result
)

// SNSMessage is a rendered SNS publication. Attributes are published as String attributes.
type SNSMessage struct {
	Subject    string
	Body       string
	Attributes map[string]string
}

// attrValue sanitises an attribute value; SNS rejects empty String values, so empty → "unknown".
func attrValue(s string) string {
	v := sanitize.Clean(s, snsMaxAttribute)
	if v == "" {
		return "unknown"
	}
	return v
}

func snsAttributes(typ, rule string, sev finding.Severity, account, principal string, kind Kind) map[string]string {
	return map[string]string{
		AttrRule:      attrValue(rule),
		AttrSeverity:  attrValue(string(sev)),
		AttrAccount:   attrValue(account),
		AttrPrincipal: attrValue(principal),
		AttrType:      typ,
		AttrAlert:     string(kind),
	}
}

// textBody builds aligned "Label: value" lines; values are cleaned to one line each.
type textBody struct{ b strings.Builder }

func (t *textBody) line(s string) { t.b.WriteString(s + "\n") }

func (t *textBody) kv(label, value string, limit int) {
	v := sanitize.Clean(value, limit)
	if v == "" {
		v = "-"
	}
	fmt.Fprintf(&t.b, "%-19s %s\n", label+":", v)
}

func (t *textBody) String() string {
	return sanitize.Clip(strings.TrimRight(t.b.String(), "\n"), snsMaxBody)
}

func principalText(p finding.Principal) string {
	kind := string(p.Kind)
	if kind == "" {
		kind = string(finding.KindUnknown)
	}
	s := sanitize.Clean(p.Name, capName)
	if s == "" {
		s = "(unknown)"
	}
	s += " (" + sanitize.Clean(kind, 20) + ")"
	if p.ARN != "" {
		s += " " + sanitize.Clean(p.ARN, capName)
	}
	return s
}

func ipPlain(ip string) string {
	s, ok := ipText(ip)
	switch {
	case s == "":
		return "unknown (not in the event)"
	case !ok:
		return sanitize.Clean(s, capShort) + " (unparsed)"
	}
	return s
}

func joinClean(vals []string, max, each int) string {
	var parts []string
	for i, v := range vals {
		if i == max {
			parts = append(parts, fmt.Sprintf("+%d more", len(vals)-max))
			break
		}
		parts = append(parts, sanitize.Clean(v, each))
	}
	return strings.Join(parts, ", ")
}

// SNSFinding renders a new finding as a plain-text SNS message.
func SNSFinding(f *finding.Finding) SNSMessage {
	var t textBody
	t.line(fmt.Sprintf("sesguard %s finding: %s", severityLabel(f.Severity), sanitize.Clean(title(f.Rule), capShort)))
	t.line("")
	findingLines(&t, f)
	t.line("")
	if len(f.Actions) == 0 {
		t.line("Containment: none configured for this rule; investigate manually.")
	} else if dryRun(f.Mode) {
		t.line("Containment: DRY-RUN, nothing will be changed. The policy would apply: " + joinClean(f.Actions, 20, capShort))
	} else {
		t.line("Containment: ENFORCE, the responder is applying: " + joinClean(f.Actions, 20, capShort))
		t.line("A follow-up message reports each result and its restore command.")
	}
	t.line("")
	t.kv("Finding id", f.ID, capName)
	t.kv("Message ids", joinClean(f.Evidence.MessageIDs, 5, capShort), 1000)
	return SNSMessage{
		Subject:    ascii(fmt.Sprintf("[%s] sesguard: %s: %s", severityLabel(f.Severity), title(f.Rule), f.Principal.Name), SNSMaxSubject),
		Body:       t.String(),
		Attributes: snsAttributes(finding.TypeFinding, f.Rule, f.Severity, f.Account, f.Principal.Name, KindPage),
	}
}

func findingLines(t *textBody, f *finding.Finding) {
	ev := f.Evidence
	t.kv("Rule", f.Rule, capShort)
	t.kv("Account / region", sanitize.Clean(f.Account, capShort)+" / "+sanitize.Clean(f.Region, capShort), capShort)
	t.kv("Principal", principalText(f.Principal), 2*capName)
	t.kv("Access key", f.Principal.AccessKeyID, 40)
	t.kv("Source IP", ipPlain(f.SourceIP), capShort)
	t.kv("From", joinClean(ev.From, 5, capName), 1200)
	t.kv("Identity", ev.Identity, capName)
	t.kv("Configuration set", ev.ConfigurationSet, capName)
	t.kv("Sends", countText(ev.Count)+metricText(ev), capShort)
	t.kv("First / last seen", timeText(ev.FirstSeen)+" / "+timeText(ev.LastSeen), capShort)
	if ev.Detail != "" {
		t.kv("Why", ev.Detail, capDetail)
	}
	if len(f.Chain) > 0 {
		t.kv("Earlier steps", chainText(f.Chain), capDetail)
	}
	if f.Incident != "" {
		t.kv("Incident", f.Incident, capShort)
	}
	if len(ev.RecipientsSample) > 0 {
		t.kv("Recipients sample", joinClean(ev.RecipientsSample, 5, capShort), 700)
	}
	t.kv("Mode", modeLabel(f.Mode), 20)
}

// SNSUpdate renders a repeat of a known finding whose count grew.
func SNSUpdate(f *finding.Finding, prev int64) SNSMessage {
	var t textBody
	t.line(fmt.Sprintf("sesguard update: %s is still active: %s sends (was %s).",
		sanitize.Clean(title(f.Rule), capShort), countText(f.Evidence.Count), countText(prev)))
	t.line("")
	findingLines(&t, f)
	t.line("")
	t.kv("Finding id", f.ID, capName)
	return SNSMessage{
		Subject:    ascii(fmt.Sprintf("[update] sesguard: %s: %s sends: %s", title(f.Rule), countText(f.Evidence.Count), f.Principal.Name), SNSMaxSubject),
		Body:       t.String(),
		Attributes: snsAttributes(finding.TypeFinding, f.Rule, f.Severity, f.Account, f.Principal.Name, KindUpdate),
	}
}

// SNSResult renders a containment result, with the restore command of every applied action.
func SNSResult(r *finding.Result) SNSMessage {
	var t textBody
	t.line("sesguard " + resultHeadline(r))
	if dryRun(r.Mode) {
		t.line("DRY-RUN: nothing was changed. Each action below is what enforce mode would do.")
	}
	t.line("")
	t.kv("Rule", sanitize.Clean(r.Rule, capShort)+" ("+sanitize.Clean(string(r.Severity), 20)+")", capShort)
	t.kv("Account / region", sanitize.Clean(r.Account, capShort)+" / "+sanitize.Clean(r.Region, capShort), capShort)
	t.kv("Principal", principalText(r.Principal), 2*capName)
	t.kv("Source IP", ipPlain(r.SourceIP), capShort)
	t.kv("Mode", modeLabel(r.Mode), 20)
	t.kv("Actor", r.Actor, capName)
	t.kv("Time", timeText(r.Time), capShort)
	t.line("")
	if len(r.Actions) == 0 {
		t.line("No containment actions for this finding.")
	}
	for _, a := range r.Actions {
		t.line("- " + sanitize.Clean(a.Action, capShort) + " on " + sanitize.Clean(a.Target, capName) + ": " + outcomeLabel(a.Outcome))
		for i, c := range a.Changes {
			if i == 10 {
				t.line(fmt.Sprintf("    +%d more changes", len(a.Changes)-10))
				break
			}
			t.line("    " + sanitize.Clean(c, capName))
		}
		if a.Reason != "" {
			t.line("    reason: " + sanitize.Clean(a.Reason, 500))
		}
		if a.Error != "" {
			t.line("    error: " + sanitize.Clean(a.Error, 500))
		}
		if a.Outcome == finding.OutcomeApplied {
			if a.ActionID == "" {
				t.line("    undo: no action id was recorded; find it in the ledger")
			} else {
				t.line("    undo: " + restoreCommand(sanitize.Clean(a.ActionID, capName)))
			}
		}
	}
	t.line("")
	t.kv("Finding id", r.FindingID, capName)
	return SNSMessage{
		Subject:    ascii(fmt.Sprintf("[%s] sesguard: %s: %s", modeLabel(r.Mode), resultHeadline(r), r.Principal.Name), SNSMaxSubject),
		Body:       t.String(),
		Attributes: snsAttributes(finding.TypeResult, r.Rule, r.Severity, r.Account, r.Principal.Name, KindResult),
	}
}
