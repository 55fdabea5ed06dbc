package detect

import (
	"fmt"
	"strings"

	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/policy"
)

// Rules over AWS's own notices (cloudtrail.Event with a Notice): an AWS Health event naming an
// exposed or compromised access key, and SES's sending-status events. They judge notices only,
// and the SES API-call rules never judge a notice.

// noticeRules are the rules that judge notices.
var noticeRules = map[string]bool{
	rules.HealthCredentialsRisk: true, rules.SESSendingPaused: true, rules.SESSendingResumed: true,
}

func healthCredentialsRisk(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		apiCheck: func(_ *policy.Policy, c *cloudtrail.Event) (bool, string) {
			n := c.Notice
			if n == nil || n.Source != cloudtrail.HealthSource || c.Principal.AccessKeyID == "" {
				return false, ""
			}
			status := ""
			if n.Status != "" {
				status = " (status " + n.Status + ")"
			}
			return true, fmt.Sprintf("AWS Health %s%s names access key %s of %s. AWS's quarantine policy (AWSCompromisedKeyQuarantineV2/V3) still allows ses:SendEmail and ses:SendRawEmail: contain the key before it sends",
				c.EventName, status, c.Principal.AccessKeyID, keyUserText(c))
		},
	}
}

// keyUserText says whose key a Health notice names and how sure that is.
func keyUserText(c *cloudtrail.Event) string {
	var from string
	if c.Notice != nil && len(c.Notice.Keys) > 0 {
		from = c.Notice.Keys[0].UserFrom
	}
	user := "IAM user " + c.Principal.Name
	if acct := foreignAccount(c); acct != "" {
		user += " of account " + acct
	}
	switch {
	case c.Principal.Name == "":
		return "an unresolved user (IAM does not know the key in this account, or it was not looked up): nothing to contain here by user"
	case from == cloudtrail.UserFromIAM:
		return user + " (resolved in IAM)"
	}
	return user + " as the Health description names it (not resolved in IAM; containment checks the key is the user's)"
}

func sesSendingPaused(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		apiCheck: func(_ *policy.Policy, c *cloudtrail.Event) (bool, string) {
			if !sesStatus(c) || *c.SendingEnabled {
				return false, ""
			}
			return true, fmt.Sprintf("SES paused sending for %s in %s (%s%s): sends fail with SendingPausedException until sending is re-enabled",
				statusEntity(c), regionText(c), statusOrigin(c), statusCause(c))
		},
	}
}

func sesSendingResumed(c rules.Rule) Rule {
	return Rule{
		Rule: c,
		apiCheck: func(_ *policy.Policy, c *cloudtrail.Event) (bool, string) {
			if !sesStatus(c) || !*c.SendingEnabled {
				return false, ""
			}
			status := ""
			if c.Notice.Status != "" {
				status = ", status " + c.Notice.Status
			}
			return true, fmt.Sprintf("SES sending resumed for %s in %s (%s%s%s): who turned it back on is the %s finding of account %s in %s (CloudTrail UpdateAccountSendingEnabled / PutAccountSendingAttributes or their configuration-set forms)",
				statusEntity(c), regionText(c), statusOrigin(c), status, statusCause(c), rules.SetupSendingReenabled, c.Account, regionText(c))
		},
	}
}

func sesStatus(c *cloudtrail.Event) bool {
	return c.Notice != nil && c.Notice.Source == cloudtrail.SESSource && c.SendingEnabled != nil
}

func statusEntity(c *cloudtrail.Event) string {
	switch {
	case c.ConfigurationSet != "":
		return "configuration set " + c.ConfigurationSet
	case c.Notice.Entity != "":
		return c.Notice.Entity
	}
	return "the account"
}

func statusOrigin(c *cloudtrail.Event) string {
	switch c.Notice.Origin {
	case "AWS_MANAGED", "":
		return "by SES's enforcement"
	case "CUSTOMER_MANAGED":
		return "customer-managed status, set through the SES API"
	}
	return "origin " + truncateText(c.Notice.Origin, 40)
}

func statusCause(c *cloudtrail.Event) string {
	if c.Notice.Cause == "" {
		return ""
	}
	return fmt.Sprintf("; cause: %q", c.Notice.Cause)
}

func regionText(c *cloudtrail.Event) string {
	if c.Region == "" {
		return "an unknown Region"
	}
	return c.Region
}

func truncateText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// notice applies the notice rules to one notice; a Health event naming several keys is judged
// key by key (one finding per key, each naming its key and user).
func (d *Detector) notice(a *accum, c *cloudtrail.Event) {
	if c.Notice.Source == cloudtrail.HealthSource && len(c.Notice.Keys) > 1 {
		for i := range c.Notice.Keys {
			k := c.ForKey(i)
			d.noticeOne(a, &k)
		}
		return
	}
	d.noticeOne(a, c)
}

func (d *Detector) noticeOne(a *accum, c *cloudtrail.Event) {
	t := c.EventTime
	if t.IsZero() {
		t = d.now()
	}
	start := bucket(t, d.window)
	pr := callPrincipal(c)
	// One finding per key (Health) or per paused entity and Region (SES), whoever the user is.
	dim := "key#" + c.Principal.AccessKeyID
	if c.Notice.Source == cloudtrail.SESSource {
		dim = "ses-status#" + c.Region + "#" + strings.ToLower(statusEntity(c))
	}
	for _, r := range d.perCall {
		if !noticeRules[r.ID] {
			continue
		}
		bad, detail := r.apiCheck(d.p, c)
		if !bad {
			continue
		}
		a.hitCall(d, hitSpec{rule: r.ID, account: c.Account, principal: c.Principal.Name, dim: dim,
			start: start, end: start.Add(d.window), detail: detail}, c, t, pr)
	}
}
