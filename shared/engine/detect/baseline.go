package detect

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/policy"
)

// Per-key baselines (baseline.enabled), for accounts that cannot list their networks: what is
// new for a key is suspicious, not what is outside a list. They judge CloudTrail SES calls (and
// so API sends, when send data events are on).
//
// The subject of a baseline is the long-term key (AKIA…) that signed the call; a role session's
// key (ASIA…) changes every few hours, so a role is its own subject (its ARN), and a call with no
// key is its principal's. State, all renewed on each use with a TTL of twice the longer of the
// learning period and the dormancy threshold:
//   - bl#ACCOUNT#start: when sesguard first saw the account's SES calls (no "first use" finding
//     during the account's own learning period: every key is new then);
//   - bl#ACCOUNT#SUBJECT#first / #last: the subject's first and last SES call (Unix seconds);
//   - bl#ACCOUNT#SUBJECT#net#PREFIX: a mark per source network (IPv4 /24, IPv6 /48) the subject
//     used, at most maxBaselineNetworks per subject (bounded memory: a subject seen from more
//     networks stops learning and every further new network is judged). A network mark lives for
//     the TTL from its first use: a network unused that long is new again.

const maxBaselineNetworks = 64

func baselineFirstSESUse(c rules.Rule) Rule { return Rule{Rule: c} } // evaluated by the Detector (baseline)
func baselineDormantKey(c rules.Rule) Rule  { return Rule{Rule: c} }
func baselineNewNetwork(c rules.Rule) Rule  { return Rule{Rule: c} }

// baselineSubject is who a call's baseline belongs to.
func baselineSubject(c *cloudtrail.Event) string {
	k := c.Principal.AccessKeyID
	switch {
	case strings.HasPrefix(k, "AKIA"):
		return k
	case c.Principal.ARN != "":
		return c.Principal.ARN
	case c.Principal.Name != "":
		return c.Principal.Name
	}
	return k
}

// NetworkOf is the network a baseline learns for an address: its IPv4 /24 or IPv6 /48.
func NetworkOf(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	bits := 24
	if ip.Is6() {
		bits = 48
	}
	p, _ := ip.Prefix(bits)
	return p
}

// baseline judges one SES call against its subject's baseline and updates it. Marks it makes
// are appended to marked (rollback).
func (d *Detector) baseline(ctx context.Context, a *accum, c *cloudtrail.Event, marked *[]string) error {
	subj := baselineSubject(c)
	if !c.IsSES() || subj == "" || c.Principal.Type == "AWSService" {
		return nil
	}
	b := d.p.Baseline
	t := c.EventTime
	if t.IsZero() {
		t = d.now()
	}
	ts := t.Unix()
	exp := d.expiry(t.Add(2 * max(b.Learning, b.DormantAfter)))
	acct := "bl#" + c.Account + "#"
	base := acct + subj + "#"
	get := func(k string) (int64, error) {
		v, err := d.st.Get(ctx, k)
		if err != nil {
			return 0, fmt.Errorf("baseline %s: %w", k, err)
		}
		return v, nil
	}
	set := func(k string, old, v int64) error {
		if _, err := d.add(ctx, a, k, v-old, exp); err != nil {
			return fmt.Errorf("baseline %s: %w", k, err)
		}
		return nil
	}
	start, err := get(acct + "start")
	if err != nil {
		return err
	}
	if start == 0 || ts < start {
		if err := set(acct+"start", start, ts); err != nil {
			return err
		}
		start = ts
	}
	first, err := get(base + "first")
	if err != nil {
		return err
	}
	last, err := get(base + "last")
	if err != nil {
		return err
	}
	learned := t.Sub(time.Unix(start, 0)) >= b.Learning // the account's own learning period is over
	var hits []hitSpec
	hit := func(rule, detail string) {
		hits = append(hits, hitSpec{rule: rule, detail: detail})
	}
	switch {
	case first == 0:
		if learned && d.baselineRules[rules.BaselineFirstSESUse] {
			hit(rules.BaselineFirstSESUse, fmt.Sprintf("%s (%s) called SES (%s) for the first time since sesguard started learning on %s",
				subjectText(c, subj), principalText(c), c.EventName, time.Unix(start, 0).UTC().Format("2006-01-02")))
		}
		if err := set(base+"first", 0, ts); err != nil {
			return err
		}
		first = ts
	case last != 0 && ts-last >= int64(b.DormantAfter/time.Second) && d.baselineRules[rules.BaselineDormantKey]:
		hit(rules.BaselineDormantKey, fmt.Sprintf("%s (%s) called SES (%s) after %d days unused (last SES call %s)",
			subjectText(c, subj), principalText(c), c.EventName, (ts-last)/86400, time.Unix(last, 0).UTC().Format("2006-01-02")))
	}
	if ts > last {
		if err := set(base+"last", last, ts); err != nil {
			return err
		}
	}
	if c.SourceIP.IsValid() && !policy.LikeAny(b.Roaming, c.Principal.Name) {
		nw := NetworkOf(c.SourceIP)
		mark := base + "net#" + nw.String()
		_, seen, err := d.st.SendInfo(ctx, mark)
		if err != nil {
			return fmt.Errorf("baseline %s: %w", mark, err)
		}
		if !seen {
			n, err := get(base + "nets")
			if err != nil {
				return err
			}
			inLearning := t.Sub(time.Unix(first, 0)) < b.Learning
			if !inLearning && d.baselineRules[rules.BaselineNewNetwork] {
				hit(rules.BaselineNewNetwork, fmt.Sprintf("%s (%s) called SES (%s) from %s, a network it did not use in its %d-day learning period",
					subjectText(c, subj), principalText(c), c.EventName, nw, int(b.Learning.Hours()/24)))
			}
			if n < maxBaselineNetworks {
				if _, err := d.st.Mark(ctx, mark, SendInfo{Account: c.Account}, exp); err != nil {
					return fmt.Errorf("baseline %s: %w", mark, err)
				}
				*marked = append(*marked, mark)
				if _, err := d.add(ctx, a, base+"nets", 1, exp); err != nil {
					return fmt.Errorf("baseline %s: %w", base+"nets", err)
				}
			}
		}
	}
	if len(hits) == 0 {
		return nil
	}
	start0 := bucket(t, d.window)
	pr := callPrincipal(c)
	for _, h := range hits {
		h.account, h.principal, h.dim = c.Account, c.Principal.Name, c.Principal.Name+"#"+subj
		h.start, h.end = start0, start0.Add(d.window)
		a.hitCall(d, h, c, t, pr)
	}
	return nil
}

func subjectText(c *cloudtrail.Event, subj string) string {
	if strings.HasPrefix(subj, "AKIA") {
		return "key " + subj
	}
	return subj
}
