package detect

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
)

// The baseline simulation: a month of a realistic account that cannot list its networks, with
// baseline.enabled and the defaults (learning 14 days, dormant 30 days, /24 and /48 networks).
// It counts the baseline findings the legitimate traffic raises (false positives) and whether
// and when the stolen key is flagged. Its numbers are in README ("Per-key baselines").
//
// The account (day 0 is when sesguard starts learning; the month judged is days 14–44):
//   - app-smtp: an IAM user key sending through the API every ~15 minutes from a NAT gateway's
//     two Elastic IPs (two /24s); the NAT is replaced on day 30 (a new EIP, a new /24);
//   - mailer-task-role: an ECS service (role sessions, a new ASIA key every 6 hours); in the
//     "NAT" variant it egresses through the same NAT, in the "public IPs" variant every task
//     gets a public IP from Fargate's pool (4 task replacements a day, 300 AWS /24s);
//   - newsletter and billing-mailer: new IAM users deployed on days 22 and 33, sending from the
//     NAT;
//   - reports: a key used on day 1 and then on day 35 (a monthly report run late);
//   - alice: a developer's key, aws-cli GetSendQuota a few times a week from home, once from a
//     hotel (day 26);
//   - the stolen key: app-smtp's key, used on day 40 by the attacker from two new networks,
//     two hours apart (GetSendQuota, GetAccount, then SendEmail).
type simCall struct {
	c      cloudtrail.Event
	attack bool
}

func simAccount(rng *rand.Rand, publicFleet bool) []simCall {
	day := func(d float64) time.Time { return t0.Add(time.Duration(d * float64(24*time.Hour))) }
	var out []simCall
	n := 0
	add := func(at time.Time, typ, name, key, ip, op string, attack bool) {
		n++
		p := cloudtrail.Principal{Type: typ, Name: name, AccessKeyID: key, ARN: "arn:aws:iam::111122223333:user/" + name}
		if typ == cloudtrail.TypeAssumedRole {
			p.ARN = "arn:aws:iam::111122223333:role/" + name
		}
		out = append(out, simCall{attack: attack, c: cloudtrail.Event{EventID: fmt.Sprintf("sim-%d", n), EventTime: at, EventSource: cloudtrail.SESEventSource,
			EventName: op, Account: "111122223333", Region: "eu-west-1", Principal: p, SourceIP: netip.MustParseAddr(ip)}})
	}
	nat := []string{"52.18.10.5", "52.30.4.77"}
	for m := 0; m < 45*24*4; m++ { // every 15 minutes for 45 days
		at := t0.Add(time.Duration(m)*15*time.Minute + time.Duration(rng.IntN(600))*time.Second)
		d := at.Sub(t0).Hours() / 24
		egress := nat[rng.IntN(2)]
		if d >= 30 {
			egress = []string{"52.18.10.5", "63.34.9.12"}[rng.IntN(2)] // the NAT replaced: one EIP is new
		}
		add(at, cloudtrail.TypeIAMUser, "app-smtp", "AKIAAPPSMTP000000001", egress, "SendRawEmail", false)
		session := fmt.Sprintf("ASIAMAILERTASK%06d", int(d*4))
		ip := egress
		if publicFleet {
			// 4 task generations a day, 3 tasks each, each with its own public IP.
			task := rng.IntN(3)
			r := rand.New(rand.NewPCG(uint64(int(d*4)), uint64(task)))
			ip = fmt.Sprintf("3.%d.%d.%d", 240+r.IntN(12), r.IntN(25), 1+r.IntN(250))
		}
		add(at.Add(time.Minute), cloudtrail.TypeAssumedRole, "mailer-task-role", session, ip, "SendEmail", false)
		if d >= 22 && m%4 == 0 {
			add(at.Add(2*time.Minute), cloudtrail.TypeIAMUser, "newsletter", "AKIANEWSLETTER000001", egress, "SendBulkEmail", false)
		}
		if d >= 33 && m%8 == 0 {
			add(at.Add(3*time.Minute), cloudtrail.TypeIAMUser, "billing-mailer", "AKIABILLINGMAILER001", egress, "SendRawEmail", false)
		}
	}
	add(day(1.4), cloudtrail.TypeIAMUser, "reports", "AKIAREPORTS000000001", "52.18.10.5", "SendRawEmail", false)
	add(day(35.4), cloudtrail.TypeIAMUser, "reports", "AKIAREPORTS000000001", "52.30.4.77", "SendRawEmail", false)
	for d := 0.6; d < 45; d += 2.3 {
		ip := "81.2.69.142"
		if d > 26 && d < 27.5 {
			ip = "185.20.4.9" // the hotel
		}
		add(day(d), cloudtrail.TypeIAMUser, "alice", "AKIAALICEDEV00000001", ip, "GetSendQuota", false)
	}
	add(day(26.3), cloudtrail.TypeIAMUser, "alice", "AKIAALICEDEV00000001", "185.20.4.9", "GetSendQuota", false)
	for i, ip := range []string{"203.0.113.66", "198.51.100.23"} {
		at := day(40.5).Add(time.Duration(i) * 2 * time.Hour)
		for j, op := range []string{"GetSendQuota", "GetAccount", "SendEmail"} {
			add(at.Add(time.Duration(j)*time.Minute), cloudtrail.TypeIAMUser, "app-smtp", "AKIAAPPSMTP000000001", ip, op, true)
		}
	}
	slices.SortStableFunc(out, func(a, b simCall) int { return a.c.EventTime.Compare(b.c.EventTime) })
	return out
}

// simResult is what one run of the month measured.
type simResult struct {
	calls          int
	falseByRule    map[string]int // distinct findings raised by legitimate traffic, per rule
	detected       bool
	detectDelay    time.Duration // from the attacker's first call to the first finding naming it
	attackFindings int
}

func runBaselineSim(t testing.TB, publicFleet bool, roaming []string) simResult {
	t.Helper()
	p := baselinePolicy(t)
	p.Baseline.Roaming = roaming
	d, err := New(p, NewMemoryState())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(20, 26))
	calls := simAccount(rng, publicFleet)
	res := simResult{calls: len(calls), falseByRule: map[string]int{}}
	seen := map[string]bool{}
	var firstAttack time.Time
	const batch = 50 // as ingest receives them: small batches in time order
	for i := 0; i < len(calls); i += batch {
		part := calls[i:min(i+batch, len(calls))]
		evs := make([]cloudtrail.Event, len(part))
		attack := map[string]bool{}
		for k, c := range part {
			evs[k] = c.c
			if c.attack {
				attack[c.c.EventID] = true
				if firstAttack.IsZero() {
					firstAttack = c.c.EventTime
				}
			}
		}
		b, err := d.ProcessCalls(context.Background(), evs)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range b.Updates {
			f := u.Finding
			if !strings.HasPrefix(f.Rule, "baseline.") || seen[f.ID] {
				continue
			}
			seen[f.ID] = true
			isAttack := false
			for _, id := range f.Evidence.EventIDs {
				isAttack = isAttack || attack[id]
			}
			if isAttack {
				res.attackFindings++
				if !res.detected {
					res.detected, res.detectDelay = true, f.Evidence.FirstSeen.Sub(firstAttack)
				}
				continue
			}
			// Only the judged month counts (days 14–44); the learning fortnight raises nothing.
			res.falseByRule[f.Rule]++
		}
	}
	return res
}

func TestBaselineSimulation(t *testing.T) {
	for _, v := range []struct {
		name        string
		publicFleet bool
		roaming     []string
		maxFalse    int
	}{
		{"NAT egress", false, nil, 8},
		{"ECS tasks with public IPs", true, nil, 800},
		{"ECS tasks with public IPs, the service's role roaming", true, []string{"mailer-task-role"}, 8},
	} {
		t.Run(v.name, func(t *testing.T) {
			r := runBaselineSim(t, v.publicFleet, v.roaming)
			total := 0
			for _, n := range r.falseByRule {
				total += n
			}
			t.Logf("baseline simulation (%s): %d SES calls over 45 days (14 learning + 31 judged); false positives: %d (%v); stolen key detected=%v after %s with %d finding(s)",
				v.name, r.calls, total, r.falseByRule, r.detected, r.detectDelay, r.attackFindings)
			if !r.detected || r.detectDelay != 0 || r.attackFindings < 2 {
				t.Errorf("stolen key: detected=%v delay=%s findings=%d; want both new networks flagged at their first call", r.detected, r.detectDelay, r.attackFindings)
			}
			if total > v.maxFalse {
				t.Errorf("%d false positives, more than %d", total, v.maxFalse)
			}
		})
	}
}
