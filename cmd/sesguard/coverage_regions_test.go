package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/sesguard/sesguard/shared/engine/coverage"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// sentinelRegions seeds a sentinel rule in every SES Region moto lists as enabled, except the
// home Region, and returns those Regions.
func sentinelRegions(t *testing.T, m *awstest.Moto) []string {
	t.Helper()
	out, err := ec2.NewFromConfig(m.Config(t)).DescribeRegions(context.Background(), &ec2.DescribeRegionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var regions []string
	for _, r := range out.Regions {
		if n := aws.ToString(r.RegionName); n != awstest.Region && slices.Contains(coverage.SESRegions, n) {
			m.SeedSentinelRule(t, n, "Sesguard-sentinel-"+n+"-SesApiCallsRule", true)
			regions = append(regions, n)
		}
	}
	if len(regions) < 3 {
		t.Fatalf("moto lists only %v as enabled SES Regions", regions)
	}
	return regions
}

// TestCoverageRegionsWithoutSentinel: `sesguard coverage` against moto reports each enabled SES
// Region without an enabled sentinel rule (none, or only a disabled one) as a gap, exit 2; with
// a sentinel everywhere else the Regions are no gap; --sentinels=false skips the check.
func TestCoverageRegionsWithoutSentinel(t *testing.T) {
	m := awstest.Start(t)
	m.Setenv(t)
	regions := sentinelRegions(t, m) // no identity or set: the Regions are the only possible gaps
	missing, disabled := regions[0], regions[1]
	eb := eventbridge.NewFromConfig(m.Config(t), func(o *eventbridge.Options) { o.Region = missing })
	if _, err := eb.DeleteRule(context.Background(), &eventbridge.DeleteRuleInput{Name: aws.String("Sesguard-sentinel-" + missing + "-SesApiCallsRule")}); err != nil {
		t.Fatal(err)
	}
	m.SeedSentinelRule(t, disabled, "Sesguard-sentinel-"+disabled+"-SesApiCallsRule", false)

	code, out, errOut := runCLI(t, "", nil, "coverage", "--format", "json")
	if code != exitInput {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitInput, out, errOut)
	}
	var rep coverage.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var gapRegions []string
	for _, g := range rep.Gaps {
		if g.Kind == coverage.GapRegionNoSentinel {
			gapRegions = append(gapRegions, g.Region)
		}
	}
	slices.Sort(gapRegions)
	if want := slices.Sorted(slices.Values([]string{missing, disabled})); !slices.Equal(gapRegions, want) {
		t.Errorf("Region gaps %v, want %v (all gaps %+v)", gapRegions, want, rep.Gaps)
	}
	if len(rep.Regions) != len(regions)+1 {
		t.Errorf("%d Regions reported, want %d", len(rep.Regions), len(regions)+1)
	}
	for _, r := range rep.Regions {
		if r.Region == awstest.Region && (!r.Home || !r.Watched) {
			t.Errorf("home Region %+v", r)
		}
	}

	code, out, _ = runCLI(t, "", nil, "coverage")
	if code != exitInput {
		t.Errorf("text: exit %d, want %d", code, exitInput)
	}
	for _, w := range []string{"coverage.region_no_sentinel", "Region " + missing + ": SES is offered", "Region " + disabled + ": the sesguard sentinel's rules in " + disabled + " are disabled",
		"watched (this Region's stack or a sentinel)"} {
		if !strings.Contains(out, w) {
			t.Errorf("text lacks %q:\n%s", w, out)
		}
	}
	if code, out, errOut := runCLI(t, "", nil, "coverage", "--sentinels=false"); code != exitOK || strings.Contains(out, "region_no_sentinel") {
		t.Errorf("--sentinels=false: exit %d\n%s\n%s", code, out, errOut)
	}
	m.SeedSentinelRule(t, missing, "Sesguard-sentinel-"+missing+"-SesApiCallsRule", true)
	m.SeedSentinelRule(t, disabled, "Sesguard-sentinel-"+disabled+"-SesApiCallsRule", true)
	if code, out, errOut := runCLI(t, "", nil, "coverage"); code != exitOK {
		t.Errorf("sentinels everywhere: exit %d\n%s\n%s", code, out, errOut)
	}
}
