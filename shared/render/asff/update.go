package asff

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/sanitize"
)

// Update is what a containment result changes on its Security Hub finding, through
// BatchUpdateFindings (BatchImportFindings cannot change Note or Workflow once a finding exists).
type Update struct {
	Identifier types.AwsSecurityFindingIdentifier
	Note       types.NoteUpdate
	// Workflow is the new Workflow.Status, or "" to leave the analyst's status alone.
	Workflow types.WorkflowStatus
}

// Workflow decides the Workflow.Status a containment result implies:
//   - every acted-on action restored → RESOLVED: a person reviewed the finding and rolled the
//     containment back (`sesguard restore`), the end of the case;
//   - something applied or already in place, nothing failed → NOTIFIED: the principal is contained
//     and the owner told, but the cause (a leaked key, a rogue sender) still needs a person, so
//     the finding stays open;
//   - anything failed, or nothing was done (dry-run plans, protected principals, rate cap,
//     skipped) → "" (unchanged, NEW for a new finding): the finding still needs action.
func Workflow(r *finding.Result) types.WorkflowStatus {
	var applied, restored, other int
	for _, a := range r.Actions {
		switch a.Outcome {
		case finding.OutcomeFailed:
			return ""
		case finding.OutcomeApplied, finding.OutcomeAlreadyContained:
			applied++
		case finding.OutcomeRestored:
			restored++
		case finding.OutcomeSkipped:
			// does not apply to this finding: neither contains nor blocks resolution
		default:
			other++
		}
	}
	switch {
	case restored > 0 && applied == 0 && other == 0:
		return types.WorkflowStatusResolved
	case applied > 0 && restored == 0 && other == 0 && r.Mode == "enforce":
		return types.WorkflowStatusNotified
	}
	return ""
}

// Result renders the update for r's finding. The finding lives under the product of the account
// it belongs to (r.Account, else p's).
func Result(r *finding.Result, p Product) (Update, error) {
	if err := p.Validate(); err != nil {
		return Update{}, err
	}
	if r == nil {
		return Update{}, errors.New("asff: nil containment result")
	}
	if !nonEmptyString(sanitize.Clean(r.FindingID, maxField)) {
		return Update{}, errors.New("asff: containment result has no finding_id")
	}
	prod := p
	if r.Account != "" {
		prod.Account = r.Account
	}
	actor := sanitize.Clean(r.Actor, 64)
	if actor == "" {
		actor = "sesguard"
	}
	if !nonEmptyString(actor) {
		actor = "sesguard"
	}
	u := Update{
		Identifier: types.AwsSecurityFindingIdentifier{Id: aws.String(sanitize.Clean(r.FindingID, maxField)), ProductArn: aws.String(prod.ARN())},
		Note:       types.NoteUpdate{Text: aws.String(Note(r)), UpdatedBy: aws.String(actor)},
		Workflow:   Workflow(r),
	}
	if err := CheckNote(u.Note); err != nil {
		return Update{}, fmt.Errorf("asff: result for %s: %w", r.FindingID, err)
	}
	return u, nil
}

// Note is the containment summary, one action after the other, within Security Hub's 512 characters.
func Note(r *finding.Result) string {
	var b strings.Builder
	mode := r.Mode
	if mode == "" {
		mode = "dry-run"
	}
	fmt.Fprintf(&b, "sesguard containment (%s)", mode)
	if !r.Time.IsZero() {
		fmt.Fprintf(&b, " at %s", r.Time.UTC().Format(time.RFC3339))
	}
	if r.Actor != "" {
		fmt.Fprintf(&b, " by %s", r.Actor)
	}
	b.WriteString(":")
	if len(r.Actions) == 0 {
		b.WriteString(" no actions")
	}
	for i, a := range r.Actions {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s on %s %s", a.Action, a.Target, a.Outcome)
		switch {
		case a.Error != "":
			fmt.Fprintf(&b, " (%s)", a.Error)
		case len(a.Changes) > 0:
			fmt.Fprintf(&b, " (%s)", strings.Join(a.Changes, ", "))
		case a.Reason != "":
			fmt.Fprintf(&b, " (%s)", a.Reason)
		}
		if a.Restore != "" && a.Outcome == finding.OutcomeApplied {
			fmt.Fprintf(&b, " undo: %s", a.Restore)
		}
	}
	return sanitize.Clean(b.String(), MaxNote)
}
