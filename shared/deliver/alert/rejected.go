package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/sanitize"
)

// KindRejected is the "alert" attribute of a notice that a destination refused an alert.
const KindRejected Kind = "rejected"

// Rejection is a destination's permanent refusal of an alert.
type Rejection struct {
	Destination string
	Alert       Alert
	Reason      string // the receiver's answer, cleaned (e.g. "HTTP 400: invalid_blocks")
}

// Rejected reports whether err is a receiver's permanent refusal: an HTTP 4xx other than 429
// from the Slack webhook (400 invalid_blocks, 403/404/410 of a revoked webhook). Retrying sends
// the same payload and is refused the same way.
func Rejected(err error) (*HTTPError, bool) {
	var he *HTTPError
	if errors.As(err, &he) && he.StatusCode >= 400 && he.StatusCode < 500 && he.StatusCode != http.StatusTooManyRequests {
		return he, true
	}
	return nil, false
}

// Reporter publishes a Rejection (SNSPublisher: the alerts topic).
type Reporter interface {
	Report(ctx context.Context, r Rejection) error
}

// ReportRejections delivers through Dest and, when Dest's receiver refuses the alert for good,
// publishes the refusal with its reason through Report and counts the alert as delivered: a
// retry would be refused again and end in the dead-letter queue, where nobody reads why, and
// the alerts topic has the alert itself from its own destination. If the report fails, the
// refusal is returned so the record is retried.
type ReportRejections struct {
	Dest   Destination
	Report Reporter
	Log    *slog.Logger // default slog.Default()
}

var _ Destination = (*ReportRejections)(nil)

// Name is Dest's, so dedup keys do not change.
func (d *ReportRejections) Name() string { return d.Dest.Name() }

// Send delivers a, reporting a permanent refusal instead of failing.
func (d *ReportRejections) Send(ctx context.Context, a Alert) error {
	err := d.Dest.Send(ctx, a)
	he, ok := Rejected(err)
	if !ok {
		return err
	}
	rej := Rejection{Destination: d.Dest.Name(), Alert: a, Reason: fmt.Sprintf("HTTP %d: %s", he.StatusCode, he.Body)}
	if rerr := d.Report.Report(ctx, rej); rerr != nil {
		return errors.Join(err, fmt.Errorf("report the refusal: %w", rerr))
	}
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	log.ErrorContext(ctx, "alert refused by its destination; refusal reported on the alerts topic",
		"destination", d.Dest.Name(), "finding_id", rejectedID(a), "kind", string(a.Kind), "error", err.Error())
	return nil
}

// rejectedID is the finding id of the refused alert.
func rejectedID(a Alert) string {
	switch {
	case a.Finding != nil:
		return a.Finding.ID
	case a.Result != nil:
		return a.Result.FindingID
	}
	return ""
}

// rejectedFacts are the rule, severity, account and principal of the refused alert.
func rejectedFacts(a Alert) (string, finding.Severity, string, string) {
	switch {
	case a.Finding != nil:
		return a.Finding.Rule, a.Finding.Severity, a.Finding.Account, a.Finding.Principal.Name
	case a.Result != nil:
		return a.Result.Rule, a.Result.Severity, a.Result.Account, a.Result.Principal.Name
	}
	return "", "", "", ""
}

const rejectedAdvice = "The alert itself was published on this topic as usual. Check the Slack webhook secret (a 403/404/410 means the webhook was revoked or its channel archived) and the notify function's log; a 400 is a message sesguard rendered wrongly: report it."

// SNSRejection renders a Rejection as SNS text. The attributes are the refused alert's (rule,
// severity, account, principal, type) with alert=rejected, so a subscription filtering on
// severity receives the refusal of every alert it receives.
func SNSRejection(r Rejection) SNSMessage {
	rule, sev, account, principal := rejectedFacts(r.Alert)
	var t textBody
	t.line("sesguard: " + sanitize.Clean(r.Destination, capShort) + " refused an alert; it was not delivered there.")
	t.line("")
	t.kv("Destination", r.Destination, capShort)
	t.kv("Refusal", r.Reason, 300)
	t.kv("Alert", string(r.Alert.Kind), 20)
	t.kv("Finding id", rejectedID(r.Alert), capName)
	t.kv("Rule", rule, capShort)
	t.kv("Severity", string(sev), 20)
	t.line("")
	t.line(rejectedAdvice)
	typ := finding.TypeFinding
	if r.Alert.Result != nil {
		typ = finding.TypeResult
	}
	return SNSMessage{
		Subject:    ascii(fmt.Sprintf("[%s] sesguard: %s refused an alert: %s", severityLabel(sev), r.Destination, r.Reason), SNSMaxSubject),
		Body:       t.String(),
		Attributes: snsAttributes(typ, rule, sev, account, principal, KindRejected),
	}
}

// ChatbotRejection renders a Rejection as an AWS Chatbot custom notification.
func ChatbotRejection(r Rejection) ChatbotNotification {
	id := rejectedID(r.Alert)
	rule, sev, _, _ := rejectedFacts(r.Alert)
	n := newChatbot("rejected-"+id+"-"+string(r.Alert.Kind), id, "sesguard.rejected")
	n.Content.Title = sanitize.Clip(severityEmoji(sev)+" sesguard: "+mdText(r.Destination, capShort)+" refused an alert", chatbotMaxTitle)
	n.Content.Description = sanitize.Clip(mdLine("Refusal", md(r.Reason, 300))+"\n"+mdLine("Alert", mdText(string(r.Alert.Kind), 20))+"\n"+
		mdLine("Finding id", md(id, capName))+"\n"+mdLine("Rule", md(rule, capShort))+"\n\n"+rejectedAdvice, chatbotMaxDescription)
	n.Metadata.Summary = sanitize.Clip("sesguard: "+mdText(r.Destination, capShort)+" refused an alert", chatbotMaxSummary)
	return n
}

// Report publishes a Rejection in the publisher's format.
func (p *SNSPublisher) Report(ctx context.Context, r Rejection) error {
	m := SNSRejection(r)
	switch p.format() {
	case FormatText:
	case FormatChatbot:
		body, err := json.Marshal(ChatbotRejection(r))
		if err != nil {
			return fmt.Errorf("encode chatbot notification: %w", err)
		}
		m.Subject, m.Body = "", string(body)
	default:
		return fmt.Errorf("sns publisher %s: unknown format %q", p.TopicARN, p.Format)
	}
	_, err := p.Publish(ctx, m)
	return err
}
