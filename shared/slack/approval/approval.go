// Package approval holds the server-side half of sesguard's Slack buttons: the approval a button's
// opaque reference names (stored in the state table with an expiry), the replay cache of signed
// Slack requests, and the request functions/interact hands to functions/respond over SQS.
//
// A button never carries a plan: its value is a random reference. What Contain now applies is
// the finding and the action ids stored here when the dry-run plan was shown, and Undo names one
// ledger action the same way.
package approval

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// Kinds of approval, also the Slack action_id suffixes.
const (
	KindContain = "contain"
	KindUndo    = "undo"
)

// Slack action_id prefixes of the buttons (shared/deliver/alert renders them, functions/interact reads
// them). A rendered button's id is ButtonID(prefix, ref); the bare prefix is what messages sent
// before ids carried the reference use, and is still accepted.
const (
	ActionContain = "sesguard_contain"
	ActionUndo    = "sesguard_undo"
)

// ButtonID is the action_id of a button with prefix ActionContain or ActionUndo whose value is
// ref. Slack rejects a message whose action ids repeat (a result with two Undo buttons), so the
// id carries the button's reference: unique per message and stable across renders.
func ButtonID(prefix, ref string) string { return prefix + ":" + ref }

// ErrActionMismatch: a button's action_id names another reference than its value.
var ErrActionMismatch = errors.New("approval: action_id and value name different references")

// ParseAction maps a clicked button's action_id and value to its approval kind: "" (and no
// error) for a button that is not sesguard's. An id "PREFIX:REF" must name the reference in
// value; both are in the signed request, so a mismatch is a hand-made click, refused.
func ParseAction(actionID, value string) (string, error) {
	prefix, ref, withRef := strings.Cut(actionID, ":")
	kind := ""
	switch prefix {
	case ActionContain:
		kind = KindContain
	case ActionUndo:
		kind = KindUndo
	default:
		return "", nil
	}
	if withRef && ref != value {
		return kind, fmt.Errorf("%w: %s button", ErrActionMismatch, kind)
	}
	return kind, nil
}

// refPattern: "apr-" and 32 lower-case hex digits (128 random bits).
var refPattern = regexp.MustCompile(`^apr-[0-9a-f]{32}$`)

// ValidRef reports whether s has the form of a reference (it says nothing about existence).
func ValidRef(s string) bool { return refPattern.MatchString(s) }

// NewRef returns a fresh random reference.
func NewRef() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("approval: random reference: %w", err)
	}
	return "apr-" + hex.EncodeToString(b[:]), nil
}

// Approval is what a button's reference names.
type Approval struct {
	Ref       string `json:"ref"`
	Kind      string `json:"kind"`
	FindingID string `json:"finding_id"`
	// Rule is the finding's rule (for the result an undo announces).
	Rule string `json:"rule,omitempty"`
	// Finding and ActionIDs (contain): the finding as respond planned it, and the ids of the
	// actions the dry-run plan showed; nothing else is ever applied through this approval.
	Finding   *finding.Finding `json:"finding,omitempty"`
	ActionIDs []string         `json:"action_ids,omitempty"`
	// ActionID (undo): the ledger action to restore.
	ActionID string    `json:"action_id,omitempty"`
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires"`
}

// Errors of approvals and requests.
var (
	ErrNotFound = errors.New("approval: no such approval")
	ErrExpired  = errors.New("approval: expired")
	ErrKind     = errors.New("approval: button and approval do not match")
	ErrInvalid  = errors.New("approval: invalid")
)

// NewContain is the approval behind a dry-run result's Contain now button.
func NewContain(f *finding.Finding, actionIDs []string, now time.Time, ttl time.Duration) (*Approval, error) {
	if f == nil || f.ID == "" {
		return nil, fmt.Errorf("%w: contain approval without a finding id", ErrInvalid)
	}
	if len(actionIDs) == 0 {
		return nil, fmt.Errorf("%w: contain approval for %s lists no actions", ErrInvalid, f.ID)
	}
	ref, err := NewRef()
	if err != nil {
		return nil, err
	}
	now = now.UTC()
	return &Approval{Ref: ref, Kind: KindContain, FindingID: f.ID, Rule: f.Rule, Finding: f, ActionIDs: slices.Clone(actionIDs), Created: now, Expires: now.Add(ttl)}, nil
}

// NewUndo is the approval behind an applied action's Undo button.
func NewUndo(findingID, actionID string, now time.Time, ttl time.Duration) (*Approval, error) {
	if actionID == "" {
		return nil, fmt.Errorf("%w: undo approval without an action id", ErrInvalid)
	}
	ref, err := NewRef()
	if err != nil {
		return nil, err
	}
	now = now.UTC()
	return &Approval{Ref: ref, Kind: KindUndo, FindingID: findingID, ActionID: actionID, Created: now, Expires: now.Add(ttl)}, nil
}

// Button is the reference and expiry a message shows.
func (a *Approval) Button() *finding.ButtonRef {
	return &finding.ButtonRef{Ref: a.Ref, Expires: a.Expires}
}

// Usable checks the approval for a click of kind at time at: right kind, not expired.
func (a *Approval) Usable(kind string, at time.Time) error {
	if a.Kind != kind {
		return fmt.Errorf("%w: %s button on a %s approval", ErrKind, kind, a.Kind)
	}
	if !at.Before(a.Expires) {
		return fmt.Errorf("%w at %s (clicked %s)", ErrExpired, a.Expires.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	switch {
	case a.Kind == KindContain && (a.Finding == nil || a.Finding.ID != a.FindingID || len(a.ActionIDs) == 0):
		return fmt.Errorf("%w: contain approval %s has no finding or actions", ErrInvalid, a.Ref)
	case a.Kind == KindUndo && a.ActionID == "":
		return fmt.Errorf("%w: undo approval %s has no action id", ErrInvalid, a.Ref)
	}
	return nil
}
