package main

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/sesguard/sesguard/shared/policy"
)

// preventive holds the controls rendered from the policy file: identity policies, the identities'
// default configuration set, and the optional least-privilege sender user.
type preventive struct {
	IdentityPolicies map[string]customresources.AwsCustomResource
	DefaultSets      map[string]customresources.AwsCustomResource
	SenderUser       awsiam.User
	SenderPolicy     awsiam.Policy
}

// identityArnString is the identity ARN as a string with pseudo-parameter tokens inside, so the
// renderer (which checks the ARN shape) can embed it and CloudFormation fills in the values.
func identityArnString(identity string) string {
	return "arn:" + *awscdk.Aws_PARTITION() + ":ses:" + *awscdk.Aws_REGION() + ":" + *awscdk.Aws_ACCOUNT_ID() + ":identity/" + identity
}

// newPreventive renders and attaches the preventive controls. CloudFormation has no resource for
// SES identity policies or for an existing identity's default configuration set, so both are SDK
// calls (sesv2) through AwsCustomResource, each scoped to the one identity it changes.
func newPreventive(scope constructs.Construct, id string, cfg *Config, pl *pipeline) (*preventive, error) {
	c := constructs.NewConstruct(scope, jsii.String(id))
	pv := &preventive{
		IdentityPolicies: map[string]customresources.AwsCustomResource{},
		DefaultSets:      map[string]customresources.AwsCustomResource{},
	}
	identityPolicyName := cfg.IdentityPolicyName()
	for _, identity := range cfg.LiteralIdentities() {
		arn := sesArn("identity/" + identity)
		if cfg.IdentityPolicies {
			doc, err := policy.RenderIdentityPolicy(cfg.Policy, identityArnString(identity))
			if err != nil {
				return nil, fmt.Errorf("identity %s: %w (set %s=false to skip identity policies)", identity, err, ctxIdentityPolicies)
			}
			params := map[string]any{
				"EmailIdentity": identity,
				"PolicyName":    identityPolicyName,
				"Policy":        string(doc),
			}
			pv.IdentityPolicies[identity] = customresources.NewAwsCustomResource(c, jsii.String("IdentityPolicy-"+identity), &customresources.AwsCustomResourceProps{
				ResourceType: jsii.String("Custom::SesguardIdentityPolicy"),
				OnCreate: &customresources.AwsSdkCall{
					Service: jsii.String("SESv2"), Action: jsii.String("CreateEmailIdentityPolicy"),
					Parameters:         params,
					PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String(identity + "/" + identityPolicyName)),
				},
				OnUpdate: &customresources.AwsSdkCall{
					Service: jsii.String("SESv2"), Action: jsii.String("UpdateEmailIdentityPolicy"),
					Parameters:         params,
					PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String(identity + "/" + identityPolicyName)),
				},
				OnDelete: &customresources.AwsSdkCall{
					Service: jsii.String("SESv2"), Action: jsii.String("DeleteEmailIdentityPolicy"),
					Parameters:               map[string]any{"EmailIdentity": identity, "PolicyName": identityPolicyName},
					IgnoreErrorCodesMatching: jsii.String("NotFoundException"),
				},
				Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{
					awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
						Actions:   jsii.Strings("ses:CreateEmailIdentityPolicy", "ses:UpdateEmailIdentityPolicy", "ses:DeleteEmailIdentityPolicy"),
						Resources: &[]*string{arn},
					}),
				}),
				InstallLatestAwsSdk: jsii.Bool(false),
			})
		}
		if set := cfg.DefaultConfigSetName(); cfg.DefaultConfigSet && set != "" {
			// On delete the default is cleared: a default that names a deleted set makes every send
			// from the identity fail.
			cr := customresources.NewAwsCustomResource(c, jsii.String("DefaultConfigSet-"+identity), &customresources.AwsCustomResourceProps{
				ResourceType: jsii.String("Custom::SesguardDefaultConfigurationSet"),
				OnUpdate: &customresources.AwsSdkCall{ // also used for create
					Service: jsii.String("SESv2"), Action: jsii.String("PutEmailIdentityConfigurationSetAttributes"),
					Parameters:         map[string]any{"EmailIdentity": identity, "ConfigurationSetName": set},
					PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String(identity + "/default-configuration-set")),
				},
				OnDelete: &customresources.AwsSdkCall{
					Service: jsii.String("SESv2"), Action: jsii.String("PutEmailIdentityConfigurationSetAttributes"),
					Parameters:               map[string]any{"EmailIdentity": identity},
					IgnoreErrorCodesMatching: jsii.String("NotFoundException"),
				},
				Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{
					awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
						Actions:   jsii.Strings("ses:PutEmailIdentityConfigurationSetAttributes"),
						Resources: &[]*string{arn, sesArn("configuration-set/" + set)},
					}),
				}),
				InstallLatestAwsSdk: jsii.Bool(false),
			})
			if created, ok := pl.ConfigSets[set]; ok {
				cr.Node().AddDependency(created)
			}
			pv.DefaultSets[identity] = cr
		}
	}

	if cfg.SenderUser {
		doc, err := policy.RenderSMTPUserPolicy(cfg.Policy)
		if err != nil {
			return nil, fmt.Errorf("sender user: %w (or set %s=false)", err, ctxSenderUser)
		}
		var raw map[string]any
		if err := json.Unmarshal(doc, &raw); err != nil {
			return nil, fmt.Errorf("sender user: rendered policy: %w", err)
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
	}
	return pv, nil
}
