// Command coverage is the sesguard coverage Lambda: on a schedule and after SES configuration
// changes it lists email identities and configuration sets (SESv2) and publishes a finding for
// every identity without a monitored default configuration set and every configuration set
// without a live sesguard event destination; on its reconciliation schedule it compares SES's
// CloudWatch Send counts with the Send events ingest saw (coverage.unobserved_sends) and checks
// the account's reputation rates (reputation.account_at_risk).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/functions/internal/topic"
	"github.com/sesguard/sesguard/shared/engine/coverage"
	"github.com/sesguard/sesguard/shared/engine/detect"
	"github.com/sesguard/sesguard/shared/engine/reconcile"
)

func main() {
	log := fnenv.NewLogger(os.Stderr, "coverage")
	cfg, err := fnenv.Load(os.Getenv, fnenv.TaskRoot(os.Getenv), fnenv.EnvFindingsTopicARN)
	if err != nil {
		fnenv.Fatal(log, "coverage: cannot start", err)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fnenv.Fatal(log, "coverage: cannot start: AWS configuration", err)
	}
	ses := sesv2.NewFromConfig(awsCfg)
	regions, rulesIn := ec2.NewFromConfig(awsCfg), func(r string) coverage.RuleLister {
		return eventbridge.NewFromConfig(awsCfg, func(o *eventbridge.Options) { o.Region = r })
	}
	var rec func(account, region string) Reconciler
	if cfg.Table != "" {
		// Reconciliation: CloudWatch's AWS/SES Send counts against ingest's counters.
		cw, st := cloudwatch.NewFromConfig(awsCfg), detect.NewDynamoState(dynamodb.NewFromConfig(awsCfg), cfg.Table)
		rec = func(account, region string) Reconciler {
			return &reconcile.Reconciler{CW: cw, State: st, Policy: cfg.Policy, Account: account, Region: region}
		}
	} else {
		log.Warn("coverage: " + fnenv.EnvTable + " is not set: no reconciliation with CloudWatch")
	}
	h := &Handler{
		Reconciler: rec,
		Check: func(ctx context.Context) (*coverage.Report, error) {
			return coverage.Check(ctx, ses, coverage.Options{})
		},
		Regions: func(ctx context.Context) ([]coverage.RegionStatus, []coverage.Gap, error) {
			return coverage.CheckRegions(ctx, regions, rulesIn, awsCfg.Region)
		},
		Publisher: topic.New(sns.NewFromConfig(awsCfg), cfg.FindingsTopicARN),
		Severity:  cfg.Policy.Severity,
		Mode:      cfg.Mode,
		Region:    awsCfg.Region,
		Log:       log,
	}
	log.Info("coverage: ready", "policy", cfg.PolicySource)
	lambda.Start(h.Handle)
}
