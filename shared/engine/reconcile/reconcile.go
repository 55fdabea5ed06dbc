// Package reconcile proves coverage by counting: SES publishes an account-level Send metric in
// CloudWatch (namespace AWS/SES) for every send, whatever configuration set it used or lacked;
// ingest counts the Send events it received per account, Region and 5-minute period in the
// state table (detect.SendCountKey). A period in which CloudWatch counted more sends than
// sesguard saw, beyond the policy's tolerance, is coverage.unobserved_sends. The account's
// Reputation.BounceRate and Reputation.ComplaintRate are checked too
// (reputation.account_at_risk). The coverage function runs it on its schedule.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/engine/detect"
	"github.com/sesguard/sesguard/shared/policy"
)

// MetricsAPI is the CloudWatch call the reconciliation makes (the coverage role grants it).
type MetricsAPI interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

var _ MetricsAPI = (*cloudwatch.Client)(nil)

// State is the part of detect.State the reconciliation uses: ingest's counters, and marks that
// remember a suspect period between runs and an alert already raised.
type State interface {
	Get(ctx context.Context, key string) (int64, error)
	Mark(ctx context.Context, key string, info detect.SendInfo, expires time.Time) (first bool, err error)
	Unmark(ctx context.Context, key string) error
	SendInfo(ctx context.Context, key string) (info detect.SendInfo, ok bool, err error)
	Add(ctx context.Context, key string, delta int64, expires time.Time) (int64, error)
}

var _ State = (detect.State)(nil)

// Namespace and metric names SES publishes.
const (
	Namespace            = "AWS/SES"
	MetricSend           = "Send"
	MetricBounceRate     = "Reputation.BounceRate"
	MetricComplaintRate  = "Reputation.ComplaintRate"
	Period               = detect.SendCountPeriod
	DefaultLookback      = 2 * time.Hour
	markTTL              = 48 * time.Hour
	reputationReviewBnc  = 0.05
	reputationReviewCmpl = 0.001
)

// Reconciler checks one account and Region.
type Reconciler struct {
	CW      MetricsAPI
	State   State
	Policy  *policy.Policy
	Account string
	Region  string
	// Lookback is how far back closed periods are checked (default DefaultLookback); it must
	// exceed the policy's settle time plus two schedule intervals so every period is checked
	// twice.
	Lookback time.Duration
}

// Status of one period.
const (
	StatusOK         = "ok"         // CloudWatch ≤ seen + tolerance
	StatusSuspect    = "suspect"    // over tolerance at its first check: re-checked on the next run
	StatusUnobserved = "unobserved" // still over tolerance at a later check: alerted
	StatusAlerted    = "alerted"    // alerted by an earlier run
)

// PeriodCheck is the verdict on one 5-minute period.
type PeriodCheck struct {
	Start      time.Time `json:"start"`
	CloudWatch int64     `json:"cloudwatch_sends"`
	Seen       int64     `json:"seen_sends"`
	Status     string    `json:"status"`
}

// Result is one run: the periods checked and the findings to publish.
type Result struct {
	Periods []PeriodCheck `json:"periods"`
	// APISends are the periods with API sends (CloudTrail data events) checked message by
	// message (apisends.go).
	APISends []APISendCheck    `json:"api_sends,omitempty"`
	Findings []finding.Finding `json:"-"`
}

// Run checks the closed periods in (now-Lookback-settle, now-settle] and the latest reputation
// rates. A period over tolerance is alerted only when an earlier run already found it over
// tolerance (late events get a second chance); a period is alerted once.
func (r *Reconciler) Run(ctx context.Context, now time.Time) (*Result, error) {
	if r.CW == nil || r.State == nil || r.Policy == nil {
		return nil, errors.New("reconcile: CloudWatch client, state and policy are required")
	}
	lim := r.Policy.Limits.UnobservedSends
	lookback := r.Lookback
	if lookback <= 0 {
		lookback = DefaultLookback
	}
	end := now.UTC().Add(-lim.Settle).Truncate(Period) // periods ending at or before this are settled
	start := end.Add(-lookback)
	series, err := r.metrics(ctx, start, end)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	sends := series[MetricSend]
	for p := start; p.Before(end); p = p.Add(Period) {
		cw := int64(sends[p.Unix()])
		if cw <= 0 {
			continue // nothing sent (or nothing published yet): nothing to miss
		}
		pc, f, err := r.period(ctx, p, cw, lim)
		if err != nil {
			return res, err
		}
		res.Periods = append(res.Periods, pc)
		if f != nil {
			res.Findings = append(res.Findings, *f)
		}
	}
	for p := start; p.Before(end); p = p.Add(Period) {
		pc, fs, err := r.apiSends(ctx, p)
		if err != nil {
			return res, err
		}
		if pc != nil {
			res.APISends = append(res.APISends, *pc)
		}
		res.Findings = append(res.Findings, fs...)
	}
	for _, rep := range []struct {
		metric        string
		limit, review float64
		what          string
	}{
		{MetricBounceRate, r.Policy.Limits.AccountReputation.BounceRate, reputationReviewBnc, "bounce"},
		{MetricComplaintRate, r.Policy.Limits.AccountReputation.ComplaintRate, reputationReviewCmpl, "complaint"},
	} {
		f, err := r.reputation(ctx, series[rep.metric], rep.metric, rep.what, rep.limit, rep.review)
		if err != nil {
			return res, err
		}
		if f != nil {
			res.Findings = append(res.Findings, *f)
		}
	}
	return res, nil
}

func (r *Reconciler) key(kind string, p time.Time) string {
	return "recon#" + kind + "#" + r.Account + "#" + r.Region + "#" + p.UTC().Format(time.RFC3339)
}

// period judges one period with CloudWatch count cw.
func (r *Reconciler) period(ctx context.Context, p time.Time, cw int64, lim policy.UnobservedLimit) (PeriodCheck, *finding.Finding, error) {
	seen, err := r.State.Get(ctx, detect.SendCountKey(r.Account, r.Region, p))
	if err != nil {
		return PeriodCheck{}, nil, fmt.Errorf("reconcile: read sesguard's count for %s: %w", p.Format(time.RFC3339), err)
	}
	pc := PeriodCheck{Start: p, CloudWatch: cw, Seen: seen, Status: StatusOK}
	missing := cw - seen
	if missing <= lim.Absolute || float64(missing) <= lim.Relative*float64(cw) {
		return pc, nil, nil
	}
	exp := p.Add(markTTL)
	first, err := r.State.Mark(ctx, r.key("suspect", p), detect.SendInfo{Account: r.Account}, exp)
	if err != nil {
		return pc, nil, fmt.Errorf("reconcile: mark period %s: %w", p.Format(time.RFC3339), err)
	}
	if first {
		pc.Status = StatusSuspect // late events may still arrive: judge it again next run
		return pc, nil, nil
	}
	fresh, err := r.State.Mark(ctx, r.key("alerted", p), detect.SendInfo{Account: r.Account}, exp)
	if err != nil {
		return pc, nil, fmt.Errorf("reconcile: mark period %s: %w", p.Format(time.RFC3339), err)
	}
	if !fresh {
		pc.Status = StatusAlerted
		return pc, nil, nil
	}
	pc.Status = StatusUnobserved
	f := r.unobservedFinding(p, cw, seen, lim)
	return pc, &f, nil
}

// Unalert forgets that f (a coverage.unobserved_sends finding of Run) was alerted, so the next
// run alerts it again: for a finding that could not be published.
func (r *Reconciler) Unalert(ctx context.Context, f *finding.Finding) error {
	if f.Principal.Name != "" || f.Principal.AccessKeyID != "" {
		// The period was marked done when it was alerted: scan it again on the next run.
		done := r.key("apisends-done", f.WindowStart)
		n, err := r.State.Get(ctx, done)
		if err == nil && n > 0 {
			_, err = r.State.Add(ctx, done, -n, f.WindowStart.Add(markTTL))
		}
		return errors.Join(r.State.Unmark(ctx, r.apiAlertKey(f.WindowStart, f.Principal.Name, f.Principal.AccessKeyID)), err)
	}
	return r.State.Unmark(ctx, r.key("alerted", f.WindowStart))
}

func (r *Reconciler) unobservedFinding(p time.Time, cw, seen int64, lim policy.UnobservedLimit) finding.Finding {
	rule := rules.CoverageUnobservedSends
	missing := cw - seen
	def, _ := detect.RuleByID(rule)
	end := p.Add(Period)
	detail := fmt.Sprintf("SES counted %d send(s) in %s..%s (CloudWatch %s %s, account-wide) but sesguard received %d Send event(s): "+
		"%d unobserved (tolerance: more than %d and more than %.1f%% of the sends; checked twice, %s or more after the period closed). "+
		"Likely causes: a send with no configuration set (an identity without a default set) or naming a set without the sesguard "+
		"event destination; an identity created outside the policy; SMTP or API sends from a new application; the ingest pipeline "+
		"failing or throttled (queue backlog, DLQ); or events later than the settle time.",
		cw, p.Format(time.RFC3339), end.Format(time.RFC3339), Namespace, MetricSend, seen, missing, lim.Absolute, 100*lim.Relative, lim.Settle)
	seenCopy := seen
	return finding.Finding{
		Schema: finding.SchemaFinding, ProducerVersion: finding.ProducerVersion(), ID: detect.FindingID(rule, r.Account, "region:"+r.Region, p), Rule: rule,
		Severity: r.Policy.Severity(rule, def.Severity), Account: r.Account, Region: r.Region,
		Principal:   finding.Principal{Kind: finding.KindUnknown},
		WindowStart: p, WindowEnd: end,
		Evidence: finding.Evidence{
			MessageIDs: []string{}, Count: missing, FirstSeen: p, LastSeen: end, Detail: detail,
			Metric: float64(missing) / float64(cw), Threshold: lim.Relative, SESCount: cw, SeenCount: &seenCopy,
		},
		Actions: nonNil(r.Policy.Actions(rule)), Mode: r.Policy.Response.Mode,
	}
}

// reputation raises reputation.account_at_risk when the latest datapoint of a rate is at or
// above limit, once per hour.
func (r *Reconciler) reputation(ctx context.Context, points map[int64]float64, metric, what string, limit, review float64) (*finding.Finding, error) {
	if limit <= 0 || len(points) == 0 {
		return nil, nil
	}
	var at int64
	for t := range points {
		at = max(at, t)
	}
	v := points[at]
	if v < limit {
		return nil, nil
	}
	rule := rules.ReputationAccountAtRisk
	when := time.Unix(at, 0).UTC()
	hour := when.Truncate(time.Hour)
	first, err := r.State.Mark(ctx, r.key("reputation-"+what, hour), detect.SendInfo{Account: r.Account}, hour.Add(markTTL))
	if err != nil {
		return nil, fmt.Errorf("reconcile: mark %s: %w", metric, err)
	}
	if !first {
		return nil, nil
	}
	def, _ := detect.RuleByID(rule)
	return &finding.Finding{
		Schema: finding.SchemaFinding, ProducerVersion: finding.ProducerVersion(), ID: detect.FindingID(rule, r.Account, "region:"+r.Region+"#"+what, hour), Rule: rule,
		Severity: r.Policy.Severity(rule, def.Severity), Account: r.Account, Region: r.Region,
		Principal:   finding.Principal{Kind: finding.KindUnknown},
		WindowStart: hour, WindowEnd: hour.Add(time.Hour),
		Evidence: finding.Evidence{
			MessageIDs: []string{}, Count: 1, FirstSeen: when, LastSeen: when, Metric: v, Threshold: limit,
			Detail: fmt.Sprintf("account %s rate (CloudWatch %s %s) is %.2f%% at %s, at or above the warning level %.2f%% "+
				"(SES reviews the account at %.1f%% and may pause sending above that)", what, Namespace, metric, 100*v,
				when.Format(time.RFC3339), 100*limit, 100*review),
		},
		Actions: nonNil(r.Policy.Actions(rule)), Mode: r.Policy.Response.Mode,
	}, nil
}

// metrics reads the Send sums per period and the reputation rates over [start, end).
func (r *Reconciler) metrics(ctx context.Context, start, end time.Time) (map[string]map[int64]float64, error) {
	q := func(id, name, stat string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(id), ReturnData: aws.Bool(true), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String(Namespace), MetricName: aws.String(name)},
			Period: aws.Int32(int32(Period / time.Second)), Stat: aws.String(stat),
		}}
	}
	names := map[string]string{"send": MetricSend, "bounce": MetricBounceRate, "complaint": MetricComplaintRate}
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(start), EndTime: aws.Time(end), ScanBy: cwtypes.ScanByTimestampAscending,
		MetricDataQueries: []cwtypes.MetricDataQuery{q("send", MetricSend, "Sum"), q("bounce", MetricBounceRate, "Average"), q("complaint", MetricComplaintRate, "Average")},
	}
	out := map[string]map[int64]float64{MetricSend: {}, MetricBounceRate: {}, MetricComplaintRate: {}}
	for page := 0; ; page++ {
		resp, err := r.CW.GetMetricData(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("reconcile: CloudWatch GetMetricData: %w", err)
		}
		for _, m := range resp.MetricDataResults {
			series := out[names[aws.ToString(m.Id)]]
			if series == nil || len(m.Timestamps) != len(m.Values) {
				continue
			}
			for i, t := range m.Timestamps {
				k := t.UTC().Truncate(Period).Unix()
				if aws.ToString(m.Id) == "send" {
					series[k] += m.Values[i]
				} else {
					series[k] = m.Values[i]
				}
			}
		}
		if resp.NextToken == nil || page >= 100 {
			return out, nil
		}
		in.NextToken = resp.NextToken
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
