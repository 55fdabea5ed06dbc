package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/engine/coverage"
	"github.com/sesguard/sesguard/shared/engine/detect"
	"github.com/sesguard/sesguard/shared/engine/reconcile"
	"github.com/sesguard/sesguard/shared/policy"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// TestReconcileTick: the reconciliation schedule's event only reconciles (no SES listing); the
// real reconciler over moto's CloudWatch raises coverage.unobserved_sends on its second look at a
// short period; a failed publish is un-alerted so the next tick raises it again.
func TestReconcileTick(t *testing.T) {
	m := awstest.Start(t)
	ctx := context.Background()
	now := time.Now().UTC()
	gap := now.Add(-30 * time.Minute).Truncate(reconcile.Period)
	m.SeedMetric(t, reconcile.Namespace, reconcile.MetricSend, gap.Add(time.Minute), 25)
	st := detect.NewMemoryState()
	_, _ = st.Add(ctx, detect.SendCountKey("111122223333", "eu-west-1", gap), 3, now.Add(time.Hour))
	p, err := policy.LoadExample()
	if err != nil {
		t.Fatal(err)
	}
	pub := &memPublisher{}
	checks := 0
	h := &Handler{
		Check: func(context.Context) (*coverage.Report, error) { checks++; return &coverage.Report{}, nil },
		Reconciler: func(account, region string) Reconciler {
			return &reconcile.Reconciler{CW: cloudwatch.NewFromConfig(m.Config(t)), State: st, Policy: p, Account: account, Region: region}
		},
		Publisher: pub, Account: "111122223333", Region: "eu-west-1", Log: quiet,
	}
	tick := json.RawMessage(`{"sesguard":"reconcile"}`)
	at := func(d time.Duration) { h.Now = func() time.Time { return now.Add(d) } }

	at(0)
	sum, err := h.Handle(ctx, tick)
	if err != nil || len(sum.Reconciled) != 1 || sum.Reconciled[0].Status != reconcile.StatusSuspect || len(pub.got) != 0 {
		t.Fatalf("first tick: %+v %v", sum, err)
	}
	at(5 * time.Minute)
	pub.fail = true
	if _, err := h.Handle(ctx, tick); err == nil {
		t.Fatal("publish failure not reported")
	}
	pub.fail = false
	at(10 * time.Minute)
	sum, err = h.Handle(ctx, tick)
	if err != nil || len(pub.got) != 1 {
		t.Fatalf("after a failed publish the next tick must raise it again: %+v %v (%d published)", sum, err, len(pub.got))
	}
	f := pub.got[0]
	if f.Rule != rules.CoverageUnobservedSends || f.Evidence.SESCount != 25 || *f.Evidence.SeenCount != 3 || f.Evidence.Count != 22 {
		t.Errorf("finding %+v", f)
	}
	if checks != 0 {
		t.Errorf("a reconcile tick ran the configuration check %d time(s)", checks)
	}
	// Any other event checks the configuration and reconciles (the period is alerted already).
	sum, err = h.Handle(ctx, json.RawMessage(`{"source":"aws.events"}`))
	if err != nil || checks != 1 || len(sum.Reconciled) != 1 || sum.Reconciled[0].Status != reconcile.StatusAlerted || len(pub.got) != 1 {
		t.Errorf("schedule event: %+v %v, checks %d", sum, err, checks)
	}
}
