package coverage

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

type fakeRegions struct {
	names []string
	err   error
}

func (f fakeRegions) DescribeRegions(context.Context, *ec2.DescribeRegionsInput, ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error) {
	out := &ec2.DescribeRegionsOutput{}
	for _, n := range f.names {
		out.Regions = append(out.Regions, ec2types.Region{RegionName: aws.String(n)})
	}
	return out, f.err
}

// fakeRules serves pages of rules; pages[i] is returned for the i-th call.
type fakeRules struct {
	pages [][]ebtypes.Rule
	err   error
	calls *int
}

func (f fakeRules) ListRules(_ context.Context, in *eventbridge.ListRulesInput, _ ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	i := 0
	if in.NextToken != nil {
		i = int(aws.ToString(in.NextToken)[0] - '0')
	}
	*f.calls++
	out := &eventbridge.ListRulesOutput{Rules: f.pages[i]}
	if i+1 < len(f.pages) {
		out.NextToken = aws.String(string(rune('0' + i + 1)))
	}
	return out, nil
}

func rule(name, desc string, state ebtypes.RuleState) ebtypes.Rule {
	return ebtypes.Rule{Name: aws.String(name), Description: aws.String(desc), State: state}
}

func TestCheckRegions(t *testing.T) {
	calls := 0
	sentinel := SentinelDescriptionPrefix + "SES API calls"
	byRegion := map[string]fakeRules{
		// the sentinel rule is on the second page
		"eu-central-1": {pages: [][]ebtypes.Rule{{rule("other", "team rule", ebtypes.RuleStateEnabled)}, {rule("s1", sentinel, ebtypes.RuleStateEnabled)}}, calls: &calls},
		"eu-west-1":    {pages: [][]ebtypes.Rule{{rule("s2", sentinel, ebtypes.RuleStateDisabled)}}, calls: &calls},
		"us-west-2":    {pages: [][]ebtypes.Rule{{rule("lookalike", "not sesguard sentinel: x", ebtypes.RuleStateEnabled)}}, calls: &calls},
	}
	rulesIn := func(r string) RuleLister {
		if f, ok := byRegion[r]; ok {
			return f
		}
		t.Errorf("rules listed in %s", r)
		return fakeRules{err: errors.New("unexpected")}
	}
	// cn-north-1 has no SES (not in SESRegions); us-east-1 is home; eu-central-1 twice.
	regions := fakeRegions{names: []string{"us-west-2", "eu-central-1", "cn-north-1", "us-east-1", "eu-west-1", "eu-central-1"}}
	st, gaps, err := CheckRegions(context.Background(), regions, rulesIn, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range st {
		names = append(names, s.Region)
	}
	if !slices.Equal(names, []string{"eu-central-1", "eu-west-1", "us-east-1", "us-west-2"}) || calls != 4 {
		t.Errorf("regions %v, %d ListRules calls", names, calls)
	}
	var gapRegions []string
	for _, g := range gaps {
		gapRegions = append(gapRegions, g.Region)
		if g.Kind != GapRegionNoSentinel {
			t.Errorf("gap kind %s", g.Kind)
		}
	}
	if !slices.Equal(gapRegions, []string{"eu-west-1", "us-west-2"}) || !strings.Contains(gaps[0].Detail, "disabled (s2)") {
		t.Errorf("gaps %+v", gaps)
	}
	if _, _, err := CheckRegions(context.Background(), fakeRegions{err: errors.New("AccessDenied")}, rulesIn, "us-east-1"); err == nil || !strings.Contains(err.Error(), "list enabled Regions: AccessDenied") {
		t.Errorf("DescribeRegions error: %v", err)
	}
	byRegion["eu-central-1"] = fakeRules{err: errors.New("throttled")}
	if _, _, err := CheckRegions(context.Background(), regions, rulesIn, "us-east-1"); err == nil || !strings.Contains(err.Error(), "in eu-central-1: throttled") {
		t.Errorf("ListRules error: %v", err)
	}
}
