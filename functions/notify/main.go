// Command notify is the sesguard alerting Lambda: it reads findings and containment results from
// the findings topic (via SQS) and sends them to Slack (webhook URL from Secrets Manager) and to
// the alerts SNS topic, one alert per finding id.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/shared/deliver/alert"
	"github.com/sesguard/sesguard/shared/render/emf"
)

// envAlertsFormat selects the alerts topic's message body: "text" (default; e-mail and generic
// subscribers) or "chatbot" (AWS Chatbot custom-notification JSON, for a topic mapped to a chat
// channel).
const envAlertsFormat = "SESGUARD_ALERTS_FORMAT"

func main() {
	log := fnenv.NewLogger(os.Stderr, "notify")
	cfg, err := fnenv.Load(os.Getenv, fnenv.TaskRoot(os.Getenv), fnenv.EnvAlertsTopicARN)
	if err != nil {
		fnenv.Fatal(log, "notify: cannot start", err)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fnenv.Fatal(log, "notify: cannot start: AWS configuration", err)
	}
	format := alert.Format(os.Getenv(envAlertsFormat))
	switch format {
	case "":
		format = alert.FormatText
	case alert.FormatText, alert.FormatChatbot:
	default:
		fnenv.Fatal(log, "notify: cannot start", fmt.Errorf("%s=%q: want %s or %s", envAlertsFormat, format, alert.FormatText, alert.FormatChatbot))
	}
	topic := &alert.SNSPublisher{Client: sns.NewFromConfig(awsCfg), TopicARN: cfg.AlertsTopicARN, Format: format}
	var dests []alert.Destination
	secret := cfg.SlackSecretARN
	if secret == "" {
		secret = cfg.Policy.Alerts.SlackWebhookSecret
	}
	if secret != "" {
		dests = append(dests, slackDestination(secretsmanager.NewFromConfig(awsCfg), secret, topic, log))
	} else {
		log.Warn("notify: no Slack webhook secret configured; alerting to SNS only")
	}
	dests = append(dests, topic)
	n := &alert.Notifier{Destinations: dests, Logger: log}
	if cfg.Table != "" {
		n.Store = &alert.DynamoStore{Client: dynamodb.NewFromConfig(awsCfg), Table: cfg.Table}
	} else {
		log.Warn("notify: SESGUARD_TABLE not set; alerts are not deduplicated across invocations")
	}
	h := &Handler{Notifier: n, MinSeverity: cfg.Policy.Alerts.MinSeverity, Log: log, Metrics: &emf.Writer{Function: "notify", Out: os.Stdout}}
	log.Info("notify: ready", "policy", cfg.PolicySource, "slack", secret != "", "dedup", n.Store != nil, "sns_format", format)
	lambda.Start(h.Handle)
}
