package contain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/policy"
)

// DenySendPolicyName is the inline policy deny_send_policy puts on the user or role.
const DenySendPolicyName = "sesguard-deny-send"

// SendActions are every SES send action (v1 and v2 names) the deny policy covers: the one list
// of policy.SendActions, shared with the identity policies.
func SendActions() []string { return policy.SendActions() }

// DenySend puts the inline policy sesguard-deny-send on the principal.
type DenySend struct{ IAM IAMAPI }

var _ Action = (*DenySend)(nil)

type denyState struct {
	Kind     string  `json:"kind"` // user | role
	Name     string  `json:"name"`
	Document string  `json:"document"`
	Prior    *string `json:"prior,omitempty"` // the sesguard-deny-send that existed before, if any
}

// DenySendDocument renders the deny policy. With approved VPCs or VPC endpoints it is the seed
// pattern's conditional form: deny unless the request came through one of them (both keys sit
// under one operator, so they are ANDed: deny only when neither matches).
func DenySendDocument(vpcs, vpces []string) string {
	stmt := map[string]any{
		"Sid": "SesguardDenySend", "Effect": "Deny", "Action": SendActions(), "Resource": "*",
	}
	cond := map[string][]string{}
	if len(vpcs) > 0 {
		cond["aws:SourceVpc"] = vpcs
	}
	if len(vpces) > 0 {
		cond["aws:SourceVpce"] = vpces
	}
	if len(cond) > 0 {
		stmt["Condition"] = map[string]any{"StringNotLike": cond}
	}
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{stmt}})
	return string(b)
}

// Name implements Action.
func (a *DenySend) Name() string { return ActionDenySendPolicy }

// Plan implements Action.
func (a *DenySend) Plan(ctx context.Context, t Target) (Step, error) {
	st := denyState{Kind: string(t.Principal.Kind), Name: t.Principal.Name, Document: DenySendDocument(t.ApprovedVPCs, t.ApprovedVPCEs)}
	// GetUserPolicy answers NoSuchEntity for a missing user and a missing policy alike: check
	// the principal first so a dry run does not plan a change that cannot be made.
	var err error
	if st.Kind == string(finding.KindRole) {
		_, err = a.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(st.Name)})
	} else {
		_, err = a.IAM.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(st.Name)})
	}
	if err != nil {
		return Step{}, fmt.Errorf("deny_send_policy: %s %s: %w", st.Kind, st.Name, err)
	}
	prior, err := a.get(ctx, st.Kind, st.Name)
	if err != nil {
		return Step{}, err
	}
	st.Prior = prior
	step := Step{Action: ActionDenySendPolicy, Target: st.Name}
	form := "deny every SES send"
	if len(t.ApprovedVPCs)+len(t.ApprovedVPCEs) > 0 {
		form = fmt.Sprintf("deny SES sends unless aws:SourceVpc in %v or aws:SourceVpce in %v", t.ApprovedVPCs, t.ApprovedVPCEs)
	}
	switch {
	case prior != nil && sameJSON(*prior, st.Document):
		step.Noop, step.Reason = true, DenySendPolicyName+" already in place on "+st.Kind+" "+st.Name
	case prior != nil:
		step.Changes = []string{fmt.Sprintf("%s %s: replace inline policy %s (%s); the previous one is kept for restore", st.Kind, st.Name, DenySendPolicyName, form)}
	default:
		step.Changes = []string{fmt.Sprintf("%s %s: put inline policy %s (%s)", st.Kind, st.Name, DenySendPolicyName, form)}
	}
	if step.State, err = encodeState(ActionDenySendPolicy, st); err != nil {
		return Step{}, err
	}
	return step, nil
}

// Apply implements Action.
func (a *DenySend) Apply(ctx context.Context, s Step) error {
	var st denyState
	if err := decodeState(s, &st); err != nil {
		return err
	}
	return a.put(ctx, st.Kind, st.Name, st.Document)
}

// Restore implements Action: puts back the previous sesguard-deny-send, or deletes ours. It
// refuses when the policy was changed since containment, rather than drop someone's edit.
func (a *DenySend) Restore(ctx context.Context, s Step) ([]string, error) {
	var st denyState
	if err := decodeState(s, &st); err != nil {
		return nil, err
	}
	cur, err := a.get(ctx, st.Kind, st.Name)
	if err != nil {
		return nil, err
	}
	if cur != nil && !sameJSON(*cur, st.Document) && (st.Prior == nil || !sameJSON(*cur, *st.Prior)) {
		switch {
		case s.Unconfirmed:
			// The apply failed, and what is there is neither ours nor the prior: someone else's
			// policy of the same name, which restore must not touch. Nothing of ours to undo.
			return []string{fmt.Sprintf("%s %s: inline policy %s is not sesguard's (the failed attempt did not leave it): left in place", st.Kind, st.Name, DenySendPolicyName)}, nil
		case !s.Force:
			return nil, fmt.Errorf("restore %s on %s %s: the policy was changed after containment: %w (restore it by hand, or restore with --force to put the prior state back)", DenySendPolicyName, st.Kind, st.Name, ErrRefused)
		}
	}
	if st.Prior != nil {
		if err := a.put(ctx, st.Kind, st.Name, *st.Prior); err != nil {
			var nse *iamtypes.NoSuchEntityException
			if errors.As(err, &nse) {
				return nil, fmt.Errorf("%s %s no longer exists: %w: %w", st.Kind, st.Name, ErrGone, err)
			}
			return nil, err
		}
		return []string{fmt.Sprintf("%s %s: previous inline policy %s put back", st.Kind, st.Name, DenySendPolicyName)}, nil
	}
	if cur == nil {
		return []string{fmt.Sprintf("%s %s: inline policy %s already absent", st.Kind, st.Name, DenySendPolicyName)}, nil
	}
	if err := a.delete(ctx, st.Kind, st.Name); err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("%s %s: inline policy %s deleted", st.Kind, st.Name, DenySendPolicyName)}, nil
}

// get returns the decoded inline policy document, or nil when it does not exist.
func (a *DenySend) get(ctx context.Context, kind, name string) (*string, error) {
	var doc *string
	var err error
	switch kind {
	case string(finding.KindUser):
		var out *iam.GetUserPolicyOutput
		out, err = a.IAM.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(DenySendPolicyName)})
		if err == nil {
			doc = out.PolicyDocument
		}
	case string(finding.KindRole):
		var out *iam.GetRolePolicyOutput
		out, err = a.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(DenySendPolicyName)})
		if err == nil {
			doc = out.PolicyDocument
		}
	default:
		return nil, fmt.Errorf("deny_send_policy: principal kind %q is not user or role", kind)
	}
	var nse *iamtypes.NoSuchEntityException
	if errors.As(err, &nse) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get inline policy %s of %s %s: %w", DenySendPolicyName, kind, name, err)
	}
	d := decodePolicyDocument(aws.ToString(doc))
	return &d, nil
}

func (a *DenySend) put(ctx context.Context, kind, name, doc string) error {
	var err error
	if kind == string(finding.KindRole) {
		_, err = a.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(DenySendPolicyName), PolicyDocument: aws.String(doc)})
	} else {
		_, err = a.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(DenySendPolicyName), PolicyDocument: aws.String(doc)})
	}
	if err != nil {
		return fmt.Errorf("put inline policy %s on %s %s: %w", DenySendPolicyName, kind, name, err)
	}
	return nil
}

func (a *DenySend) delete(ctx context.Context, kind, name string) error {
	var err error
	if kind == string(finding.KindRole) {
		_, err = a.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(DenySendPolicyName)})
	} else {
		_, err = a.IAM.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(DenySendPolicyName)})
	}
	var nse *iamtypes.NoSuchEntityException
	if err != nil && !errors.As(err, &nse) {
		return fmt.Errorf("delete inline policy %s of %s %s: %w", DenySendPolicyName, kind, name, err)
	}
	return nil
}

// decodePolicyDocument undoes the RFC 3986 encoding IAM applies to policy documents it returns.
func decodePolicyDocument(doc string) string {
	if strings.HasPrefix(strings.TrimSpace(doc), "{") {
		return doc
	}
	if d, err := url.PathUnescape(doc); err == nil {
		return d
	}
	return doc
}

// sameJSON compares two JSON documents structurally (key order and spacing do not matter).
func sameJSON(a, b string) bool {
	ca, err1 := canonicalJSON(a)
	cb, err2 := canonicalJSON(b)
	return err1 == nil && err2 == nil && ca == cb
}

func canonicalJSON(s string) (string, error) {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	return string(b), err
}
