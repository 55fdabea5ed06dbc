package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// topics are the findings and alerts topics, the CMK encrypting them (and the SES events topic),
// and the Slack webhook secret.
type topics struct {
	Key         awskms.Key
	Findings    awssns.Topic
	Alerts      awssns.Topic
	SlackSecret awssecretsmanager.CfnSecret
}

// newTopics creates the topics. Lambdas get kms:GenerateDataKey/Decrypt through their own IAM
// policies; the key policy additionally lets the AWS services that publish to these topics use
// the key: CloudWatch alarms (alerts) and, with the SNS transport, SES event publishing (the SES
// events topic).
func newTopics(scope constructs.Construct, id string, cfg *Config) *topics {
	c := constructs.NewConstruct(scope, jsii.String(id))
	t := &topics{}
	t.Key = awskms.NewKey(c, jsii.String("TopicKey"), &awskms.KeyProps{
		Description:       jsii.String("sesguard: encrypts the findings, alerts and SES events topics"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	// SES publishes to a topic of this key only with the SNS transport (the SES events topic); with
	// EventBridge alone it needs no key access, so it gets none.
	services := []string{"cloudwatch.amazonaws.com"}
	if cfg.EventTransport == transportSNS || cfg.EventTransport == transportBoth {
		services = append(services, "ses.amazonaws.com")
	}
	for _, svc := range services {
		t.Key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AllowPublishFrom" + serviceLabel(svc)),
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(svc), nil)},
			Actions:    jsii.Strings("kms:GenerateDataKey*", "kms:Decrypt"),
			Resources:  jsii.Strings("*"), // in a key policy "*" means this key
			Conditions: &map[string]any{
				"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
			},
		}), jsii.Bool(false))
	}

	t.Findings = awssns.NewTopic(c, jsii.String("Findings"), &awssns.TopicProps{
		DisplayName: jsii.String("sesguard findings"),
		MasterKey:   t.Key,
		EnforceSSL:  jsii.Bool(true),
	})
	t.Alerts = awssns.NewTopic(c, jsii.String("Alerts"), &awssns.TopicProps{
		DisplayName: jsii.String("sesguard alerts"),
		MasterKey:   t.Key,
		EnforceSSL:  jsii.Bool(true),
	})
	t.Alerts.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudWatchAlarms"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{t.Alerts.TopicArn()},
		// Only this account's alarms (confused-deputy prevention; the alarm ARN is the source).
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
			"ArnLike":      map[string]any{"aws:SourceArn": awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"), nil)},
		},
	}))
	if cfg.AlertEmail != "" {
		t.Alerts.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.AlertEmail), nil))
	}

	// Created empty: CloudFormation makes a secret with no value when neither SecretString nor
	// GenerateSecretString is given; the user stores the webhook URL with put-secret-value so it
	// never appears in a template. notify treats a missing value as "Slack not configured".
	t.SlackSecret = awssecretsmanager.NewCfnSecret(c, jsii.String("SlackWebhook"), &awssecretsmanager.CfnSecretProps{
		Name:        jsii.String(cfg.StackName + "/slack-webhook"),
		Description: jsii.String("sesguard: Slack incoming-webhook URL (set with aws secretsmanager put-secret-value)"),
	})
	return t
}

func serviceLabel(svc string) string {
	switch svc {
	case "cloudwatch.amazonaws.com":
		return "CloudWatch"
	case "ses.amazonaws.com":
		return "SES"
	}
	return "Service"
}
