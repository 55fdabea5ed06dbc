package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Opt-in context keys of the export function (functions/export).
const (
	ctxSecurityHub   = "sesguardSecurityHub"   // true: import findings into this account's Security Hub
	ctxEventBus      = "sesguardEventBus"      // "default", a bus name or a bus ARN: put findings there as events
	ctxCentralBusArn = "sesguardCentralBusArn" // a central security account's bus: forward findings there
)

// Environment of the export function (functions/export/main.go).
const (
	envSecurityHub = "SESGUARD_SECURITY_HUB"
	envEventBus    = "SESGUARD_EVENT_BUS"
	envAccountID   = "SESGUARD_ACCOUNT_ID"
)

// exportConfig is the export function's part of the context.
type exportConfig struct {
	SecurityHub bool
	// Bus is "" (no events), "default", a name in this account, or an ARN (possibly another
	// account's, for the central bus).
	Bus string
	// Lake is the Security Lake custom source (infra/securitylake.go); zero when not opted in.
	Lake lakeConfig
}

func (e exportConfig) enabled() bool { return e.SecurityHub || e.Bus != "" || e.Lake.enabled() }

var busARN = regexp.MustCompile(`^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/[A-Za-z0-9._\-/]+$`)
var busName = regexp.MustCompile(`^[A-Za-z0-9._\-]{1,256}$`)

// loadExportConfig reads the opt-in keys; errors name the key.
func loadExportConfig(get func(string) any) (exportConfig, error) {
	r := &contextReader{get: get}
	e := exportConfig{SecurityHub: r.boolean(ctxSecurityHub, false)}
	bus, central := r.str(ctxEventBus, ""), r.str(ctxCentralBusArn, "")
	switch {
	case bus != "" && central != "":
		r.errs = append(r.errs, fmt.Errorf("context %s and %s: give one (the export function puts events on one bus)", ctxEventBus, ctxCentralBusArn))
	case central != "":
		if !busARN.MatchString(central) {
			r.errs = append(r.errs, fmt.Errorf("context %s=%q: want an event bus ARN (arn:aws:events:<region>:<account>:event-bus/<name>)", ctxCentralBusArn, central))
		}
		e.Bus = central
	case bus != "":
		if bus != "default" && !busARN.MatchString(bus) && !busName.MatchString(bus) {
			r.errs = append(r.errs, fmt.Errorf("context %s=%q: want default, a bus name or a bus ARN", ctxEventBus, bus))
		}
		e.Bus = bus
	}
	e.Lake = loadLakeConfig(r)
	if len(r.errs) > 0 {
		return e, r.errs[0]
	}
	return e, nil
}

// busResource is the ARN events:PutEvents is granted on.
func (e exportConfig) busResource() *string {
	switch {
	case strings.HasPrefix(e.Bus, "arn:"):
		return jsii.String(e.Bus)
	case e.Bus == "default":
		return awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"), nil)
	}
	return awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/"+e.Bus), nil)
}

// exporter is the export Lambda with its own queue on the findings topic and its own role.
type exporter struct {
	Lake   *securityLake // nil unless the Security Lake custom source is opted in
	Fn     awslambda.Function
	Role   awsiam.Role
	Policy awsiam.Policy
	Queue  queuePair
}

// newExporter adds the export function when the context opts in (nil otherwise). It is a
// separate function so notify keeps only its secret and topic, and this role holds only the
// Security Hub / EventBridge calls.
func newExporter(scope constructs.Construct, id string, cfg *Config, tp *topics, ec exportConfig) *exporter {
	if !ec.enabled() {
		return nil
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	x := &exporter{}
	logs := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_YEAR,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	const description = "sesguard export: findings and containment results to Security Hub and EventBridge"
	x.Role = awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String(description),
	})
	code, placeholder, codeErr := functionCode(cfg, "export")
	env := map[string]*string{
		envSecurityHub: jsii.String(fmt.Sprint(ec.SecurityHub)),
		envAccountID:   awscdk.Aws_ACCOUNT_ID(),
	}
	if ec.Bus != "" {
		env[envEventBus] = jsii.String(ec.Bus)
	}
	if ec.Lake.enabled() {
		x.Lake = newSecurityLake(c, "SecurityLake", ec.Lake)
		env[envSecurityLake] = x.Lake.Stream.Ref()
	}
	x.Fn = awslambda.NewFunction(c, jsii.String("Function"), &awslambda.FunctionProps{
		Description:   jsii.String(description),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          code,
		Role:          x.Role,
		LogGroup:      logs,
		Timeout:       awscdk.Duration_Seconds(jsii.Number(30)),
		MemorySize:    jsii.Number(128),
		Environment:   &env,
		LoggingFormat: awslambda.LoggingFormat_JSON,
	})
	if placeholder {
		awscdk.Annotations_Of(x.Fn).AddWarningV2(jsii.String("sesguard:placeholder-code"),
			jsii.String(fmt.Sprintf(placeholderWarning, "export", cfg.BuildDir+"/export/bootstrap")))
	}
	if codeErr != nil {
		awscdk.Annotations_Of(x.Fn).AddError(jsii.String(codeErr.Error()))
	}

	// export ← findings and containment results, raw delivery, its own queue and DLQ.
	x.Queue = newQueuePair(c, "", awscdk.Duration_Seconds(jsii.Number(180)), 5)
	tp.Findings.AddSubscription(awssnssubscriptions.NewSqsSubscription(x.Queue.Queue, &awssnssubscriptions.SqsSubscriptionProps{
		RawMessageDelivery: jsii.Bool(true),
		DeadLetterQueue:    x.Queue.DLQ,
	}))
	x.Fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(x.Queue.Queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(10),
		MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(5)),
		ReportBatchItemFailures: jsii.Bool(true),
	}))

	stmts := []awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("OwnLogs"), Actions: jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"), Resources: &[]*string{logs.LogGroupArn()},
	})}
	if ec.SecurityHub {
		// BatchImportFindings is authorized on the product the findings are imported under (this
		// account's default product), BatchUpdateFindings on the account's hub.
		stmts = append(stmts,
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String("ImportFindings"), Actions: jsii.Strings("securityhub:BatchImportFindings"),
				Resources: &[]*string{awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:product/${AWS::AccountId}/default"), nil)}}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String("UpdateFindings"), Actions: jsii.Strings("securityhub:BatchUpdateFindings"),
				Resources: &[]*string{awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:hub/default"), nil)}}),
		)
	}
	if ec.Bus != "" {
		stmts = append(stmts, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String("PutEvents"), Actions: jsii.Strings("events:PutEvents"),
			Resources: &[]*string{ec.busResource()}}))
	}
	if x.Lake != nil {
		stmts = append(stmts, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String("PutLakeRecords"), Actions: jsii.Strings("firehose:PutRecordBatch"),
			Resources: &[]*string{x.Lake.Stream.AttrArn()}}))
	}
	x.Policy = attach(c, "Policy", x.Role, stmts)

	five := awscdk.Duration_Minutes(jsii.Number(5))
	for name, m := range map[string]awscloudwatch.IMetric{
		"DLQDepth": x.Queue.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}),
		"Errors":   x.Fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}),
	} {
		a := awscloudwatch.NewAlarm(c, jsii.String(name), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String("sesguard: export " + map[string]string{"DLQDepth": "dead-letter queue has messages (findings not delivered to Security Hub/EventBridge)", "Errors": "function errors"}[name]),
			Metric:             m,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(tp.Alerts))
	}
	awscdk.NewCfnOutput(scope, jsii.String("ExportDestinations"), &awscdk.CfnOutputProps{
		Value:       jsii.String(fmt.Sprintf("securityhub=%t eventbus=%s securitylake=%s", ec.SecurityHub, ec.Bus, lakeOutput(ec.Lake))),
		Description: jsii.String("Where the export function sends findings and containment results"),
	})
	return x
}

func lakeOutput(l lakeConfig) string {
	if !l.enabled() {
		return "-"
	}
	return "s3://" + l.Bucket + "/" + l.Prefix
}
