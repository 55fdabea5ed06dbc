package main

import (
	"fmt"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/sesguard/sesguard/shared/core/statekeys"
)

// Environment of the interact function only (functions/interact/main.go).
const (
	envSigningSecret = "SESGUARD_SLACK_SIGNING_SECRET_ARN"
	envInteractQueue = "SESGUARD_INTERACT_QUEUE_URL"
)

// Partition-key prefixes of the rows interact may touch (shared/slack/approval.PrefixApproval and
// PrefixReplay; infra imports shared/policy only, so interact_test.go checks they agree).
const (
	approvalKeyPrefix = statekeys.Approval
	replayKeyPrefix   = statekeys.InteractReplay
)

// interactConcurrency bounds the public endpoint: a flood of (unsigned) requests costs at most
// this many concurrent instances, each refusing in microseconds; Slack clicks are a handful a day.
const interactConcurrency = 5

// interact is the Slack interactivity endpoint: the interact function behind a Function URL
// (auth NONE, the Slack signature is the authentication), its signing-secret secret (created
// empty), and the queue that hands approved clicks to respond. Deployed only when the policy
// names Slack approvers (response.approvers).
type interact struct {
	Fn            awslambda.Function
	Role          awsiam.Role
	Policy        awsiam.Policy
	URL           awslambda.FunctionUrl
	SigningSecret awssecretsmanager.CfnSecret
	Queue         queuePair
	Alarms        []awscloudwatch.Alarm
}

func newInteract(scope constructs.Construct, id string, cfg *Config, tp *topics, table awsdynamodb.Table, fns *functions) *interact {
	c := constructs.NewConstruct(scope, jsii.String(id))
	in := &interact{}

	// Created empty like the webhook secret: the signing secret never passes through a template.
	in.SigningSecret = awssecretsmanager.NewCfnSecret(c, jsii.String("SlackSigningSecret"), &awssecretsmanager.CfnSecretProps{
		Name:        jsii.String(cfg.StackName + "/slack-signing-secret"),
		Description: jsii.String("sesguard: the Slack app's Signing Secret (Basic Information page), set with aws secretsmanager put-secret-value"),
	})

	// interact → respond. Visibility 6× respond's timeout (Lambda's advice for SQS sources); one
	// click per batch so a failed click is retried alone.
	in.Queue = newQueuePair(c, "", awscdk.Duration_Seconds(jsii.Number(360)), 3)

	logs := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_YEAR,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	desc := "sesguard interact: Slack interactivity endpoint (verify, authorise, enqueue to respond)"
	in.Role = awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String(desc),
	})
	code, placeholder, codeErr := functionCode(cfg, "interact")
	in.Fn = awslambda.NewFunction(c, jsii.String("Function"), &awslambda.FunctionProps{
		Description:  jsii.String(desc),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         code,
		Role:         in.Role,
		LogGroup:     logs,
		// Slack gives up after 3 s; the handler answers within its own 2.5 s budget.
		Timeout:                      awscdk.Duration_Seconds(jsii.Number(5)),
		MemorySize:                   jsii.Number(128),
		Layers:                       &[]awslambda.ILayerVersion{fns.Layer},
		ReservedConcurrentExecutions: jsii.Number(interactConcurrency),
		LoggingFormat:                awslambda.LoggingFormat_JSON,
		Environment: &map[string]*string{
			envTable:         table.TableName(),
			envPolicy:        jsii.String(bundledPolicyPath),
			envSigningSecret: in.SigningSecret.Ref(),
			envInteractQueue: in.Queue.Queue.QueueUrl(),
		},
	})
	if placeholder {
		fns.Placeholders = append(fns.Placeholders, "interact")
		awscdk.Annotations_Of(in.Fn).AddWarningV2(jsii.String("sesguard:placeholder-code"),
			jsii.String(fmt.Sprintf(placeholderWarning, "interact", filepath.Join(cfg.BuildDir, "interact", "bootstrap"))))
	}
	if codeErr != nil {
		awscdk.Annotations_Of(in.Fn).AddError(jsii.String(codeErr.Error()))
	}

	// Auth NONE: Slack cannot sign SigV4, so anyone may call the URL and the function itself
	// authenticates every request (X-Slack-Signature). CDK adds the two resource-policy
	// statements a new URL needs since October 2025 ("Control access to Lambda function URLs",
	// https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html): lambda:InvokeFunctionUrl for everyone when the auth type is NONE,
	// and lambda:InvokeFunction only for calls made through the URL (lambda:InvokedViaFunctionUrl),
	// so the function cannot be invoked directly; interact_test.go pins both.
	in.URL = in.Fn.AddFunctionUrl(&awslambda.FunctionUrlOptions{AuthType: awslambda.FunctionUrlAuthType_NONE})

	// respond ← approved clicks.
	fns.Fn["respond"].AddEventSource(awslambdaeventsources.NewSqsEventSource(in.Queue.Queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(1),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(2), // the minimum; respond's reserved concurrency is shared with findings
	}))

	stmt := func(sid string, actions []string, resource *string, cond map[string]any) awsiam.PolicyStatement {
		p := &awsiam.PolicyStatementProps{Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: &[]*string{resource}}
		if cond != nil {
			p.Conditions = &cond
		}
		return awsiam.NewPolicyStatement(p)
	}
	// dynamodb:LeadingKeys is the partition key of the item a GetItem/PutItem names; with
	// ForAllValues:StringLike the role reaches only the approval rows and its replay cache,
	// never the ledger, counters or alert dedup rows ("Using IAM policy conditions for
	// fine-grained access control", DynamoDB developer guide,
	// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
	leading := func(prefix string) map[string]any {
		return map[string]any{"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": []string{prefix + "*"}}}
	}
	statements := []awsiam.PolicyStatement{
		stmt("OwnLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, logs.LogGroupArn(), nil),
		stmt("SigningSecret", []string{"secretsmanager:GetSecretValue"}, in.SigningSecret.Ref(), nil),
		stmt("ReadApprovals", []string{"dynamodb:GetItem"}, table.TableArn(), leading(approvalKeyPrefix)),
		stmt("ReplayCache", []string{"dynamodb:PutItem"}, table.TableArn(), leading(replayKeyPrefix)),
		stmt("EnqueueToRespond", []string{"sqs:SendMessage"}, in.Queue.Queue.QueueArn(), nil),
	}
	in.Policy = awsiam.NewPolicy(c, jsii.String("Policy"), &awsiam.PolicyProps{Roles: &[]awsiam.IRole{in.Role}, Statements: &statements})

	action := awscloudwatchactions.NewSnsAction(tp.Alerts)
	five := awscdk.Duration_Minutes(jsii.Number(5))
	alarm := func(name, description string, metric awscloudwatch.IMetric) {
		a := awscloudwatch.NewAlarm(c, jsii.String(name), &awscloudwatch.AlarmProps{
			AlarmDescription: jsii.String("sesguard: " + description), Metric: metric, Threshold: jsii.Number(1), EvaluationPeriods: jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		in.Alarms = append(in.Alarms, a)
	}
	alarm("DLQDepth", "approved Slack clicks that respond could not carry out (interact dead-letter queue)",
		in.Queue.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}))
	alarm("Errors", "interact function errors", in.Fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}))
	alarm("Throttles", "interact function throttles (Slack clicks refused while the endpoint is flooded)",
		in.Fn.MetricThrottles(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}))

	suppress := func(c constructs.IConstruct, id, reason string) {
		cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{{Id: jsii.String(id), Reason: jsii.String(reason)}}, jsii.Bool(true))
	}
	suppress(in.SigningSecret, "AwsSolutions-SMG4",
		"The secret holds the Slack app's Signing Secret, issued by Slack; it is rotated with Slack's Regenerate button, which no rotation Lambda can press.")
	return in
}
