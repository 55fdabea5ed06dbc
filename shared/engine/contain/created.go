package contain

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// Containment of what an attacker's key created (playbook.persistence findings): the new user's
// keys are deactivated and it gets deny-send (the usual actions, aimed at it), a deny-all inline
// policy and loses its console password. Each is reversible and recorded in the ledger like any
// other action.

// Actions on created identities.
const (
	ActionDenyAllPolicy      = "deny_all_policy"
	ActionDeleteLoginProfile = "delete_login_profile"
)

// DenyAllPolicyName is the inline policy deny_all_policy puts on a created user.
const DenyAllPolicyName = "sesguard-deny-all"

// createdActions are the actions that act only on identities the finding's key created.
func createdOnly(action string) bool {
	return action == ActionDenyAllPolicy || action == ActionDeleteLoginProfile
}

// createdIntents targets the identities f.Created lists with the rule's actions that apply to
// them: deactivate_keys, deny_send_policy, deny_all_policy and delete_login_profile.
func createdIntents(f *finding.Finding, actions []string, cfg *Config) []Intent {
	var out []Intent
	for _, cr := range f.Created {
		if cr.User == "" {
			continue
		}
		pr := finding.Principal{Name: cr.User, Kind: finding.KindUser, ARN: cr.ARN, AccessKeyID: cr.AccessKeyID}
		if pr.ARN == "" && f.Account != "" {
			pr.ARN = "arn:aws:iam::" + f.Account + ":user/" + cr.User
		}
		for _, name := range actions {
			switch name {
			case ActionDeactivateKeys, ActionDenySendPolicy, ActionDenyAllPolicy, ActionDeleteLoginProfile:
			default:
				continue
			}
			t := Target{Action: name, FindingID: f.ID, Rule: f.Rule, Principal: pr, Finding: f, Created: &cr}
			in := Intent{Target: t}
			switch {
			case cr.User == f.Principal.Name && !createdOnly(name):
				// Same target as the finding's own action (one ledger row per action and target).
				continue
			case cr.User == f.Principal.Name:
				in.Outcome, in.Reason = finding.OutcomeSkipped, fmt.Sprintf(
					"user %s is the finding's own principal, not one the key created: deny_send_policy on it covers the new key %s", cr.User, orNone(cr.AccessKeyID))
			case !cr.UserCreated && Protected(pr, cfg.Protected):
				in.Outcome, in.Reason = finding.OutcomeSkippedProtected, fmt.Sprintf("principal %s is protected", cr.User)
			default:
				if cr.UserCreated {
					// The finding saw the user's creation: every key of it is the attacker's, and
					// a protected-looking name chosen by the attacker shields nothing.
					in.Target.AllKeys = true
				}
				switch {
				case name == ActionDeactivateKeys && !cr.UserCreated && cr.AccessKeyID == "":
					in.Outcome, in.Reason = finding.OutcomeSkipped, "the finding names no key created for "+cr.User+" (a login profile only)"
				case !KnownAction(name):
					in.Outcome, in.Reason = finding.OutcomeFailed, fmt.Sprintf("unknown containment action %q", name)
				default:
					if reason := targetMissing(in.Target); reason != "" {
						in.Outcome, in.Reason = finding.OutcomeSkipped, reason
					}
				}
			}
			out = append(out, in)
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none recorded)"
	}
	return s
}

// DenyAllDocument is the deny-all inline policy: nothing the user signs is allowed.
func DenyAllDocument() string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"SesguardDenyAll","Effect":"Deny","Action":"*","Resource":"*"}]}`
}

// DenyAll puts the inline policy sesguard-deny-all on a user the attacker created.
type DenyAll struct{ IAM IAMAPI }

var _ Action = (*DenyAll)(nil)

// Name implements Action.
func (a *DenyAll) Name() string { return ActionDenyAllPolicy }

// Plan implements Action.
func (a *DenyAll) Plan(ctx context.Context, t Target) (Step, error) {
	user := t.Principal.Name
	if _, err := a.IAM.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(user)}); err != nil {
		var nse *iamtypes.NoSuchEntityException
		if errors.As(err, &nse) {
			return Step{Action: ActionDenyAllPolicy, Target: user, Skip: true, Reason: "user " + user + " no longer exists"}, nil
		}
		return Step{}, fmt.Errorf("deny_all_policy: user %s: %w", user, err)
	}
	prior, err := a.get(ctx, user)
	if err != nil {
		return Step{}, err
	}
	st := denyState{Kind: string(finding.KindUser), Name: user, Document: DenyAllDocument(), Prior: prior}
	step := Step{Action: ActionDenyAllPolicy, Target: user}
	switch {
	case prior != nil && sameJSON(*prior, st.Document):
		step.Noop, step.Reason = true, DenyAllPolicyName+" already in place on user "+user
	case prior != nil:
		step.Changes = []string{fmt.Sprintf("user %s: replace inline policy %s (deny every action); the previous one is kept for restore", user, DenyAllPolicyName)}
	default:
		step.Changes = []string{fmt.Sprintf("user %s: put inline policy %s (deny every action)", user, DenyAllPolicyName)}
	}
	if step.State, err = encodeState(ActionDenyAllPolicy, st); err != nil {
		return Step{}, err
	}
	return step, nil
}

// Apply implements Action.
func (a *DenyAll) Apply(ctx context.Context, s Step) error {
	var st denyState
	if err := decodeState(s, &st); err != nil {
		return err
	}
	if _, err := a.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(st.Name), PolicyName: aws.String(DenyAllPolicyName), PolicyDocument: aws.String(st.Document)}); err != nil {
		return fmt.Errorf("put inline policy %s on user %s: %w", DenyAllPolicyName, st.Name, err)
	}
	return nil
}

// Restore implements Action: the previous policy of that name back, or ours deleted; a policy
// changed since containment is left alone unless forced.
func (a *DenyAll) Restore(ctx context.Context, s Step) ([]string, error) {
	var st denyState
	if err := decodeState(s, &st); err != nil {
		return nil, err
	}
	cur, err := a.get(ctx, st.Name)
	if err != nil {
		var nse *iamtypes.NoSuchEntityException
		if errors.As(err, &nse) {
			return nil, fmt.Errorf("user %s no longer exists: %w: %w", st.Name, ErrGone, err)
		}
		return nil, err
	}
	if cur != nil && !sameJSON(*cur, st.Document) && (st.Prior == nil || !sameJSON(*cur, *st.Prior)) {
		if s.Unconfirmed {
			return []string{fmt.Sprintf("user %s: inline policy %s is not sesguard's: left in place", st.Name, DenyAllPolicyName)}, nil
		}
		if !s.Force {
			return nil, fmt.Errorf("restore %s on user %s: the policy was changed after containment: %w", DenyAllPolicyName, st.Name, ErrRefused)
		}
	}
	if st.Prior != nil {
		if _, err := a.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(st.Name), PolicyName: aws.String(DenyAllPolicyName), PolicyDocument: aws.String(*st.Prior)}); err != nil {
			return nil, fmt.Errorf("put back inline policy %s on user %s: %w", DenyAllPolicyName, st.Name, err)
		}
		return []string{fmt.Sprintf("user %s: previous inline policy %s put back", st.Name, DenyAllPolicyName)}, nil
	}
	if cur == nil {
		return []string{fmt.Sprintf("user %s: inline policy %s already absent", st.Name, DenyAllPolicyName)}, nil
	}
	if _, err := a.IAM.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String(st.Name), PolicyName: aws.String(DenyAllPolicyName)}); err != nil {
		var nse *iamtypes.NoSuchEntityException
		if !errors.As(err, &nse) {
			return nil, fmt.Errorf("delete inline policy %s of user %s: %w", DenyAllPolicyName, st.Name, err)
		}
	}
	return []string{fmt.Sprintf("user %s: inline policy %s deleted", st.Name, DenyAllPolicyName)}, nil
}

func (a *DenyAll) get(ctx context.Context, user string) (*string, error) {
	out, err := a.IAM.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(DenyAllPolicyName)})
	var nse *iamtypes.NoSuchEntityException
	if errors.As(err, &nse) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get inline policy %s of user %s: %w", DenyAllPolicyName, user, err)
	}
	d := decodePolicyDocument(aws.ToString(out.PolicyDocument))
	return &d, nil
}

// LoginProfileAPI is the part of IAM delete_login_profile uses (kept apart from IAMAPI: the
// respond function's role needs iam:GetLoginProfile, DeleteLoginProfile and CreateLoginProfile
// for it).
type LoginProfileAPI interface {
	GetLoginProfile(ctx context.Context, in *iam.GetLoginProfileInput, opts ...func(*iam.Options)) (*iam.GetLoginProfileOutput, error)
	DeleteLoginProfile(ctx context.Context, in *iam.DeleteLoginProfileInput, opts ...func(*iam.Options)) (*iam.DeleteLoginProfileOutput, error)
	CreateLoginProfile(ctx context.Context, in *iam.CreateLoginProfileInput, opts ...func(*iam.Options)) (*iam.CreateLoginProfileOutput, error)
}

var _ LoginProfileAPI = (*iam.Client)(nil)

// DeleteLoginProfile removes the console password of a user the attacker created. Restore
// cannot put the attacker's password back (IAM never returns it): it recreates the login
// profile with a random password nobody knows and PasswordResetRequired, so console access is
// back only once an administrator sets a password (aws iam update-login-profile).
type DeleteLoginProfile struct{ IAM LoginProfileAPI }

var _ Action = (*DeleteLoginProfile)(nil)

type loginState struct {
	User          string `json:"user"`
	ResetRequired bool   `json:"reset_required"`
}

// Name implements Action.
func (a *DeleteLoginProfile) Name() string { return ActionDeleteLoginProfile }

// Plan implements Action.
func (a *DeleteLoginProfile) Plan(ctx context.Context, t Target) (Step, error) {
	if a.IAM == nil {
		return Step{}, errors.New("delete_login_profile: the IAM client has no login-profile calls")
	}
	user := t.Principal.Name
	step := Step{Action: ActionDeleteLoginProfile, Target: user}
	out, err := a.IAM.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String(user)})
	var nse *iamtypes.NoSuchEntityException
	switch {
	case errors.As(err, &nse):
		step.Noop, step.Reason = true, "user "+user+" has no console password (login profile)"
	case err != nil:
		return Step{}, fmt.Errorf("delete_login_profile: get login profile of %s: %w", user, err)
	default:
		st := loginState{User: user}
		if out.LoginProfile != nil {
			st.ResetRequired = out.LoginProfile.PasswordResetRequired
		}
		step.Changes = []string{"user " + user + ": delete the login profile (console password)"}
		step.Reason = "restore recreates it with a random password an administrator must reset; the old password cannot be restored"
		if step.State, err = encodeState(ActionDeleteLoginProfile, st); err != nil {
			return Step{}, err
		}
	}
	return step, nil
}

// Apply implements Action.
func (a *DeleteLoginProfile) Apply(ctx context.Context, s Step) error {
	var st loginState
	if err := decodeState(s, &st); err != nil {
		return err
	}
	if _, err := a.IAM.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: aws.String(st.User)}); err != nil {
		return fmt.Errorf("delete login profile of %s: %w", st.User, err)
	}
	return nil
}

// Restore implements Action.
func (a *DeleteLoginProfile) Restore(ctx context.Context, s Step) ([]string, error) {
	var st loginState
	if err := decodeState(s, &st); err != nil {
		return nil, err
	}
	_, err := a.IAM.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String(st.User)})
	if err == nil {
		return []string{"user " + st.User + ": has a login profile again (set since containment): left in place"}, nil
	}
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		return nil, fmt.Errorf("get login profile of %s: %w", st.User, err)
	}
	pw, err := randomPassword()
	if err != nil {
		return nil, err
	}
	if _, err := a.IAM.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String(st.User), Password: aws.String(pw), PasswordResetRequired: true}); err != nil {
		if errors.As(err, &nse) {
			return nil, fmt.Errorf("user %s no longer exists: %w: %w", st.User, ErrGone, err)
		}
		return nil, fmt.Errorf("recreate login profile of %s: %w", st.User, err)
	}
	return []string{"user " + st.User + ": login profile recreated with a random password (not kept; reset required): set one with aws iam update-login-profile"}, nil
}

// randomPassword is 32 characters from every class IAM password policies ask for.
func randomPassword() (string, error) {
	const classes = "abcdefghijkmnopqrstuvwxyz" + "ABCDEFGHJKLMNPQRSTUVWXYZ" + "23456789" + "!@#%^*-_=+"
	b := []byte("aA2!") // one of each class, then random
	for len(b) < 32 {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(classes))))
		if err != nil {
			return "", fmt.Errorf("random password: %w", err)
		}
		b = append(b, classes[n.Int64()])
	}
	return string(b), nil
}

// PlanResults is the pure plan of f (no AWS call) as action results: each action with its
// target, outcome (planned, skipped, skipped_protected, failed) and reason, the form replay's
// JSON output and the findings topic carry so automation need not parse text.
func PlanResults(f *finding.Finding, cfg *Config) ([]finding.ActionResult, error) {
	intents, err := Plan(f, cfg)
	if err != nil {
		return nil, err
	}
	out := make([]finding.ActionResult, 0, len(intents))
	for _, in := range intents {
		ar := finding.ActionResult{ActionID: ActionID(f.ID, in.Target.Action, in.Target.Name()), Action: in.Target.Action,
			Target: in.Target.Name(), Outcome: finding.OutcomePlanned}
		if !in.Run() {
			ar.ActionID, ar.Outcome, ar.Reason = "", in.Outcome, in.Reason
			out = append(out, ar)
			continue
		}
		p := in.Target.Principal
		switch {
		case in.Target.Action == ActionDeactivateKeys && in.Target.AllKeys:
			ar.Reason = "every active key of " + p.Name + ", a user the finding's key created"
		case in.Target.Action == ActionDeactivateKeys && p.AccessKeyID != "":
			ar.Reason = "key " + p.AccessKeyID + " (named by the finding)"
		case in.Target.Created != nil:
			ar.Reason = "identity created by the finding's key (" + strings.Join(in.Target.Created.Via, ", ") + ")"
		}
		out = append(out, ar)
	}
	return out, nil
}
