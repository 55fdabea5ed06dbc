package alert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/sanitize"
	"github.com/sesguard/sesguard/shared/slack/approval"
)

// Block ids of the button blocks (budget keeps them; functions/interact ignores block ids).
const (
	buttonsBlockID = "sesguard_buttons"
	buttonsNoteID  = "sesguard_buttons_note"
)

// slackMaxButtons bounds the Undo buttons of one message (Block Kit allows 25 elements in an
// actions block; a result with more applied actions keeps the restore commands in the text).
const slackMaxButtons = 5

// SlackButton is a Block Kit button element. Value is always an approval reference: the message
// never carries what the button does.
type SlackButton struct {
	Type     string        `json:"type"` // button
	ActionID string        `json:"action_id"`
	Text     SlackText     `json:"text"` // plain_text
	Value    string        `json:"value"`
	Style    string        `json:"style,omitempty"` // primary | danger
	Confirm  *SlackConfirm `json:"confirm,omitempty"`
}

// SlackConfirm is a button's confirmation dialog (all plain_text).
type SlackConfirm struct {
	Title   SlackText `json:"title"`
	Text    SlackText `json:"text"`
	Confirm SlackText `json:"confirm"`
	Deny    SlackText `json:"deny"`
}

// slackBlockJSON is SlackBlock's wire form with untyped elements.
type slackBlockJSON struct {
	Type     string          `json:"type"`
	BlockID  string          `json:"block_id,omitempty"`
	Text     *SlackText      `json:"text,omitempty"`
	Fields   []SlackText     `json:"fields,omitempty"`
	Elements json.RawMessage `json:"elements,omitempty"`
}

// MarshalJSON writes Buttons as the elements of an actions block; other blocks are unchanged.
func (b SlackBlock) MarshalJSON() ([]byte, error) {
	w := slackBlockJSON{Type: b.Type, BlockID: b.BlockID, Text: b.Text, Fields: b.Fields}
	var err error
	switch {
	case len(b.Buttons) > 0:
		w.Elements, err = marshalRaw(b.Buttons)
	case len(b.Elements) > 0:
		w.Elements, err = marshalRaw(b.Elements)
	}
	if err != nil {
		return nil, err
	}
	return marshalRaw(w)
}

// marshalRaw encodes without HTML escaping: the caller's encoder decides (json.Marshal escapes
// the Marshaler's output again; an Encoder with SetEscapeHTML(false) keeps it as is).
func marshalRaw(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// UnmarshalJSON reads an actions block's elements into Buttons, others into Elements.
func (b *SlackBlock) UnmarshalJSON(data []byte) error {
	var w slackBlockJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*b = SlackBlock{Type: w.Type, BlockID: w.BlockID, Text: w.Text, Fields: w.Fields}
	if len(w.Elements) == 0 {
		return nil
	}
	if w.Type == "actions" {
		return json.Unmarshal(w.Elements, &b.Buttons)
	}
	return json.Unmarshal(w.Elements, &b.Elements)
}

// button is a button whose action_id carries its reference (approval.ButtonID): Slack rejects
// a message with repeated action ids, and a result has one Undo button per action.
func button(prefix, label, ref, style string, confirm *SlackConfirm) SlackButton {
	return SlackButton{Type: "button", ActionID: approval.ButtonID(prefix, ref), Text: plainText(sanitize.Clip(label, 75)), Value: ref, Style: style, Confirm: confirm}
}

func confirmDialog(title, text, yes string) *SlackConfirm {
	return &SlackConfirm{Title: plainText(sanitize.Clip(title, 100)), Text: plainText(sanitize.Clip(text, 300)), Confirm: plainText(sanitize.Clip(yes, 30)), Deny: plainText("Cancel")}
}

// resultButtons renders a result's buttons: Contain now for a dry-run result with planned
// actions and an approval reference, Undo for each applied action with one. Only well-formed
// references become buttons; the labels and dialogs carry no attacker-controlled text.
func resultButtons(r *finding.Result) ([]SlackBlock, bool) {
	var buttons []SlackButton
	var expires time.Time
	if dryRun(r.Mode) && r.Approval != nil && approval.ValidRef(r.Approval.Ref) {
		planned := 0
		for _, a := range r.Actions {
			if a.Outcome == finding.OutcomePlanned || a.Outcome == finding.OutcomeRateCapped {
				planned++
			}
		}
		if planned > 0 {
			buttons = append(buttons, button(approval.ActionContain, "Contain now", r.Approval.Ref, "danger",
				confirmDialog("Contain now?", fmt.Sprintf("Apply the %d planned actions of this finding now, in enforce mode. Protected principals and max_actions_per_hour still apply; each change is recorded in the ledger with your Slack user id and can be undone.", planned), "Contain")))
			expires = r.Approval.Expires
		}
	}
	undos := 0
	for _, a := range r.Actions {
		if a.Outcome != finding.OutcomeApplied || a.Undo == nil || !approval.ValidRef(a.Undo.Ref) {
			continue
		}
		// respond gives every action its own reference; a repeated one would repeat an
		// action_id (Slack refuses the whole message), and its button would do the same thing.
		if slices.ContainsFunc(buttons, func(b SlackButton) bool { return b.Value == a.Undo.Ref }) {
			continue
		}
		if undos == slackMaxButtons {
			break
		}
		undos++
		buttons = append(buttons, button(approval.ActionUndo, "Undo "+plain(a.Action, 40), a.Undo.Ref, "",
			confirmDialog("Undo this action?", "Restore the prior state recorded in the ledger for "+plain(a.Action, 40)+" (sesguard restore).", "Undo")))
		if expires.IsZero() || a.Undo.Expires.Before(expires) {
			expires = a.Undo.Expires
		}
	}
	if len(buttons) == 0 {
		return nil, false
	}
	note := "Buttons work for the approvers in `response.approvers` only, until " + timeText(expires) + "."
	if undos > 0 {
		note += " Undo runs the restore command shown with the action."
	}
	noteBlock := contextBlock(note)
	noteBlock.BlockID = buttonsNoteID
	return []SlackBlock{noteBlock, {Type: "actions", BlockID: buttonsBlockID, Buttons: buttons}}, true
}

// SlackContained is the message that replaces a Contain now message once respond ran the
// approved plan: who approved and when, then the result with its Undo buttons.
func SlackContained(r *finding.Result, slackUser string, at time.Time) SlackMessage {
	msg := SlackResult(r)
	line := fmt.Sprintf("✅ *Contain now* approved by Slack user %s at %s — %s", code(slackUser, 40), timeText(at), prose(resultHeadline(r), capShort))
	msg.Blocks = insertAfterHeader(msg.Blocks, sectionMrkdwn(line))
	msg.ReplaceOriginal = true
	return budget(msg)
}

// SlackUndone is the in-channel reply to an Undo click (the original message, with any other
// Undo buttons, stays).
func SlackUndone(a finding.ActionResult, findingID, slackUser string, at time.Time) SlackMessage {
	head := "↩️ Undo approved by Slack user " + code(slackUser, 40) + " at " + timeText(at)
	msg := SlackMessage{Text: fitMrkdwn("Undo of "+prose(a.Action, capShort)+": "+prose(outcomeLabel(a.Outcome), capShort), slackMaxFallback), ResponseType: "in_channel"}
	msg.Blocks = append(msg.Blocks, sectionMrkdwn(head+"\n"+actionText(a)), contextBlock("finding "+code(findingID, capName), "action "+code(a.ActionID, capName)))
	return budget(msg)
}

// SlackEphemeral is a message only the clicking user sees (a refusal, an expired button). text
// must be sesguard's own wording (it is escaped and cleaned, not defanged); detail, which may
// quote anything, is shown as a code span. The "sesguard:" prefix keeps a line from quoting.
func SlackEphemeral(text, detail string) SlackMessage {
	t := "sesguard: " + slackEsc(proseReplacer.Replace(sanitize.Clean(text, 300)))
	if detail != "" {
		t += " " + code(detail, 300)
	}
	return SlackMessage{Text: fitMrkdwn(t, slackMaxFallback), Blocks: []SlackBlock{sectionMrkdwn(t)}, ResponseType: "ephemeral"}
}

func insertAfterHeader(blocks []SlackBlock, b SlackBlock) []SlackBlock {
	if len(blocks) == 0 || blocks[0].Type != "header" {
		return append([]SlackBlock{b}, blocks...)
	}
	out := make([]SlackBlock, 0, len(blocks)+1)
	out = append(out, blocks[0], b)
	return append(out, blocks[1:]...)
}
