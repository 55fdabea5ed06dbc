package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// MaxIdentityPolicyBytes is the SES limit on one identity (sending-authorization) policy.
const MaxIdentityPolicyBytes = 4096

// MaxUserInlinePolicyChars is the IAM quota on a user's inline policies, in characters not
// counting white space (the CDK app attaches the SMTP-user policy inline).
const MaxUserInlinePolicyChars = 2048

// SendActions are the SES send actions whose resource is an identity: the one list every Deny
// sesguard renders or attaches names (the identity policy here, deny_send_policy and
// tighten_identity_policy in shared/engine/contain), so no way of sending is left open.
//
// From the Service Authorization Reference: "Actions, resources, and condition keys for Amazon
// SES" (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonses.html)
// gives SendEmail, SendRawEmail, SendTemplatedEmail and SendBulkTemplatedEmail the resource type
// identity*; "... for Amazon Simple Email Service v2" (list_amazonsimpleemailservicev2.html) gives
// SendEmail (simple, raw and templated content alike) and SendBulkEmail identity*. Left out on
// purpose: SendCustomVerificationEmail (its resource is the custom verification template, it
// mails only the address being verified) and SendBounce (answers a received message).
func SendActions() []string {
	return []string{"ses:SendEmail", "ses:SendRawEmail", "ses:SendTemplatedEmail", "ses:SendBulkTemplatedEmail", "ses:SendBulkEmail"}
}

// SMTPSendActions are what an SMTP user's Allow names: SES authorizes an SMTP send as
// ses:SendRawEmail, and an Allow grants nothing more than it must.
func SMTPSendActions() []string { return []string{"ses:SendRawEmail"} }

// SMTPPorts are the ports of the SES SMTP interface (and its VPC endpoint).
func SMTPPorts() []int { return []int{25, 465, 587, 2465, 2587} }

// Document is an IAM / SES policy document as rendered.
type Document struct {
	Version   string      `json:"Version"`
	Id        string      `json:"Id,omitempty"`
	Statement []Statement `json:"Statement"`
}

// Statement is one policy statement. Condition maps operator → key → values.
type Statement struct {
	Sid       string                         `json:"Sid"`
	Effect    string                         `json:"Effect"`
	Principal any                            `json:"Principal,omitempty"`
	Action    []string                       `json:"Action"`
	Resource  string                         `json:"Resource"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

// IdentityPolicy builds the SES identity policy document for identityArn (see
// RenderIdentityPolicy). Statements are only emitted for restrictions the policy can express.
func IdentityPolicy(p *Policy, identityArn string) (*Document, error) {
	if !strings.HasPrefix(identityArn, "arn:") || !strings.Contains(identityArn, ":ses:") ||
		!strings.Contains(identityArn, ":identity/") {
		return nil, fmt.Errorf("render identity policy: %q is not an SES identity ARN (arn:aws:ses:REGION:ACCOUNT:identity/NAME)", identityArn)
	}
	doc := &Document{Version: "2012-10-17", Id: "sesguard-identity-policy"}
	deny := func(sid string, cond map[string]map[string][]string) {
		doc.Statement = append(doc.Statement, Statement{
			Sid: sid, Effect: "Deny", Principal: "*", Action: SendActions(), Resource: identityArn, Condition: cond,
		})
	}

	// Network: ONE statement, because conditions inside a statement are ANDed: deny only when the
	// request neither came through an approved VPC nor from an approved public address. Two
	// separate statements would deny VPC-endpoint sends (aws:SourceIp is absent there, and a
	// negated operator on an absent key is true).
	pub := publicCIDRs(p)
	if len(p.Network.VPCs) == 0 && len(pub) > 0 && len(pub) < len(p.Network.CIDRs) {
		// Private blocks reach SES through a VPC endpoint, where aws:SourceIp is absent: a Deny on
		// NotIpAddress alone would stop every one of those approved senders.
		return nil, errors.New("render identity policy: network.cidrs has private blocks but network.vpcs is empty; " +
			"an identity policy can only let private senders through by VPC id (aws:SourceVpc), so it would deny them all — " +
			"list their VPCs in network.vpcs")
	}
	net := map[string]map[string][]string{}
	if len(p.Network.VPCs) > 0 {
		net["StringNotLike"] = map[string][]string{"aws:SourceVpc": p.Network.VPCs}
	}
	if len(pub) > 0 {
		net["NotIpAddress"] = map[string][]string{"aws:SourceIp": pub}
	}
	if len(net) > 0 {
		deny("DenyOutsideApprovedNetwork", net)
	}

	if len(p.Senders.From) > 0 && !containsStar(p.Senders.From) {
		deny("DenyUnapprovedFromAddress", map[string]map[string][]string{
			"StringNotLike": {"ses:FromAddress": p.Senders.From},
		})
	}
	if len(p.Recipients.Domains) > 0 && !containsStar(p.Recipients.Domains) {
		pats := make([]string, len(p.Recipients.Domains))
		for i, d := range p.Recipients.Domains {
			pats[i] = "*@" + d
		}
		// ForAnyValue: deny when any one recipient (To, Cc or Bcc) is outside every approved domain.
		deny("DenyUnapprovedRecipients", map[string]map[string][]string{
			"ForAnyValue:StringNotLike": {"ses:Recipients": pats},
		})
	}
	if len(doc.Statement) == 0 {
		return nil, errors.New("render identity policy: the policy restricts nothing an identity policy can express " +
			"(no VPCs, no public CIDRs, From and recipients approve everything)")
	}
	return doc, nil
}

// RenderIdentityPolicy renders the SES identity (sending-authorization) policy that enforces the
// policy's network, From and recipient restrictions on identityArn: Deny statements with
// Principal "*" on every send action (SendActions). Private CIDRs are left out (aws:SourceIp
// only carries public addresses); principals, identities and configuration sets have no condition
// key and stay detective. It fails when the result exceeds SES's 4 KB limit.
func RenderIdentityPolicy(p *Policy, identityArn string) ([]byte, error) {
	doc, err := IdentityPolicy(p, identityArn)
	if err != nil {
		return nil, err
	}
	out, err := marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("render identity policy: %w", err)
	}
	if len(out) > MaxIdentityPolicyBytes {
		return nil, fmt.Errorf("render identity policy: %d bytes exceeds the SES limit of %d; shorten the From/recipient/network lists",
			len(out), MaxIdentityPolicyBytes)
	}
	return out, nil
}

// SMTPUserPolicy builds the IAM policy document for SES SMTP users (see RenderSMTPUserPolicy).
func SMTPUserPolicy(p *Policy) (*Document, error) {
	doc := &Document{Version: "2012-10-17"}
	if len(p.Network.VPCs) > 0 {
		doc.Statement = append(doc.Statement, Statement{
			Sid: "AllowSendFromApprovedVpcs", Effect: "Allow", Action: SMTPSendActions(), Resource: "*",
			Condition: map[string]map[string][]string{"StringLike": {"aws:SourceVpc": p.Network.VPCs}},
		})
	}
	if pub := publicCIDRs(p); len(pub) > 0 {
		// A separate Allow: Allow statements are ORed, so either path is enough.
		doc.Statement = append(doc.Statement, Statement{
			Sid: "AllowSendFromApprovedAddresses", Effect: "Allow", Action: SMTPSendActions(), Resource: "*",
			Condition: map[string]map[string][]string{"IpAddress": {"aws:SourceIp": pub}},
		})
	}
	if len(doc.Statement) == 0 {
		return nil, errors.New("render smtp-user policy: network.vpcs is empty and network.cidrs has no public block " +
			"(aws:SourceIp never carries private addresses), so no send could be allowed")
	}
	return doc, nil
}

// RenderSMTPUserPolicy renders the IAM policy for SMTP users: allow ses:SendRawEmail only through the approved VPCs (aws:SourceVpc StringLike) or, for public
// blocks in network.cidrs, from those addresses.
func RenderSMTPUserPolicy(p *Policy) ([]byte, error) {
	doc, err := SMTPUserPolicy(p)
	if err != nil {
		return nil, err
	}
	out, err := marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("render smtp-user policy: %w", err)
	}
	if n := nonSpace(out); n > MaxUserInlinePolicyChars {
		return nil, fmt.Errorf("render smtp-user policy: %d characters (without white space) exceeds the IAM limit of %d for a user's inline policies; "+
			"shorten network.vpcs/network.cidrs (e.g. aggregate CIDR blocks)", n, MaxUserInlinePolicyChars)
	}
	return out, nil
}

// nonSpace counts the bytes of b that are not JSON white space, as IAM counts policy size.
func nonSpace(b []byte) int {
	n := 0
	for _, c := range b {
		if c != ' ' && c != '\n' && c != '\t' && c != '\r' {
			n++
		}
	}
	return n
}

// SGRule is one ingress rule of the SMTP VPC endpoint's security group.
type SGRule struct {
	Protocol    string `json:"protocol"` // always "tcp"
	Port        int    `json:"port"`
	CIDR        string `json:"cidr"`
	IPv6        bool   `json:"ipv6"`
	Description string `json:"description"`
}

// RenderEndpointSGRules returns the ingress rules for the SES SMTP interface endpoint: every SMTP
// port from every approved block (network.cidrs plus resolved VPC blocks), sorted by block then
// port. Unresolved VPC ids contribute nothing; resolve them first.
func RenderEndpointSGRules(p *Policy) ([]SGRule, error) {
	prefixes := p.ApprovedPrefixes()
	if len(prefixes) == 0 {
		return nil, errors.New("render endpoint security group: no approved CIDR blocks (network.cidrs empty and no resolved VPC)")
	}
	var out []SGRule
	for _, pf := range prefixes {
		for _, port := range SMTPPorts() {
			out = append(out, SGRule{
				Protocol:    "tcp",
				Port:        port,
				CIDR:        pf.String(),
				IPv6:        pf.Addr().Is6(),
				Description: fmt.Sprintf("sesguard: SMTP %d from %s", port, pf),
			})
		}
	}
	return out, nil
}

// publicCIDRs are the network.cidrs usable with aws:SourceIp (not private, loopback, link-local
// or CGNAT, which never appear there).
func publicCIDRs(p *Policy) []string {
	var out []string
	for _, c := range p.Network.CIDRs {
		if isPublic(c) {
			out = append(out, c.String())
		}
	}
	return out
}

func isPublic(pf netip.Prefix) bool {
	cgnat := netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, 0, 0}), 10)
	a := pf.Addr()
	return !(a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() || cgnat.Overlaps(pf))
}

func containsStar(list []string) bool {
	for _, s := range list {
		if s == "*" {
			return true
		}
	}
	return false
}

func marshal(doc *Document) ([]byte, error) {
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
