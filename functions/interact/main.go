// Command interact is the sesguard Slack interactivity endpoint, behind a Lambda Function URL
// (auth NONE: Slack cannot sign AWS SigV4, so the Slack request signature is the
// authentication). It verifies X-Slack-Signature with the signing secret from Secrets Manager,
// refuses stale, future and replayed requests, authorises the clicking user against
// response.approvers, and hands an approved Contain now / Undo click to respond over SQS. It has
// no IAM or SES permission: respond does the work.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/shared/deliver/alert"
	"github.com/sesguard/sesguard/shared/slack/approval"
)

// Environment of interact only (the CDK app sets them on this function).
const (
	envSigningSecret = "SESGUARD_SLACK_SIGNING_SECRET_ARN"
	envQueueURL      = "SESGUARD_INTERACT_QUEUE_URL"
)

func main() {
	log := fnenv.NewLogger(os.Stderr, "interact")
	cfg, err := fnenv.Load(os.Getenv, fnenv.TaskRoot(os.Getenv), fnenv.EnvTable)
	if err == nil {
		var missing []string
		for _, k := range []string{envSigningSecret, envQueueURL} {
			if strings.TrimSpace(os.Getenv(k)) == "" {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			err = fmt.Errorf("sesguard configuration: %s not set", strings.Join(missing, ", "))
		}
	}
	if err != nil {
		fnenv.Fatal(log, "interact: cannot start", err)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fnenv.Fatal(log, "interact: cannot start: AWS configuration", err)
	}
	h := &Handler{
		Secret:    &approval.SigningSecret{API: secretsmanager.NewFromConfig(awsCfg), SecretID: strings.TrimSpace(os.Getenv(envSigningSecret))},
		Approvals: &approval.Store{DB: dynamodb.NewFromConfig(awsCfg), Table: cfg.Table},
		Queue:     &approval.Queue{API: sqs.NewFromConfig(awsCfg), URL: strings.TrimSpace(os.Getenv(envQueueURL))},
		Slack:     &alert.ResponsePoster{Timeout: alert.ResponseTimeout},
		Approver:  cfg.Policy.Response.Approver,
		Log:       log,
	}
	if len(cfg.Policy.Response.Approvers) == 0 {
		log.Warn("interact: response.approvers is empty; every click is refused")
	}
	log.Info("interact: ready", "policy", cfg.PolicySource, "approvers", len(cfg.Policy.Response.Approvers))
	lambda.Start(h.Handle)
}
