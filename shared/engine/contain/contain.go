// Package contain turns a detection Finding into containment: a pure plan (which actions apply to
// which target), then per-action steps computed from current AWS state, executed in dry-run or
// enforce mode through a DynamoDB ledger that records the prior state of every change so Restore
// can put back exactly what was there.
//
// Safety properties, each tested against moto: dry-run is the default and writes nothing;
// protected principals are never touched; at most Config.MaxActionsPerHour changes per hour;
// applying a finding twice changes nothing the second time; concurrent duplicates are resolved by
// a conditional ledger write; a failure after the SDK's retries is reported, never swallowed, and
// the ledger row always carries the prior state.
package contain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// Action names (the values of `response.on` in the policy file).
const (
	ActionDeactivateKeys        = "deactivate_keys"
	ActionDenySendPolicy        = "deny_send_policy"
	ActionTightenIdentityPolicy = "tighten_identity_policy"
	ActionPauseConfigurationSet = "pause_configuration_set"
	ActionPauseAccount          = "pause_account"
)

// Modes.
const (
	ModeDryRun  = "dry-run"
	ModeEnforce = "enforce"
)

// RuleRateCapped is the rule of the finding Executor returns when the hourly cap stopped an action.
const RuleRateCapped = "containment.rate_capped"

// DefaultMaxActionsPerHour applies when Config.MaxActionsPerHour is 0.
const DefaultMaxActionsPerHour = 20

// Config is containment's own configuration; the CLI and the respond Lambda map the policy file
// onto it.
type Config struct {
	// Mode is ModeDryRun (also when empty) or ModeEnforce.
	Mode string
	// Protected are principal name or ARN patterns (IAM StringLike) that are never contained.
	Protected []string
	// MaxActionsPerHour caps applied changes in any 60 minutes (a sliding window); 0 means the
	// default, negative means no action at all.
	MaxActionsPerHour int
	// On maps a rule to its actions. When nil the finding's own Actions are used; when set, it is
	// authoritative (the policy at containment time wins over the one at detection time).
	On map[string][]string
	// ApprovedVPCs and ApprovedVPCEs select the conditional form of deny_send_policy: deny only
	// requests that come neither through an approved VPC nor an approved VPC endpoint (the seed
	// pattern). Empty: deny every send.
	ApprovedVPCs  []string
	ApprovedVPCEs []string
	// IdentityARNs maps an SES identity name to its ARN; missing ones are derived from the
	// finding's account and region.
	IdentityARNs map[string]string
	// Actor is recorded in the ledger (who or what contained), e.g. "lambda:sesguard-respond".
	Actor string
}

// Enforcing reports whether the configuration applies changes.
func (c *Config) Enforcing() bool { return c.Mode == ModeEnforce }

// Validate reports a configuration error.
func (c *Config) Validate() error {
	switch c.Mode {
	case "", ModeDryRun, ModeEnforce:
	default:
		return fmt.Errorf("contain config: mode %q is not %q or %q", c.Mode, ModeDryRun, ModeEnforce)
	}
	for rule, acts := range c.On {
		for _, a := range acts {
			if !KnownAction(a) {
				return fmt.Errorf("contain config: rule %s: unknown action %q", rule, a)
			}
		}
	}
	return nil
}

func (c *Config) maxPerHour() int {
	if c.MaxActionsPerHour == 0 {
		return DefaultMaxActionsPerHour
	}
	if c.MaxActionsPerHour < 0 {
		return 0
	}
	return c.MaxActionsPerHour
}

// ActionNames lists the actions, least disruptive first (then the two for created identities).
func ActionNames() []string {
	return []string{ActionDeactivateKeys, ActionDenySendPolicy, ActionTightenIdentityPolicy, ActionPauseConfigurationSet, ActionPauseAccount,
		ActionDenyAllPolicy, ActionDeleteLoginProfile}
}

// KnownAction reports whether name is an action this package implements.
func KnownAction(name string) bool {
	for _, a := range ActionNames() {
		if a == name {
			return true
		}
	}
	return false
}

// Action is one registered containment unit. Plan only reads; Apply and Restore write.
type Action interface {
	// Name is the action's name, e.g. "deactivate_keys".
	Name() string
	// Plan reads the current state for the target and returns the exact step. A step whose
	// Noop is set needs no change (the target is already contained).
	Plan(ctx context.Context, t Target) (Step, error)
	// Apply makes the changes of a step planned by this action.
	Apply(ctx context.Context, s Step) error
	// Restore returns the target to the prior state recorded in s, touching only what Apply
	// changed, and lists what it changed.
	Restore(ctx context.Context, s Step) ([]string, error)
}

// Target is what an action acts on, resolved from the finding by the pure planner.
type Target struct {
	Action    string
	FindingID string
	Rule      string
	// Principal is the IAM principal (deactivate_keys, deny_send_policy, tighten_identity_policy).
	Principal finding.Principal
	// Identity and IdentityARN name the SES identity (tighten_identity_policy).
	Identity    string
	IdentityARN string
	// ConfigurationSet is the set to pause, or empty to look up the identity's default.
	ConfigurationSet string
	SourceIP         string
	From             []string
	// Finding is the whole finding for rules that need more.
	Finding *finding.Finding
	// ApprovedVPCs / ApprovedVPCEs select deny_send_policy's conditional form.
	ApprovedVPCs  []string
	ApprovedVPCEs []string
	// Created is set when the target is an identity the finding's key created; AllKeys then
	// makes deactivate_keys take every active key of a user whose creation the finding saw.
	Created *finding.Created
	AllKeys bool
}

// Name is the human name of the target ("ses-smtp-user.x", "mail.example.com", "account").
func (t Target) Name() string {
	switch t.Action {
	case ActionDeactivateKeys, ActionDenySendPolicy, ActionDenyAllPolicy, ActionDeleteLoginProfile:
		return t.Principal.Name
	case ActionTightenIdentityPolicy:
		return t.Identity
	case ActionPauseConfigurationSet:
		if t.ConfigurationSet == "" {
			return "default configuration set of " + t.Identity
		}
		return t.ConfigurationSet
	case ActionPauseAccount:
		return "account"
	}
	return ""
}

// Step is a planned change: human-readable changes plus the action's own state (target details
// and prior state) that Apply and Restore need. It is stored in the ledger as JSON.
type Step struct {
	Action  string   `json:"action"`
	Target  string   `json:"target"`
	Changes []string `json:"changes,omitempty"`
	Reason  string   `json:"reason,omitempty"`
	Noop    bool     `json:"noop,omitempty"`
	// Skip: the action does not apply (e.g. the identity has no default configuration set).
	Skip  bool            `json:"skip,omitempty"`
	State json.RawMessage `json:"state,omitempty"`
	// Unconfirmed: the apply of this step failed, so its change may never have been made; a
	// restore that finds someone else's value in its place leaves it there (it is not ours).
	Unconfirmed bool `json:"unconfirmed,omitempty"`
	// Force (never stored) makes Restore put the prior state back over a change made after
	// containment instead of refusing (restore --force; the ledger row records who forced).
	Force bool `json:"-"`
}

// ErrRefused is wrapped by errors for a change the action will not make (policy over the SES
// size limit, too many identity policies, ...): the target needs a human.
var ErrRefused = errors.New("refused")

// ErrGone is wrapped by Restore errors for a target that no longer exists (the user, key,
// identity or configuration set was deleted): no rerun can restore it, so the ledger row becomes
// unrestorable, a terminal state.
var ErrGone = errors.New("cannot be restored")

func encodeState(action string, v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: encode step state: %w", action, err)
	}
	return b, nil
}

func decodeState(s Step, v any) error {
	if err := json.Unmarshal(s.State, v); err != nil {
		return fmt.Errorf("%s: decode step state: %w", s.Action, err)
	}
	return nil
}

// partialApplyError is an Apply failure that knows which part of its step may have been
// applied: Step is the step reduced to that part, recorded in the ledger instead of the plan.
type partialApplyError struct {
	err  error
	Step Step
}

func (e *partialApplyError) Error() string { return e.err.Error() }
func (e *partialApplyError) Unwrap() error { return e.err }

// partial wraps err with step s whose state is replaced by state.
func partial(s Step, err error, state any) error {
	b, jerr := json.Marshal(state)
	if jerr != nil {
		return err // keep the whole planned step: restore then covers more, never less
	}
	s.State = b
	return &partialApplyError{err: err, Step: s}
}
