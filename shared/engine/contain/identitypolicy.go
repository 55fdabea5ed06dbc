package contain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/sesguard/sesguard/shared/policy"
)

// Identity policy names and SES limits.
const (
	IdentityPolicyName     = "sesguard-containment"
	MaxIdentityPolicyBytes = 4096 // SES: one sending-authorization policy
	MaxIdentityPolicies    = 20   // SES: policies per identity
)

// IdentitySendActions are the send actions a containment statement denies on the identity:
// policy.SendActions, the list every sesguard Deny names (it once left out ses:SendBulkEmail).
func IdentitySendActions() []string { return policy.SendActions() }

// TightenIdentityPolicy merges a Deny statement for the finding into the identity's policy
// sesguard-containment, keeping every other statement and policy.
type TightenIdentityPolicy struct{ SES SESAPI }

var _ Action = (*TightenIdentityPolicy)(nil)

type identityState struct {
	Identity  string          `json:"identity"`
	Sid       string          `json:"sid"`
	Statement json.RawMessage `json:"statement"`
	// Prior is sesguard-containment as it was when planned (nil: it did not exist).
	Prior *string `json:"prior,omitempty"`
}

// identityCondition builds the Deny statement body for the target (without Sid and Resource),
// restricting what the finding is about: the From addresses for a From rule, the source IP for a
// network rule, else the principal; falling back in that order to whatever the finding has.
func identityCondition(t Target) (map[string]any, bool) {
	from := fromAddresses(t.From)
	ip := sourcePrefix(t.SourceIP)
	arn := t.Principal.ARN
	byFrom := func() map[string]any {
		// StringEquals, not StringLike: the addresses come from the attacker's mail, and a From of
		// "*@mail.example.com" must deny that literal address, not every sender of the domain.
		return map[string]any{"Principal": "*", "Condition": map[string]any{"StringEquals": map[string]any{"ses:FromAddress": from}}}
	}
	byIP := func() map[string]any {
		return map[string]any{"Principal": "*", "Condition": map[string]any{"IpAddress": map[string]any{"aws:SourceIp": []string{ip}}}}
	}
	byPrincipal := func() map[string]any {
		return map[string]any{"Principal": map[string]any{"AWS": []string{arn}}}
	}
	switch {
	case strings.HasPrefix(t.Rule, "sender.from") && len(from) > 0:
		return byFrom(), true
	case strings.HasPrefix(t.Rule, "network.") && ip != "":
		return byIP(), true
	case strings.HasPrefix(t.Rule, "sender.principal") && arn != "":
		return byPrincipal(), true
	case len(from) > 0:
		return byFrom(), true
	case ip != "":
		return byIP(), true
	case arn != "":
		return byPrincipal(), true
	}
	return nil, false
}

// fromAddresses extracts the bare addresses of From values ("Name <a@b>" → "a@b"). A value that
// is not exactly one mailbox is left out: taking its last <…> would deny whatever address an
// attacker wrote there, e.g. the approved sender's in "evil@bad.example <alerts@ours.example>".
func fromAddresses(from []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range from {
		a, ok := policy.MailboxAddress(f)
		if !ok || seen[a] {
			continue
		}
		seen[a] = true
		out = append(out, a)
	}
	return out
}

func sourcePrefix(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String()
}

// StatementSid is the Sid of the statement a finding adds (deterministic, alphanumeric).
func StatementSid(findingID string) string {
	h := sha256.Sum256([]byte(findingID))
	return "Sesguard" + hex.EncodeToString(h[:8])
}

// Name implements Action.
func (a *TightenIdentityPolicy) Name() string { return ActionTightenIdentityPolicy }

// Plan implements Action.
func (a *TightenIdentityPolicy) Plan(ctx context.Context, t Target) (Step, error) {
	body, ok := identityCondition(t)
	if !ok {
		return Step{}, fmt.Errorf("tighten_identity_policy: finding %s has nothing to restrict", t.FindingID)
	}
	sid := StatementSid(t.FindingID)
	stmt := map[string]any{"Sid": sid, "Effect": "Deny", "Action": IdentitySendActions(), "Resource": t.IdentityARN}
	for k, v := range body {
		stmt[k] = v
	}
	raw, err := json.Marshal(stmt)
	if err != nil {
		return Step{}, fmt.Errorf("tighten_identity_policy: encode statement: %w", err)
	}
	policies, err := a.policies(ctx, t.Identity)
	if err != nil {
		return Step{}, err
	}
	st := identityState{Identity: t.Identity, Sid: sid, Statement: raw}
	step := Step{Action: ActionTightenIdentityPolicy, Target: t.Identity}
	if doc, ok := policies[IdentityPolicyName]; ok {
		st.Prior = &doc
	}
	merged, changed, err := MergeStatement(st.Prior, raw, len(policies))
	if err != nil {
		return Step{}, fmt.Errorf("tighten_identity_policy on %s: %w", t.Identity, err)
	}
	verb := "create"
	if st.Prior != nil {
		verb = "update"
	}
	if !changed {
		step.Noop, step.Reason = true, "statement "+sid+" already in "+IdentityPolicyName+" of "+t.Identity
	} else {
		step.Changes = []string{fmt.Sprintf("identity %s: %s policy %s with Deny statement %s %s (%d bytes)", t.Identity, verb, IdentityPolicyName, sid, conditionSummary(body), len(merged))}
	}
	if step.State, err = encodeState(ActionTightenIdentityPolicy, st); err != nil {
		return Step{}, err
	}
	return step, nil
}

func conditionSummary(body map[string]any) string {
	if p, ok := body["Principal"].(map[string]any); ok {
		return fmt.Sprintf("for principal %v", p["AWS"])
	}
	b, _ := json.Marshal(body["Condition"])
	return "when " + string(b)
}

// MergeStatement adds stmt (which has a Sid) to the policy document prior (nil: no policy yet),
// keeping every other statement and top-level field. It reports changed=false when a statement
// with that Sid is already there. It refuses (ErrRefused) a result over MaxIdentityPolicyBytes,
// and a new policy when the identity already has MaxIdentityPolicies (count = existing policies).
func MergeStatement(prior *string, stmt json.RawMessage, count int) (doc string, changed bool, err error) {
	var s struct{ Sid string }
	if err := json.Unmarshal(stmt, &s); err != nil || s.Sid == "" {
		return "", false, errors.New("statement has no Sid")
	}
	top := map[string]any{"Version": "2012-10-17", "Id": IdentityPolicyName}
	var stmts []any
	if prior != nil {
		top, stmts, err = splitPolicy(*prior)
		if err != nil {
			return "", false, fmt.Errorf("existing policy %s: %w", IdentityPolicyName, err)
		}
		if hasSid(stmts, s.Sid) {
			return *prior, false, nil
		}
	} else if count >= MaxIdentityPolicies {
		return "", false, fmt.Errorf("identity already has %d policies (SES limit %d), cannot add %s: %w", count, MaxIdentityPolicies, IdentityPolicyName, ErrRefused)
	}
	var v any
	if err := json.Unmarshal(stmt, &v); err != nil {
		return "", false, fmt.Errorf("statement: %w", err)
	}
	top["Statement"] = append(stmts, v)
	b, err := json.Marshal(top)
	if err != nil {
		return "", false, err
	}
	if len(b) > MaxIdentityPolicyBytes {
		return "", false, fmt.Errorf("policy %s would be %d bytes, over the SES limit of %d (not truncated): %w", IdentityPolicyName, len(b), MaxIdentityPolicyBytes, ErrRefused)
	}
	return string(b), true, nil
}

// RemoveStatement drops the statement with sid from doc. It returns the remaining document
// ("" when no statement remains) and whether the statement was there.
func RemoveStatement(doc, sid string) (string, bool, error) {
	top, stmts, err := splitPolicy(doc)
	if err != nil {
		return "", false, err
	}
	var keep []any
	found := false
	for _, s := range stmts {
		if m, ok := s.(map[string]any); ok && m["Sid"] == sid {
			found = true
			continue
		}
		keep = append(keep, s)
	}
	if !found {
		return doc, false, nil
	}
	if len(keep) == 0 {
		return "", true, nil
	}
	top["Statement"] = keep
	b, err := json.Marshal(top)
	return string(b), true, err
}

// splitPolicy decodes a policy into its top-level fields and its statements (a single statement
// object is normalised to a list).
func splitPolicy(doc string) (map[string]any, []any, error) {
	// UseNumber: other statements' numbers (e.g. a NumericLessThan bound) are written back
	// exactly as they were, not through float64.
	var top map[string]any
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil {
		return nil, nil, fmt.Errorf("decode policy: %w", err)
	}
	if dec.More() {
		return nil, nil, errors.New("decode policy: data after the policy object")
	}
	var stmts []any
	switch s := top["Statement"].(type) {
	case nil:
	case []any:
		stmts = s
	case map[string]any:
		stmts = []any{s}
	default:
		return nil, nil, fmt.Errorf("policy Statement is %T, not a list or object", s)
	}
	return top, stmts, nil
}

func hasSid(stmts []any, sid string) bool {
	for _, s := range stmts {
		if m, ok := s.(map[string]any); ok && m["Sid"] == sid {
			return true
		}
	}
	return false
}

// Apply implements Action: merges into the current policy (not the planned copy, so an edit made
// since planning is kept), writes it and reads it back.
func (a *TightenIdentityPolicy) Apply(ctx context.Context, s Step) error {
	var st identityState
	if err := decodeState(s, &st); err != nil {
		return err
	}
	policies, err := a.policies(ctx, st.Identity)
	if err != nil {
		return err
	}
	cur, exists := policies[IdentityPolicyName]
	var prior *string
	if exists {
		prior = &cur
	}
	doc, changed, err := MergeStatement(prior, st.Statement, len(policies))
	if err != nil {
		return fmt.Errorf("tighten_identity_policy on %s: %w", st.Identity, err)
	}
	if changed {
		if exists {
			_, err = a.SES.UpdateEmailIdentityPolicy(ctx, &sesv2.UpdateEmailIdentityPolicyInput{EmailIdentity: aws.String(st.Identity), PolicyName: aws.String(IdentityPolicyName), Policy: aws.String(doc)})
		} else {
			_, err = a.SES.CreateEmailIdentityPolicy(ctx, &sesv2.CreateEmailIdentityPolicyInput{EmailIdentity: aws.String(st.Identity), PolicyName: aws.String(IdentityPolicyName), Policy: aws.String(doc)})
		}
		if err != nil {
			return fmt.Errorf("write policy %s of identity %s: %w", IdentityPolicyName, st.Identity, err)
		}
	}
	// Read back: Update succeeds even when the policy is missing.
	after, err := a.policies(ctx, st.Identity)
	if err != nil {
		return fmt.Errorf("read back policy %s of identity %s: %w", IdentityPolicyName, st.Identity, err)
	}
	got, ok := after[IdentityPolicyName]
	if !ok {
		return fmt.Errorf("read back policy %s of identity %s: policy missing after write", IdentityPolicyName, st.Identity)
	}
	if _, stmts, err := splitPolicy(got); err != nil || !hasSid(stmts, st.Sid) {
		return fmt.Errorf("read back policy %s of identity %s: statement %s missing after write", IdentityPolicyName, st.Identity, st.Sid)
	}
	return nil
}

// Restore implements Action: removes only its own statement (deleting the policy when nothing
// else is left) and reads back.
func (a *TightenIdentityPolicy) Restore(ctx context.Context, s Step) ([]string, error) {
	var st identityState
	if err := decodeState(s, &st); err != nil {
		return nil, err
	}
	policies, err := a.policies(ctx, st.Identity)
	if err != nil {
		return nil, err
	}
	cur, ok := policies[IdentityPolicyName]
	if !ok {
		return []string{fmt.Sprintf("identity %s: policy %s already absent", st.Identity, IdentityPolicyName)}, nil
	}
	if err := checkStatementDrift(cur, st, s.Force); err != nil {
		return nil, err
	}
	rest, found, err := RemoveStatement(cur, st.Sid)
	if err != nil {
		return nil, fmt.Errorf("restore policy %s of identity %s: %w", IdentityPolicyName, st.Identity, err)
	}
	if !found {
		return []string{fmt.Sprintf("identity %s: statement %s already absent", st.Identity, st.Sid)}, nil
	}
	var change string
	if rest == "" {
		_, err = a.SES.DeleteEmailIdentityPolicy(ctx, &sesv2.DeleteEmailIdentityPolicyInput{EmailIdentity: aws.String(st.Identity), PolicyName: aws.String(IdentityPolicyName)})
		change = fmt.Sprintf("identity %s: policy %s deleted (only statement %s was left)", st.Identity, IdentityPolicyName, st.Sid)
	} else {
		_, err = a.SES.UpdateEmailIdentityPolicy(ctx, &sesv2.UpdateEmailIdentityPolicyInput{EmailIdentity: aws.String(st.Identity), PolicyName: aws.String(IdentityPolicyName), Policy: aws.String(rest)})
		change = fmt.Sprintf("identity %s: statement %s removed from policy %s", st.Identity, st.Sid, IdentityPolicyName)
	}
	if err != nil {
		return nil, fmt.Errorf("restore policy %s of identity %s: %w", IdentityPolicyName, st.Identity, err)
	}
	// Read back: Delete and Update succeed even when the policy is missing.
	after, err := a.policies(ctx, st.Identity)
	if err != nil {
		return nil, fmt.Errorf("read back policy %s of identity %s: %w", IdentityPolicyName, st.Identity, err)
	}
	if got, ok := after[IdentityPolicyName]; ok {
		if _, stmts, err := splitPolicy(got); err != nil || hasSid(stmts, st.Sid) {
			return nil, fmt.Errorf("read back policy %s of identity %s: statement %s still present after restore", IdentityPolicyName, st.Identity, st.Sid)
		}
	}
	return []string{change}, nil
}

// checkStatementDrift refuses (ErrRefused) to remove statement st.Sid from doc when it is no
// longer the statement sesguard wrote (an operator widened or narrowed it), unless forced:
// removing it by Sid would silently drop their edit.
func checkStatementDrift(doc string, st identityState, force bool) error {
	_, stmts, err := splitPolicy(doc)
	if err != nil || force {
		return nil // RemoveStatement reports a bad document
	}
	for _, s := range stmts {
		if m, ok := s.(map[string]any); ok && m["Sid"] == st.Sid {
			b, err := json.Marshal(m)
			if err == nil && sameJSON(string(b), string(st.Statement)) {
				return nil
			}
			return fmt.Errorf("restore policy %s of identity %s: statement %s was changed after containment: %w (restore with --force to remove it anyway)",
				IdentityPolicyName, st.Identity, st.Sid, ErrRefused)
		}
	}
	return nil
}

func (a *TightenIdentityPolicy) policies(ctx context.Context, identity string) (map[string]string, error) {
	out, err := a.SES.GetEmailIdentityPolicies(ctx, &sesv2.GetEmailIdentityPoliciesInput{EmailIdentity: aws.String(identity)})
	var nf *sestypes.NotFoundException
	if errors.As(err, &nf) {
		return nil, fmt.Errorf("identity %s does not exist: %w: %w", identity, ErrGone, err)
	}
	if err != nil {
		return nil, fmt.Errorf("get policies of identity %s: %w", identity, err)
	}
	if out.Policies == nil {
		return map[string]string{}, nil
	}
	return out.Policies, nil
}
