package alert

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/slack/approval"
)

const (
	refContain = "apr-00112233445566778899aabbccddeeff"
	refUndo1   = "apr-0123456789abcdef0123456789abcdef"
	refUndo2   = "apr-fedcba9876543210fedcba9876543210"
)

var buttonExpiry = time.Date(2026, 5, 5, 9, 16, 2, 0, time.UTC)

func dryRunWithApproval() *finding.Result {
	r := sampleResult("dry-run")
	r.Approval = &finding.ButtonRef{Ref: refContain, Expires: buttonExpiry}
	return r
}

func enforceWithUndo() *finding.Result {
	r := sampleResult("enforce")
	r.Actions[0].Undo = &finding.ButtonRef{Ref: refUndo1, Expires: buttonExpiry}
	r.Actions[1].Undo = &finding.ButtonRef{Ref: refUndo2, Expires: buttonExpiry}
	r.Actions[2].Undo = &finding.ButtonRef{Ref: refUndo2, Expires: buttonExpiry} // failed: no button
	return r
}

// buttonsOf returns the buttons of a message's actions blocks.
func buttonsOf(m SlackMessage) []SlackButton {
	var out []SlackButton
	for _, b := range m.Blocks {
		if b.Type == "actions" {
			out = append(out, b.Buttons...)
		}
	}
	return out
}

func TestGoldenButtons(t *testing.T) {
	undone := sampleResult("enforce").Actions[0]
	undone.Outcome = finding.OutcomeRestored
	undone.Changes = []string{"AKIAIOSFODNN7EXAMPLE: Inactive -> Active"}
	at := time.Date(2026, 5, 4, 9, 20, 0, 0, time.UTC)
	tests := []struct {
		name string
		got  any
	}{
		{"slack_result_dryrun_contain.json", SlackResult(dryRunWithApproval())},
		{"slack_result_enforce_undo.json", SlackResult(enforceWithUndo())},
		{"slack_contained.json", SlackContained(enforceWithUndo(), "U0123ABCD", at)},
		{"slack_undone.json", SlackUndone(undone, "f-1", "U0123ABCD", at)},
		{"slack_ephemeral.json", SlackEphemeral("You are not in response.approvers; nothing was changed.", "U0999")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { golden(t, tc.name, tc.got) })
	}
}

func TestButtons(t *testing.T) {
	tests := []struct {
		name    string
		r       *finding.Result
		actions []string // action_ids of the buttons, in order
		values  []string
	}{
		{"dry-run with approval: Contain now", dryRunWithApproval(), []string{approval.ButtonID(approval.ActionContain, refContain)}, []string{refContain}},
		{"dry-run without approval (no approvers): no button", sampleResult("dry-run"), nil, nil},
		{"enforce: an Undo per applied action with a reference", enforceWithUndo(), []string{approval.ButtonID(approval.ActionUndo, refUndo1), approval.ButtonID(approval.ActionUndo, refUndo2)}, []string{refUndo1, refUndo2}},
		{"enforce result with a Contain reference: no Contain button", func() *finding.Result {
			r := enforceWithUndo()
			r.Approval = &finding.ButtonRef{Ref: refContain}
			return r
		}(), []string{approval.ButtonID(approval.ActionUndo, refUndo1), approval.ButtonID(approval.ActionUndo, refUndo2)}, []string{refUndo1, refUndo2}},
		{"dry-run with nothing planned: no button", func() *finding.Result {
			r := dryRunWithApproval()
			for i := range r.Actions {
				r.Actions[i].Outcome = finding.OutcomeAlreadyContained
			}
			return r
		}(), nil, nil},
		{"malformed references never become buttons", func() *finding.Result {
			r := enforceWithUndo()
			r.Actions[0].Undo.Ref = `{"action":"pause_account"}`
			r.Actions[1].Undo.Ref = "apr-<!channel>"
			return r
		}(), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := SlackResult(tc.r)
			var ids, vals []string
			for _, b := range buttonsOf(m) {
				ids, vals = append(ids, b.ActionID), append(vals, b.Value)
				if b.Type != "button" || b.Text.Type != "plain_text" || b.Confirm == nil {
					t.Errorf("button %+v", b)
				}
			}
			if strings.Join(ids, ",") != strings.Join(tc.actions, ",") || strings.Join(vals, ",") != strings.Join(tc.values, ",") {
				t.Errorf("buttons %v %v, want %v %v", ids, vals, tc.actions, tc.values)
			}
			// The wire form round-trips, buttons included.
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			var back SlackMessage
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if len(buttonsOf(back)) != len(ids) {
				t.Errorf("round trip lost buttons: %s", b)
			}
			if len(ids) > 0 && !strings.Contains(string(b), `"type":"actions","block_id":"sesguard_buttons","elements":[{"type":"button"`) {
				t.Errorf("actions block wire form: %s", b)
			}
		})
	}
}

// TestButtonsSurviveTruncation: a result too long for one message keeps its buttons and their
// note (the middle is truncated instead), and stays within Slack's limits.
func TestButtonsSurviveTruncation(t *testing.T) {
	r := enforceWithUndo()
	for i := range 80 { // respond gives every applied action its own reference
		r.Actions = append(r.Actions, finding.ActionResult{ActionID: "sg-x", Action: "deactivate_keys", Target: strings.Repeat("t", 150),
			Outcome: finding.OutcomeApplied, Reason: strings.Repeat("r", 400), Undo: &finding.ButtonRef{Ref: fmt.Sprintf("apr-%032x", i+1)}})
	}
	m := SlackResult(r)
	checkSlack(t, "long result", m, "")
	n := len(m.Blocks)
	if n > SlackMaxBlocks || m.Blocks[n-1].Type != "context" || m.Blocks[n-2].Type != "actions" || m.Blocks[n-3].BlockID != buttonsNoteID {
		t.Fatalf("tail of a truncated message: %d blocks, last %s/%s/%s", n, m.Blocks[n-3].Type, m.Blocks[n-2].Type, m.Blocks[n-1].Type)
	}
	if got := len(m.Blocks[n-2].Buttons); got != slackMaxButtons {
		t.Errorf("%d Undo buttons, want the cap %d", got, slackMaxButtons)
	}
	if !strings.Contains(mustJSON(t, m), TruncationMarker) {
		t.Error("not visibly truncated")
	}
}

// TestAdversarialButtons: hostile text in a result with buttons (and in the messages respond sends
// to response_url) stays inert everywhere, buttons included.
func TestAdversarialButtons(t *testing.T) {
	for name, in := range hostileInputs {
		t.Run(name, func(t *testing.T) {
			r := hostileResult(in)
			for i := range r.Actions {
				r.Actions[i].Undo = &finding.ButtonRef{Ref: refUndo1}
			}
			dr := hostileResult(in)
			dr.Mode = "dry-run"
			dr.Actions[0].Outcome = finding.OutcomePlanned
			dr.Approval = &finding.ButtonRef{Ref: refContain}
			msgs := map[string]SlackMessage{
				"result with undo": SlackResult(r),
				"dry-run contain":  SlackResult(dr),
				"contained":        SlackContained(r, in, time.Now()),
				"undone":           SlackUndone(r.Actions[0], in, in, time.Now()),
				"ephemeral":        SlackEphemeral("Nothing was changed.", in),
			}
			for kind, m := range msgs {
				checkSlack(t, kind, m, in)
				for _, b := range buttonsOf(m) {
					for _, s := range []string{b.Text.Text, b.Confirm.Title.Text, b.Confirm.Text.Text} {
						checkText(t, kind+" button", s, "plain_text")
					}
					if !approval.ValidRef(b.Value) {
						t.Errorf("%s: button value %q", kind, b.Value)
					}
				}
			}
			if len(buttonsOf(msgs["dry-run contain"])) != 1 {
				t.Error("hostile dry-run lost its Contain now button")
			}
		})
	}
}
