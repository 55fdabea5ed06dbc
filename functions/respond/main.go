// Command respond is the sesguard containment Lambda: it reads actionable findings from the
// findings topic (via SQS), plans containment, applies it in enforce mode or reports the plan in
// dry-run mode, records every change in the ledger, and publishes the containment result.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/functions/internal/topic"
	"github.com/sesguard/sesguard/shared/deliver/alert"
	"github.com/sesguard/sesguard/shared/engine/contain"
	"github.com/sesguard/sesguard/shared/render/emf"
	"github.com/sesguard/sesguard/shared/slack/approval"
)

func main() {
	log := fnenv.NewLogger(os.Stderr, "respond")
	cfg, err := fnenv.Load(os.Getenv, fnenv.TaskRoot(os.Getenv), fnenv.EnvTable, fnenv.EnvFindingsTopicARN)
	if err != nil {
		fnenv.Fatal(log, "respond: cannot start", err)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fnenv.Fatal(log, "respond: cannot start: AWS configuration", err)
	}
	awsCfg = contain.TuneConfig(awsCfg)
	// The same policy → containment mapping as `sesguard contain`; cfg.Policy already carries the
	// SESGUARD_MODE override.
	cc := contain.ConfigFromPolicy(cfg.Policy)
	cc.Actor = "lambda:" + os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
	if err := cc.Validate(); err != nil {
		fnenv.Fatal(log, "respond: cannot start", err)
	}
	ledger := contain.NewLedger(dynamodb.NewFromConfig(awsCfg), cfg.Table)
	exec := contain.NewExecutor(cc, iam.NewFromConfig(awsCfg), sesv2.NewFromConfig(awsCfg), ledger, log)
	h := &Handler{Container: exec, Publisher: topic.New(sns.NewFromConfig(awsCfg), cfg.FindingsTopicARN), Slack: &alert.ResponsePoster{}, Log: log,
		Metrics: &emf.Writer{Function: "respond", Out: os.Stdout}}
	if resp := cfg.Policy.Response; len(resp.Approvers) > 0 {
		// Slack approvals: a click carries out the approved plan in enforce mode whatever the
		// function's mode, through the same ledger, protected list and hourly cap.
		ec := cc
		ec.Mode = contain.ModeEnforce
		enforcer := contain.NewExecutor(ec, iam.NewFromConfig(awsCfg), sesv2.NewFromConfig(awsCfg), ledger, log)
		h.Buttons = &Buttons{
			Store:    &approval.Store{DB: dynamodb.NewFromConfig(awsCfg), Table: cfg.Table},
			Enforcer: enforcer, Approver: resp.Approver, TTL: resp.ApprovalExpiry,
		}
	}
	log.Info("respond: ready", "policy", cfg.PolicySource, "mode", cfg.Mode, "max_actions_per_hour", cc.MaxActionsPerHour,
		"slack_approvers", len(cfg.Policy.Response.Approvers))
	lambda.Start(h.Handle)
}
