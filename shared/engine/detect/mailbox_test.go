package detect

import (
	"encoding/json"
	"testing"

	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// TestFromAndRecipientBypassEndToEnd runs raw SES Send records through the decoder and the
// sender/recipient rules: a From or destination that is not exactly one approved mailbox raises
// its finding, however the decoder (net/mail, or its keep-it-whole fallback) left it (issue 23).
func TestFromAndRecipientBypassEndToEnd(t *testing.T) {
	p := loadPolicy(t, `version: 1
senders: { from: [alerts@notify.example.org] }
recipients: { domains: [partner.example] }
`)
	fromRule, _ := RuleByID(rules.SenderFromUnapproved)
	rcptRule, _ := RuleByID(rules.RecipientDomainUnapproved)
	tests := []struct {
		name      string
		from      string
		rcpt      string
		fromFires bool
		rcptFires bool
	}{
		{"approved", "Alerts <alerts@notify.example.org>", "y@partner.example", false, false},
		{"quoted local part", `"x<alerts@notify.example.org>"@bad.example`, "y@partner.example", true, false},
		{"address as name", "evil@bad.example <alerts@notify.example.org>", "y@partner.example", true, false},
		{"two angle-addrs", "<evil@bad.example> <alerts@notify.example.org>", "y@partner.example", true, false},
		{"group", "g: alerts@notify.example.org;", "y@partner.example", false, false}, // a group member is a mailbox of its own
		{"group with a stranger", "g: alerts@notify.example.org, evil@bad.example;", "y@partner.example", true, false},
		{"recipient address as name", "alerts@notify.example.org", "victim@evil.example <y@partner.example>", false, true},
		{"recipient quoted local part", "alerts@notify.example.org", `"x<y@partner.example>"@evil.example`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := map[string]any{
				"eventType": "Send",
				"mail": map[string]any{
					"timestamp": "2026-05-04T09:17:05.120Z", "source": "alerts@notify.example.org",
					"sourceArn": "arn:aws:ses:eu-west-1:111122223333:identity/notify.example.org",
					"messageId": "0102018f3a6b4e2a-bypass", "destination": []string{tt.rcpt},
					"commonHeaders": map[string]any{"from": []string{tt.from}, "to": []string{tt.rcpt}},
				},
				"send": map[string]any{},
			}
			raw, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			e, err := sesevent.DecodeRecord(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got, detail := fromRule.Check(p, &e); got != tt.fromFires {
				t.Errorf("From %q (decoded %+v): sender.from_unapproved fired=%v, want %v (%s)", tt.from, e.From, got, tt.fromFires, detail)
			}
			if got, detail := rcptRule.Check(p, &e); got != tt.rcptFires {
				t.Errorf("recipient %q: recipient.domain_unapproved fired=%v, want %v (%s)", tt.rcpt, got, tt.rcptFires, detail)
			}
		})
	}
}
