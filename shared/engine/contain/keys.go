package contain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/sesguard/sesguard/shared/engine/attribute"
)

// Key selection rules recorded with every deactivate_keys step.
const (
	// KeyRuleFinding: the finding's attribution named the key.
	KeyRuleFinding = "finding_key"
	// KeyRuleLastUsed: exactly one key was last used for ses/ses-smtp inside the finding window.
	KeyRuleLastUsed = "last_used_in_window"
	// KeyRuleAllActive: the key could not be identified, so every active key of the user.
	KeyRuleAllActive = "all_active_keys"
	// KeyRuleNotUsersKey: the finding named a key that is not one of the user's (another
	// account's or user's key, or one deleted since): nothing is deactivated.
	KeyRuleNotUsersKey = "finding_key_not_users"
	// KeyRuleCreatedUser: the user was created by the finding's key, so every active key.
	KeyRuleCreatedUser = "created_user_all_keys"
)

// keyUseSlack widens the finding window backwards: IAM's last-used time and the event time come
// from different clocks.
const keyUseSlack = 5 * time.Minute

// DeactivateKeys sets the access keys behind a finding to Inactive (never deletes them).
type DeactivateKeys struct{ IAM IAMAPI }

var _ Action = (*DeactivateKeys)(nil)

type keysState struct {
	User string `json:"user"`
	// Rule is which key-selection rule applied (KeyRule*).
	Rule string `json:"rule"`
	// Keys are the keys this step sets Inactive; each was Active when planned. Restore
	// reactivates exactly these.
	Keys []string `json:"keys"`
}

// Name implements Action.
func (a *DeactivateKeys) Name() string { return ActionDeactivateKeys }

// Plan implements Action: lists the user's keys with their last use and picks the keys.
func (a *DeactivateKeys) Plan(ctx context.Context, t Target) (Step, error) {
	user := t.Principal.Name
	keys, err := attribute.ListKeys(ctx, a.IAM, user)
	if err != nil {
		return Step{}, fmt.Errorf("deactivate_keys: %w", err)
	}
	var start time.Time
	if t.Finding != nil {
		start = t.Finding.WindowStart
	}
	rule, ids, reason := PickKeys(keys, t.Principal.AccessKeyID, start)
	if t.AllKeys {
		// A user the finding saw the attacker's key create: every key of it is the attacker's.
		rule, ids, reason = KeyRuleCreatedUser, nil, "user "+user+" was created by the finding's key: every active key"
		for _, k := range keys {
			if k.Status == string(iamtypes.StatusTypeActive) {
				ids = append(ids, k.AccessKeyID)
			}
		}
	}
	st := keysState{User: user, Rule: rule}
	step := Step{Action: ActionDeactivateKeys, Target: user, Reason: reason}
	if rule == KeyRuleNotUsersKey {
		step.Skip = true
	}
	active := map[string]bool{}
	for _, k := range keys {
		active[k.AccessKeyID] = k.Status == string(iamtypes.StatusTypeActive)
	}
	for _, id := range ids {
		if active[id] {
			st.Keys = append(st.Keys, id)
			step.Changes = append(step.Changes, id+": Active -> Inactive")
		}
	}
	if len(st.Keys) == 0 && !step.Skip {
		step.Noop = true
		step.Reason = reason + "; already inactive"
	}
	if step.State, err = encodeState(ActionDeactivateKeys, st); err != nil {
		return Step{}, err
	}
	return step, nil
}

// PickKeys chooses the keys to deactivate (pure): the finding's key when it belongs to the user,
// and none when the finding names a key that does not (it was another account's or user's key, or
// is deleted: the user's other keys never did what the finding saw); with no key named, the single
// key last used for ses/ses-smtp at or after windowStart, else every active key. It returns the
// rule that applied, the key ids and a human reason.
func PickKeys(keys []attribute.KeyUse, findingKey string, windowStart time.Time) (rule string, ids []string, reason string) {
	if findingKey != "" {
		for _, k := range keys {
			if k.AccessKeyID == findingKey {
				return KeyRuleFinding, []string{findingKey}, "key " + findingKey + " named by the finding's attribution"
			}
		}
		return KeyRuleNotUsersKey, nil, "the finding's key " + findingKey + " is not one of the user's keys " +
			"(another account's or user's key, or deleted since): no key of the user is deactivated in its place"
	}
	var inWindow []string
	if !windowStart.IsZero() {
		from := windowStart.Add(-keyUseSlack)
		for _, k := range keys {
			if k.SES() && !k.LastUsed.IsZero() && !k.LastUsed.Before(from) {
				inWindow = append(inWindow, k.AccessKeyID)
			}
		}
	}
	if len(inWindow) == 1 {
		return KeyRuleLastUsed, inWindow, fmt.Sprintf("key %s is the only key last used for ses/ses-smtp since %s", inWindow[0], windowStart.UTC().Format(time.RFC3339))
	}
	for _, k := range keys {
		if k.Status == string(iamtypes.StatusTypeActive) {
			ids = append(ids, k.AccessKeyID)
		}
	}
	why := "no key was last used for ses/ses-smtp inside the finding window"
	if len(inWindow) > 1 {
		why = fmt.Sprintf("%d keys were last used for ses/ses-smtp inside the finding window", len(inWindow))
	}
	return KeyRuleAllActive, ids, why + ": every active key"
}

// Apply implements Action.
func (a *DeactivateKeys) Apply(ctx context.Context, s Step) error {
	var st keysState
	if err := decodeState(s, &st); err != nil {
		return err
	}
	for i, id := range st.Keys {
		if _, err := a.IAM.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{
			UserName: aws.String(st.User), AccessKeyId: aws.String(id), Status: iamtypes.StatusTypeInactive,
		}); err != nil {
			err = fmt.Errorf("deactivate key %s of %s (%d of %d keys done): %w", id, st.User, i, len(st.Keys), err)
			// Record only the keys this attempt may have changed, so a restore after a retry does
			// not reactivate a key that someone else deactivated in between: the keys done, plus
			// this one unless the service definitely rejected the call (a timeout or 5xx may have
			// been applied).
			changed := slices.Clone(st.Keys[:i])
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() >= 500 {
				changed = append(changed, id)
			}
			return partial(s, err, keysState{User: st.User, Rule: st.Rule, Keys: changed})
		}
	}
	return nil
}

// Restore implements Action: reactivates exactly the keys the step deactivated.
func (a *DeactivateKeys) Restore(ctx context.Context, s Step) ([]string, error) {
	var st keysState
	if err := decodeState(s, &st); err != nil {
		return nil, err
	}
	var changes, gone []string
	for _, id := range st.Keys {
		_, err := a.IAM.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{
			UserName: aws.String(st.User), AccessKeyId: aws.String(id), Status: iamtypes.StatusTypeActive,
		})
		var nse *iamtypes.NoSuchEntityException
		switch {
		case errors.As(err, &nse):
			changes = append(changes, id+": no longer exists, not restored")
			gone = append(gone, id)
		case err != nil:
			return changes, fmt.Errorf("reactivate key %s of %s: %w", id, st.User, err)
		default:
			changes = append(changes, id+": Inactive -> Active")
		}
	}
	if len(gone) > 0 {
		// The other keys are back; these never can be (the key or the user was deleted).
		return changes, fmt.Errorf("%w: key(s) %s of %s no longer exist", ErrGone, strings.Join(gone, ", "), st.User)
	}
	return changes, nil
}
