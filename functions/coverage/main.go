// Command coverage is the sesguard coverage Lambda: on a schedule and after SES configuration
// changes it lists email identities and configuration sets (SESv2) and publishes a finding for
// every identity without a monitored default configuration set and every configuration set
// without a live sesguard event destination.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/functions/internal/topic"
	"github.com/sesguard/sesguard/shared/coverage"
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
	h := &Handler{
		Check: func(ctx context.Context) (*coverage.Report, error) {
			return coverage.Check(ctx, ses, coverage.Options{})
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
