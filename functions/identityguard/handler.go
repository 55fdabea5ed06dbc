package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// Resource types this provider serves (infra/preventive.go creates them).
const (
	TypeIdentityPolicy = "Custom::SesguardIdentityPolicy"
	TypeDefaultSet     = "Custom::SesguardDefaultConfigurationSet"
)

// SesguardPolicyID is the "Id" of every identity policy sesguard renders
// (shared/policy.IdentityPolicy): a policy of our name carrying it was written by sesguard and may
// be adopted and deleted; any other is the customer's and is never touched.
const SesguardPolicyID = "sesguard-identity-policy"

// Physical resource ids. An id records what Create applied, because Delete must undo exactly
// that and nothing else:
//
//	applied/identity-policy/<policy name>/<identity>
//	applied/default-set/prior=<previous default, empty for none>/<identity>
//
// Any other id — the "nothing-applied/…" id a failed Create returns, the request id the cfn
// wrapper substitutes after a panic, an id of an older provider — means nothing of ours is there,
// and Delete changes nothing. Policy and set names cannot contain "/", so the identity is the rest.
const (
	appliedPolicyPrefix = "applied/identity-policy/"
	appliedSetPrefix    = "applied/default-set/prior="
	nothingApplied      = "nothing-applied/"
)

// SES is the SESv2 subset the provider calls.
type SES interface {
	GetEmailIdentity(ctx context.Context, in *sesv2.GetEmailIdentityInput, opts ...func(*sesv2.Options)) (*sesv2.GetEmailIdentityOutput, error)
	PutEmailIdentityConfigurationSetAttributes(ctx context.Context, in *sesv2.PutEmailIdentityConfigurationSetAttributesInput, opts ...func(*sesv2.Options)) (*sesv2.PutEmailIdentityConfigurationSetAttributesOutput, error)
	GetEmailIdentityPolicies(ctx context.Context, in *sesv2.GetEmailIdentityPoliciesInput, opts ...func(*sesv2.Options)) (*sesv2.GetEmailIdentityPoliciesOutput, error)
	CreateEmailIdentityPolicy(ctx context.Context, in *sesv2.CreateEmailIdentityPolicyInput, opts ...func(*sesv2.Options)) (*sesv2.CreateEmailIdentityPolicyOutput, error)
	UpdateEmailIdentityPolicy(ctx context.Context, in *sesv2.UpdateEmailIdentityPolicyInput, opts ...func(*sesv2.Options)) (*sesv2.UpdateEmailIdentityPolicyOutput, error)
	DeleteEmailIdentityPolicy(ctx context.Context, in *sesv2.DeleteEmailIdentityPolicyInput, opts ...func(*sesv2.Options)) (*sesv2.DeleteEmailIdentityPolicyOutput, error)
}

// Handler is the CloudFormation custom-resource provider for sesguard's changes to SES identities
// the stack does not own: the preventive identity policy and the default configuration set.
type Handler struct {
	SES SES
	Log *slog.Logger
}

// Handle serves one CloudFormation request (wrapped by cfn.LambdaWrap, which reports the result).
func (h *Handler) Handle(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
	log := h.Log.With("request", string(ev.RequestType), "resource_type", ev.ResourceType,
		"logical_id", ev.LogicalResourceID, "physical_id", ev.PhysicalResourceID)
	var (
		id   string
		data map[string]any
		err  error
	)
	switch ev.ResourceType {
	case TypeIdentityPolicy:
		id, data, err = h.identityPolicy(ctx, log, ev)
	case TypeDefaultSet:
		id, data, err = h.defaultSet(ctx, log, ev)
	default:
		err = fmt.Errorf("resource type %q is not served by this provider (want %s or %s)", ev.ResourceType, TypeIdentityPolicy, TypeDefaultSet)
		if ev.RequestType == cfn.RequestDelete {
			// Never block a stack deletion on a resource we never handled.
			log.Warn("identityguard: delete of an unknown resource type: nothing to do", "error", err.Error())
			return ev.PhysicalResourceID, nil, nil
		}
		id = nothingApplied + "unknown-type"
	}
	if err != nil {
		log.Error("identityguard: request failed", "error", err.Error(), "returned_id", id)
	} else {
		log.Info("identityguard: done", "returned_id", id)
	}
	return id, data, err
}

// prop reads a required string property.
func prop(props map[string]any, key string) (string, error) {
	v, ok := props[key]
	if !ok {
		return "", fmt.Errorf("property %s missing", key)
	}
	s, ok := v.(string)
	if !ok || strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("property %s: want a non-empty string, got %T %v", key, v, v)
	}
	if strings.Contains(s, "/") && key != "Policy" {
		return "", fmt.Errorf("property %s: %q contains '/'", key, s)
	}
	return s, nil
}

// --- identity policy ---

type policyProps struct{ identity, name, doc string }

func readPolicyProps(props map[string]any) (policyProps, error) {
	var p policyProps
	var errs []error
	var err error
	if p.identity, err = prop(props, "EmailIdentity"); err != nil {
		errs = append(errs, err)
	}
	if p.name, err = prop(props, "PolicyName"); err != nil {
		errs = append(errs, err)
	}
	if p.doc, err = prop(props, "Policy"); err != nil {
		errs = append(errs, err)
	}
	return p, errors.Join(errs...)
}

func policyID(p policyProps) string { return appliedPolicyPrefix + p.name + "/" + p.identity }

// parsePolicyID returns the identity and policy name an applied id records.
func parsePolicyID(id string) (identity, name string, ok bool) {
	rest, found := strings.CutPrefix(id, appliedPolicyPrefix)
	if !found {
		return "", "", false
	}
	name, identity, found = strings.Cut(rest, "/")
	return identity, name, found && name != "" && identity != ""
}

func (h *Handler) identityPolicy(ctx context.Context, log *slog.Logger, ev cfn.Event) (string, map[string]any, error) {
	switch ev.RequestType {
	case cfn.RequestCreate:
		p, err := readPolicyProps(ev.ResourceProperties)
		if err != nil {
			return nothingApplied + "identity-policy", nil, err
		}
		return h.createPolicy(ctx, p)
	case cfn.RequestUpdate:
		p, err := readPolicyProps(ev.ResourceProperties)
		if err != nil {
			return ev.PhysicalResourceID, nil, err
		}
		identity, name, ok := parsePolicyID(ev.PhysicalResourceID)
		if !ok || identity != p.identity || name != p.name {
			// Another identity or name is a new resource: CloudFormation deletes the old id after.
			return h.createPolicy(ctx, p)
		}
		_, err = h.SES.UpdateEmailIdentityPolicy(ctx, &sesv2.UpdateEmailIdentityPolicyInput{
			EmailIdentity: aws.String(p.identity), PolicyName: aws.String(p.name), Policy: aws.String(p.doc)})
		var nf *types.NotFoundException
		if errors.As(err, &nf) {
			// Removed out of band since: write it again (still ours: the id says we created it).
			_, err = h.SES.CreateEmailIdentityPolicy(ctx, &sesv2.CreateEmailIdentityPolicyInput{
				EmailIdentity: aws.String(p.identity), PolicyName: aws.String(p.name), Policy: aws.String(p.doc)})
		}
		if err != nil {
			return ev.PhysicalResourceID, nil, fmt.Errorf("update policy %s of identity %s: %w", p.name, p.identity, err)
		}
		return ev.PhysicalResourceID, nil, nil
	case cfn.RequestDelete:
		return ev.PhysicalResourceID, nil, h.deletePolicy(ctx, log, ev.PhysicalResourceID)
	}
	return ev.PhysicalResourceID, nil, fmt.Errorf("unknown request type %q", ev.RequestType)
}

// createPolicy writes the policy unless the identity already has one of that name that sesguard
// did not write. On any failure the returned id says nothing was applied, so the Delete that
// CloudFormation sends while rolling back removes nothing.
func (h *Handler) createPolicy(ctx context.Context, p policyProps) (string, map[string]any, error) {
	failed := nothingApplied + "identity-policy/" + p.name + "/" + p.identity
	out, err := h.SES.GetEmailIdentityPolicies(ctx, &sesv2.GetEmailIdentityPoliciesInput{EmailIdentity: aws.String(p.identity)})
	if err != nil {
		return failed, nil, fmt.Errorf("read policies of identity %s: %w", p.identity, err)
	}
	if cur, exists := out.Policies[p.name]; exists {
		if !sesguardPolicy(cur) {
			return failed, nil, refuseExisting(p)
		}
		// Written by sesguard (an earlier deployment of this stack name): adopt it.
		if _, err := h.SES.UpdateEmailIdentityPolicy(ctx, &sesv2.UpdateEmailIdentityPolicyInput{
			EmailIdentity: aws.String(p.identity), PolicyName: aws.String(p.name), Policy: aws.String(p.doc)}); err != nil {
			return failed, nil, fmt.Errorf("update sesguard's existing policy %s of identity %s: %w", p.name, p.identity, err)
		}
		return policyID(p), map[string]any{"Adopted": "true"}, nil
	}
	_, err = h.SES.CreateEmailIdentityPolicy(ctx, &sesv2.CreateEmailIdentityPolicyInput{
		EmailIdentity: aws.String(p.identity), PolicyName: aws.String(p.name), Policy: aws.String(p.doc)})
	var ae *types.AlreadyExistsException
	if errors.As(err, &ae) {
		return failed, nil, refuseExisting(p) // created by someone else between the read and the write
	}
	if err != nil {
		return failed, nil, fmt.Errorf("create policy %s of identity %s: %w", p.name, p.identity, err)
	}
	return policyID(p), map[string]any{"Adopted": "false"}, nil
}

func refuseExisting(p policyProps) error {
	return fmt.Errorf("identity %s already has a policy named %s that sesguard did not write (its Id is not %q): "+
		"sesguard will neither overwrite nor, on rollback, delete it; rename or remove that policy, or deploy with another sesguardStackName",
		p.identity, p.name, SesguardPolicyID)
}

// sesguardPolicy reports whether a policy document carries sesguard's Id.
func sesguardPolicy(doc string) bool {
	var d struct{ Id string }
	return json.Unmarshal([]byte(doc), &d) == nil && d.Id == SesguardPolicyID
}

func (h *Handler) deletePolicy(ctx context.Context, log *slog.Logger, physicalID string) error {
	identity, name, ok := parsePolicyID(physicalID)
	if !ok {
		log.Info("identityguard: nothing was applied under this id; deleting nothing")
		return nil
	}
	out, err := h.SES.GetEmailIdentityPolicies(ctx, &sesv2.GetEmailIdentityPoliciesInput{EmailIdentity: aws.String(identity)})
	var nf *types.NotFoundException
	if errors.As(err, &nf) {
		log.Info("identityguard: identity gone; nothing to delete", "identity", identity)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read policies of identity %s: %w", identity, err)
	}
	cur, exists := out.Policies[name]
	switch {
	case !exists:
		log.Info("identityguard: policy already absent", "identity", identity, "policy", name)
		return nil
	case !sesguardPolicy(cur):
		// Replaced by someone else since we wrote it: theirs now, leave it.
		log.Warn("identityguard: policy no longer sesguard's; left in place", "identity", identity, "policy", name)
		return nil
	}
	_, err = h.SES.DeleteEmailIdentityPolicy(ctx, &sesv2.DeleteEmailIdentityPolicyInput{
		EmailIdentity: aws.String(identity), PolicyName: aws.String(name)})
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete policy %s of identity %s: %w", name, identity, err)
	}
	return nil
}

// --- default configuration set ---

func setID(identity, prior string) string { return appliedSetPrefix + prior + "/" + identity }

// parseSetID returns the identity and its previous default set ("" for none) an applied id records.
func parseSetID(id string) (identity, prior string, ok bool) {
	rest, found := strings.CutPrefix(id, appliedSetPrefix)
	if !found {
		return "", "", false
	}
	prior, identity, found = strings.Cut(rest, "/")
	return identity, prior, found && identity != ""
}

func (h *Handler) defaultSet(ctx context.Context, log *slog.Logger, ev cfn.Event) (string, map[string]any, error) {
	if ev.RequestType == cfn.RequestDelete {
		return ev.PhysicalResourceID, nil, h.restoreSet(ctx, log, ev)
	}
	identity, err1 := prop(ev.ResourceProperties, "EmailIdentity")
	set, err2 := prop(ev.ResourceProperties, "ConfigurationSetName")
	if err := errors.Join(err1, err2); err != nil {
		if ev.RequestType == cfn.RequestCreate {
			return nothingApplied + "default-set", nil, err
		}
		return ev.PhysicalResourceID, nil, err
	}
	switch ev.RequestType {
	case cfn.RequestCreate:
		return h.applySet(ctx, identity, set)
	case cfn.RequestUpdate:
		oldIdentity, prior, ok := parseSetID(ev.PhysicalResourceID)
		if !ok || oldIdentity != identity {
			return h.applySet(ctx, identity, set) // a new resource; CloudFormation deletes the old id after
		}
		if err := h.putSet(ctx, identity, set); err != nil {
			return ev.PhysicalResourceID, nil, err
		}
		return ev.PhysicalResourceID, map[string]any{"PriorConfigurationSet": prior}, nil
	}
	return ev.PhysicalResourceID, nil, fmt.Errorf("unknown request type %q", ev.RequestType)
}

// applySet records the identity's current default set, then sets ours. The id carries the prior
// value so Delete can put it back.
func (h *Handler) applySet(ctx context.Context, identity, set string) (string, map[string]any, error) {
	failed := nothingApplied + "default-set/" + identity
	out, err := h.SES.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(identity)})
	if err != nil {
		return failed, nil, fmt.Errorf("read identity %s: %w", identity, err)
	}
	prior := ""
	if out.ConfigurationSetName != nil {
		prior = *out.ConfigurationSetName
	}
	if strings.Contains(prior, "/") {
		return failed, nil, fmt.Errorf("identity %s: current default configuration set %q is not a set name", identity, prior)
	}
	if err := h.putSet(ctx, identity, set); err != nil {
		return failed, nil, err
	}
	return setID(identity, prior), map[string]any{"PriorConfigurationSet": prior}, nil
}

func (h *Handler) putSet(ctx context.Context, identity, set string) error {
	in := &sesv2.PutEmailIdentityConfigurationSetAttributesInput{EmailIdentity: aws.String(identity)}
	if set != "" {
		in.ConfigurationSetName = aws.String(set)
	}
	if _, err := h.SES.PutEmailIdentityConfigurationSetAttributes(ctx, in); err != nil {
		return fmt.Errorf("set default configuration set of identity %s to %q: %w", identity, set, err)
	}
	return nil
}

// restoreSet puts back the default set the identity had before Create, unless someone changed
// the default since (their choice stands) or nothing was applied.
func (h *Handler) restoreSet(ctx context.Context, log *slog.Logger, ev cfn.Event) error {
	identity, prior, ok := parseSetID(ev.PhysicalResourceID)
	if !ok {
		log.Info("identityguard: nothing was applied under this id; changing nothing")
		return nil
	}
	ours, _ := ev.ResourceProperties["ConfigurationSetName"].(string)
	out, err := h.SES.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(identity)})
	var nf *types.NotFoundException
	if errors.As(err, &nf) {
		log.Info("identityguard: identity gone; nothing to restore", "identity", identity)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read identity %s: %w", identity, err)
	}
	cur := aws.ToString(out.ConfigurationSetName)
	if cur != ours {
		log.Warn("identityguard: default set changed since deploy; left as is",
			"identity", identity, "current", cur, "deployed", ours, "prior", prior)
		return nil
	}
	if cur == prior {
		log.Info("identityguard: default set already the prior one", "identity", identity, "set", prior)
		return nil
	}
	err = h.putSet(ctx, identity, prior)
	if errors.As(err, &nf) && prior != "" {
		// The prior set was deleted meanwhile. A default naming a missing set fails every send:
		// keep ours when it outlives the stack (imported), else clear the default.
		if owned, _ := ev.ResourceProperties["StackOwnsSet"].(string); owned != "true" {
			log.Warn("identityguard: prior default set no longer exists; keeping the imported one", "identity", identity, "prior", prior, "kept", cur)
			return nil
		}
		log.Warn("identityguard: prior default set no longer exists; clearing the default", "identity", identity, "prior", prior)
		err = h.putSet(ctx, identity, "")
	}
	if errors.As(err, &nf) {
		return nil // identity deleted between the read and the write
	}
	if err != nil {
		return err
	}
	log.Info("identityguard: default set restored", "identity", identity, "from", cur, "to", prior)
	return nil
}
