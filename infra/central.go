package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/sesguard/sesguard/shared/deliver/export"
)

// Central security account mode (-c sesguardRole=central).
const (
	ctxRole           = "sesguardRole"           // member (default) | central
	ctxMemberAccounts = "sesguardMemberAccounts" // account ids admitted to the central bus
	ctxOrganizationID = "sesguardOrganizationId" // or: every account of this AWS Organization
)

const (
	roleMember  = "member"
	roleCentral = "central"
)

// centralConfig is who may put events on the central bus.
type centralConfig struct {
	Central  bool
	Accounts []string
	OrgID    string
}

var (
	memberAccountID = regexp.MustCompile(`^\d{12}$`)
	memberOrgID     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
)

func loadCentralConfig(get func(string) any) (centralConfig, error) {
	r := &contextReader{get: get}
	var c centralConfig
	switch role := r.str(ctxRole, roleMember); role {
	case roleMember:
	case roleCentral:
		c.Central = true
	default:
		return c, fmt.Errorf("context %s=%q: want %s or %s", ctxRole, role, roleMember, roleCentral)
	}
	c.Accounts = r.list(ctxMemberAccounts)
	c.OrgID = r.str(ctxOrganizationID, "")
	if len(r.errs) > 0 {
		return c, r.errs[0]
	}
	if !c.Central {
		if len(c.Accounts) > 0 || c.OrgID != "" {
			return c, fmt.Errorf("context %s / %s are for -c %s=%s", ctxMemberAccounts, ctxOrganizationID, ctxRole, roleCentral)
		}
		return c, nil
	}
	for _, a := range c.Accounts {
		if !memberAccountID.MatchString(a) {
			return c, fmt.Errorf("context %s: %q is not a 12-digit account id", ctxMemberAccounts, a)
		}
	}
	if c.OrgID != "" && !memberOrgID.MatchString(c.OrgID) {
		return c, fmt.Errorf("context %s=%q: want an AWS Organizations id (o-…)", ctxOrganizationID, c.OrgID)
	}
	if len(c.Accounts) == 0 && c.OrgID == "" {
		return c, fmt.Errorf("-c %s=%s needs the members: -c %s=111111111111,222222222222 and/or -c %s=o-…", ctxRole, roleCentral, ctxMemberAccounts, ctxOrganizationID)
	}
	return c, nil
}

// central is the security account's bus and the rule that feeds member findings and results
// into this stack's findings topic, where notify (Slack/SNS) and export pick them up exactly as
// local ones. respond never sees them: its subscription filters on message attributes the
// forwarded messages do not carry, so the central account never contains a member's principal.
type central struct {
	Bus      awsevents.EventBus
	Policies []awsevents.CfnEventBusPolicy
	Rule     awsevents.CfnRule
	DLQ      awssqs.Queue
	Archive  *centralArchive
}

func newCentral(scope constructs.Construct, id string, cfg *Config, tp *topics, ar *archive, cc centralConfig) *central {
	c := constructs.NewConstruct(scope, jsii.String(id))
	x := &central{}
	x.Bus = awsevents.NewEventBus(c, jsii.String("Bus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(strings.ToLower(cfg.StackName) + "-central"),
		Description:  jsii.String("sesguard: findings and containment results from member accounts"),
	})
	// Members may put only sesguard's own events (events:source) on this one bus.
	allow := func(sid string, principal any, cond map[string]any) {
		cond["StringEquals"].(map[string]any)["events:source"] = export.Source
		x.Policies = append(x.Policies, awsevents.NewCfnEventBusPolicy(c, jsii.String(sid), &awsevents.CfnEventBusPolicyProps{
			EventBusName: x.Bus.EventBusName(),
			StatementId:  jsii.String("sesguard-" + strings.ToLower(sid)),
			Statement: map[string]any{
				"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": "events:PutEvents",
				"Resource": x.Bus.EventBusArn(), "Condition": cond,
			},
		}))
	}
	if len(cc.Accounts) > 0 {
		var arns []any
		for _, a := range cc.Accounts {
			arns = append(arns, awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:iam::"+a+":root"), nil))
		}
		allow("MemberAccounts", map[string]any{"AWS": arns}, map[string]any{"StringEquals": map[string]any{}})
	}
	if cc.OrgID != "" {
		allow("MemberOrganization", "*", map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": cc.OrgID}})
	}

	// The rule's dead-letter queue: events EventBridge could not deliver after its retries.
	x.DLQ = awssqs.NewQueue(c, jsii.String("DLQ"), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_SQS_MANAGED, EnforceSSL: jsii.Bool(true), RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(x.DLQ, &[]*cdknag.NagPackSuppression{{Id: jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself a dead-letter queue: of the central bus rule's target (rule target DLQ), which cdk-nag does not recognise as a redrive source.")}}, jsii.Bool(true))
	// L1 rule, so every grant below is written here with its condition (the L2 SNS target adds an
	// unconditioned topic and key grant for events.amazonaws.com).
	var archiveTarget *awsevents.CfnRule_TargetProperty
	x.Archive, archiveTarget = newCentralArchive(c, ar)
	archiveTarget.DeadLetterConfig = &awsevents.CfnRule_DeadLetterConfigProperty{Arn: x.DLQ.QueueArn()}
	x.Rule = awsevents.NewCfnRule(c, jsii.String("Members"), &awsevents.CfnRuleProps{
		Description:  jsii.String("sesguard: member findings and results into the findings topic (detail = the v1 JSON)"),
		EventBusName: x.Bus.EventBusName(),
		EventPattern: map[string]any{"source": []string{export.Source}, "detail-type": []string{export.DetailTypeFinding, export.DetailTypeResult}},
		State:        jsii.String("ENABLED"),
		Targets: &[]any{&awsevents.CfnRule_TargetProperty{
			Id: jsii.String("FindingsTopic"), Arn: tp.Findings.TopicArn(), InputPath: jsii.String("$.detail"),
			DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: x.DLQ.QueueArn()},
			RetryPolicy:      &awsevents.CfnRule_RetryPolicyProperty{MaximumRetryAttempts: jsii.Number(8), MaximumEventAgeInSeconds: jsii.Number(86400)},
		}, archiveTarget},
	})
	events := []awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)}
	fromRule := &map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": x.Rule.AttrArn()}}
	tp.Findings.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("CentralBusRule"), Principals: &events, Actions: jsii.Strings("sns:Publish"),
		Resources: &[]*string{tp.Findings.TopicArn()}, Conditions: fromRule,
	}))
	x.DLQ.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("CentralBusRuleDLQ"), Principals: &events, Actions: jsii.Strings("sqs:SendMessage"),
		Resources: &[]*string{x.DLQ.QueueArn()}, Conditions: fromRule,
	}))
	// The findings topic is KMS-encrypted: EventBridge publishes only with the key's permission.
	tp.Key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowPublishFromEventBridge"),
		Principals: &events,
		Actions:    jsii.Strings("kms:GenerateDataKey*", "kms:Decrypt"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}},
	}), jsii.Bool(false))
	a := awscloudwatch.NewAlarm(c, jsii.String("DLQDepth"), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String("sesguard: central bus could not deliver member findings to the findings topic"),
		Metric:             x.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum")}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	a.AddAlarmAction(awscloudwatchactions.NewSnsAction(tp.Alerts))
	awscdk.NewCfnOutput(scope, jsii.String("CentralBusArn"), &awscdk.CfnOutputProps{
		Value:       x.Bus.EventBusArn(),
		Description: jsii.String("Give this to every member: cdk deploy -c sesguardCentralBusArn=<this>"),
	})
	return x
}
