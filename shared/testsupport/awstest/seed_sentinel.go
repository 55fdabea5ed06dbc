package awstest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// SeedSentinelRule creates an EventBridge rule on region's default bus described as a sesguard
// Region sentinel's rules are ("sesguard sentinel: …", infra/sentinel.go); enabled=false leaves
// it DISABLED. moto supports PutRule and ListRules per Region as they are.
func (m *Moto) SeedSentinelRule(tb testing.TB, region, name string, enabled bool) {
	tb.Helper()
	state := ebtypes.RuleStateEnabled
	if !enabled {
		state = ebtypes.RuleStateDisabled
	}
	c := eventbridge.NewFromConfig(m.Config(tb), func(o *eventbridge.Options) { o.Region = region })
	if _, err := c.PutRule(context.Background(), &eventbridge.PutRuleInput{
		Name: aws.String(name), State: state, Description: aws.String("sesguard sentinel: SES API calls recorded by CloudTrail → home Region " + Region),
		EventPattern: aws.String(`{"source":["aws.ses"]}`),
	}); err != nil {
		tb.Fatalf("awstest: seed sentinel rule %s in %s: %v", name, region, err)
	}
}
