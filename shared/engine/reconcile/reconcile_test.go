package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/engine/detect"
	"github.com/sesguard/sesguard/shared/policy"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

func examplePolicy(t testing.TB) *policy.Policy {
	t.Helper()
	p, err := policy.LoadExample()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunAgainstMoto seeds SES's metrics in moto's CloudWatch (PutMetricData) and sesguard's
// counters in the state, and reads them back through the real SDK client (GetMetricData): a
// period with more sends than sesguard saw is suspect at its first check and alerted at the
// second, once; a period within tolerance is not; a bounce rate at the warning level is
// reputation.account_at_risk.
func TestRunAgainstMoto(t *testing.T) {
	m := awstest.Start(t)
	ctx := context.Background()
	now := time.Now().UTC()
	base := now.Add(-40 * time.Minute).Truncate(Period)
	gap, fine := base, base.Add(Period)
	m.SeedMetric(t, Namespace, MetricSend, gap.Add(time.Minute), 100)
	m.SeedMetric(t, Namespace, MetricSend, fine.Add(2*time.Minute), 50)
	m.SeedMetric(t, Namespace, MetricBounceRate, fine.Add(3*time.Minute), 0.046)
	st := detect.NewMemoryState()
	acct, region := "123456789012", "us-east-1"
	if _, err := st.Add(ctx, detect.SendCountKey(acct, region, gap), 60, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Add(ctx, detect.SendCountKey(acct, region, fine), 49, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{CW: cloudwatch.NewFromConfig(m.Config(t)), State: st, Policy: examplePolicy(t), Account: acct, Region: region}

	first, err := r.Run(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(first); got != "suspect,ok" {
		t.Errorf("first run: %s", got)
	}
	if len(first.Findings) != 1 || first.Findings[0].Rule != rules.ReputationAccountAtRisk || first.Findings[0].Evidence.Metric != 0.046 {
		t.Fatalf("first run findings %+v", first.Findings)
	}
	second, err := r.Run(ctx, now.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(second); got != "unobserved,ok" || len(second.Findings) != 1 {
		t.Fatalf("second run: %s, %d findings", got, len(second.Findings))
	}
	f := second.Findings[0]
	if f.Rule != rules.CoverageUnobservedSends || f.Severity != "high" || f.Evidence.Count != 40 || f.Evidence.SESCount != 100 ||
		f.Evidence.SeenCount == nil || *f.Evidence.SeenCount != 60 || !f.WindowStart.Equal(gap) || f.Account != acct || f.Region != region ||
		!strings.Contains(f.Evidence.Detail, "SES counted 100 send(s)") || !strings.Contains(f.Evidence.Detail, "received 60 Send event(s)") ||
		!strings.Contains(f.Evidence.Detail, "Likely causes") {
		t.Errorf("finding %+v", f)
	}
	third, err := r.Run(ctx, now.Add(10*time.Minute))
	if err != nil || statuses(third) != "alerted,ok" || len(third.Findings) != 0 {
		t.Errorf("third run: %s %d %v", statuses(third), len(third.Findings), err)
	}
	// A publish failure is retried: Unalert makes the next run alert again.
	if err := r.Unalert(ctx, &f); err != nil {
		t.Fatal(err)
	}
	if again, err := r.Run(ctx, now.Add(15*time.Minute)); err != nil || len(again.Findings) != 1 {
		t.Errorf("after Unalert: %+v %v", again, err)
	}
}

func statuses(r *Result) string {
	var s []string
	for _, p := range r.Periods {
		s = append(s, p.Status)
	}
	return strings.Join(s, ",")
}

func TestTolerance(t *testing.T) {
	cases := []struct {
		cw, seen int64
		abs      int64
		rel      float64
		over     bool
	}{
		{100, 96, 5, 0.02, false},   // 4 missing: under the absolute tolerance
		{100, 94, 5, 0.02, true},    // 6 missing, 6 %
		{1000, 985, 5, 0.02, false}, // 15 missing but 1.5 %
		{1000, 975, 5, 0.02, true},
		{3, 0, 0, 0, true}, // zero tolerance
		{10, 10, 0, 0, false},
		{10, 12, 0, 0, false}, // sesguard saw more (e.g. a replayed test batch): never a gap
	}
	for _, c := range cases {
		st := detect.NewMemoryState()
		p := examplePolicy(t)
		p.Limits.UnobservedSends.Absolute, p.Limits.UnobservedSends.Relative = c.abs, c.rel
		r := &Reconciler{CW: fakeCW{}, State: st, Policy: p, Account: "a", Region: "r"}
		at := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
		_, _ = st.Add(context.Background(), detect.SendCountKey("a", "r", at), c.seen, at.Add(time.Hour))
		pc, _, err := r.period(context.Background(), at, c.cw, p.Limits.UnobservedSends)
		if err != nil {
			t.Fatal(err)
		}
		if (pc.Status != StatusOK) != c.over {
			t.Errorf("%+v: status %s", c, pc.Status)
		}
	}
}

type fakeCW struct{}

func (fakeCW) GetMetricData(context.Context, *cloudwatch.GetMetricDataInput, ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	return &cloudwatch.GetMetricDataOutput{}, nil
}
