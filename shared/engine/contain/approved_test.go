package contain

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// TestContainWithApproval: an approved run applies only the approved action ids (a planned action
// not in the approval is skipped, not applied), records the approver in the ledger row and the
// actor, and an approved undo records its approver too.
func TestContainWithApproval(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.m.SeedSMTPUser(t, "ses-smtp-user.20260112-101500")
	f := smtpFinding(u, ActionDeactivateKeys, ActionDenySendPolicy)
	e.m.SeedKeyLastUsed(u.KeyIDs[0], "ses-smtp", "us-east-1", f.WindowStart.Add(time.Minute))
	ex := e.executor(Config{Mode: ModeEnforce, Actor: "lambda:respond"})

	keysID := ActionID(f.ID, ActionDeactivateKeys, u.UserName)
	who := &Approver{SlackUser: "U0123ABCD", SlackTeam: "T0001", At: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC), Ref: "apr-x"}
	res, _, err := ex.ContainWith(ctx, f, ContainOptions{Only: []string{keysID}, Approver: who})
	if err != nil {
		t.Fatal(err)
	}
	got := outcomes(res)
	if got[ActionDeactivateKeys].Outcome != finding.OutcomeApplied || got[ActionDenySendPolicy].Outcome != finding.OutcomeSkipped {
		t.Fatalf("outcomes %+v", res.Actions)
	}
	if want := "slack:T0001/U0123ABCD via lambda:respond"; res.Actor != want {
		t.Errorf("result actor %q, want %q", res.Actor, want)
	}
	if ops := e.writeOps(); slices.Contains(ops, "PutUserPolicy") {
		t.Errorf("the unapproved deny_send_policy was applied: %v", ops)
	}
	rec, err := e.ledger.Get(ctx, keysID)
	if err != nil || rec.ApprovedBy == nil || *rec.ApprovedBy != *who || rec.Actor != res.Actor {
		t.Fatalf("ledger row %+v, %v", rec, err)
	}

	undoBy := &Approver{SlackUser: "U0456", SlackTeam: "T0001", At: who.At.Add(time.Minute), Ref: "apr-y"}
	if _, err := ex.RestoreWith(ctx, keysID, undoBy.Actor(), undoBy); err != nil {
		t.Fatal(err)
	}
	rec, err = e.ledger.Get(ctx, keysID)
	if err != nil || rec.Status != StatusRestored || rec.RestoreApprovedBy == nil || *rec.RestoreApprovedBy != *undoBy || rec.RestoredBy != "slack:T0001/U0456" {
		t.Fatalf("restored row %+v, %v", rec, err)
	}
	if st := e.keyStatus(t, u.UserName); st[u.KeyIDs[0]] != "Active" {
		t.Errorf("key not restored: %v", st)
	}
}
