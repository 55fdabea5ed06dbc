package alert

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// TestAlertListsEarlierSteps: the alert for a later step of one key's incident says which
// steps the key already took, in Slack and on SNS; a finding without a chain says nothing.
func TestAlertListsEarlierSteps(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 5, 4, h, m, 0, 0, time.UTC) }
	f := finding.Finding{Schema: finding.SchemaFinding, ID: "sgf-1", Rule: "playbook.persistence", Severity: finding.SeverityCritical,
		Account: "111122223333", Region: "us-east-1", Mode: "dry-run", Incident: "sgi-abc",
		Principal: finding.Principal{Name: "leaked-user", Kind: finding.KindUser, AccessKeyID: "AKIALEAK"},
		Evidence:  finding.Evidence{Count: 1, FirstSeen: at(9, 40), LastSeen: at(9, 40), Detail: "CreateUser for user \"ses\""},
		Chain: []finding.Step{{Time: at(9, 31), Rule: "playbook.key_validated", Summary: "validated"},
			{Time: at(9, 33), Rule: "playbook.multi_region", Summary: "recon in 6 Regions"}},
	}
	want := "validated 09:31, recon in 6 Regions 09:33"
	sns := SNSFinding(&f)
	if !strings.Contains(sns.Body, "Earlier steps:      "+want) || !strings.Contains(sns.Body, "sgi-abc") {
		t.Errorf("SNS body lacks the chain:\n%s", sns.Body)
	}
	slack, _ := json.Marshal(SlackFinding(&f))
	if !strings.Contains(string(slack), "Earlier steps of this key") || !strings.Contains(string(slack), want) {
		t.Errorf("Slack message lacks the chain: %s", slack)
	}
	f.Chain, f.Incident = nil, ""
	if b := SNSFinding(&f).Body; strings.Contains(b, "Earlier steps") || strings.Contains(b, "Incident") {
		t.Errorf("chain line without a chain:\n%s", b)
	}
}
