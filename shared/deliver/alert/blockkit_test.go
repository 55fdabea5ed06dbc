package alert

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/sanitize"
)

// Slack's Block Kit limits, as published in the Block Kit reference (docs.slack.dev/reference/
// block-kit: blocks, button element, confirmation dialog object, text object; read 2026-12-07).
// A message breaking one is answered with HTTP 400 invalid_blocks and not shown at all.
const (
	bkMaxBlocks         = 50    // blocks in a message
	bkMaxBlockID        = 255   // block_id, unique within the message
	bkMaxHeader         = 150   // header text (plain_text)
	bkMaxSectionText    = 3000  // section text
	bkMaxFields         = 10    // section fields
	bkMaxFieldText      = 2000  // each field's text
	bkMaxContextElems   = 10    // context elements
	bkMaxActionsElems   = 25    // actions elements
	bkMaxButtonText     = 75    // button text (plain_text)
	bkMaxActionID       = 255   // action_id, unique within the message
	bkMaxButtonValue    = 2000  // button value
	bkMaxConfirmTitle   = 100   // confirm.title (plain_text)
	bkMaxConfirmText    = 300   // confirm.text
	bkMaxConfirmButton  = 30    // confirm.confirm and confirm.deny (plain_text)
	bkMaxTopLevelText   = 40000 // the message's text (Slack truncates beyond it)
	bkMinTextObjectText = 1     // a text object's text may not be empty
)

// blockKitViolations checks a message's wire form (the JSON Slack receives) against the limits
// above and returns one line per violation.
func blockKitViolations(raw []byte) []string {
	var msg struct {
		Text   string           `json:"text"`
		Blocks []map[string]any `json:"blocks"`
	}
	if err := json.Unmarshal(raw, &msg); err != nil {
		return []string{"not a message: " + err.Error()}
	}
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	if n := sanitize.Len(msg.Text); n > bkMaxTopLevelText {
		fail("text: %d chars > %d", n, bkMaxTopLevelText)
	}
	if len(msg.Blocks) > bkMaxBlocks {
		fail("%d blocks > %d", len(msg.Blocks), bkMaxBlocks)
	}
	// textObj checks a text object: its type, non-empty text within max, plain_text if plain.
	textObj := func(where string, v any, max int, plain bool) {
		o, ok := v.(map[string]any)
		if !ok {
			fail("%s: not a text object", where)
			return
		}
		typ, _ := o["type"].(string)
		text, _ := o["text"].(string)
		switch {
		case typ != "plain_text" && typ != "mrkdwn":
			fail("%s: text type %q", where, typ)
		case plain && typ != "plain_text":
			fail("%s: must be plain_text, is %s", where, typ)
		}
		if _, ok := o["emoji"]; ok && typ != "plain_text" {
			fail("%s: emoji on %s", where, typ)
		}
		if _, ok := o["verbatim"]; ok && typ != "mrkdwn" {
			fail("%s: verbatim on %s", where, typ)
		}
		if n := sanitize.Len(text); n < bkMinTextObjectText || n > max {
			fail("%s: %d chars, want %d..%d", where, n, bkMinTextObjectText, max)
		}
	}
	blockIDs, actionIDs := map[string]bool{}, map[string]bool{}
	for i, b := range msg.Blocks {
		typ, _ := b["type"].(string)
		where := fmt.Sprintf("block %d (%s)", i, typ)
		if id, ok := b["block_id"].(string); ok {
			if len(id) > bkMaxBlockID || id == "" {
				fail("%s: block_id of %d chars", where, len(id))
			}
			if blockIDs[id] {
				fail("%s: block_id %q repeated", where, id)
			}
			blockIDs[id] = true
		}
		elems, _ := b["elements"].([]any)
		switch typ {
		case "header":
			textObj(where+" text", b["text"], bkMaxHeader, true)
		case "section":
			fields, _ := b["fields"].([]any)
			if b["text"] == nil && len(fields) == 0 {
				fail("%s: neither text nor fields", where)
			}
			if b["text"] != nil {
				textObj(where+" text", b["text"], bkMaxSectionText, false)
			}
			if len(fields) > bkMaxFields {
				fail("%s: %d fields > %d", where, len(fields), bkMaxFields)
			}
			for j, f := range fields {
				textObj(fmt.Sprintf("%s field %d", where, j), f, bkMaxFieldText, false)
			}
		case "context":
			if len(elems) == 0 || len(elems) > bkMaxContextElems {
				fail("%s: %d elements, want 1..%d", where, len(elems), bkMaxContextElems)
			}
			for j, e := range elems {
				textObj(fmt.Sprintf("%s element %d", where, j), e, bkMaxSectionText, false)
			}
		case "actions":
			if len(elems) == 0 || len(elems) > bkMaxActionsElems {
				fail("%s: %d elements, want 1..%d", where, len(elems), bkMaxActionsElems)
			}
			for j, e := range elems {
				bw := fmt.Sprintf("%s button %d", where, j)
				btn, _ := e.(map[string]any)
				if btn["type"] != "button" {
					fail("%s: type %v", bw, btn["type"])
				}
				textObj(bw+" text", btn["text"], bkMaxButtonText, true)
				id, _ := btn["action_id"].(string)
				if id == "" || len(id) > bkMaxActionID {
					fail("%s: action_id of %d chars, want 1..%d", bw, len(id), bkMaxActionID)
				}
				if actionIDs[id] {
					fail("%s: action_id %q repeated in the message", bw, id)
				}
				actionIDs[id] = true
				if v, _ := btn["value"].(string); sanitize.Len(v) > bkMaxButtonValue {
					fail("%s: value of %d chars > %d", bw, sanitize.Len(v), bkMaxButtonValue)
				}
				if s, ok := btn["style"]; ok && s != "primary" && s != "danger" {
					fail("%s: style %v", bw, s)
				}
				if c, ok := btn["confirm"].(map[string]any); ok {
					textObj(bw+" confirm.title", c["title"], bkMaxConfirmTitle, true)
					textObj(bw+" confirm.text", c["text"], bkMaxConfirmText, false)
					textObj(bw+" confirm.confirm", c["confirm"], bkMaxConfirmButton, true)
					textObj(bw+" confirm.deny", c["deny"], bkMaxConfirmButton, true)
				}
			}
		case "divider":
		default:
			fail("%s: block type sesguard does not render", where)
		}
	}
	return bad
}

// worstCaseSlack renders every Slack message kind with hostile, oversized input: the finding,
// update and result messages, results with the most buttons (distinct references, and the same
// reference on every action), the dry-run Contain now result, and what respond and interact post
// to a response_url.
func worstCaseSlack() map[string]SlackMessage {
	out := map[string]SlackMessage{}
	for name, in := range hostileInputs {
		undo := hostileResult(in)
		for i := range undo.Actions {
			undo.Actions[i].Undo = &finding.ButtonRef{Ref: fmt.Sprintf("apr-%032x", i+1), Expires: buttonExpiry}
		}
		sameRef := hostileResult(in)
		for i := range sameRef.Actions {
			sameRef.Actions[i].Undo = &finding.ButtonRef{Ref: refUndo1, Expires: buttonExpiry}
		}
		dry := hostileResult(in)
		dry.Mode = "dry-run"
		dry.Actions[0].Outcome = finding.OutcomePlanned
		dry.Approval = &finding.ButtonRef{Ref: refContain, Expires: buttonExpiry}
		for kind, m := range map[string]SlackMessage{
			"finding":                  SlackFinding(hostileFinding(in)),
			"update":                   SlackUpdate(hostileFinding(in), 1),
			"result":                   SlackResult(hostileResult(in)),
			"result with undo":         SlackResult(undo),
			"result, one ref repeated": SlackResult(sameRef),
			"dry-run contain":          SlackResult(dry),
			"contained":                SlackContained(undo, in, time.Now()),
			"undone":                   SlackUndone(undo.Actions[0], in, in, time.Now()),
			"ephemeral":                SlackEphemeral("Nothing was changed.", in),
		} {
			out[name+"/"+kind] = m
		}
	}
	long := enforceWithUndo()
	for i := range 80 {
		long.Actions = append(long.Actions, finding.ActionResult{ActionID: fmt.Sprintf("sg-%d", i), Action: "deactivate_keys", Target: strings.Repeat("t", 150),
			Outcome: finding.OutcomeApplied, Reason: strings.Repeat("r", 400), Undo: &finding.ButtonRef{Ref: fmt.Sprintf("apr-%032x", 100+i)}})
	}
	out["truncated result with undo"] = SlackResult(long)
	out["truncated contained"] = SlackContained(long, "U0123ABCD", time.Now())
	return out
}

// TestBlockKitLimits checks every Slack message the tests render — each golden file and each
// worst-case render — against Slack's limits, unique action ids included.
func TestBlockKitLimits(t *testing.T) {
	goldens, err := filepath.Glob(filepath.Join("testdata", "slack_*.json"))
	if err != nil || len(goldens) < 10 {
		t.Fatalf("slack goldens: %v, %v", goldens, err)
	}
	checked, buttons := 0, 0
	for _, path := range goldens {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range blockKitViolations(raw) {
			t.Errorf("%s: %s", path, v)
		}
		checked++
		buttons += strings.Count(string(raw), `"action_id"`)
	}
	for name, m := range worstCaseSlack() {
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range blockKitViolations(raw) {
			t.Errorf("%s: %s", name, v)
		}
		checked++
		buttons += len(buttonsOf(m))
	}
	if buttons < 100 {
		t.Errorf("only %d buttons in %d messages: the check does not reach the actions blocks", buttons, checked)
	}
	t.Logf("%d messages, %d buttons checked", checked, buttons)
}

// TestBlockKitValidator: the validator catches what Slack refuses (a check that passes
// everything would prove nothing).
func TestBlockKitValidator(t *testing.T) {
	tests := []struct {
		name, msg, want string
	}{
		{"repeated action id", `{"text":"x","blocks":[{"type":"actions","elements":[` +
			`{"type":"button","action_id":"a","value":"1","text":{"type":"plain_text","text":"A"}},` +
			`{"type":"button","action_id":"a","value":"2","text":{"type":"plain_text","text":"B"}}]}]}`, "repeated"},
		{"long button text", `{"text":"x","blocks":[{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"` + strings.Repeat("b", 76) + `"}}]}]}`, "76 chars"},
		{"mrkdwn header", `{"text":"x","blocks":[{"type":"header","text":{"type":"mrkdwn","text":"h"}}]}`, "must be plain_text"},
		{"empty section text", `{"text":"x","blocks":[{"type":"section","text":{"type":"mrkdwn","text":""}}]}`, "0 chars"},
		{"long confirm title", `{"text":"x","blocks":[{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"A"},"confirm":{"title":{"type":"plain_text","text":"` + strings.Repeat("t", 101) + `"},"text":{"type":"plain_text","text":"t"},"confirm":{"type":"plain_text","text":"y"},"deny":{"type":"plain_text","text":"n"}}}]}]}`, "confirm.title"},
		{"eleven context elements", `{"text":"x","blocks":[{"type":"context","elements":[` + strings.Repeat(`{"type":"mrkdwn","text":"c"},`, 10) + `{"type":"mrkdwn","text":"c"}]}]}`, "11 elements"},
		{"51 blocks", `{"text":"x","blocks":[` + strings.Repeat(`{"type":"divider"},`, 50) + `{"type":"divider"}]}`, "51 blocks"},
	}
	for _, tc := range tests {
		got := strings.Join(blockKitViolations([]byte(tc.msg)), "; ")
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: violations %q, want one with %q", tc.name, got, tc.want)
		}
	}
}
