package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/sesguard/sesguard/shared/engine/detect"
)

// sesEventTypes are the event types sesguard's destinations publish. Opens and clicks are left
// out: they say nothing about who sent and would multiply the volume.
var sesEventTypes = []string{"SEND", "REJECT", "BOUNCE", "COMPLAINT", "DELIVERY", "DELIVERY_DELAY", "RENDERING_FAILURE"}

// sesDetailTypes maps SES event-record eventType values to their EventBridge detail-types.
var sesDetailTypes = map[string]string{
	"Send": "Email Sent", "Reject": "Email Rejected", "Bounce": "Email Bounced", "Complaint": "Email Complaint Received",
	"Delivery": "Email Delivered", "DeliveryDelay": "Email Delivery Delayed", "Rendering Failure": "Email Rendering Failed",
}

// ingestDetailTypes are the detail-types the rule routes to the ingest queue: only the types
// detection reads (detect.IngestEventTypes: Send, Bounce, Complaint). Deliveries are as many as
// sends and would cost an SQS request each for nothing; they stay in the archive.
func ingestDetailTypes() []string {
	var out []string
	for _, t := range detect.IngestEventTypes() {
		out = append(out, sesDetailTypes[t])
	}
	return out
}

// The ingest queue's event source mapping, chosen with `go run ./cmd/bench -cost` (README,
// "Cost"): the batching window bounds the time to contain (≤ 5 s); the batch size is large
// enough that a window's events arrive in one invocation up to ~200 sends a second, so state
// writes scale with windows, not with batches of ten. 1,000 records of ≤ 6 KB stay under the
// 6 MB invocation payload.
const (
	ingestBatchSize     = 1000
	ingestBatchWindowS  = 5
	ingestFnTimeoutS    = 30
	ingestVisibilityS   = 6 * ingestFnTimeoutS // AWS guidance: ≥ 6 × the function timeout
	ingestMaxReceiveCnt = 5
)

// queuePair is a work queue and its dead-letter queue.
type queuePair struct {
	Queue awssqs.Queue
	DLQ   awssqs.Queue
}

// newQueuePair creates an SSE-encrypted, TLS-only queue with a DLQ after maxReceive attempts.
// visibility must be at least six times the consuming function's timeout (AWS guidance).
func newQueuePair(scope constructs.Construct, id string, visibility awscdk.Duration, maxReceive float64) queuePair {
	dlq := awssqs.NewQueue(scope, jsii.String(id+"DLQ"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	q := awssqs.NewQueue(scope, jsii.String(id+"Queue"), &awssqs.QueueProps{
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		VisibilityTimeout: visibility,
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(4)),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(maxReceive)},
	})
	return queuePair{Queue: q, DLQ: dlq}
}

// pipeline is the path from SES to the ingest queue: configuration sets, their event
// destinations, the EventBridge rule and/or the SES events topic, and the Firehose archive role.
type pipeline struct {
	Ingest       queuePair
	EventsTopic  awssns.Topic // nil unless the SNS transport is on
	Rule         awsevents.Rule
	ConfigSets   map[string]awsses.CfnConfigurationSet // created sets by name
	Destinations []awsses.CfnConfigurationSetEventDestination
}

func newPipeline(scope constructs.Construct, id string, cfg *Config, tp *topics, ar *archive) *pipeline {
	c := constructs.NewConstruct(scope, jsii.String(id))
	p := &pipeline{ConfigSets: map[string]awsses.CfnConfigurationSet{}}
	p.Ingest = newQueuePair(c, "Ingest", awscdk.Duration_Seconds(jsii.Number(ingestVisibilityS)), ingestMaxReceiveCnt)
	// Every destination publishes every type (coverage requires a live destination with SEND,
	// REJECT, BOUNCE, COMPLAINT and DELIVERY); the rule and the SNS subscription let only the
	// types detection reads into the ingest queue. SES events on the default bus cost nothing.

	useEB := cfg.EventTransport == transportEventBridge || cfg.EventTransport == transportBoth
	useSNS := cfg.EventTransport == transportSNS || cfg.EventTransport == transportBoth
	// SES acts on the events topic and the archive role on behalf of a configuration set: only the
	// monitored sets may (aws:SourceArn), so no other set in the account can publish into the
	// ingest queue or write into the evidence archive with sesguard's role.
	setArns := make([]*string, 0, len(cfg.MonitoredConfigSets()))
	for _, name := range cfg.MonitoredConfigSets() {
		setArns = append(setArns, sesArn("configuration-set/"+name))
	}
	var topicPolicy constructs.IDependable

	if useEB {
		// All SES sending events on the default bus, whichever configuration set published them:
		// an attacker may pick any set in the account, so none is filtered out here.
		p.Rule = awsevents.NewRule(c, jsii.String("SesEventsRule"), &awsevents.RuleProps{
			Description: jsii.String("sesguard: SES sending events → ingest queue"),
			EventPattern: &awsevents.EventPattern{
				Source:     jsii.Strings("aws.ses"),
				DetailType: jsii.Strings(ingestDetailTypes()...),
			},
		})
		p.Rule.AddTarget(awseventstargets.NewSqsQueue(p.Ingest.Queue, &awseventstargets.SqsQueueProps{
			DeadLetterQueue: p.Ingest.DLQ,
			RetryAttempts:   jsii.Number(20),
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(24)),
		}))
	}
	if useSNS {
		p.EventsTopic = awssns.NewTopic(c, jsii.String("SesEventsTopic"), &awssns.TopicProps{
			DisplayName: jsii.String("sesguard SES events"),
			MasterKey:   tp.Key,
			EnforceSSL:  jsii.Bool(true),
		})
		res := p.EventsTopic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AllowSesEventPublishing"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("ses.amazonaws.com"), nil)},
			Actions:    jsii.Strings("sns:Publish"),
			Resources:  &[]*string{p.EventsTopic.TopicArn()},
			Conditions: &map[string]any{
				"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
				"ArnLike":      map[string]any{"aws:SourceArn": setArns},
			},
		}))
		topicPolicy = res.PolicyDependable
		// Raw delivery: the SQS body is the SES record itself.
		p.EventsTopic.AddSubscription(awssnssubscriptions.NewSqsSubscription(p.Ingest.Queue, &awssnssubscriptions.SqsSubscriptionProps{
			RawMessageDelivery: jsii.Bool(true),
			DeadLetterQueue:    p.Ingest.DLQ,
			FilterPolicyWithMessageBody: &map[string]awssns.FilterOrPolicy{
				"eventType": awssns.FilterOrPolicy_Filter(awssns.SubscriptionFilter_StringFilter(&awssns.StringConditions{Allowlist: jsii.Strings(detect.IngestEventTypes()...)})),
			},
		}))
	}

	// SES assumes this role to put records into the archive stream, only for this account's sets.
	sesRole := awsiam.NewRole(c, jsii.String("SesFirehoseRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("ses.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{
				"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
				"ArnLike":      map[string]any{"aws:SourceArn": setArns},
			},
		}),
		Description: jsii.String("sesguard: SES event publishing into the archive Firehose stream"),
	})
	sesPolicy := awsiam.NewPolicy(c, jsii.String("SesFirehosePolicy"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{sesRole},
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("firehose:PutRecord", "firehose:PutRecordBatch"),
			Resources: &[]*string{ar.Stream.AttrArn()},
		})},
	})

	for _, name := range cfg.MonitoredConfigSets() {
		var setRef *string = jsii.String(name)
		var created awsses.CfnConfigurationSet
		if name == cfg.ConfigSetName {
			created = awsses.NewCfnConfigurationSet(c, jsii.String("ConfigSet-"+name), &awsses.CfnConfigurationSetProps{
				Name: jsii.String(name),
				ReputationOptions: &awsses.CfnConfigurationSet_ReputationOptionsProperty{
					ReputationMetricsEnabled: jsii.Bool(true),
				},
				SendingOptions: &awsses.CfnConfigurationSet_SendingOptionsProperty{SendingEnabled: jsii.Bool(true)},
			})
			p.ConfigSets[name] = created
			setRef = created.Ref()
		}
		add := func(suffix string, dest *awsses.CfnConfigurationSetEventDestination_EventDestinationProperty) awsses.CfnConfigurationSetEventDestination {
			dest.Enabled = jsii.Bool(true)
			dest.MatchingEventTypes = jsii.Strings(sesEventTypes...)
			dest.Name = jsii.String("sesguard-" + suffix)
			d := awsses.NewCfnConfigurationSetEventDestination(c, jsii.String("Dest-"+name+"-"+suffix), &awsses.CfnConfigurationSetEventDestinationProps{
				ConfigurationSetName: setRef,
				EventDestination:     dest,
			})
			p.Destinations = append(p.Destinations, d)
			return d
		}
		if useEB {
			add("eventbridge", &awsses.CfnConfigurationSetEventDestination_EventDestinationProperty{
				EventBridgeDestination: &awsses.CfnConfigurationSetEventDestination_EventBridgeDestinationProperty{
					EventBusArn: awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"), nil),
				},
			})
		}
		if useSNS {
			d := add("sns", &awsses.CfnConfigurationSetEventDestination_EventDestinationProperty{
				SnsDestination: &awsses.CfnConfigurationSetEventDestination_SnsDestinationProperty{TopicArn: p.EventsTopic.TopicArn()},
			})
			// Created after (and deleted before) the topic policy that lets SES publish.
			d.Node().AddDependency(topicPolicy)
		}
		d := add("archive", &awsses.CfnConfigurationSetEventDestination_EventDestinationProperty{
			KinesisFirehoseDestination: &awsses.CfnConfigurationSetEventDestination_KinesisFirehoseDestinationProperty{
				DeliveryStreamArn: ar.Stream.AttrArn(),
				IamRoleArn:        sesRole.RoleArn(),
			},
		})
		d.Node().AddDependency(sesPolicy)
	}
	return p
}

// sesArn is an SES resource ARN in this stack's account and region.
func sesArn(resource string) *string {
	return awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:"+resource), nil)
}

// iamArn is an IAM resource ARN in this stack's account.
func iamArn(resource string) *string {
	return awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:iam::${AWS::AccountId}:"+resource), nil)
}
