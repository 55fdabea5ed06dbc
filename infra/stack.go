package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Sesguard is the whole per-account deployment, kept together so tests and nag suppressions can
// reach each part.
type Sesguard struct {
	Stack      awscdk.Stack
	Config     *Config
	Topics     *topics
	Table      awsdynamodb.Table
	Archive    *archive
	Pipeline   *pipeline
	Functions  *functions
	Endpoints  *endpoints // nil when the endpoint mode is none
	Preventive *preventive
	Export     *exporter        // nil unless Security Hub or an event bus is opted in (infra/export.go)
	CloudTrail *cloudTrailInput // SES API calls → ingest; optional trail (infra/cloudtrail.go)
	Reconcile  *reconciliation  // coverage's CloudWatch reconciliation (infra/reconcile.go)
	Interact   *interact        // nil unless the policy names Slack approvers
	Dashboard  *dashboard
	Central    *central    // nil unless -c sesguardRole=central (infra/central.go)
	Sentinels  []*sentinel // one per extra Region of -c sesguardRegions (infra/sentinel.go)
}

// NewSesguardStack builds the stack. It is environment-agnostic (no account/region), so synth
// needs no credentials and no lookups; the account and region come from the deploy credentials.
func NewSesguardStack(scope constructs.Construct, cfg *Config) (*Sesguard, error) {
	stack := awscdk.NewStack(scope, jsii.String(cfg.StackName), &awscdk.StackProps{
		Description: jsii.String("sesguard: SES send monitoring, containment and preventive controls (policy: " + policyLabel(cfg) + ")"),
	})
	s := &Sesguard{Stack: stack, Config: cfg}
	s.Topics = newTopics(stack, "Topics", cfg)
	s.Table = newStateTable(stack, "State")
	s.Archive = newArchive(stack, "Archive", cfg)
	s.Pipeline = newPipeline(stack, "Pipeline", cfg, s.Topics, s.Archive)
	s.Functions = newFunctions(stack, "Functions", cfg, s.Topics, s.Table, s.Pipeline)
	newAlarms(stack, "Alarms", s.Topics, s.Pipeline, s.Functions)
	ec, err := loadExportConfig(func(k string) any { return scope.Node().TryGetContext(&k) })
	if err != nil {
		return nil, err
	}
	s.Export = newExporter(stack, "Export", cfg, s.Topics, ec)
	tc, err := loadTrailConfig(func(k string) any { return scope.Node().TryGetContext(&k) })
	if err != nil {
		return nil, err
	}
	rc, err := loadRegionConfig(func(k string) any { return scope.Node().TryGetContext(&k) }, os.Getenv)
	if err != nil {
		return nil, err
	}
	s.CloudTrail = newCloudTrailInput(stack, "CloudTrail", tc, rc, s.Pipeline, s.Functions, s.Archive.LogBucket)
	s.Reconcile = newReconciliation(stack, "Reconcile", tc, s.Functions, s.Table)
	if len(cfg.Policy.Response.Approvers) > 0 {
		s.Interact = newInteract(stack, "Interact", cfg, s.Topics, s.Table, s.Functions)
	}
	cc, err := loadCentralConfig(func(k string) any { return scope.Node().TryGetContext(&k) })
	if err != nil {
		return nil, err
	}
	if cc.Central {
		s.Central = newCentral(stack, "Central", cfg, s.Topics, s.Archive, cc)
	}
	lag, err := loadLagMinutes(func(k string) any { return scope.Node().TryGetContext(&k) })
	if err != nil {
		return nil, err
	}
	s.Dashboard = newDashboard(stack, "Dashboard", s, lag)
	if cfg.EndpointMode != endpointNone {
		if s.Endpoints, err = newEndpoints(stack, "Endpoints", cfg); err != nil {
			return nil, err
		}
	}
	if s.Preventive, err = newPreventive(stack, "Preventive", cfg, s.Pipeline, s.Functions); err != nil {
		return nil, err
	}
	if un := cfg.Policy.Unresolved(); len(un) > 0 {
		awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("sesguard:unresolved-vpcs"), jsii.String(fmt.Sprintf(
			"VPC ids %s have no CIDR blocks in context %s: detection and the endpoint security group use network.cidrs only",
			strings.Join(un, ", "), ctxVpcCidrs)))
	}

	out := func(id, description string, value *string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
	}
	out("SlackSecretArn", "Put the Slack webhook URL here: aws secretsmanager put-secret-value --secret-id <this> --secret-string https://hooks.slack.com/…", s.Topics.SlackSecret.Ref())
	out("FindingsTopicArn", "Findings and containment results (JSON)", s.Topics.Findings.TopicArn())
	out("AlertsTopicArn", "Human-readable alerts and alarms; subscribe e-mail or AWS Chatbot here", s.Topics.Alerts.TopicArn())
	out("StateTableName", "State table (windows, dedup, containment ledger)", s.Table.TableName())
	out("ArchiveBucketName", "SES event archive (events/YYYY/MM/DD/HH/)", s.Archive.Bucket.BucketName())
	out("AthenaWorkGroup", "Athena workgroup with the saved forensics queries", s.Archive.WorkGroup.Ref())
	if s.Interact != nil {
		out("SlackInteractivityUrl", "The Slack app's Interactivity Request URL (Contain now / Undo buttons)", s.Interact.URL.Url())
		out("SlackSigningSecretArn", "Put the Slack app's Signing Secret here: aws secretsmanager put-secret-value --secret-id <this> --secret-string …", s.Interact.SigningSecret.Ref())
	}
	out("MonitoredConfigurationSets", "Configuration sets publishing to sesguard", jsii.String(strings.Join(cfg.MonitoredConfigSets(), ",")))

	for _, region := range rc.Sentinels {
		s.Sentinels = append(s.Sentinels, newSentinel(scope, cfg, rc.Home, region))
	}
	if len(rc.Sentinels) > 0 {
		out("SentinelRegions", "Regions with a sesguard sentinel stack forwarding here", jsii.String(strings.Join(rc.Sentinels, ",")))
	}

	applyNag(scope, s)
	return s, nil
}

func policyLabel(cfg *Config) string {
	if cfg.PolicyPath == "" {
		return "embedded example"
	}
	return "sesguard.yaml"
}
