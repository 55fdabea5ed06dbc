package detect

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/policy"
)

// Rules over CloudTrail SES API calls. A leaked key is usually tried against the SES API
// (GetSendQuota, GetAccount, ListIdentities, PutAccountDetails) minutes before the first spam;
// these findings carry the exact access key that signed the call, so containment can act on
// that key before any mail is sent.

func apiOutsideApproved(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		apiCheck: func(p *policy.Policy, c *cloudtrail.Event) (bool, string) {
			if !c.SourceIP.IsValid() || p.NetworkApproved(c.SourceIP) {
				return false, "" // an AWS service calling on a principal's behalf has no address
			}
			return true, fmt.Sprintf("SES API call %s from %s, outside the approved networks (%s)%s", c.EventName, c.SourceIP, approvedNetworks(p), refused(c))
		},
	}
}

func apiPrincipalUnapproved(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		apiCheck: func(p *policy.Policy, c *cloudtrail.Event) (bool, string) {
			if !c.IsSend() || c.Failed() {
				return false, "" // a refused send is api.send_denied
			}
			if c.Principal.Name == "" {
				return true, fmt.Sprintf("%s by an unidentified principal (userIdentity type %q)", c.EventName, c.Principal.Type)
			}
			if p.CallerApproved(callCaller(c), c.Account) {
				return false, ""
			}
			if acct := foreignAccount(c); acct != "" {
				return true, fmt.Sprintf("%s by %q of account %s, not this account %s: a name in senders.principals approves only this account's principal; another account's is approved by its ARN", c.EventName, c.Principal.Name, acct, c.Account)
			}
			return true, fmt.Sprintf("%s by %q, which is not in senders.principals", c.EventName, c.Principal.Name)
		},
	}
}

func apiSendDenied(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		apiCheck: func(_ *policy.Policy, c *cloudtrail.Event) (bool, string) {
			if !c.IsSend() || !c.Failed() {
				return false, ""
			}
			return true, fmt.Sprintf("%s by %s was refused with %s", c.EventName, principalText(c), c.ErrorCode)
		},
	}
}

func setupSandboxExitRequested(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		apiCheck: func(_ *policy.Policy, c *cloudtrail.Event) (bool, string) {
			if c.EventName != "PutAccountDetails" {
				return false, ""
			}
			req := "production access not stated"
			if c.ProductionAccess != nil {
				req = fmt.Sprintf("productionAccessEnabled=%t", *c.ProductionAccess)
			}
			return true, fmt.Sprintf("PutAccountDetails by %s (%s): a request to leave the SES sandbox%s", principalText(c), req, refused(c))
		},
	}
}

// identityCreations are the calls that add a sending identity (v2, v1 and the v1 legacy name).
var identityCreations = map[string]bool{
	"CreateEmailIdentity": true, "VerifyEmailIdentity": true, "VerifyDomainIdentity": true, "VerifyEmailAddress": true,
}

func setupIdentityCreated(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		apiCheck: func(p *policy.Policy, c *cloudtrail.Event) (bool, string) {
			if !identityCreations[c.EventName] {
				return false, ""
			}
			var why []string
			if c.Principal.Name == "" || !p.CallerApproved(callCaller(c), c.Account) {
				why = append(why, "the principal is not in senders.principals")
			}
			if c.Identity == "" || !p.IdentityApproved(c.Identity) {
				why = append(why, "the identity is not in senders.identities")
			}
			if len(why) == 0 {
				return false, ""
			}
			return true, fmt.Sprintf("%s of %q by %s: %s%s", c.EventName, c.Identity, principalText(c), strings.Join(why, " and "), refused(c))
		},
	}
}

// sendingSwitches are the calls that turn sending on or off, account-wide or per set.
var sendingSwitches = map[string]string{
	"UpdateAccountSendingEnabled": "the account", "PutAccountSendingAttributes": "the account",
	"UpdateConfigurationSetSendingEnabled": "configuration set", "PutConfigurationSetSendingOptions": "configuration set",
}

func setupSendingReenabled(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		apiCheck: func(_ *policy.Policy, c *cloudtrail.Event) (bool, string) {
			what, ok := sendingSwitches[c.EventName]
			if !ok || c.SendingEnabled == nil || !*c.SendingEnabled {
				return false, ""
			}
			if what != "the account" {
				what += " " + c.ConfigurationSet
			}
			return true, fmt.Sprintf("%s by %s enabled sending for %s%s", c.EventName, principalText(c), what, refused(c))
		},
	}
}

func coverageUnobservedSends(c rules.Rule) Rule {
	return Rule{
		Rule: c,
	}
}

func reputationAccountAtRisk(c rules.Rule) Rule {
	return Rule{
		Rule: c,
	}
}

func principalText(c *cloudtrail.Event) string {
	if c.Principal.Name == "" {
		return "an unidentified principal"
	}
	if acct := foreignAccount(c); acct != "" {
		return c.Principal.Name + " of account " + acct
	}
	return c.Principal.Name
}

// callCaller is the call's principal as the policy matches it, with the account it belongs to.
func callCaller(c *cloudtrail.Event) policy.Caller {
	return policy.Caller{Name: c.Principal.Name, ARN: c.Principal.ARN, Account: principalAccount(c)}
}

// principalAccount is the account the call's principal belongs to: its ARN's, else
// userIdentity.accountId. When the two disagree, the one that is not the record's account wins:
// an odd record is judged as another account's principal, never as ours.
func principalAccount(c *cloudtrail.Event) string {
	arnAcct, idAcct := policy.ARNAccount(c.Principal.ARN), c.Principal.AccountID
	switch {
	case arnAcct == "":
		return idAcct
	case idAcct == "" || idAcct == arnAcct || arnAcct != c.Account:
		return arnAcct
	}
	return idAcct
}

// foreignAccount returns the principal's account when it is not the record's own account
// (recipientAccountId: the account whose SES resources the call used, where sesguard runs), else
// "". Such a caller is a delegate sender or a key of another account, never one of ours.
func foreignAccount(c *cloudtrail.Event) string {
	if acct := principalAccount(c); policy.Foreign(acct, c.Account) {
		return acct
	}
	return ""
}

func refused(c *cloudtrail.Event) string {
	if c.ErrorCode == "" {
		return ""
	}
	return " (refused: " + c.ErrorCode + ")"
}

// callKey is a CloudTrail record's dedup key (eventID is unique per record).
func callKey(c *cloudtrail.Event) string {
	if c.EventID == "" {
		return ""
	}
	return "ct#" + c.EventID
}

// ProcessCalls runs a batch of CloudTrail SES API calls through the API-call rules, with the
// same dedup, aggregation, rollback and publishing contract as Process. A finding's principal is
// the call's own userIdentity — kind, ARN and the exact access key — not an IAM lookup.
func (d *Detector) ProcessCalls(ctx context.Context, calls []cloudtrail.Event) (Batch, error) {
	var b Batch
	a := newAccum()
	var marked []string
	fail := func(err error) (Batch, error) {
		return Batch{}, fmt.Errorf("detect: %w", errors.Join(err, d.undo(ctx, a), d.unmarkKeys(ctx, marked)))
	}
	seen := make(map[string]bool, len(calls))
	for i := range calls {
		c := &calls[i]
		if key := callKey(c); key != "" {
			if seen[key] {
				b.Duplicates++
				continue
			}
			seen[key] = true
			first, err := d.st.Mark(ctx, key, SendInfo{Account: c.Account, Principal: c.Principal.Name}, d.expiry(c.EventTime.Add(MarkTTL)))
			if err != nil {
				return fail(err)
			}
			if !first {
				b.Duplicates++
				continue
			}
			marked = append(marked, key)
		}
		if c.IsSend() && !c.Failed() {
			if err := d.markAPISend(ctx, a, c, &marked); err != nil {
				return fail(err)
			}
		}
		b.Events++
		d.call(a, c)
		if d.multiRegionOn {
			if err := d.multiRegion(ctx, a, c, &marked); err != nil {
				return fail(err)
			}
		}
		if d.baselineRules != nil {
			if err := d.baseline(ctx, a, c, &marked); err != nil {
				return fail(err)
			}
		}
	}
	updates, err := d.tally(ctx, a)
	if err != nil {
		return fail(err)
	}
	b.Updates = updates
	return b, nil
}

// call applies the API-call rules to one call.
func (d *Detector) call(a *accum, c *cloudtrail.Event) {
	if c.Notice != nil {
		d.notice(a, c) // AWS's own notices have their own rules (health.go)
		return
	}
	t := c.EventTime
	if t.IsZero() {
		t = d.now()
	}
	start := bucket(t, d.window)
	pr := callPrincipal(c)
	for _, r := range d.perCall {
		if r.global == c.IsSES() {
			continue // SES rules judge SES calls; playbook rules the IAM, STS and Support calls
		}
		bad, detail := r.apiCheck(d.p, c)
		if !bad {
			continue
		}
		// One finding per key: two leaked keys of one user are two findings, each naming its key.
		// Another account's principal never shares a finding with ours of the same name.
		dim := c.Principal.Name
		if acct := foreignAccount(c); acct != "" {
			dim = acct + ":" + dim
		}
		if c.Principal.AccessKeyID != "" {
			dim += "#" + c.Principal.AccessKeyID
		}
		hpr, name := pr, c.Principal.Name
		if r.subject != nil {
			hpr = r.subject(c)
			name, dim = hpr.Name, "subject:"+hpr.Name
		}
		h := hitSpec{rule: r.ID, account: c.Account, principal: name, dim: dim,
			start: start, end: start.Add(d.window), detail: detail}
		g := a.hitCall(d, h, c, t, hpr)
		if r.created {
			if cr, ok := createdBy(c); ok {
				addCreated(&g.created, cr)
			}
		}
	}
}

// callPrincipal is the finding principal of a call, straight from userIdentity.
func callPrincipal(c *cloudtrail.Event) finding.Principal {
	p := finding.Principal{Name: c.Principal.Name, ARN: c.Principal.ARN, AccessKeyID: c.Principal.AccessKeyID, Kind: finding.KindUnknown}
	switch c.Principal.Type {
	case cloudtrail.TypeIAMUser:
		p.Kind = finding.KindUser
	case cloudtrail.TypeAssumedRole:
		p.Kind = finding.KindRole
	case cloudtrail.TypeRoot:
		p.Kind = finding.KindRoot
	case cloudtrail.TypeFederatedUser:
		// A federation session of an IAM user: the user's deny-send binds the session (its
		// ASIA key is no IAM access key, so deactivate_keys skips it).
		if strings.Contains(c.Principal.ARN, ":user/") {
			p.Kind = finding.KindUser
		}
	}
	if p.Name == "" {
		p.Kind = finding.KindUnknown
	}
	return p
}
