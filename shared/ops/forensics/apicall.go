package forensics

import (
	"time"

	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/policy"
)

// ByAccessKey groups by the access key that signed a CloudTrail-recorded SES API call
// (userIdentity.accessKeyId). SES sending events carry no key, so they group under (unknown).
const ByAccessKey Dimension = "access-key"

// AddCall folds one CloudTrail SES API call in: it counts as an API call of its group (never as
// a send: SES's own Send event counts the message), filtered by the call's own time, principal
// and source address.
func (a *Aggregator) AddCall(c *cloudtrail.Event) {
	if !c.IsSES() {
		return // IAM, STS and Support calls are decoded for detection, not counted as SES calls
	}
	a.sum.Events++
	if !a.passCall(c) {
		a.sum.Filtered++
		return
	}
	a.sum.APICalls++
	g := a.groups[a.group(callKey(a.opt.By, c))]
	g.APICalls++
	if c.ErrorCode != "" {
		g.APIRefused++
	}
	if t := c.EventTime; !t.IsZero() {
		if g.First.IsZero() || t.Before(g.First) {
			g.First = t
		}
		if t.After(g.Last) {
			g.Last = t
		}
	}
	g.Principals.add(c.Principal.Name)
	if c.SourceIP.IsValid() {
		g.IPs.add(c.SourceIP.String())
	}
	g.From.add(c.From)
	g.Identities.add(c.Identity)
	g.ConfigurationSets.add(c.ConfigurationSet)
	g.AccessKeys.add(c.Principal.AccessKeyID)
	g.Operations.add(c.EventName)
	if ap := a.opt.Approver; ap != nil && c.SourceIP.IsValid() && !ap.NetworkApproved(c.SourceIP) {
		g.OutsideNetwork++
	}
}

func (a *Aggregator) passCall(c *cloudtrail.Event) bool {
	f := &a.opt.Filter
	if !f.Since.IsZero() || !f.Until.IsZero() {
		t := c.EventTime
		if t.IsZero() || (!f.Since.IsZero() && t.Before(f.Since)) || (!f.Until.IsZero() && !t.Before(f.Until)) {
			return false
		}
	}
	if f.Principal != "" && (c.Principal.Name == "" || !policy.Like(f.Principal, c.Principal.Name)) {
		return false
	}
	if f.IP.IsValid() && (!c.SourceIP.IsValid() || !f.IP.Contains(c.SourceIP)) {
		return false
	}
	if f.OutsideNetwork && a.opt.Approver.NetworkApproved(c.SourceIP) {
		return false
	}
	return true
}

// callKey is a call's value along d.
func callKey(d Dimension, c *cloudtrail.Event) string {
	var k string
	switch d {
	case ByAccessKey:
		k = c.Principal.AccessKeyID
	case ByPrincipal:
		k = c.Principal.Name
	case ByIP:
		if c.SourceIP.IsValid() {
			k = c.SourceIP.String()
		}
	case ByFrom:
		k = c.From
	case ByIdentity:
		k = c.Identity
	case ByConfigurationSet:
		k = c.ConfigurationSet
	case ByHour:
		if !c.EventTime.IsZero() {
			k = c.EventTime.UTC().Truncate(time.Hour).Format(HourLayout)
		}
	}
	if k == "" {
		return Unknown
	}
	return k
}
