package main

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/engine/coverage"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// TestRegionGapsAgainstMoto: the coverage function publishes one finding per enabled SES Region
// without a sentinel, in that Region; a Region with one is no gap; the home Region needs none.
func TestRegionGapsAgainstMoto(t *testing.T) {
	m := awstest.Start(t)
	cfg := m.Config(t)
	out, err := ec2.NewFromConfig(cfg).DescribeRegions(context.Background(), &ec2.DescribeRegionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out.Regions {
		if n := *r.RegionName; n != awstest.Region && n != "eu-central-1" {
			m.SeedSentinelRule(t, n, "Sesguard-sentinel-"+n+"-SesApiCallsRule", true)
		}
	}
	p := &memPublisher{}
	h := &Handler{
		Check: func(context.Context) (*coverage.Report, error) { return &coverage.Report{}, nil },
		Regions: func(ctx context.Context) ([]coverage.RegionStatus, []coverage.Gap, error) {
			return coverage.CheckRegions(ctx, ec2.NewFromConfig(cfg), func(r string) coverage.RuleLister {
				return eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.Region = r })
			}, awstest.Region)
		},
		Publisher: p, Account: awstest.Account, Region: awstest.Region, Mode: "dry-run", Log: quiet,
	}
	sum, err := h.Handle(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.got) != 1 || sum.Gaps != 1 || sum.Regions < 3 {
		t.Fatalf("summary %+v, findings %+v", sum, p.got)
	}
	f := p.got[0]
	if f.Rule != coverage.GapRegionNoSentinel || f.Region != "eu-central-1" || f.Account != awstest.Account || f.Severity != finding.SeverityMedium {
		t.Errorf("finding %+v", f)
	}
}

// TestRegionCheckErrorIsReported: a failing Region check (e.g. the role lacks
// ec2:DescribeRegions) is in the summary and the configuration gaps are still published.
func TestRegionCheckErrorIsReported(t *testing.T) {
	p := &memPublisher{}
	h := &Handler{
		Check: func(context.Context) (*coverage.Report, error) {
			return &coverage.Report{Gaps: []coverage.Gap{{Kind: coverage.GapSetNoDestination, ConfigurationSet: "prod"}}}, nil
		},
		Regions: func(context.Context) ([]coverage.RegionStatus, []coverage.Gap, error) {
			return nil, nil, errors.New("list enabled Regions: AccessDenied")
		},
		Publisher: p, Account: awstest.Account, Region: awstest.Region, Log: quiet,
	}
	sum, err := h.Handle(context.Background(), nil)
	if err != nil || sum.RegionCheckError != "list enabled Regions: AccessDenied" || len(p.got) != 1 {
		t.Errorf("summary %+v err %v findings %d", sum, err, len(p.got))
	}
}
