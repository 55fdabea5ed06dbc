package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Context keys of the Region sentinels.
const (
	// ctxRegions: Regions watched besides the home stack's ("us-east-1,eu-central-1" or "all"
	// for sesRegions). Each gets a sentinel stack forwarding to the home Region's default bus.
	ctxRegions = "sesguardRegions"
	// ctxHomeRegion: the home stack's Region, default CDK_DEFAULT_REGION (which `cdk deploy`
	// sets from the deploy credentials). Needed only with ctxRegions: the sentinels must name
	// the home bus.
	ctxHomeRegion = "sesguardHomeRegion"
)

// stateAllManagement is the rule state under which EventBridge also delivers read-only
// CloudTrail management events ("Receiving read-only management events from AWS services",
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail-management.html).
// With the default ENABLED, GetSendQuota, GetAccount, ListIdentities — an attacker's recon —
// never reach ingest.
const stateAllManagement = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"

// withReadOnlyEvents sets stateAllManagement on a rule whose pattern is CloudTrail API calls.
func withReadOnlyEvents(r awsevents.Rule) awsevents.Rule {
	r.Node().DefaultChild().(awsevents.CfnRule).SetState(jsii.String(stateAllManagement))
	return r
}

// sesCallsPattern: every SES API call CloudTrail records. Every SES call is judged
// (api.outside_approved), so the pattern is the event source; SES's read-only calls are not the
// high-volume kind (KMS Describe*, IAM Get*).
func sesCallsPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.ses"),
		DetailType: jsii.Strings("AWS API Call via CloudTrail"),
		Detail:     &map[string]any{"eventSource": []string{"ses.amazonaws.com"}},
	}
}

// globalCallNames are the IAM, STS and Support calls of the published SES playbooks
// (attacker-playbooks.md) and AWS's quarantine of an exposed key; listing them keeps IAM's
// high-volume read-only traffic (GetRole, GetPolicy) off the bus and off the bill.
var globalCallNames = []string{
	// AWS attaching its quarantine policy; persistence (Legion, DangerDev, Wiz).
	"AttachUserPolicy", "PutUserPolicy", "CreateUser", "CreateLoginProfile", "CreateAccessKey",
	"UpdateAccessKey", "CreateGroup", "AddUserToGroup", "AttachGroupPolicy", "PutGroupPolicy",
	"CreatePolicy", "CreateRole", "UpdateAssumeRolePolicy", "DeleteUserPolicy", "DetachUserPolicy",
	// Key validation (TruffleHog) and sessions that outlive a deactivated key (CrowdStrike).
	"GetCallerIdentity", "GetFederationToken", "GetSessionToken",
	// Support cases asking for a higher sending limit (Wiz, DangerDev).
	"CreateCase", "AddCommunicationToCase",
}

func globalCallsPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.iam", "aws.sts", "aws.support"),
		DetailType: jsii.Strings("AWS API Call via CloudTrail"),
		Detail: &map[string]any{
			"eventSource": []string{"iam.amazonaws.com", "sts.amazonaws.com", "support.amazonaws.com"},
			"eventName":   globalCallNames,
		},
	}
}

// healthRiskCodes are AWS Health's exposed/compromised credential event types.
var healthRiskCodes = []string{
	"AWS_RISK_CREDENTIALS_EXPOSED", "AWS_RISK_CREDENTIALS_COMPROMISED",
	"AWS_RISK_CREDENTIALS_EXPOSURE_SUSPECTED", "AWS_RISK_CREDENTIALS_COMPROMISE_SUSPECTED",
}

func healthPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.health"),
		DetailType: jsii.Strings("AWS Health Event"),
		Detail:     &map[string]any{"eventTypeCode": healthRiskCodes},
	}
}

// sesStatusPattern: SES pausing or resuming sending (account or configuration set), published
// by SES itself ("Amazon Simple Email Service events", events-ref-ses).
func sesStatusPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.ses"),
		DetailType: jsii.Strings("Sending Status Disabled", "Sending Status Enabled"),
	}
}

// watchRule is one rule of a Region's watch: id, description, pattern, and whether it matches
// CloudTrail API calls (then it needs stateAllManagement).
type watchRule struct {
	id, what   string
	pattern    *awsevents.EventPattern
	cloudTrail bool
}

// watchRules are the rules a Region needs: SES calls and SES status everywhere, and in
// us-east-1 (or where the Region is not known at synth) the global services and AWS Health.
func watchRules(region string) []watchRule {
	rules := []watchRule{
		{"SesApiCallsRule", "SES API calls recorded by CloudTrail", sesCallsPattern(), true},
		{"SesSendingStatusRule", "SES Sending Status Disabled/Enabled", sesStatusPattern(), false},
	}
	if region == "" || region == globalRegion {
		rules = append(rules,
			watchRule{"GlobalApiCallsRule", "IAM, STS and Support API calls recorded by CloudTrail (us-east-1)", globalCallsPattern(), true},
			watchRule{"HealthRiskRule", "AWS Health exposed/compromised credential events", healthPattern(), false})
	}
	return rules
}

// regionConfig is the Region part of the context.
type regionConfig struct {
	Home      string   // home stack's Region; "" when no sentinel is asked for and none is known
	Sentinels []string // Regions that get a sentinel stack (never Home), sorted
}

// loadRegionConfig reads ctxRegions and the home Region; errors name the key.
func loadRegionConfig(get func(string) any, getenv func(string) string) (regionConfig, error) {
	r := &contextReader{get: get}
	var rc regionConfig
	rc.Home = r.str(ctxHomeRegion, strings.TrimSpace(getenv("CDK_DEFAULT_REGION")))
	asked := r.list(ctxRegions)
	if len(r.errs) > 0 {
		return rc, r.errs[0]
	}
	if len(asked) == 1 && asked[0] == "all" {
		asked = sesRegions()
	}
	if len(asked) == 0 {
		return rc, nil
	}
	if rc.Home == "" {
		return rc, fmt.Errorf("context %s needs the home Region: deploy with cdk (it sets CDK_DEFAULT_REGION) or set -c %s", ctxRegions, ctxHomeRegion)
	}
	if !slices.Contains(sesRegions(), rc.Home) {
		return rc, fmt.Errorf("context %s: home Region %q is not a commercial SES Region (shared/engine/coverage.SESRegions)", ctxHomeRegion, rc.Home)
	}
	for _, reg := range asked {
		if !slices.Contains(sesRegions(), reg) {
			return rc, fmt.Errorf("context %s: %q is not a commercial SES Region (shared/engine/coverage.SESRegions lists them)", ctxRegions, reg)
		}
		if reg != rc.Home && !slices.Contains(rc.Sentinels, reg) {
			rc.Sentinels = append(rc.Sentinels, reg)
		}
	}
	slices.Sort(rc.Sentinels)
	return rc, nil
}

// sentinel is the stack of one extra Region: rules forwarding to the home Region's default bus.
type sentinel struct {
	Region string
	Stack  awscdk.Stack
	Rules  []awsevents.Rule
	Role   awsiam.Role
	DLQ    awssqs.Queue
}

// sentinelStackName is the CloudFormation name of the sentinel in region.
func sentinelStackName(cfg *Config, region string) string {
	return cfg.StackName + "-sentinel-" + region
}

// newSentinel builds the sentinel stack for region. Its Region is fixed (the rules must live
// there); the account is the deploy account (CDK_DEFAULT_ACCOUNT when set, else resolved at
// deploy). The home bus ARN uses this stack's own account: cross-Region delivery within one
// account needs no bus policy, only the role ("Sending and receiving events between AWS
// Regions", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-region.html).
func newSentinel(scope constructs.Construct, cfg *Config, home, region string) *sentinel {
	env := &awscdk.Environment{Region: jsii.String(region)}
	if acct := strings.TrimSpace(os.Getenv("CDK_DEFAULT_ACCOUNT")); acct != "" {
		env.Account = jsii.String(acct)
	}
	stack := awscdk.NewStack(scope, jsii.String(sentinelStackName(cfg, region)), &awscdk.StackProps{
		Env:         env,
		Description: jsii.String(fmt.Sprintf("sesguard Region sentinel: %s events forwarded to the home Region %s", region, home)),
	})
	s := &sentinel{Region: region, Stack: stack}
	homeBus := awsevents.EventBus_FromEventBusArn(stack, jsii.String("HomeBus"), awscdk.Fn_Sub(
		jsii.String("arn:${AWS::Partition}:events:"+home+":${AWS::AccountId}:event-bus/default"), nil))
	s.Role = awsiam.NewRole(stack, jsii.String("ForwardRole"), &awsiam.RoleProps{
		Description: jsii.String("sesguard sentinel: EventBridge puts this Region's events on the home Region's default bus"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}},
		}),
	})
	// Events the home bus refused after EventBridge's retries (24 hours, 185 attempts: the
	// retry policy of an event bus target cannot be changed) are kept here for 14 days.
	s.DLQ = awssqs.NewQueue(stack, jsii.String("ForwardDLQ"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	for _, w := range watchRules(region) {
		rule := awsevents.NewRule(stack, jsii.String(w.id), &awsevents.RuleProps{
			Description:  jsii.String("sesguard sentinel: " + w.what + " → home Region " + home),
			EventPattern: w.pattern,
		})
		rule.AddTarget(awseventstargets.NewEventBus(homeBus, &awseventstargets.EventBusProps{Role: s.Role, DeadLetterQueue: s.DLQ}))
		if w.cloudTrail {
			withReadOnlyEvents(rule)
		}
		s.Rules = append(s.Rules, rule)
	}
	awscdk.NewCfnOutput(stack, jsii.String("SentinelHomeRegion"), &awscdk.CfnOutputProps{
		Value:       jsii.String(home),
		Description: jsii.String("The Region whose default bus this sentinel forwards to"),
	})
	return s
}
