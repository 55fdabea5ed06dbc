package contain

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// PauseConfigurationSet stops sending through the finding's configuration set (or the identity's
// default set). Note the SDK omits false booleans: pausing sends {} and relies on the service
// default; resuming sends SendingEnabled=true explicitly. Both read the flag back.
type PauseConfigurationSet struct{ SES SESAPI }

// PauseAccount stops all SES sending of the account in the region.
type PauseAccount struct{ SES SESAPI }

var (
	_ Action = (*PauseConfigurationSet)(nil)
	_ Action = (*PauseAccount)(nil)
)

type pauseState struct {
	Set string `json:"set,omitempty"` // empty for the account
	// PriorEnabled is whether sending was enabled before; Restore resumes only then.
	PriorEnabled bool `json:"prior_enabled"`
}

// Name implements Action.
func (a *PauseConfigurationSet) Name() string { return ActionPauseConfigurationSet }

// Plan implements Action.
func (a *PauseConfigurationSet) Plan(ctx context.Context, t Target) (Step, error) {
	set := t.ConfigurationSet
	step := Step{Action: ActionPauseConfigurationSet}
	if set == "" {
		id, err := a.SES.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(t.Identity)})
		if err != nil {
			return Step{}, fmt.Errorf("pause_configuration_set: default set of identity %s: %w", t.Identity, err)
		}
		set = aws.ToString(id.ConfigurationSetName)
		if set == "" {
			step.Target, step.Skip = t.Identity, true
			step.Reason = "finding names no configuration set and identity " + t.Identity + " has no default configuration set"
			return step, nil
		}
		step.Reason = "configuration set " + set + " is the default of identity " + t.Identity
	}
	step.Target = set
	out, err := a.SES.GetConfigurationSet(ctx, &sesv2.GetConfigurationSetInput{ConfigurationSetName: aws.String(set)})
	if err != nil {
		return Step{}, fmt.Errorf("pause_configuration_set: get %s: %w", set, err)
	}
	enabled := out.SendingOptions == nil || out.SendingOptions.SendingEnabled
	if !enabled {
		step.Noop = true
		step.Reason = joinReason(step.Reason, "sending through "+set+" is already paused")
	} else {
		step.Changes = []string{"configuration set " + set + ": sending enabled -> paused"}
	}
	step.State, err = encodeState(ActionPauseConfigurationSet, pauseState{Set: set, PriorEnabled: enabled})
	return step, err
}

// Apply implements Action.
func (a *PauseConfigurationSet) Apply(ctx context.Context, s Step) error {
	var st pauseState
	if err := decodeState(s, &st); err != nil {
		return err
	}
	if _, err := a.SES.PutConfigurationSetSendingOptions(ctx, &sesv2.PutConfigurationSetSendingOptionsInput{
		ConfigurationSetName: aws.String(st.Set), SendingEnabled: false,
	}); err != nil {
		return fmt.Errorf("pause configuration set %s: %w", st.Set, err)
	}
	return a.readBack(ctx, st.Set, false)
}

// readBack checks the set's sending flag is want. Pausing sends an empty body (the SDK omits the
// false boolean) and relies on the service default, so a 200 alone does not prove the pause.
func (a *PauseConfigurationSet) readBack(ctx context.Context, set string, want bool) error {
	out, err := a.SES.GetConfigurationSet(ctx, &sesv2.GetConfigurationSetInput{ConfigurationSetName: aws.String(set)})
	if err != nil {
		return fmt.Errorf("read back configuration set %s: %w", set, err)
	}
	if got := out.SendingOptions == nil || out.SendingOptions.SendingEnabled; got != want {
		return fmt.Errorf("read back configuration set %s: sending enabled=%v after the call, want %v", set, got, want)
	}
	return nil
}

// Restore implements Action: resumes the set only if it was sending before.
func (a *PauseConfigurationSet) Restore(ctx context.Context, s Step) ([]string, error) {
	var st pauseState
	if err := decodeState(s, &st); err != nil {
		return nil, err
	}
	if !st.PriorEnabled {
		return []string{"configuration set " + st.Set + ": was paused before containment, left paused"}, nil
	}
	if _, err := a.SES.PutConfigurationSetSendingOptions(ctx, &sesv2.PutConfigurationSetSendingOptionsInput{
		ConfigurationSetName: aws.String(st.Set), SendingEnabled: true,
	}); err != nil {
		var nf *sestypes.NotFoundException
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("configuration set %s no longer exists: %w: %w", st.Set, ErrGone, err)
		}
		return nil, fmt.Errorf("resume configuration set %s: %w", st.Set, err)
	}
	if err := a.readBack(ctx, st.Set, true); err != nil {
		return nil, err
	}
	return []string{"configuration set " + st.Set + ": sending paused -> enabled"}, nil
}

// Name implements Action.
func (a *PauseAccount) Name() string { return ActionPauseAccount }

// Plan implements Action.
func (a *PauseAccount) Plan(ctx context.Context, _ Target) (Step, error) {
	out, err := a.SES.GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil {
		return Step{}, fmt.Errorf("pause_account: get account: %w", err)
	}
	step := Step{Action: ActionPauseAccount, Target: "account"}
	if !out.SendingEnabled {
		step.Noop, step.Reason = true, "account sending is already paused"
	} else {
		step.Changes = []string{"account: sending enabled -> paused"}
	}
	step.State, err = encodeState(ActionPauseAccount, pauseState{PriorEnabled: out.SendingEnabled})
	return step, err
}

// Apply implements Action.
func (a *PauseAccount) Apply(ctx context.Context, s Step) error {
	if _, err := a.SES.PutAccountSendingAttributes(ctx, &sesv2.PutAccountSendingAttributesInput{SendingEnabled: false}); err != nil {
		return fmt.Errorf("pause account sending: %w", err)
	}
	return a.readBack(ctx, false)
}

// readBack checks the account's sending flag is want (see PauseConfigurationSet.readBack).
func (a *PauseAccount) readBack(ctx context.Context, want bool) error {
	out, err := a.SES.GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil {
		return fmt.Errorf("read back account sending: %w", err)
	}
	if out.SendingEnabled != want {
		return fmt.Errorf("read back account sending: enabled=%v after the call, want %v", out.SendingEnabled, want)
	}
	return nil
}

// Restore implements Action: resumes account sending only if it was enabled before.
func (a *PauseAccount) Restore(ctx context.Context, s Step) ([]string, error) {
	var st pauseState
	if err := decodeState(s, &st); err != nil {
		return nil, err
	}
	if !st.PriorEnabled {
		return []string{"account: was paused before containment, left paused"}, nil
	}
	if _, err := a.SES.PutAccountSendingAttributes(ctx, &sesv2.PutAccountSendingAttributesInput{SendingEnabled: true}); err != nil {
		return nil, fmt.Errorf("resume account sending: %w", err)
	}
	if err := a.readBack(ctx, true); err != nil {
		return nil, err
	}
	return []string{"account: sending paused -> enabled"}, nil
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
