package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/engine/detect"
)

// The per-message form of the reconciliation: every API send CloudTrail logged as a data event
// (ingest's detect.APISendSlotKey slots) must have had its SES Send event (detect.SendSeenKey).
// A message still without one at two checks, each after the settle time, was sent through a
// configuration set without sesguard's destination, or none. Its finding names the exact key and
// principal from the CloudTrail record, so deactivate_keys can act on it. SMTP sends are never
// logged by CloudTrail: only the account-level count covers them.

// maxSlotsPerPeriod bounds one period's per-message scan (two State reads per message); beyond
// it the account-level count still reports the gap.
const maxSlotsPerPeriod = 5000

// APISendCheck is the verdict on one period's API sends.
type APISendCheck struct {
	Start      time.Time `json:"start"`
	APISends   int64     `json:"api_sends"`
	Unobserved int       `json:"unobserved"`
	Status     string    `json:"status"`
	Tolerated  int       `json:"tolerated,omitempty"` // confirmed missing, within the tolerance
	Truncated  bool      `json:"truncated,omitempty"`
}

// missingSend is an API send whose Send event was not seen.
type missingSend struct {
	info detect.SendInfo
}

// apiSends checks the API sends of period p. Periods are scanned until a check finds nothing
// missing, or until their messages are alerted (then marked done): at most twice, normally once.
func (r *Reconciler) apiSends(ctx context.Context, p time.Time) (*APISendCheck, []finding.Finding, error) {
	n, err := r.State.Get(ctx, detect.APISendCountKey(r.Account, r.Region, p))
	if err != nil {
		return nil, nil, fmt.Errorf("reconcile: read API sends of %s: %w", p.Format(time.RFC3339), err)
	}
	if n <= 0 {
		return nil, nil, nil
	}
	// done counts the slots a finished scan covered: a data event CloudTrail delivers after
	// that (it can be late too) makes the period scanned again.
	doneKey := r.key("apisends-done", p)
	done, err := r.State.Get(ctx, doneKey)
	if err != nil {
		return nil, nil, fmt.Errorf("reconcile: read %s: %w", doneKey, err)
	}
	if done >= n {
		return nil, nil, nil
	}
	pc := &APISendCheck{Start: p, APISends: n, Status: StatusOK}
	if n > maxSlotsPerPeriod {
		n, pc.Truncated = maxSlotsPerPeriod, true
	}
	var suspect, confirmed []missingSend
	totals := map[[2]string]int{} // API sends per principal and key in the period
	for i := int64(1); i <= n; i++ {
		info, ok, err := r.State.SendInfo(ctx, detect.APISendSlotKey(r.Account, r.Region, p, i))
		if err != nil {
			return nil, nil, fmt.Errorf("reconcile: read API send %d of %s: %w", i, p.Format(time.RFC3339), err)
		}
		if !ok || info.MessageID == "" {
			continue // a slot taken back by a failed ingest batch
		}
		totals[[2]string{info.Principal, info.AccessKeyID}]++
		if _, seen, err := r.State.SendInfo(ctx, detect.SendSeenKey(info.MessageID)); err != nil {
			return nil, nil, fmt.Errorf("reconcile: read Send of %s: %w", info.MessageID, err)
		} else if seen {
			continue
		}
		first, err := r.State.Mark(ctx, r.key("suspect-msg", p)+"#"+info.MessageID, detect.SendInfo{Account: r.Account}, p.Add(markTTL))
		if err != nil {
			return nil, nil, fmt.Errorf("reconcile: mark message %s: %w", info.MessageID, err)
		}
		if first {
			suspect = append(suspect, missingSend{info})
		} else {
			confirmed = append(confirmed, missingSend{info})
		}
	}
	pc.Unobserved = len(suspect) + len(confirmed)
	var out []finding.Finding
	lim := r.Policy.Limits.UnobservedSends
	if len(confirmed) > 0 {
		groups := groupMissing(confirmed)
		for _, g := range groups {
			// The period's tolerance applies per principal and key: a straggler whose Send event
			// is later than two checks is not an alert; a principal sending past the monitored
			// sets is. (api.* rules still judge every call on its own.)
			missing, total := int64(len(g)), totals[[2]string{g[0].info.Principal, g[0].info.AccessKeyID}]
			if missing <= lim.Absolute || float64(missing) <= lim.Relative*float64(total) {
				pc.Tolerated += len(g)
				continue
			}
			fresh, err := r.State.Mark(ctx, r.apiAlertKey(p, g[0].info.Principal, g[0].info.AccessKeyID), detect.SendInfo{Account: r.Account}, p.Add(markTTL))
			if err != nil {
				return nil, nil, fmt.Errorf("reconcile: mark API sends of %s: %w", p.Format(time.RFC3339), err)
			}
			if fresh {
				out = append(out, r.apiSendFinding(p, g, total))
			}
			pc.Status = StatusUnobserved
		}
	}
	if pc.Status == StatusOK && len(suspect) > 0 {
		pc.Status = StatusSuspect
	}
	if len(suspect) == 0 {
		// Nothing left to learn from these slots: later runs skip the period until it has more.
		if _, err := r.State.Add(ctx, doneKey, n-done, p.Add(markTTL)); err != nil {
			return nil, nil, fmt.Errorf("reconcile: mark period %s done: %w", p.Format(time.RFC3339), err)
		}
	}
	return pc, out, nil
}

func (r *Reconciler) apiAlertKey(p time.Time, principal, key string) string {
	return r.key("alerted-api", p) + "#" + principal + "#" + key
}

// groupMissing groups missing sends by principal and key (one finding per key), in a stable order.
func groupMissing(ms []missingSend) [][]missingSend {
	slices.SortFunc(ms, func(a, b missingSend) int {
		return cmp.Or(cmp.Compare(a.info.Principal, b.info.Principal), cmp.Compare(a.info.AccessKeyID, b.info.AccessKeyID),
			cmp.Compare(a.info.MessageID, b.info.MessageID))
	})
	var out [][]missingSend
	for i, m := range ms {
		if i == 0 || m.info.Principal != ms[i-1].info.Principal || m.info.AccessKeyID != ms[i-1].info.AccessKeyID {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], m)
	}
	return out
}

// apiSendFinding is coverage.unobserved_sends for API sends of one principal and key.
func (r *Reconciler) apiSendFinding(p time.Time, g []missingSend, total int) finding.Finding {
	rule := rules.CoverageUnobservedSends
	def, _ := detect.RuleByID(rule)
	first := g[0].info
	ids := make([]string, 0, min(len(g), finding.MaxMessageIDs))
	var vpce, identity string
	for _, m := range g {
		if len(ids) < finding.MaxMessageIDs {
			ids = append(ids, m.info.MessageID)
		}
		vpce = cmp.Or(vpce, m.info.VPCEndpointID)
		identity = cmp.Or(identity, m.info.Identity)
	}
	end := p.Add(Period)
	who := cmp.Or(first.Principal, "an unknown principal")
	if first.AccessKeyID != "" {
		who += " with access key " + first.AccessKeyID
	}
	lim := r.Policy.Limits.UnobservedSends
	detail := fmt.Sprintf("%d of %d API send(s) by %s in %s..%s were logged by CloudTrail (send data events) but sesguard received no SES Send event "+
		"for them (checked twice, %s or more after the period closed; tolerance: more than %d and more than %.1f%%): the sends used a configuration "+
		"set without the sesguard event destination, or none (an identity without a default set, a request naming another set, or an identity "+
		"created outside the policy). Message ids: %s.", len(g), total, who, p.Format(time.RFC3339), end.Format(time.RFC3339), lim.Settle,
		lim.Absolute, 100*lim.Relative, strings.Join(ids, ", "))
	pr := finding.Principal{Name: first.Principal, AccessKeyID: first.AccessKeyID, Kind: principalKind(first)}
	if pr.Kind == finding.KindUser && r.Account != "" {
		pr.ARN = "arn:aws:iam::" + r.Account + ":user/" + first.Principal
	}
	return finding.Finding{
		Schema: finding.SchemaFinding, ProducerVersion: finding.ProducerVersion(), ID: detect.FindingID(rule, r.Account, "api:"+first.Principal+"#"+first.AccessKeyID, p), Rule: rule,
		Severity: r.Policy.Severity(rule, def.Severity), Account: r.Account, Region: r.Region,
		Principal: pr, WindowStart: p, WindowEnd: end,
		Evidence: finding.Evidence{
			MessageIDs: ids, Count: int64(len(g)), FirstSeen: p, LastSeen: end, Detail: detail,
			Identity: identity, VPCEndpointID: vpce,
		},
		Actions: nonNil(r.Policy.Actions(rule)), Mode: r.Policy.Response.Mode,
	}
}

// principalKind infers the kind from the key: a long-term key (AKIA…) belongs to an IAM user (or
// root, named "root"); a temporary one (ASIA…) to a role session, which deactivate_keys skips.
func principalKind(info detect.SendInfo) finding.PrincipalKind {
	switch {
	case info.Principal == "":
		return finding.KindUnknown
	case info.Principal == "root":
		return finding.KindRoot
	case strings.HasPrefix(info.AccessKeyID, "AKIA"):
		return finding.KindUser
	case strings.HasPrefix(info.AccessKeyID, "ASIA"):
		return finding.KindRole
	}
	return finding.KindUnknown
}
