package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// customResourceProviderID is the construct id of the singleton Lambda behind AwsCustomResource.
const customResourceProviderID = "AWS679f53fac002430cb0da5b7982bd2287"

// IAM5 finding strings for the ARNs built by iamArn.
const (
	nagAnyUser = "Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:user/*"
	nagAnyRole = "Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*"
	nagAny     = "Resource::*"
)

// applyNag runs the cdk-nag AwsSolutions pack over the app. Every suppression names the rule,
// the exact finding it accepts (appliesTo) where the rule is granular, and why; the tests fail on
// any unsuppressed error.
func applyNag(scope constructs.Construct, s *Sesguard) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)

	suppress := func(c constructs.IConstruct, id, reason string, appliesTo ...any) {
		sup := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
		if len(appliesTo) > 0 {
			sup.AppliesTo = &appliesTo
		}
		cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{sup}, jsii.Bool(true))
	}

	suppress(s.Topics.SlackSecret, "AwsSolutions-SMG4",
		"The secret holds a Slack incoming-webhook URL issued by Slack; it is rotated by re-issuing the webhook in Slack, which no rotation Lambda can do.")
	suppress(s.Archive.FirehosePolicy, "AwsSolutions-IAM5",
		"Firehose writes objects with generated names under its own two prefixes only (events/ and errors/); object ARNs need the wildcard.",
		cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<ArchiveBucket[0-9A-F]+\.Arn>\/(events|errors)\/\*$/g`)})
	suppress(s.Functions.CoverageDLQ, "AwsSolutions-SQS3",
		"This queue is itself a dead-letter queue: of the coverage function's EventBridge targets (rule target DLQ), which cdk-nag does not recognise as a redrive source.")
	suppress(s.Functions.Policies["ingest"], "AwsSolutions-IAM5",
		"Attribution reads (GetUser, ListAccessKeys, GetAccessKeyLastUsed, GetRole, List*UserPolicies) must work for whichever principal sent the mail, unknown at deploy time; read-only.",
		nagAnyUser, nagAnyRole)
	respond := []any{nagAnyUser, nagAnyRole}
	if usesActionPauseAccount(s.Config) {
		respond = append(respond, nagAny)
	}
	if usesAction(s.Config.Policy, "pause_configuration_set") || usesAction(s.Config.Policy, "tighten_identity_policy") {
		respond = append(respond, "Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*")
	}
	if usesAction(s.Config.Policy, "pause_configuration_set") {
		respond = append(respond, "Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:configuration-set/*")
	}
	suppress(s.Functions.Policies["respond"], "AwsSolutions-IAM5",
		"Containment targets whichever principal a finding names, unknown at deploy time; an explicit Deny statement in the same policy excludes the protected principals and sesguard's own roles. ses:PutAccountSendingAttributes/GetAccount (only when the policy uses pause_account) have no resource-level permissions. ses:GetEmailIdentity / GetEmailIdentityPolicies on every identity (only with pause_configuration_set / tighten_identity_policy) are the plan's reads of whichever identity a finding names, as is ses:GetConfigurationSet on every set; the writes are on the policy's literal identities and sets only.",
		respond...)
	suppress(s.Functions.Policies["coverage"], "AwsSolutions-IAM5",
		"ses:ListEmailIdentities, ses:ListConfigurationSets, ec2:DescribeRegions and events:ListRules (the Region sentinel check, every enabled Region) support no resource-level permissions; the two Get calls are reads over every identity and set in the account, which is what a coverage check is.",
		nagAny,
		"Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*",
		"Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:configuration-set/*")
	if s.Preventive.SenderPolicy != nil {
		suppress(s.Preventive.SenderPolicy, "AwsSolutions-IAM5",
			"Seed shape 000/003: ses:SendRawEmail on any identity but only with aws:SourceVpc in the approved VPCs (or aws:SourceIp in approved public ranges); the identity policies restrict the identity side.",
			nagAny)
	}
	if g := s.Preventive.Guard; g != nil && len(s.Preventive.DefaultSets) > 0 {
		suppress(g.Policy, "AwsSolutions-IAM5",
			"identityguard puts back the identity's previous default configuration set on delete, which may be any set of the account; the identity side of ses:PutEmailIdentityConfigurationSetAttributes is limited to the policy's literal identities.",
			"Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:configuration-set/*")
	}
	for _, sn := range s.Sentinels {
		suppress(sn.DLQ, "AwsSolutions-SQS3",
			"This queue is itself a dead-letter queue: of the sentinel rules' cross-Region event bus targets, which cdk-nag does not recognise as a redrive source.")
	}
	if provider := s.Stack.Node().TryFindChild(jsii.String(customResourceProviderID)); provider != nil {
		suppress(provider, "AwsSolutions-IAM4",
			"The AwsCustomResource provider (CDK-managed singleton) uses AWSLambdaBasicExecutionRole for its own logs only; its SDK calls are granted per resource by explicit statements.",
			"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
	}
}

func usesActionPauseAccount(cfg *Config) bool { return usesAction(cfg.Policy, "pause_account") }
