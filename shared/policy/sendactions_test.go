package policy

import (
	"slices"
	"testing"
)

// The send actions whose resource is an SES identity, from the Service Authorization Reference
// (see SendActions). A Deny that misses one leaves that way of sending open (issue 23, part 8).
var wantSendActions = []string{
	"ses:SendEmail", "ses:SendRawEmail", "ses:SendTemplatedEmail", "ses:SendBulkTemplatedEmail", "ses:SendBulkEmail",
}

func TestSendActions(t *testing.T) {
	if got := SendActions(); !slices.Equal(got, wantSendActions) {
		t.Errorf("SendActions() = %v, want %v", got, wantSendActions)
	}
	// Callers get their own slice: appending to one must not change the next.
	a := SendActions()
	a[0] = "ses:Nothing"
	if SendActions()[0] != "ses:SendEmail" {
		t.Error("SendActions shares its backing array")
	}
	if got := SMTPSendActions(); !slices.Equal(got, []string{"ses:SendRawEmail"}) {
		t.Errorf("SMTPSendActions() = %v, want only ses:SendRawEmail", got)
	}
}

// TestIdentityPolicyDeniesEverySendAction: every Deny the preventive identity policy renders —
// network, From, recipients — names every send action; it once named only ses:SendEmail and
// ses:SendRawEmail, so a key with template rights sent from outside the approved VPC.
func TestIdentityPolicyDeniesEverySendAction(t *testing.T) {
	p := testPolicy(t, `version: 1
network: { vpcs: [vpc-0a1b2c3d4e5f60718], cidrs: [10.20.0.0/16, 198.51.100.0/24] }
senders: { from: ["*@mail.example.com"] }
recipients: { domains: [example.org] }
`)
	doc, err := IdentityPolicy(p, "arn:aws:ses:eu-west-1:111122223333:identity/mail.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Statement) != 3 {
		t.Fatalf("want the network, From and recipient statements, got %+v", doc.Statement)
	}
	for _, s := range doc.Statement {
		if s.Effect != "Deny" {
			t.Errorf("%s: effect %s", s.Sid, s.Effect)
		}
		for _, a := range wantSendActions {
			if !slices.Contains(s.Action, a) {
				t.Errorf("%s does not deny %s: %v", s.Sid, a, s.Action)
			}
		}
	}
}

// TestSMTPUserPolicyStaysMinimal: the SMTP user's Allow names ses:SendRawEmail, all SMTP needs.
func TestSMTPUserPolicyStaysMinimal(t *testing.T) {
	p := testPolicy(t, `version: 1
network: { vpcs: [vpc-0a1b2c3d4e5f60718], cidrs: [198.51.100.0/24] }
`)
	doc, err := SMTPUserPolicy(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Statement) != 2 {
		t.Fatalf("want the VPC and public-address statements, got %+v", doc.Statement)
	}
	for _, s := range doc.Statement {
		if s.Effect != "Allow" || !slices.Equal(s.Action, []string{"ses:SendRawEmail"}) {
			t.Errorf("%s: %s %v, want Allow [ses:SendRawEmail]", s.Sid, s.Effect, s.Action)
		}
	}
}
