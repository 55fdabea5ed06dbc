package detect

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/policy"
)

// Rules over the attacker's steps beyond SES (issue 20): IAM, STS and Support calls made with
// the same key, usually minutes before the first SES call or send. They judge only those
// services' calls (Rule.global); the SES API rules judge only SES calls.

// scannerAgents are user-agent fragments (matched case-insensitively) of tools that validate a
// found key with sts:GetCallerIdentity. Sources:
//   - TruffleHog ("TruffleHog", "trufflehog/3.x"): Datadog's, Sigma's and Panther's published
//     detections of TruffleHog's key verification (see the README's rule table and
//     shared/reference/attacker-playbooks.md).
//   - Stratus Red Team ("stratus-red-team_<uuid>"): the user-agent prefix its detonations set
//     (DataDog/threatest, StratusRedTeamUserAgentPrefix): an attack simulation.
var scannerAgents = []string{"trufflehog", "stratus-red-team_"}

// ScannerAgent reports whether a user agent is a known secret scanner's (or attack
// simulator's), and which.
func ScannerAgent(ua string) (string, bool) {
	l := strings.ToLower(ua)
	for _, s := range scannerAgents {
		if strings.Contains(l, s) {
			return s, true
		}
	}
	return "", false
}

func playbookKeyValidated(c rules.Rule) Rule {
	return Rule{Rule: c, global: true, apiCheck: func(p *policy.Policy, c *cloudtrail.Event) (bool, string) {
		if c.EventSource != cloudtrail.STSEventSource || c.EventName != "GetCallerIdentity" {
			return false, ""
		}
		tool, ok := ScannerAgent(c.UserAgent)
		if !ok || !c.SourceIP.IsValid() || p.NetworkApproved(c.SourceIP) {
			return false, "" // a developer's aws-cli whoami, or a scan run from our own network
		}
		return true, fmt.Sprintf("GetCallerIdentity by %s with the user agent of %s (%q) from %s, outside the approved networks (%s): the key was found and validated%s",
			principalText(c), tool, clipText(c.UserAgent, 60), c.SourceIP, approvedNetworks(p), refused(c))
	}}
}

// persistenceCalls create an identity or credentials that outlive the leaked key.
var persistenceCalls = map[string]string{
	"CreateUser":         cloudtrail.IAMEventSource,
	"CreateAccessKey":    cloudtrail.IAMEventSource,
	"CreateLoginProfile": cloudtrail.IAMEventSource,
	"GetFederationToken": cloudtrail.STSEventSource,
}

func playbookPersistence(c rules.Rule) Rule {
	return Rule{Rule: c, global: true, created: true, apiCheck: func(p *policy.Policy, c *cloudtrail.Event) (bool, string) {
		if src, ok := persistenceCalls[c.EventName]; !ok || src != c.EventSource {
			return false, ""
		}
		why := unapprovedAdmin(p, c)
		if why == "" {
			return false, ""
		}
		what := c.EventName
		if c.IAM != nil {
			switch {
			case c.EventName == "GetFederationToken":
				what += fmt.Sprintf(" (federated user %q, session key %s: deny_send_policy on %s covers the session; deactivating the key does not)",
					clipText(c.IAM.FederatedName, 64), c.IAM.CreatedAccessKeyID, principalText(c))
			case c.IAM.UserName != "":
				what += fmt.Sprintf(" for user %q", clipText(c.IAM.UserName, 64))
				if c.IAM.CreatedAccessKeyID != "" {
					what += " (new key " + c.IAM.CreatedAccessKeyID + ")"
				}
			}
		}
		return true, fmt.Sprintf("%s by %s: %s%s", what, principalText(c), why, refused(c))
	}}
}

// privilegeCalls grant a policy; the map says where the policy is named or written.
var privilegeCalls = map[string]bool{
	"CreatePolicy": true, "CreatePolicyVersion": true,
	"PutUserPolicy": true, "PutGroupPolicy": true, "PutRolePolicy": true,
	"AttachUserPolicy": true, "AttachGroupPolicy": true, "AttachRolePolicy": true,
}

// sendingPolicyNames are managed policies (matched by name, so a customer policy named
// "AdministratorAccess" — Legion's — counts too) that grant SES sending.
var sendingPolicyNames = map[string]bool{
	"AmazonSESFullAccess": true, "AdministratorAccess": true, "PowerUserAccess": true,
}

func playbookPrivilege(c rules.Rule) Rule {
	return Rule{Rule: c, global: true, apiCheck: func(p *policy.Policy, c *cloudtrail.Event) (bool, string) {
		if c.EventSource != cloudtrail.IAMEventSource || !privilegeCalls[c.EventName] || c.IAM == nil {
			return false, ""
		}
		grant := sendingGrant(c.IAM)
		if grant == "" {
			return false, ""
		}
		why := unapprovedAdmin(p, c)
		if why == "" {
			return false, ""
		}
		to := ""
		switch {
		case c.IAM.UserName != "":
			to = fmt.Sprintf(" to user %q", clipText(c.IAM.UserName, 64))
		case c.IAM.GroupName != "":
			to = fmt.Sprintf(" to group %q", clipText(c.IAM.GroupName, 64))
		case c.IAM.RoleName != "":
			to = fmt.Sprintf(" to role %q", clipText(c.IAM.RoleName, 64))
		}
		return true, fmt.Sprintf("%s%s granting %s by %s: %s%s", c.EventName, to, grant, principalText(c), why, refused(c))
	}}
}

// sendingGrant says how an IAM call's policy grants SES sending, or "" when it does not.
func sendingGrant(c *cloudtrail.IAMCall) string {
	if c.PolicyARN != "" {
		name := c.PolicyARN[strings.LastIndexByte(c.PolicyARN, '/')+1:]
		if sendingPolicyNames[name] {
			return "policy " + name
		}
	}
	if c.PolicyDocument != "" {
		if act, ok := GrantsSESSend(c.PolicyDocument); ok {
			return fmt.Sprintf("%q in policy %q", act, clipText(c.PolicyName, 64))
		}
	}
	return ""
}

// sendProbes are the actions a grant is tested against: the v1 and v2 send operations.
var sendProbes = []string{"ses:sendemail", "ses:sendrawemail", "ses:sendbulkemail", "ses:sendtemplatedemail"}

// GrantsSESSend reports whether an IAM policy document (JSON, possibly URL-encoded as IAM logs
// it) has an Allow statement whose Action (or NotAction) covers an SES send, and the action
// pattern that does. A document that does not parse grants nothing sesguard can prove.
func GrantsSESSend(doc string) (string, bool) {
	doc = strings.TrimSpace(doc)
	if !strings.HasPrefix(doc, "{") {
		if d, err := url.QueryUnescape(doc); err == nil {
			doc = d
		}
	}
	var pd struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if json.Unmarshal([]byte(doc), &pd) != nil {
		return "", false
	}
	type stmt struct {
		Effect    string          `json:"Effect"`
		Action    json.RawMessage `json:"Action"`
		NotAction json.RawMessage `json:"NotAction"`
	}
	var stmts []stmt
	if json.Unmarshal(pd.Statement, &stmts) != nil {
		var one stmt
		if json.Unmarshal(pd.Statement, &one) != nil {
			return "", false
		}
		stmts = []stmt{one}
	}
	for _, s := range stmts {
		if s.Effect != "Allow" {
			continue
		}
		for _, a := range stringOrList(s.Action) {
			for _, probe := range sendProbes {
				if policy.Like(strings.ToLower(a), probe) {
					return a, true
				}
			}
		}
		if len(s.NotAction) > 0 {
			excluded := stringOrList(s.NotAction)
			for _, probe := range sendProbes {
				if !policy.LikeAny(lowerAll(excluded), probe) {
					return "NotAction " + strings.Join(excluded, ","), true
				}
			}
		}
	}
	return "", false
}

func stringOrList(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many) // anything else names no action
	return many
}

func lowerAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(s)
	}
	return out
}

func playbookQuotaCase(c rules.Rule) Rule {
	return Rule{Rule: c, global: true, apiCheck: func(p *policy.Policy, c *cloudtrail.Event) (bool, string) {
		if c.EventSource != cloudtrail.SupportEventSource || c.EventName != "CreateCase" || c.Support == nil || !aboutSES(c.Support) {
			return false, ""
		}
		why := unapprovedAdmin(p, c)
		if why == "" {
			return false, ""
		}
		return true, fmt.Sprintf("support case %q (service %q, category %q) opened by %s: %s%s",
			clipText(c.Support.Subject, 80), clipText(c.Support.ServiceCode, 60), clipText(c.Support.CategoryCode, 60), principalText(c), why, refused(c))
	}}
}

// aboutSES reports whether a support case is about SES: its service or category names SES, or
// its subject asks about sending limits, production access or the sandbox.
func aboutSES(s *cloudtrail.SupportCase) bool {
	for _, f := range []string{s.ServiceCode, s.CategoryCode, s.Subject} {
		l := strings.ToLower(f)
		for _, tok := range strings.FieldsFunc(l, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) {
			if tok == "ses" {
				return true
			}
		}
		for _, frag := range []string{"simple-email", "simple email", "email sending", "sending limit", "sending quota", "production access", "sandbox"} {
			if strings.Contains(l, frag) {
				return true
			}
		}
	}
	return false
}

// unapprovedAdmin says why an IAM/STS/Support call is not an approved administrator's, or ""
// when it is: AWS itself calling (userIdentity type AWSService: Trusted Advisor, the exposed-key
// quarantine), a role session invoked by a listed AWS service (a CloudFormation stack), or a
// principal of playbook.iam_admins from inside the approved networks (any network when none is
// configured; a call without an address, made through an AWS service, has none to judge).
func unapprovedAdmin(p *policy.Policy, c *cloudtrail.Event) string {
	if c.Principal.Type == "AWSService" {
		return ""
	}
	if c.Principal.Type == cloudtrail.TypeAssumedRole && p.TrustedInvoker(c.Principal.InvokedBy) {
		return ""
	}
	var why []string
	if c.Principal.Name == "" || !p.IAMAdmin(callCaller(c), c.Account) {
		why = append(why, "the principal is not in playbook.iam_admins")
	}
	if networksConfigured(p) && c.SourceIP.IsValid() && !p.NetworkApproved(c.SourceIP) {
		why = append(why, fmt.Sprintf("the call came from %s, outside the approved networks", c.SourceIP))
	}
	return strings.Join(why, " and ")
}

func networksConfigured(p *policy.Policy) bool {
	return len(p.Network.CIDRs) > 0 || len(p.Network.VPCs) > 0
}

// quarantinePolicies are the policies AWS attaches to the user of a key it found exposed.
var quarantinePolicies = []string{"AWSCompromisedKeyQuarantine", "AWSExposedCredentialPolicy_DO_NOT_REMOVE"}

// quarantinedUser returns the user AWS quarantined in this call, or "".
func quarantinedUser(c *cloudtrail.Event) string {
	if c.EventSource != cloudtrail.IAMEventSource || c.IAM == nil || c.IAM.UserName == "" || c.Failed() ||
		(c.EventName != "AttachUserPolicy" && c.EventName != "PutUserPolicy") {
		return ""
	}
	name := c.IAM.PolicyName
	if c.IAM.PolicyARN != "" {
		name = c.IAM.PolicyARN[strings.LastIndexByte(c.IAM.PolicyARN, '/')+1:]
	}
	for _, q := range quarantinePolicies {
		if strings.HasPrefix(name, q) {
			return c.IAM.UserName
		}
	}
	return ""
}

func playbookQuarantined(c rules.Rule) Rule {
	return Rule{Rule: c, global: true, subject: quarantineSubject, apiCheck: func(_ *policy.Policy, c *cloudtrail.Event) (bool, string) {
		user := quarantinedUser(c)
		if user == "" {
			return false, ""
		}
		return true, fmt.Sprintf("%s attached %s to user %q: AWS found one of its keys exposed; the quarantine policy does not deny ses:SendEmail/SendRawEmail",
			principalText(c), clipText(firstNonEmpty(c.IAM.PolicyARN, c.IAM.PolicyName), 100), clipText(user, 64))
	}}
}

// quarantineSubject: the finding is about the quarantined user, not about AWS, who attached the
// policy. AWS does not say which key; containment then takes every active key of the user.
func quarantineSubject(c *cloudtrail.Event) finding.Principal {
	user := quarantinedUser(c)
	pr := finding.Principal{Name: user, Kind: finding.KindUser}
	if c.Account != "" {
		pr.ARN = "arn:aws:iam::" + c.Account + ":user/" + user
	}
	return pr
}

// createdBy returns the identity a successful persistence call created, if any.
func createdBy(c *cloudtrail.Event) (finding.Created, bool) {
	if c.Failed() || c.IAM == nil || c.EventSource != cloudtrail.IAMEventSource {
		return finding.Created{}, false
	}
	user := c.IAM.UserName
	if user == "" && c.Principal.Type == cloudtrail.TypeIAMUser {
		user = c.Principal.Name // CreateAccessKey / CreateLoginProfile without userName act on the caller
	}
	if user == "" {
		return finding.Created{}, false
	}
	cr := finding.Created{User: clipText(user, 64), Via: []string{c.EventName}}
	switch c.EventName {
	case "CreateUser":
		cr.UserCreated, cr.ARN = true, c.IAM.CreatedARN
	case "CreateAccessKey":
		cr.AccessKeyID = c.IAM.CreatedAccessKeyID
	case "CreateLoginProfile":
	default:
		return finding.Created{}, false
	}
	return cr, true
}

// addCreated merges cr into list (one entry per user; a later key or login profile joins it).
func addCreated(list *[]finding.Created, cr finding.Created) {
	for i := range *list {
		x := &(*list)[i]
		if x.User != cr.User {
			continue
		}
		x.UserCreated = x.UserCreated || cr.UserCreated
		if x.ARN == "" {
			x.ARN = cr.ARN
		}
		if x.AccessKeyID == "" {
			x.AccessKeyID = cr.AccessKeyID
		}
		for _, v := range cr.Via {
			addUnique(&x.Via, v, 8)
		}
		return
	}
	if len(*list) < finding.MaxCreated {
		*list = append(*list, cr)
	}
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
