package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/sesguard/sesguard/shared/policy"
)

// preventive holds the controls rendered from the policy file: identity policies, the identities'
// default configuration set, the provider that applies both, and the optional least-privilege
// sender user.
type preventive struct {
	IdentityPolicies map[string]awscdk.CustomResource
	DefaultSets      map[string]awscdk.CustomResource
	Guard            *identityGuard // nil when neither identity policies nor default sets are deployed
	SenderUser       awsiam.User
	SenderPolicy     awsiam.Policy
}

// identityGuard is the custom-resource provider (functions/identityguard) that changes SES
// identities the stack does not own. CloudFormation invokes it directly (ServiceToken = its ARN).
type identityGuard struct {
	Fn     awslambda.Function
	Role   awsiam.Role
	Policy awsiam.Policy
}

// identityguardName is the function directory (functions/identityguard, build/identityguard).
const identityguardName = "identityguard"

// identityArnString is the identity ARN as a string with pseudo-parameter tokens inside, so the
// renderer (which checks the ARN shape) can embed it and CloudFormation fills in the values.
func identityArnString(identity string) string {
	return "arn:" + *awscdk.Aws_PARTITION() + ":ses:" + *awscdk.Aws_REGION() + ":" + *awscdk.Aws_ACCOUNT_ID() + ":identity/" + identity
}

// newPreventive renders and attaches the preventive controls. CloudFormation has no resource for
// SES identity policies or for an existing identity's default configuration set, so both are
// custom resources served by identityguard, which records what it replaces and puts it back on
// delete, refuses a customer's policy of the same name, and changes nothing when its create
// failed (issue 26 item 6; SDK calls in the template could do none of that).
//
// Identity policies are attached only when the policy says `preventive: enforce` (or the context
// does): they deny sends, so a first deploy must not be able to block mail (issue 25 item 3).
func newPreventive(scope constructs.Construct, id string, cfg *Config, pl *pipeline, fns *functions) (*preventive, error) {
	c := constructs.NewConstruct(scope, jsii.String(id))
	pv := &preventive{
		IdentityPolicies: map[string]awscdk.CustomResource{},
		DefaultSets:      map[string]awscdk.CustomResource{},
	}
	identities := cfg.LiteralIdentities()
	withPolicies := cfg.PreventiveEnforced() && len(identities) > 0
	set := cfg.DefaultConfigSetName()
	withSets := cfg.DefaultConfigSet && set != "" && len(identities) > 0
	if cfg.SenderUser {
		if err := addSenderUser(scope, c, cfg, pv); err != nil {
			return nil, err
		}
	}
	if !withPolicies && !withSets {
		return pv, nil
	}
	pv.Guard = newIdentityGuard(c, cfg, fns, identities, withPolicies, withSets)
	identityPolicyName := cfg.IdentityPolicyName()
	for _, identity := range identities {
		if withPolicies {
			doc, err := policy.RenderIdentityPolicy(cfg.Policy, identityArnString(identity))
			if err != nil {
				return nil, fmt.Errorf("identity %s: %w (set %s=false to skip identity policies, or preventive: off)", identity, err, ctxIdentityPolicies)
			}
			cr := awscdk.NewCustomResource(c, jsii.String("IdentityPolicy-"+identity), &awscdk.CustomResourceProps{
				ServiceToken: pv.Guard.Fn.FunctionArn(),
				ResourceType: jsii.String("Custom::SesguardIdentityPolicy"),
				Properties: &map[string]any{
					"EmailIdentity": identity,
					"PolicyName":    identityPolicyName,
					"Policy":        string(doc),
				},
			})
			cr.Node().AddDependency(pv.Guard.Policy) // its grant exists before CloudFormation invokes it
			pv.IdentityPolicies[identity] = cr
		}
		if withSets {
			created, owned := pl.ConfigSets[set]
			cr := awscdk.NewCustomResource(c, jsii.String("DefaultConfigSet-"+identity), &awscdk.CustomResourceProps{
				ServiceToken: pv.Guard.Fn.FunctionArn(),
				ResourceType: jsii.String("Custom::SesguardDefaultConfigurationSet"),
				Properties: &map[string]any{
					"EmailIdentity":        identity,
					"ConfigurationSetName": set,
					// On delete, if the prior default has gone meanwhile, an imported set (which
					// outlives the stack) stays the default; a created one is cleared.
					"StackOwnsSet": fmt.Sprint(owned),
				},
			})
			cr.Node().AddDependency(pv.Guard.Policy)
			if owned {
				// Deleted after the default is put back: a default naming a deleted set fails sends.
				cr.Node().AddDependency(created)
			}
			pv.DefaultSets[identity] = cr
		}
	}
	return pv, nil
}

// newIdentityGuard creates the provider function with exactly the SES calls it makes, on the
// policy's literal identities.
func newIdentityGuard(c constructs.Construct, cfg *Config, fns *functions, identities []string, withPolicies, withSets bool) *identityGuard {
	g := &identityGuard{}
	logs := awslogs.NewLogGroup(c, jsii.String("IdentityGuardLogs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_YEAR,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	desc := "sesguard identityguard: applies identity policies and default configuration sets, puts back what it replaced"
	g.Role = awsiam.NewRole(c, jsii.String("IdentityGuardRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String(desc),
	})
	arns := make([]*string, len(identities))
	for i, id := range identities {
		arns[i] = sesArn("identity/" + id)
	}
	stmt := func(sid string, actions []string, resources []*string) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: &resources})
	}
	stmts := []awsiam.PolicyStatement{stmt("OwnLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, []*string{logs.LogGroupArn()})}
	if withPolicies {
		stmts = append(stmts, stmt("IdentityPolicies", []string{"ses:GetEmailIdentityPolicies",
			"ses:CreateEmailIdentityPolicy", "ses:UpdateEmailIdentityPolicy", "ses:DeleteEmailIdentityPolicy"}, arns))
	}
	if withSets {
		stmts = append(stmts, stmt("ReadIdentities", []string{"ses:GetEmailIdentity"}, arns))
		// The prior default it puts back may be any set of the account; the identity is still
		// one of the policy's.
		stmts = append(stmts, stmt("DefaultConfigurationSet", []string{"ses:PutEmailIdentityConfigurationSetAttributes"},
			append(slices.Clone(arns), sesArn("configuration-set/*"))))
	}
	g.Policy = awsiam.NewPolicy(c, jsii.String("IdentityGuardPolicy"), &awsiam.PolicyProps{
		Roles:      &[]awsiam.IRole{g.Role},
		Statements: &stmts,
	})
	code, placeholder, codeErr := functionCode(cfg, identityguardName)
	g.Fn = awslambda.NewFunction(c, jsii.String("IdentityGuard"), &awslambda.FunctionProps{
		Description:   jsii.String(desc),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          code,
		Role:          g.Role,
		LogGroup:      logs,
		Timeout:       awscdk.Duration_Seconds(jsii.Number(60)),
		MemorySize:    jsii.Number(128),
		LoggingFormat: awslambda.LoggingFormat_JSON,
	})
	if placeholder {
		fns.Placeholders = append(fns.Placeholders, identityguardName)
		awscdk.Annotations_Of(g.Fn).AddWarningV2(jsii.String("sesguard:placeholder-code"),
			jsii.String(fmt.Sprintf(placeholderWarning, identityguardName, filepath.Join(cfg.BuildDir, identityguardName, "bootstrap"))))
	}
	if codeErr != nil {
		awscdk.Annotations_Of(g.Fn).AddError(jsii.String(codeErr.Error()))
	}
	return g
}

// addSenderUser creates the least-privilege sender user (seed 003) with the rendered SMTP policy.
func addSenderUser(scope, c constructs.Construct, cfg *Config, pv *preventive) error {
	doc, err := policy.RenderSMTPUserPolicy(cfg.Policy)
	if err != nil {
		return fmt.Errorf("sender user: %w (or set %s=false)", err, ctxSenderUser)
	}
	var raw map[string]any
	if err := json.Unmarshal(doc, &raw); err != nil {
		return fmt.Errorf("sender user: rendered policy: %w", err)
	}
	// Programmatic access only; the access key is created by the user afterwards so its secret
	// never passes through CloudFormation (README: "Sender user").
	pv.SenderUser = awsiam.NewUser(c, jsii.String("SenderUser"), &awsiam.UserProps{})
	pv.SenderPolicy = awsiam.NewPolicy(c, jsii.String("SenderPolicy"), &awsiam.PolicyProps{
		Users:    &[]awsiam.IUser{pv.SenderUser},
		Document: awsiam.PolicyDocument_FromJson(raw),
	})
	awscdk.NewCfnOutput(scope, jsii.String("SenderUserName"), &awscdk.CfnOutputProps{
		Value:       pv.SenderUser.UserName(),
		Description: jsii.String("Least-privilege SES sender: aws iam create-access-key --user-name <this>, then sesguard smtp-password"),
	})
	return nil
}
