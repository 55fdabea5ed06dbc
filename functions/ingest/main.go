// Command ingest is the sesguard detection Lambda. It accepts SES event-publishing records from
// SQS (EventBridge or SNS bodies), SNS, EventBridge, Kinesis and Firehose (as a transformation),
// attributes each send to an IAM principal, runs the policy's rules with DynamoDB-backed windows
// and dedup, and publishes findings to the findings topic.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/functions/internal/topic"
	"github.com/sesguard/sesguard/shared/engine/attribute"
	"github.com/sesguard/sesguard/shared/engine/contain"
	"github.com/sesguard/sesguard/shared/engine/detect"
	"github.com/sesguard/sesguard/shared/render/emf"
)

func main() {
	log := fnenv.NewLogger(os.Stderr, "ingest")
	cfg, err := fnenv.Load(os.Getenv, fnenv.TaskRoot(os.Getenv), fnenv.EnvTable, fnenv.EnvFindingsTopicARN)
	if err != nil {
		fnenv.Fatal(log, "ingest: cannot start", err)
	}
	if un := cfg.Policy.Unresolved(); len(un) > 0 {
		// No EC2 client here (binary size, least privilege): VPC blocks come from the deploy.
		log.Warn("ingest: VPC ids without CIDR blocks in SESGUARD_VPC_CIDRS; sends from them count as outside the approved networks", "vpcs", un)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fnenv.Fatal(log, "ingest: cannot start: AWS configuration", err)
	}
	ddb := dynamodb.NewFromConfig(awsCfg)
	iamc := iam.NewFromConfig(awsCfg)
	attr := attribute.New(iamc, attribute.WithLogger(log))
	opts := []detect.Option{detect.WithAttributor(attr), detect.WithLogger(log)}
	join, err := sendDataEvents(os.Getenv)
	if err != nil {
		fnenv.Fatal(log, "ingest: cannot start", err)
	}
	if join {
		opts = append(opts, detect.WithAPISendJoin())
	}
	det, err := detect.New(cfg.Policy, detect.NewDynamoState(ddb, cfg.Table), opts...)
	if err != nil {
		fnenv.Fatal(log, "ingest: cannot start", err)
	}
	h := &Handler{
		Detector:   det,
		Publisher:  topic.New(sns.NewFromConfig(awsCfg), cfg.FindingsTopicARN),
		Outbox:     &DynamoOutbox{API: ddb, Table: cfg.Table},
		Attributor: attr,
		KeyOwner:   IAMKeyOwner{API: iamc},
		Network:    cfg.Policy,
		Log:        log,
		Metrics:    &emf.Writer{Function: "ingest", Out: os.Stdout},
	}
	planCfg := contain.ConfigFromPolicy(cfg.Policy)
	planCfg.Mode = cfg.Mode
	h.Plan = &planCfg
	log.Info("ingest: ready", "policy", cfg.PolicySource, "mode", cfg.Mode, "table", cfg.Table)
	lambda.Start(h.Handle)
}

// envSendDataEvents is set by the CDK app with -c sesguardSendDataEvents=true: Send events are
// then joined to their API call's CloudTrail data event (exact key, VPC endpoint).
const envSendDataEvents = "SESGUARD_SEND_DATA_EVENTS"

func sendDataEvents(getenv func(string) string) (bool, error) {
	v := getenv(envSendDataEvents)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want true or false", envSendDataEvents, v)
	}
	return b, nil
}
