package main

import (
	"crypto/sha256"
	"debug/elf"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/policy"
)

// Environment variables the functions read (functions/<name>/main.go).
const (
	envTable          = "SESGUARD_TABLE"
	envFindingsTopic  = "SESGUARD_FINDINGS_TOPIC_ARN"
	envAlertsTopic    = "SESGUARD_ALERTS_TOPIC_ARN"
	envSlackSecret    = "SESGUARD_SLACK_SECRET_ARN"
	envMode           = "SESGUARD_MODE"
	envPolicy         = "SESGUARD_POLICY"
	envAlertsFormat   = "SESGUARD_ALERTS_FORMAT"      // notify only
	bundledPolicyPath = "/opt/sesguard/sesguard.yaml" // where the policy layer mounts the file
)

// placeholderWarning is attached to every function synthesized without its binary.
const placeholderWarning = "sesguard: %s has no binary at %s; a placeholder that fails every invocation is deployed. Run `go run ./cmd/build` before `cdk deploy`."

// functions are the four Lambdas, their roles and the queues feeding respond and notify.
type functions struct {
	Fn    map[string]awslambda.Function
	Roles map[string]awsiam.Role
	// Policies are the explicit least-privilege policies, by function name.
	Policies map[string]awsiam.Policy
	Respond  queuePair
	Notify   queuePair
	// CoverageDLQ receives coverage invocations EventBridge could not deliver (rule target DLQ)
	// and those that failed after Lambda's async retries (function DLQ).
	CoverageDLQ awssqs.Queue
	// Placeholders lists the functions deployed without a real binary.
	Placeholders []string
	// Layer holds the policy file (also mounted by functions added outside this construct).
	Layer awslambda.LayerVersion
}

type fnSpec struct {
	name        string
	description string
	timeout     float64 // seconds
	memory      float64
}

var fnSpecs = []fnSpec{
	{"ingest", "decode SES events, attribute, detect, publish findings", ingestFnTimeoutS, 256},
	{"respond", "contain actionable findings (dry-run or enforce), record the ledger", 60, 256},
	{"notify", "announce findings and containment results to Slack and the alerts topic", 30, 128},
	{"coverage", "check every identity and configuration set is monitored", 120, 256},
}

func newFunctions(scope constructs.Construct, id string, cfg *Config, tp *topics, table awsdynamodb.Table, pl *pipeline) *functions {
	c := constructs.NewConstruct(scope, jsii.String(id))
	f := &functions{Fn: map[string]awslambda.Function{}, Roles: map[string]awsiam.Role{}, Policies: map[string]awsiam.Policy{}}

	layer := awslambda.NewLayerVersion(c, jsii.String("PolicyLayer"), &awslambda.LayerVersionProps{
		Code:                    awslambda.Code_FromAsset(jsii.String(policyLayerDir(cfg)), nil),
		CompatibleArchitectures: &[]awslambda.Architecture{awslambda.Architecture_ARM_64()},
		CompatibleRuntimes:      &[]awslambda.Runtime{awslambda.Runtime_PROVIDED_AL2023()},
		Description:             jsii.String("sesguard policy file, mounted at " + bundledPolicyPath),
		RemovalPolicy:           awscdk.RemovalPolicy_RETAIN,
	})
	f.Layer = layer

	env := map[string]*string{
		envTable:         table.TableName(),
		envFindingsTopic: tp.Findings.TopicArn(),
		envAlertsTopic:   tp.Alerts.TopicArn(),
		envSlackSecret:   tp.SlackSecret.Ref(),
		envMode:          jsii.String(cfg.ResponseMode),
		envPolicy:        jsii.String(bundledPolicyPath),
	}
	if len(cfg.VpcCIDRs) > 0 {
		env[policy.EnvVPCCIDRs] = jsii.String(policy.FormatVPCCIDRs(cfg.VpcCIDRs))
	}

	// coverage is invoked asynchronously by EventBridge: its DLQ takes both the events EventBridge
	// could not deliver (rule target DLQ) and the invocations that failed after Lambda's own
	// retries (function DLQ), so a failing check shows up in the DLQ alarm, not only in Errors.
	f.CoverageDLQ = awssqs.NewQueue(c, jsii.String("CoverageDLQ"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})

	for _, s := range fnSpecs {
		logs := awslogs.NewLogGroup(c, jsii.String(title(s.name)+"Logs"), &awslogs.LogGroupProps{
			Retention:     awslogs.RetentionDays_ONE_YEAR,
			RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		})
		role := awsiam.NewRole(c, jsii.String(title(s.name)+"Role"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("sesguard " + s.name + ": " + s.description),
		})
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("OwnLogs"),
			Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources: &[]*string{logs.LogGroupArn()},
		}))
		fnEnv := maps.Clone(env)
		if s.name == "notify" {
			fnEnv[envAlertsFormat] = jsii.String(cfg.AlertsFormat)
		}
		code, placeholder, codeErr := functionCode(cfg, s.name)
		props := &awslambda.FunctionProps{
			Description:   jsii.String("sesguard " + s.name + ": " + s.description),
			Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
			Architecture:  awslambda.Architecture_ARM_64(),
			Handler:       jsii.String("bootstrap"),
			Code:          code,
			Role:          role,
			LogGroup:      logs,
			Timeout:       awscdk.Duration_Seconds(jsii.Number(s.timeout)),
			MemorySize:    jsii.Number(s.memory),
			Layers:        &[]awslambda.ILayerVersion{layer},
			Environment:   &fnEnv,
			LoggingFormat: awslambda.LoggingFormat_JSON,
		}
		if s.name == "coverage" {
			props.DeadLetterQueue = f.CoverageDLQ
		}
		if s.name == "respond" {
			// Containment is rate-capped in code; a small reserved concurrency also bounds how
			// fast a flood of findings can turn into IAM/SES writes.
			props.ReservedConcurrentExecutions = jsii.Number(float64(cfg.RespondConcurrency))
		}
		fn := awslambda.NewFunction(c, jsii.String(title(s.name)), props)
		if placeholder {
			f.Placeholders = append(f.Placeholders, s.name)
			awscdk.Annotations_Of(fn).AddWarningV2(jsii.String("sesguard:placeholder-code"),
				jsii.String(fmt.Sprintf(placeholderWarning, s.name, filepath.Join(cfg.BuildDir, s.name, "bootstrap"))))
		}
		if codeErr != nil {
			// An error annotation fails `cdk synth`/`deploy`: a binary for the wrong platform would
			// deploy and then fail every invocation with Runtime.InvalidEntrypoint.
			awscdk.Annotations_Of(fn).AddError(jsii.String(codeErr.Error()))
		}
		f.Fn[s.name] = fn
		f.Roles[s.name] = role
	}

	// ingest ← SES events.
	f.Fn["ingest"].AddEventSource(awslambdaeventsources.NewSqsEventSource(pl.Ingest.Queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(ingestBatchSize),
		MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(ingestBatchWindowS)),
		ReportBatchItemFailures: jsii.Bool(true),
	}))

	// respond ← actionable findings only (not containment results, not findings without actions
	// such as coverage gaps, which would only occupy its small reserved concurrency), raw
	// delivery. The attributes are the ones functions/internal/topic sets.
	f.Respond = newQueuePair(c, "Respond", awscdk.Duration_Seconds(jsii.Number(360)), 3)
	tp.Findings.AddSubscription(awssnssubscriptions.NewSqsSubscription(f.Respond.Queue, &awssnssubscriptions.SqsSubscriptionProps{
		RawMessageDelivery: jsii.Bool(true),
		DeadLetterQueue:    f.Respond.DLQ,
		FilterPolicy: &map[string]awssns.SubscriptionFilter{
			"type":       awssns.SubscriptionFilter_StringFilter(&awssns.StringConditions{Allowlist: jsii.Strings(finding.TypeFinding)}),
			"actionable": awssns.SubscriptionFilter_StringFilter(&awssns.StringConditions{Allowlist: jsii.Strings("true")}),
		},
	}))
	f.Fn["respond"].AddEventSource(awslambdaeventsources.NewSqsEventSource(f.Respond.Queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(5),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(float64(cfg.RespondConcurrency)), // never more pollers than reserved instances
	}))

	// notify ← findings and containment results, raw delivery.
	f.Notify = newQueuePair(c, "Notify", awscdk.Duration_Seconds(jsii.Number(180)), 5)
	tp.Findings.AddSubscription(awssnssubscriptions.NewSqsSubscription(f.Notify.Queue, &awssnssubscriptions.SqsSubscriptionProps{
		RawMessageDelivery: jsii.Bool(true),
		DeadLetterQueue:    f.Notify.DLQ,
	}))
	f.Fn["notify"].AddEventSource(awslambdaeventsources.NewSqsEventSource(f.Notify.Queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(10),
		ReportBatchItemFailures: jsii.Bool(true),
	}))

	// coverage ← schedule and SES configuration changes (CloudTrail management events).
	target := awseventstargets.NewLambdaFunction(f.Fn["coverage"], &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: f.CoverageDLQ,
		RetryAttempts:   jsii.Number(2),
	})
	awsevents.NewRule(c, jsii.String("CoverageSchedule"), &awsevents.RuleProps{
		Description: jsii.String("sesguard: periodic coverage check"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(float64(cfg.CoverageEveryMins)))),
		Targets:     &[]awsevents.IRuleTarget{target},
	})
	// Write calls only, but every CloudTrail rule gets the read-only state (one test, one rule).
	withReadOnlyEvents(awsevents.NewRule(c, jsii.String("CoverageOnSesChange"), &awsevents.RuleProps{
		Description: jsii.String("sesguard: coverage check after SES identity or configuration-set changes (needs a CloudTrail trail)"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.ses"),
			DetailType: jsii.Strings("AWS API Call via CloudTrail"),
			Detail: &map[string]any{
				"eventSource": []string{"ses.amazonaws.com"},
				"eventName":   sesConfigChangeEvents,
			},
		},
		Targets: &[]awsevents.IRuleTarget{target},
	}))

	grantLeastPrivilege(c, cfg, f, tp, table)
	return f
}

// sesConfigChangeEvents are the SES API calls (v1 and v2) that can leave an identity or a
// configuration set unmonitored.
var sesConfigChangeEvents = []string{
	"CreateEmailIdentity", "DeleteEmailIdentity", "PutEmailIdentityConfigurationSetAttributes",
	"CreateConfigurationSet", "DeleteConfigurationSet",
	"CreateConfigurationSetEventDestination", "UpdateConfigurationSetEventDestination", "DeleteConfigurationSetEventDestination",
	"VerifyDomainIdentity", "VerifyEmailIdentity", "DeleteIdentity",
}

// functionCode is build/<name>/ when it holds a bootstrap, else the placeholder asset. The error
// says why a bootstrap that is there cannot run on the function (checkBootstrap).
func functionCode(cfg *Config, name string) (awslambda.Code, bool, error) {
	dir := filepath.Join(cfg.BuildDir, name)
	bin := filepath.Join(dir, "bootstrap")
	if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() {
		return awslambda.Code_FromAsset(jsii.String(dir), nil), false, checkBootstrap(bin)
	}
	return awslambda.Code_FromAsset(jsii.String(filepath.Join(cfg.Root, "infra", "placeholder")), nil), true, nil
}

// checkBootstrap fails unless path is an executable linux/arm64 ELF binary, what an arm64
// provided.al2023 function runs: `go run ./cmd/build -arch amd64`, a host build or a stale
// non-executable file would deploy fine and fail every invocation.
func checkBootstrap(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("sesguard: %s is not a Linux executable (%v); run `go run ./cmd/build`", path, err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_AARCH64 || f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("sesguard: %s is a %s %s %s binary, but the functions run on arm64 (provided.al2023); rebuild with `go run ./cmd/build` (default -arch arm64)", path, f.Class, f.Machine, f.Type)
	}
	if f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		return fmt.Errorf("sesguard: %s is built for %s, not Linux; rebuild with `go run ./cmd/build`", path, f.OSABI)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("sesguard: %s is not executable (mode %v); Lambda cannot start it", path, st.Mode().Perm())
	}
	return nil
}

// policyLayerDir writes the policy file into a directory laid out as the layer (/opt/sesguard/…)
// and returns it. The directory name carries a content hash so concurrent synths never clash;
// the asset hash is content-based, so the temp path does not change the template.
func policyLayerDir(cfg *Config) string {
	sum := fmt.Sprintf("%x", sha256Sum(cfg.PolicyYAML))[:16]
	dir := filepath.Join(os.TempDir(), "sesguard-policy-layer-"+sum)
	file := filepath.Join(dir, "sesguard", "sesguard.yaml")
	if b, err := os.ReadFile(file); err == nil && string(b) == string(cfg.PolicyYAML) {
		return dir
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		panic(fmt.Errorf("policy layer: %w", err)) // synth cannot continue without the layer
	}
	if err := os.WriteFile(file, cfg.PolicyYAML, 0o644); err != nil {
		panic(fmt.Errorf("policy layer: %w", err))
	}
	return dir
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// grantLeastPrivilege writes each function's policy explicitly (no grant* helpers for IAM and
// SES) so the tests can assert the exact statements.
func grantLeastPrivilege(scope constructs.Construct, cfg *Config, f *functions, tp *topics, table awsdynamodb.Table) {
	stmt := func(sid string, actions []string, resources ...*string) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: &resources,
		})
	}
	// Table actions per function: exactly what shared/engine/detect, shared/engine/contain and shared/deliver/alert call.
	ingestTable := []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
	respondTable := []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
	notifyTable := []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}
	publish := func(topicArn *string) []awsiam.PolicyStatement {
		return []awsiam.PolicyStatement{
			stmt("PublishTopic", []string{"sns:Publish"}, topicArn),
			stmt("TopicKey", []string{"kms:GenerateDataKey", "kms:Decrypt"}, tp.Key.KeyArn()),
		}
	}
	users := iamArn("user/*")
	roles := iamArn("role/*")

	// ingest: attribution reads, the state table, publish findings. No IAM or SES writes.
	ingest := append([]awsiam.PolicyStatement{
		stmt("AttributeUsers", []string{"iam:GetUser", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed",
			"iam:ListUserPolicies", "iam:ListAttachedUserPolicies"}, users),
		stmt("AttributeRoles", []string{"iam:GetRole"}, roles),
		stmt("StateTable", ingestTable, table.TableArn()),
	}, publish(tp.Findings.TopicArn())...)
	f.Policies["ingest"] = attach(scope, "IngestPolicy", f.Roles["ingest"], ingest)

	// respond: containment writes on non-protected principals, the policy's identities and sets.
	respond := []awsiam.PolicyStatement{
		// Login profiles: delete_login_profile on a user a leaked key created (restore recreates it).
		stmt("ContainUsers", []string{"iam:UpdateAccessKey", "iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:DeleteLoginProfile", "iam:CreateLoginProfile"}, users),
		stmt("ContainRoles", []string{"iam:PutRolePolicy", "iam:DeleteRolePolicy"}, roles),
		// GetUser/GetRole: deny_send_policy checks the principal exists before planning.
		stmt("ReadUsers", []string{"iam:GetUser", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:GetUserPolicy", "iam:GetLoginProfile"}, users),
		stmt("ReadRoles", []string{"iam:GetRole", "iam:GetRolePolicy"}, roles),
	}
	if deny := protectedARNs(cfg, f); len(deny) > 0 {
		respond = append(respond, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("NeverContainProtected"),
			Effect:    awsiam.Effect_DENY,
			Actions:   jsii.Strings(containActions...),
			Resources: &deny,
		}))
	}
	// SES containment statements only for the actions the policy maps findings to. Planning reads
	// the identity a finding names, which may be any identity the policy matches (wildcards
	// included): tighten_identity_policy reads its policies, pause_configuration_set its default
	// set. Reads go on identity/*, so dry-run plans every finding; writes only on the literal ones.
	tighten := usesAction(cfg.Policy, policy.ActionTightenIdentityPolicy)
	pauseSet := usesAction(cfg.Policy, policy.ActionPauseConfigurationSet)
	var identityReads []string
	if tighten {
		identityReads = append(identityReads, "ses:GetEmailIdentityPolicies")
	}
	if pauseSet {
		identityReads = append(identityReads, "ses:GetEmailIdentity")
	}
	if len(identityReads) > 0 {
		respond = append(respond, stmt("ReadIdentities", identityReads, sesArn("identity/*")))
	}
	if ids := cfg.LiteralIdentities(); len(ids) > 0 && tighten {
		arns := make([]*string, len(ids))
		for i, id := range ids {
			arns[i] = sesArn("identity/" + id)
		}
		respond = append(respond, stmt("IdentityPolicies", []string{
			"ses:CreateEmailIdentityPolicy", "ses:UpdateEmailIdentityPolicy", "ses:DeleteEmailIdentityPolicy"}, arns...))
	}
	if sets := cfg.PausableConfigSets(); len(sets) > 0 && pauseSet {
		arns := make([]*string, len(sets))
		for i, s := range sets {
			arns[i] = sesArn("configuration-set/" + s)
		}
		respond = append(respond, stmt("PauseConfigurationSets", []string{"ses:PutConfigurationSetSendingOptions"}, arns...))
	}
	if pauseSet {
		// The plan reads whichever set the finding names (its prior sending state).
		respond = append(respond, stmt("ReadConfigurationSets", []string{"ses:GetConfigurationSet"}, sesArn("configuration-set/*")))
	}
	if usesAction(cfg.Policy, policy.ActionPauseAccount) {
		// Account-level actions have no resource ARN; granted only when the policy asks for it.
		respond = append(respond, stmt("PauseAccount", []string{"ses:GetAccount", "ses:PutAccountSendingAttributes"}, jsii.String("*")))
	}
	respond = append(respond, stmt("StateTable", respondTable, table.TableArn()))
	respond = append(respond, publish(tp.Findings.TopicArn())...)
	f.Policies["respond"] = attach(scope, "RespondPolicy", f.Roles["respond"], respond)

	// notify: read the one secret, publish alerts, dedup alerts in the state table.
	notify := append([]awsiam.PolicyStatement{
		stmt("SlackWebhook", []string{"secretsmanager:GetSecretValue"}, tp.SlackSecret.Ref()),
		stmt("StateTable", notifyTable, table.TableArn()),
	}, publish(tp.Alerts.TopicArn())...)
	f.Policies["notify"] = attach(scope, "NotifyPolicy", f.Roles["notify"], notify)

	// coverage: SES reads (the list calls have no resource ARN), publish findings.
	coverage := append([]awsiam.PolicyStatement{
		stmt("ListSes", []string{"ses:ListEmailIdentities", "ses:ListConfigurationSets"}, jsii.String("*")),
		// Each read on its own resource type (SESv2 service authorization reference).
		stmt("ReadIdentities", []string{"ses:GetEmailIdentity"}, sesArn("identity/*")),
		stmt("ReadConfigurationSets", []string{"ses:GetConfigurationSetEventDestinations"}, sesArn("configuration-set/*")),
		// Regions without a sentinel (coverage.CheckRegions): the enabled Regions, then the
		// default bus's rules in each. Both accept only "*" as the resource (EC2 and EventBridge
		// service authorization references: no resource type for DescribeRegions or ListRules).
		stmt("RegionSentinels", []string{"ec2:DescribeRegions", "events:ListRules"}, jsii.String("*")),
	}, publish(tp.Findings.TopicArn())...)
	f.Policies["coverage"] = attach(scope, "CoveragePolicy", f.Roles["coverage"], coverage)
}

// containActions are the IAM writes respond may make (and the protected Deny covers).
var containActions = []string{"iam:UpdateAccessKey", "iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:DeleteLoginProfile", "iam:CreateLoginProfile", "iam:PutRolePolicy", "iam:DeleteRolePolicy"}

func attach(scope constructs.Construct, id string, role awsiam.Role, statements []awsiam.PolicyStatement) awsiam.Policy {
	return awsiam.NewPolicy(scope, jsii.String(id), &awsiam.PolicyProps{
		Roles:      &[]awsiam.IRole{role},
		Statements: &statements,
	})
}

// protectedARNs are the principals respond must never touch: the policy's protected patterns (as
// user and role ARNs; IAM ARNs accept the same * and ? wildcards) and sesguard's own roles.
func protectedARNs(cfg *Config, f *functions) []*string {
	var out []*string
	patterns := slices.Clone(cfg.Policy.Response.ProtectedPrincipals)
	slices.Sort(patterns)
	for _, p := range slices.Compact(patterns) {
		// The second form covers principals created with a path (user/ops/break-glass-1).
		out = append(out, iamArn("user/"+p), iamArn("user/*/"+p), iamArn("role/"+p), iamArn("role/*/"+p))
	}
	for _, name := range functionNames {
		out = append(out, f.Roles[name].RoleArn())
	}
	return out
}

func usesAction(p *policy.Policy, action string) bool {
	for _, actions := range p.Response.On {
		if slices.Contains(actions, action) {
			return true
		}
	}
	return false
}
