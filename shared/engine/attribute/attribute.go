// Package attribute turns the bare caller name SES records (ses:caller-identity: an IAM user or
// role name, or "root") into an IAM principal — kind, ARN, whether it is an SES SMTP user — and
// ranks a user's access keys by their last use for SES. Lookups are cached for a TTL. Anything
// that cannot be established is reported as unknown, never as approved.
package attribute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// IAMAPI is the part of the IAM client attribution uses (all read-only).
type IAMAPI interface {
	GetUser(ctx context.Context, in *iam.GetUserInput, opts ...func(*iam.Options)) (*iam.GetUserOutput, error)
	GetRole(ctx context.Context, in *iam.GetRoleInput, opts ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, opts ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	GetAccessKeyLastUsed(ctx context.Context, in *iam.GetAccessKeyLastUsedInput, opts ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
	ListUserPolicies(ctx context.Context, in *iam.ListUserPoliciesInput, opts ...func(*iam.Options)) (*iam.ListUserPoliciesOutput, error)
	ListAttachedUserPolicies(ctx context.Context, in *iam.ListAttachedUserPoliciesInput, opts ...func(*iam.Options)) (*iam.ListAttachedUserPoliciesOutput, error)
}

var _ IAMAPI = (*iam.Client)(nil)

// SMTPUserPrefix starts the names of the IAM users the SES console creates for SMTP credentials.
const SMTPUserPrefix = "ses-smtp-user."

// SMTPPolicyName is the policy SES gives those users.
const SMTPPolicyName = "AmazonSesSendingAccess"

// DefaultTTL is how long a principal lookup is cached.
const DefaultTTL = 10 * time.Minute

// Principal is what attribution knows about a caller name.
type Principal struct {
	Name string
	Kind finding.PrincipalKind // user | role | root | unknown
	ARN  string
	// SMTP is true for an IAM user recognised as SES SMTP credentials (name or policy).
	SMTP bool
	// Reason says why Kind is unknown (lookup failed, not found, ambiguous, other account).
	Reason string
}

// Attributor resolves caller names through IAM with a TTL cache. It is safe for concurrent use.
type Attributor struct {
	iam     IAMAPI
	account string
	ttl     time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu    sync.Mutex
	cache map[string]cached
	keys  map[string]cachedKeys
}

type cached struct {
	p       Principal
	expires time.Time
}

type cachedKeys struct {
	keys    []KeyUse
	expires time.Time
}

// Option configures an Attributor.
type Option func(*Attributor)

// WithTTL sets how long successful lookups are cached (failures, "not found" and failed SMTP
// checks are cached for a tenth of it, so a throttled IAM is not hammered yet recovers quickly).
func WithTTL(d time.Duration) Option { return func(a *Attributor) { a.ttl = d } }

// WithClock injects the clock (tests).
func WithClock(now func() time.Time) Option { return func(a *Attributor) { a.now = now } }

// WithAccount names the account the IAM client is in. Callers in other accounts are then
// reported as unknown instead of being looked up in the wrong account.
func WithAccount(id string) Option { return func(a *Attributor) { a.account = id } }

// WithLogger sets the logger for lookup failures.
func WithLogger(l *slog.Logger) Option { return func(a *Attributor) { a.log = l } }

// New returns an Attributor over api.
func New(api IAMAPI, opts ...Option) *Attributor {
	a := &Attributor{
		iam: api, ttl: DefaultTTL, now: time.Now, log: slog.New(slog.DiscardHandler),
		cache: make(map[string]cached), keys: make(map[string]cachedKeys),
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Lookup resolves a caller name seen in account. "root" is the account root; an empty name, a
// name in another account, a name IAM does not know, a name that is both a user and a role, and
// any lookup error all give KindUnknown with a Reason.
func (a *Attributor) Lookup(ctx context.Context, account, name string) Principal {
	switch {
	case name == "":
		return Principal{Kind: finding.KindUnknown, Reason: "no caller identity recorded"}
	case name == "root":
		p := Principal{Name: name, Kind: finding.KindRoot}
		if account != "" {
			p.ARN = "arn:aws:iam::" + account + ":root"
		}
		return p
	case a.account != "" && account != "" && account != a.account:
		return Principal{Name: name, Kind: finding.KindUnknown,
			Reason: fmt.Sprintf("account %s is not the attributing account %s", account, a.account)}
	}
	key := account + "\x00" + name
	now := a.now()
	a.mu.Lock()
	c, ok := a.cache[key]
	a.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.p
	}
	p, failed := a.lookup(ctx, name)
	if owner := arnAccount(p.ARN); owner != "" && account != "" && owner != account {
		// Without WithAccount the IAM client's account is learnt from the answer: a delegate
		// sender in another account (sending authorization) that happens to share a name with one
		// of ours must not be attributed to — and contained as — ours.
		p = Principal{Name: name, Kind: finding.KindUnknown,
			Reason: fmt.Sprintf("account %s is not the attributing account %s (found %s)", account, owner, p.ARN)}
	}
	if failed && ctx.Err() != nil {
		// The caller gave up (e.g. the Lambda deadline): that says nothing about IAM, so do not
		// make the next invocation inherit an unknown.
		return p
	}
	ttl := a.ttl
	if failed {
		ttl /= 10
	}
	a.mu.Lock()
	a.cache[key] = cached{p: p, expires: now.Add(ttl)}
	a.mu.Unlock()
	return p
}

// lookup asks IAM; failed reports a transient failure (as opposed to a definite answer).
func (a *Attributor) lookup(ctx context.Context, name string) (p Principal, failed bool) {
	p = Principal{Name: name, Kind: finding.KindUnknown}
	user, uerr := a.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(name)})
	role, rerr := a.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	userFound, roleFound := uerr == nil, rerr == nil
	for _, err := range []error{uerr, rerr} {
		if err != nil && !isNotFound(err) {
			a.log.WarnContext(ctx, "attribute: IAM lookup failed", "principal", name, "error", err)
			p.Reason = fmt.Sprintf("IAM lookup of %q failed: %v", name, err)
			return p, true
		}
	}
	switch {
	case userFound && roleFound:
		// User and role names are separate namespaces and SES records only the bare name: guessing
		// would risk containing the wrong principal.
		p.Reason = fmt.Sprintf("both an IAM user and an IAM role are named %q", name)
	case userFound:
		p.Kind = finding.KindUser
		p.ARN = aws.ToString(user.User.Arn)
		smtp, err := a.isSMTPUser(ctx, name)
		if err != nil {
			// The kind is known but SMTP is a guess: cache it only as long as a failure, so a
			// throttled ListUserPolicies does not hide SMTP credentials for a whole TTL.
			a.log.WarnContext(ctx, "attribute: SMTP user check failed", "principal", name, "error", err)
			failed = true
		}
		p.SMTP = smtp
	case roleFound:
		p.Kind = finding.KindRole
		p.ARN = aws.ToString(role.Role.Arn)
	default:
		// SES just authenticated this caller, so "no such principal" is IAM's eventual consistency
		// (a principal created moments ago, as an intruder with a leaked admin key would) or a
		// deletion: cache it like a failure, not for a whole TTL of uncontainable "unknown".
		p.Reason = fmt.Sprintf("no IAM user or role named %q", name)
		failed = true
	}
	return p, failed
}

// isSMTPUser recognises SES SMTP credentials for attribution.
func (a *Attributor) isSMTPUser(ctx context.Context, user string) (bool, error) {
	smtp, _, err := SMTPUser(ctx, a.iam, user)
	return smtp, err
}

// SMTPPoliciesAPI is what SMTPUser needs from the IAM client.
type SMTPPoliciesAPI interface {
	iam.ListUserPoliciesAPIClient
	iam.ListAttachedUserPoliciesAPIClient
}

// SMTPUser recognises SES SMTP credentials: the console's name prefix, or the
// AmazonSesSendingAccess policy inline or attached. It says which rule matched and fails instead
// of guessing when IAM does not answer, so an audit never silently under-reports.
func SMTPUser(ctx context.Context, api SMTPPoliciesAPI, user string) (smtp bool, reason string, err error) {
	if strings.HasPrefix(user, SMTPUserPrefix) {
		return true, "name " + SMTPUserPrefix + "*", nil
	}
	for p := iam.NewListUserPoliciesPaginator(api, &iam.ListUserPoliciesInput{UserName: aws.String(user)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return false, "", fmt.Errorf("list inline policies of %s: %w", user, err)
		}
		for _, name := range page.PolicyNames {
			if name == SMTPPolicyName {
				return true, "inline policy " + SMTPPolicyName, nil
			}
		}
	}
	for p := iam.NewListAttachedUserPoliciesPaginator(api, &iam.ListAttachedUserPoliciesInput{UserName: aws.String(user)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return false, "", fmt.Errorf("list attached policies of %s: %w", user, err)
		}
		for _, ap := range page.AttachedPolicies {
			if aws.ToString(ap.PolicyName) == SMTPPolicyName {
				return true, "attached policy " + SMTPPolicyName, nil
			}
		}
	}
	return false, "", nil
}

// Attribute resolves a caller to the finding.Principal a Finding carries. For users the access key
// last used for SES (ses or ses-smtp) is included when exactly one of the user's keys was: with
// two (a rotation, or a leaked key beside the application's) the most recent is a guess — IAM
// records last use late and only per key — and containment would deactivate just that key, so
// none is named and containment decides from a fresh listing.
func (a *Attributor) Attribute(ctx context.Context, account, name string) finding.Principal {
	p := a.Lookup(ctx, account, name)
	out := finding.Principal{Name: name, Kind: p.Kind, ARN: p.ARN}
	if p.Kind != finding.KindUser {
		return out
	}
	keys, err := a.Keys(ctx, name)
	if err != nil {
		a.log.WarnContext(ctx, "attribute: key attribution failed", "principal", name, "error", err)
		return out
	}
	if len(keys) > 0 && keys[0].SES() && (len(keys) == 1 || !keys[1].SES()) {
		out.AccessKeyID = keys[0].AccessKeyID
	}
	return out
}

// arnAccount is the account id field of an ARN ("" when s is not an ARN).
func arnAccount(s string) string {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

func isNotFound(err error) bool {
	var nse *types.NoSuchEntityException
	return errors.As(err, &nse)
}
