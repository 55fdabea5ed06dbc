package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// A grantCheck proves one place where an AWS service acts on another: check passes on the
// synthesized template, and each mutant (a copy of the template with that grant removed or
// broken) must make check fail, so the check is seen to catch the missing grant.
type grantCheck struct {
	name    string
	configs []string // configurations it runs on (all when nil)
	check   func(t cfn) error
	mutants map[string]func(t cfn) int // returns how many places it changed (0 = mutant did not apply)
}

func TestCrossServiceGrants(t *testing.T) {
	for _, gc := range append(grantChecks(), identityGuardChecks()...) {
		configs := gc.configs
		if configs == nil {
			configs = sortedKeys(configurations)
		}
		for _, name := range configs {
			t.Run(gc.name+"/"+name, func(t *testing.T) {
				tmpl := cfn(get(t, name).json)
				if err := gc.check(tmpl); err != nil {
					t.Fatalf("real template: %v", err)
				}
				requireMutantsFail(t, tmpl, gc.mutants, gc.check, nil)
			})
		}
	}
}

// withSNS / withEventBridge are the configurations using that SES event transport.
var (
	withSNS         = []string{"central", "local"}
	withEventBridge = []string{"default", "local"}
)

func grantChecks() []grantCheck {
	return []grantCheck{
		{
			// SES → SNS event destination on a KMS-encrypted topic.
			// SES: "Set up an Amazon SNS event destination for event publishing",
			// https://docs.aws.amazon.com/ses/latest/dg/event-publishing-add-event-destination-sns.html
			// (the topic's access policy must let ses.amazonaws.com sns:Publish; CDK's own
			// aws-ses ConfigurationSetEventDestination writes it with AWS:SourceAccount and
			// AWS:SourceArn = the configuration set, and makes the destination depend on it).
			// SNS: "Enable compatibility between event sources from AWS services and encrypted
			// topics", https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
			// (the key policy must allow the publishing service kms:GenerateDataKey* and kms:Decrypt).
			name:    "SES→SNS",
			configs: withSNS,
			check:   checkSESToSNS,
			mutants: map[string]func(cfn) int{
				"topic policy without ses": func(t cfn) int {
					return t.dropStatements(func(o string, s stmt) bool {
						return t.res(o)["Type"] == "AWS::SNS::TopicPolicy" && s.hasService("ses.amazonaws.com")
					})
				},
				"topic policy without aws:SourceArn": func(t cfn) int {
					return t.editStatements(func(o string, s stmt) bool {
						return t.res(o)["Type"] == "AWS::SNS::TopicPolicy" && s.hasService("ses.amazonaws.com")
					}, dropCondition("aws:SourceArn"))
				},
				"key policy without ses": func(t cfn) int {
					return t.dropStatements(func(o string, s stmt) bool {
						return t.res(o)["Type"] == "AWS::KMS::Key" && s.hasService("ses.amazonaws.com")
					})
				},
				"key policy without kms:Decrypt": func(t cfn) int {
					return t.editStatements(func(o string, s stmt) bool {
						return t.res(o)["Type"] == "AWS::KMS::Key" && s.hasService("ses.amazonaws.com")
					}, dropAction("kms:Decrypt"))
				},
				"destination not after the topic policy": func(t cfn) int {
					n := 0
					for id := range t.ofType("AWS::SES::ConfigurationSetEventDestination") {
						for pid := range t.ofType("AWS::SNS::TopicPolicy") {
							n += t.dropDependsOn(id, pid)
						}
					}
					return n
				},
			},
		},
		{
			// Least privilege on the topic key: a service principal is in the key policy only
			// when it publishes to a topic encrypted with that key (sns-key-management.html
			// above; the key policy is the only grant a service principal gets on a CMK).
			name:  "key policy: no unused service principals",
			check: checkKeyServicesUsed,
			mutants: map[string]func(cfn) int{
				"ses on the key without an SES topic destination": func(t cfn) int {
					if len(sesSNSDestinations(t)) > 0 {
						// Remove the destinations instead: the ses statement is then unused.
						n := 0
						for id := range sesSNSDestinations(t) {
							delete(t["Resources"].(map[string]any), id)
							n++
						}
						return n
					}
					n := 0
					for id := range t.ofType("AWS::KMS::Key") {
						doc := t.props(id)["KeyPolicy"].(map[string]any)
						doc["Statement"] = append(asList(doc["Statement"]), map[string]any{
							"Effect": "Allow", "Principal": map[string]any{"Service": "ses.amazonaws.com"},
							"Action": []any{"kms:GenerateDataKey*", "kms:Decrypt"}, "Resource": "*",
						})
						n++
					}
					return n
				},
			},
		},
		{
			// SES → EventBridge: only the default event bus of the account and Region can be an
			// SES event destination ("Set up an Amazon EventBridge event destination",
			// https://docs.aws.amazon.com/ses/latest/dg/event-publishing-add-event-destination-eventbridge.html;
			// CDK's aws-ses construct rejects any other bus). SES puts no resource policy on the
			// default bus. The rule must be on the default bus and match the detail-type of each
			// published event type ("Amazon Simple Email Service events",
			// https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-ses.html).
			name:    "SES→EventBridge",
			configs: withEventBridge,
			check:   checkSESToEventBridge,
			mutants: map[string]func(cfn) int{
				"custom bus": func(t cfn) int {
					n := 0
					for _, d := range sesDestinations(t, "EventBridgeDestination") {
						d["EventBusArn"] = sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/sesguard")
						n++
					}
					return n
				},
				"rule misses Email Bounced": func(t cfn) int {
					n := 0
					for id := range t.ofType("AWS::Events::Rule") {
						ep, _ := t.props(id)["EventPattern"].(map[string]any)
						if ep == nil || !slices.Contains(asList(ep["source"]), any("aws.ses")) {
							continue
						}
						var keep []any
						for _, d := range asList(ep["detail-type"]) {
							if d != "Email Bounced" {
								keep = append(keep, d)
							} else {
								n++
							}
						}
						ep["detail-type"] = keep
					}
					return n
				},
				"rule on another bus": func(t cfn) int {
					n := 0
					for id := range t.ofType("AWS::Events::Rule") {
						if ep, _ := t.props(id)["EventPattern"].(map[string]any); ep != nil && slices.Contains(asList(ep["source"]), any("aws.ses")) {
							t.props(id)["EventBusName"] = "sesguard"
							n++
						}
					}
					return n
				},
			},
		},
		{
			// SES → Firehose: SES assumes the destination's role and calls
			// firehose:PutRecordBatch on the stream ("Set up an Amazon Data Firehose event
			// destination", https://docs.aws.amazon.com/ses/latest/dg/event-publishing-add-event-destination-firehose.html).
			// The trust policy carries the confused-deputy conditions aws:SourceAccount and
			// aws:SourceArn = the configuration set ("The confused deputy problem",
			// https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html; CDK's aws-ses
			// construct creates exactly this role), and the destination waits for the policy.
			name:  "SES→Firehose",
			check: checkSESToFirehose,
			mutants: map[string]func(cfn) int{
				"no firehose:PutRecordBatch": func(t cfn) int {
					return t.editStatements(func(_ string, s stmt) bool { return s.allowsAction("firehose:PutRecordBatch") }, dropAction("firehose:PutRecordBatch"))
				},
				"trust without aws:SourceArn": func(t cfn) int {
					return t.editStatements(func(o string, s stmt) bool {
						return t.res(o)["Type"] == "AWS::IAM::Role" && s.hasService("ses.amazonaws.com")
					}, dropCondition("aws:SourceArn"))
				},
				"trust without aws:SourceAccount": func(t cfn) int {
					return t.editStatements(func(o string, s stmt) bool {
						return t.res(o)["Type"] == "AWS::IAM::Role" && s.hasService("ses.amazonaws.com")
					}, dropCondition("aws:SourceAccount"))
				},
				"destination before its policy": func(t cfn) int {
					n := 0
					for id := range t.ofType("AWS::SES::ConfigurationSetEventDestination") {
						for _, d := range asList(t.res(id)["DependsOn"]) {
							n += t.dropDependsOn(id, d.(string))
						}
					}
					return n
				},
			},
		},
		{
			// Firehose → S3 and CloudWatch Logs: "Grant Firehose access to an Amazon S3
			// destination", https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-s3
			// (trust firehose.amazonaws.com with sts:ExternalId = the account; s3:PutObject and
			// friends on the bucket and its objects; logs:PutLogEvents on the log stream).
			name:  "Firehose→S3",
			check: checkFirehoseToS3,
			mutants: map[string]func(cfn) int{
				"no s3:PutObject": func(t cfn) int {
					return t.editStatements(func(o string, s stmt) bool {
						return strings.HasPrefix(o, "ArchiveFirehosePolicy") && s.allowsAction("s3:PutObject")
					}, dropAction("s3:PutObject"))
				},
				"no object grant for the error prefix": func(t cfn) int {
					return t.editStatements(func(_ string, s stmt) bool {
						return slices.ContainsFunc(s.resources, func(r string) bool { return strings.Contains(r, "/errors/*") })
					},
						func(raw map[string]any) {
							var keep []any
							for _, r := range asList(raw["Resource"]) {
								if !strings.Contains(canon(r), "/errors/*") {
									keep = append(keep, r)
								}
							}
							raw["Resource"] = keep
						})
				},
				"no logs:PutLogEvents": func(t cfn) int {
					return t.editStatements(func(o string, s stmt) bool {
						return strings.HasPrefix(o, "Archive") && s.allowsAction("logs:PutLogEvents")
					}, dropAction("logs:PutLogEvents"))
				},
				"trust without sts:ExternalId": func(t cfn) int {
					return t.editStatements(func(o string, s stmt) bool {
						return t.res(o)["Type"] == "AWS::IAM::Role" && s.hasService("firehose.amazonaws.com")
					}, dropCondition("sts:ExternalId"))
				},
				"stream before its policy": func(t cfn) int {
					n := 0
					for id := range t.ofType("AWS::KinesisFirehose::DeliveryStream") {
						for _, d := range asList(t.res(id)["DependsOn"]) {
							n += t.dropDependsOn(id, d.(string))
						}
					}
					return n
				},
			},
		},
		{
			// SNS → SQS subscriptions and their dead-letter queues: "Subscribing an Amazon SQS
			// queue to an Amazon SNS topic", https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html
			// (queue policy: sns.amazonaws.com sqs:SendMessage with aws:SourceArn = the topic) and
			// "Configuring an Amazon SNS dead-letter queue for a subscription",
			// https://docs.aws.amazon.com/sns/latest/dg/sns-configure-dead-letter-queue.html (the
			// same grant on the DLQ). A queue encrypted with a CMK would also need the key to allow
			// sns.amazonaws.com (sns-key-management.html); these queues use SSE-SQS, so no key.
			name:  "SNS→SQS",
			check: checkSNSToSQS,
			mutants: map[string]func(cfn) int{
				"respond queue policy without sns": func(t cfn) int {
					return t.dropStatements(func(o string, s stmt) bool {
						return strings.HasPrefix(o, "FunctionsRespondQueuePolicy") && s.hasService("sns.amazonaws.com")
					})
				},
				"notify DLQ policy without sns": func(t cfn) int {
					return t.dropStatements(func(o string, s stmt) bool {
						return strings.HasPrefix(o, "FunctionsNotifyDLQPolicy") && s.hasService("sns.amazonaws.com")
					})
				},
				"queue grant without aws:SourceArn": func(t cfn) int {
					return t.editStatements(func(o string, s stmt) bool {
						return strings.HasPrefix(o, "FunctionsNotifyQueuePolicy") && s.hasService("sns.amazonaws.com")
					}, dropCondition("aws:SourceArn"))
				},
				"queue on a CMK sns cannot use": func(t cfn) int {
					n := 0
					for id := range t.ofType("AWS::SQS::Queue") {
						if strings.HasPrefix(id, "FunctionsNotifyQueue") {
							p := t.props(id)
							delete(p, "SqsManagedSseEnabled")
							p["KmsMasterKeyId"] = getAtt(firstID(t, "AWS::KMS::Key"), "Arn")
							n++
						}
					}
					return n
				},
				"subscription before its queue policy": func(t cfn) int {
					n := 0
					for id := range t.ofType("AWS::SNS::Subscription") {
						for _, d := range asList(t.res(id)["DependsOn"]) {
							n += t.dropDependsOn(id, d.(string))
						}
					}
					return n
				},
			},
		},
		{
			// EventBridge → SQS targets and target DLQs: "Amazon SQS permissions",
			// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions
			// (events.amazonaws.com sqs:SendMessage with aws:SourceArn = the rule) and "Using
			// dead-letter queues to process undelivered events",
			// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html.
			// EventBridge → Lambda: "AWS Lambda permissions" on the same page (a Lambda
			// permission for events.amazonaws.com with the rule as SourceArn).
			name:  "EventBridge→SQS/Lambda",
			check: checkEventBridgeTargets,
			mutants: map[string]func(cfn) int{
				"coverage DLQ without events": func(t cfn) int {
					return t.dropStatements(func(o string, s stmt) bool {
						return strings.HasPrefix(o, "FunctionsCoverageDLQPolicy") && s.hasService("events.amazonaws.com")
					})
				},
				"events grant without aws:SourceArn": func(t cfn) int {
					return t.editStatements(func(o string, s stmt) bool {
						return strings.HasPrefix(o, "FunctionsCoverageDLQPolicy") && s.hasService("events.amazonaws.com")
					}, dropCondition("aws:SourceArn"))
				},
				"no lambda permission": func(t cfn) int {
					n := 0
					for id := range t.ofType("AWS::Lambda::Permission") {
						delete(t["Resources"].(map[string]any), id)
						n++
					}
					return n
				},
			},
		},
		{
			// CloudWatch alarms → encrypted SNS topic: the topic policy must let
			// cloudwatch.amazonaws.com sns:Publish and the CMK must let it kms:Decrypt and
			// kms:GenerateDataKey* ("How do I configure a CloudWatch alarm with an encrypted SNS
			// topic", https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns, and
			// sns-key-management.html#compatibility-with-aws-services); without the key grant the
			// alarm history shows "CloudWatch Alarms does not have authorization to access the
			// SNS topic encryption key".
			name:  "CloudWatch→SNS",
			check: checkAlarmsToSNS,
			mutants: map[string]func(cfn) int{
				"key without cloudwatch": func(t cfn) int {
					return t.dropStatements(func(o string, s stmt) bool {
						return t.res(o)["Type"] == "AWS::KMS::Key" && s.hasService("cloudwatch.amazonaws.com")
					})
				},
				"key without GenerateDataKey": func(t cfn) int {
					return t.editStatements(func(o string, s stmt) bool {
						return t.res(o)["Type"] == "AWS::KMS::Key" && s.hasService("cloudwatch.amazonaws.com")
					}, dropAction("kms:GenerateDataKey*"))
				},
				"topic without cloudwatch": func(t cfn) int {
					return t.dropStatements(func(o string, s stmt) bool {
						return t.res(o)["Type"] == "AWS::SNS::TopicPolicy" && s.hasService("cloudwatch.amazonaws.com")
					})
				},
			},
		},
		{
			// Lambda SQS event source mappings ("Creating and configuring an Amazon SQS event
			// source mapping", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html:
			// visibility timeout at least six times the function timeout; "Handling errors for an
			// SQS event source", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html:
			// ReportBatchItemFailures so one bad record does not redeliver the batch, and a
			// redrive policy; "Configuring scaling behavior for SQS event source mappings",
			// https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html: maximum
			// concurrency 2–1000, not above the function's reserved concurrency, or the mapping
			// polls messages the function is throttled on; the execution role needs
			// sqs:ReceiveMessage, sqs:DeleteMessage and sqs:GetQueueAttributes on the queue,
			// https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html). Batching windows
			// 0–300 s, at least 1 s when BatchSize > 10 (EventSourceMapping reference).
			name:  "Lambda←SQS mappings",
			check: checkEventSourceMappings,
			mutants: map[string]func(cfn) int{
				"ingest visibility below 6x": func(t cfn) int {
					return setProp(t, "AWS::SQS::Queue", "PipelineIngestQueue", "VisibilityTimeout", float64(170))
				},
				"respond without ReportBatchItemFailures": func(t cfn) int {
					return setProp(t, "AWS::Lambda::EventSourceMapping", "FunctionsRespondSqsEventSource", "FunctionResponseTypes", []any{})
				},
				"respond max concurrency above reserved": func(t cfn) int {
					return setProp(t, "AWS::Lambda::EventSourceMapping", "FunctionsRespondSqsEventSource", "ScalingConfig", map[string]any{"MaximumConcurrency": float64(50)})
				},
				"respond without max concurrency": func(t cfn) int {
					return setProp(t, "AWS::Lambda::EventSourceMapping", "FunctionsRespondSqsEventSource", "ScalingConfig", nil)
				},
				"notify role cannot delete": func(t cfn) int {
					return t.editStatements(func(o string, s stmt) bool {
						return strings.HasPrefix(o, "FunctionsNotifyRoleDefaultPolicy") && s.allowsAction("sqs:DeleteMessage")
					}, dropAction("sqs:DeleteMessage"))
				},
				"ingest queue without DLQ": func(t cfn) int {
					return setProp(t, "AWS::SQS::Queue", "PipelineIngestQueue", "RedrivePolicy", nil)
				},
				"batch of 20 without a window": func(t cfn) int {
					n := setProp(t, "AWS::Lambda::EventSourceMapping", "FunctionsNotifySqsEventSource", "BatchSize", float64(20))
					return n
				},
			},
		},
		{
			// Lambda asynchronous invocation DLQ: "the function's execution role needs
			// sqs:SendMessage on the queue" ("Adding a dead-letter queue",
			// https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html#invocation-dlq).
			name:  "Lambda→DLQ",
			check: checkFunctionDLQs,
			mutants: map[string]func(cfn) int{
				"coverage role cannot send": func(t cfn) int {
					return t.editStatements(func(o string, s stmt) bool {
						return strings.HasPrefix(o, "FunctionsCoverageRole") && s.allowsAction("sqs:SendMessage")
					}, dropAction("sqs:SendMessage"))
				},
			},
		},
		{
			// The coverage function's Region sentinel check (coverage.CheckRegions): ec2:DescribeRegions
			// for the enabled Regions, events:ListRules on each Region's default bus. Neither action
			// has a resource type in the Service Authorization Reference ("Actions, resources, and
			// condition keys for Amazon EC2" / "... for Amazon EventBridge"), so "*" is the only
			// resource that grants them.
			name:  "coverage→Regions and sentinel rules",
			check: checkCoverageRegions,
			mutants: map[string]func(cfn) int{
				"coverage cannot list Regions": func(t cfn) int {
					return t.editStatements(func(o string, s stmt) bool {
						return strings.HasPrefix(o, "FunctionsCoveragePolicy") && s.allowsAction("ec2:DescribeRegions")
					}, dropAction("ec2:DescribeRegions"))
				},
				"coverage cannot list rules": func(t cfn) int {
					return t.editStatements(func(o string, s stmt) bool {
						return strings.HasPrefix(o, "FunctionsCoveragePolicy") && s.allowsAction("events:ListRules")
					}, dropAction("events:ListRules"))
				},
				"rules on one bus ARN only": func(t cfn) int {
					return t.editStatements(func(o string, s stmt) bool {
						return strings.HasPrefix(o, "FunctionsCoveragePolicy") && s.allowsAction("events:ListRules")
					}, func(raw map[string]any) {
						raw["Resource"] = sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default")
					})
				},
			},
		},
		{
			// S3 server access logging → the log bucket: with no ACLs, the log bucket's policy
			// must let logging.s3.amazonaws.com s3:PutObject under the target prefix, with
			// aws:SourceArn = the source bucket and aws:SourceAccount ("Permissions for log
			// delivery", https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general).
			name:  "S3 access logs→log bucket",
			check: checkAccessLogging,
			mutants: map[string]func(cfn) int{
				"log bucket policy without logging.s3": func(t cfn) int {
					return t.dropStatements(func(_ string, s stmt) bool { return s.hasService("logging.s3.amazonaws.com") })
				},
				"logging grant without aws:SourceArn": func(t cfn) int {
					return t.editStatements(func(_ string, s stmt) bool { return s.hasService("logging.s3.amazonaws.com") }, dropCondition("aws:SourceArn"))
				},
			},
		},
		{
			// Lambda → CloudWatch Logs: with LoggingConfig.LogGroup the execution role must allow
			// logs:CreateLogStream and logs:PutLogEvents on that group ("Configuring CloudWatch
			// log groups", https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html).
			name:  "Lambda→CloudWatch Logs",
			check: checkFunctionLogs,
			mutants: map[string]func(cfn) int{
				"ingest cannot write its logs": func(t cfn) int {
					return t.editStatements(func(o string, s stmt) bool {
						return strings.HasPrefix(o, "FunctionsIngestRole") && s.allowsAction("logs:PutLogEvents")
					}, dropAction("logs:PutLogEvents"))
				},
			},
		},
		{
			// Every dead-letter queue (queue redrive, SNS subscription redrive, EventBridge target
			// DLQ, Lambda async DLQ) has an alarm on ApproximateNumberOfMessagesVisible to the
			// alerts topic: a DLQ nobody watches is a silent drop.
			name:  "DLQs alarmed",
			check: checkDLQAlarms,
			mutants: map[string]func(cfn) int{
				"no alarm on the coverage DLQ": func(t cfn) int {
					n := 0
					for id := range t.ofType("AWS::CloudWatch::Alarm") {
						if strings.HasPrefix(id, "AlarmsCoverageDLQDepth") {
							delete(t["Resources"].(map[string]any), id)
							n++
						}
					}
					return n
				},
			},
		},
	}
}

func firstID(t cfn, typ string) string {
	ids := sortedKeys(t.ofType(typ))
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// setProp sets (or, with nil, deletes) a property on the resources of typ whose id has prefix.
func setProp(t cfn, typ, prefix, key string, v any) int {
	n := 0
	for id := range t.ofType(typ) {
		if strings.HasPrefix(id, prefix) {
			if v == nil {
				delete(t.props(id), key)
			} else {
				t.props(id)[key] = v
			}
			n++
		}
	}
	return n
}

// sesDestinations returns the EventDestination.<kind> objects of every SES event destination.
func sesDestinations(t cfn, kind string) []map[string]any {
	var out []map[string]any
	for _, id := range sortedKeys(t.ofType("AWS::SES::ConfigurationSetEventDestination")) {
		ed, _ := t.props(id)["EventDestination"].(map[string]any)
		if d, ok := ed[kind].(map[string]any); ok {
			out = append(out, d)
		}
	}
	return out
}

// sesSNSDestinations maps destination id → topic id.
func sesSNSDestinations(t cfn) map[string]string {
	out := map[string]string{}
	for id := range t.ofType("AWS::SES::ConfigurationSetEventDestination") {
		ed, _ := t.props(id)["EventDestination"].(map[string]any)
		if d, ok := ed["SnsDestination"].(map[string]any); ok {
			out[id] = refID(d["TopicARN"])
		}
	}
	return out
}

// topicKey is the key id of a topic's KmsMasterKeyId.
func (t cfn) topicKey(topicID string) string { return refID(t.props(topicID)["KmsMasterKeyId"]) }

// topicPolicyIDs are the TopicPolicy resources on topicID.
func (t cfn) topicPolicyIDs(topicID string) []string {
	var out []string
	for id, pol := range t.ofType("AWS::SNS::TopicPolicy") {
		pp, _ := pol["Properties"].(map[string]any)
		for _, x := range asList(pp["Topics"]) {
			if refID(x) == topicID {
				out = append(out, id)
			}
		}
	}
	return out
}

func checkSESToSNS(t cfn) error {
	dests := sesSNSDestinations(t)
	if len(dests) == 0 {
		return errors.New("no SES SNS event destination")
	}
	var errs []error
	for _, id := range sortedKeys(dests) {
		topic := dests[id]
		if t.res(topic)["Type"] != "AWS::SNS::Topic" {
			errs = append(errs, fmt.Errorf("%s: topic %q is not in the stack", id, topic))
			continue
		}
		setArn := t.sesSetArn(t.props(id)["ConfigurationSetName"])
		s, ok := findAllow(t.stmtsFor(topic), "ses.amazonaws.com", ref(topic), "sns:Publish")
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s: topic %s does not let ses.amazonaws.com sns:Publish", id, topic))
		case !s.condCovers("aws:SourceAccount", accountID, stringEqualOps...):
			errs = append(errs, fmt.Errorf("%s: ses publish grant lacks aws:SourceAccount", id))
		case !s.condCovers("aws:SourceArn", setArn, arnOps...):
			errs = append(errs, fmt.Errorf("%s: ses publish grant's aws:SourceArn does not cover %s", id, canon(setArn)))
		}
		if key := t.topicKey(topic); key != "" {
			ks, ok := findAllow(t.stmtsFor(key), "ses.amazonaws.com", "*", "kms:GenerateDataKey", "kms:Decrypt")
			if !ok {
				errs = append(errs, fmt.Errorf("%s: key %s of topic %s does not let ses.amazonaws.com kms:GenerateDataKey* and kms:Decrypt", id, key, topic))
			} else if !ks.condCovers("aws:SourceAccount", accountID, stringEqualOps...) {
				errs = append(errs, fmt.Errorf("%s: ses key grant lacks aws:SourceAccount", id))
			}
		}
		dep := false
		for _, p := range t.topicPolicyIDs(topic) {
			dep = dep || t.dependsOn(id, p)
		}
		if !dep {
			errs = append(errs, fmt.Errorf("%s: not created after the topic policy of %s", id, topic))
		}
	}
	return errors.Join(errs...)
}

// keyUsers: which service principals publish to a topic encrypted with each key.
func keyUsers(t cfn) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	use := func(topic, svc string) {
		if key := t.topicKey(topic); key != "" {
			if out[key] == nil {
				out[key] = map[string]bool{}
			}
			out[key][svc] = true
		}
	}
	for _, topic := range sesSNSDestinations(t) {
		use(topic, "ses.amazonaws.com")
	}
	for id := range t.ofType("AWS::CloudWatch::Alarm") {
		for _, a := range asList(t.props(id)["AlarmActions"]) {
			use(refID(a), "cloudwatch.amazonaws.com")
		}
	}
	for id := range t.ofType("AWS::Events::Rule") { // the central bus rule → findings topic
		for _, tg := range asList(t.props(id)["Targets"]) {
			if m, _ := tg.(map[string]any); t.res(refID(m["Arn"]))["Type"] == "AWS::SNS::Topic" {
				use(refID(m["Arn"]), "events.amazonaws.com")
			}
		}
	}
	return out
}

func checkKeyServicesUsed(t cfn) error {
	users := keyUsers(t)
	var errs []error
	for _, key := range sortedKeys(t.ofType("AWS::KMS::Key")) {
		for _, s := range t.stmtsFor(key) {
			for _, svc := range s.services {
				if s.allow && !users[key][svc] {
					errs = append(errs, fmt.Errorf("key %s grants %s, which publishes to no topic of this key", key, svc))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// sesDetailType maps SESv2 MatchingEventTypes to EventBridge detail-types (events-ref-ses.html).
var sesDetailType = map[string]string{
	"SEND": "Email Sent", "REJECT": "Email Rejected", "BOUNCE": "Email Bounced",
	"COMPLAINT": "Email Complaint Received", "DELIVERY": "Email Delivered", "OPEN": "Email Opened",
	"CLICK": "Email Clicked", "RENDERING_FAILURE": "Email Rendering Failed",
	"DELIVERY_DELAY": "Email Delivery Delayed", "SUBSCRIPTION": "Email Subscribed",
}

func checkSESToEventBridge(t cfn) error {
	var errs []error
	defaultBus := sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default")
	wantTypes := map[string]bool{}
	n := 0
	for _, id := range sortedKeys(t.ofType("AWS::SES::ConfigurationSetEventDestination")) {
		ed, _ := t.props(id)["EventDestination"].(map[string]any)
		d, ok := ed["EventBridgeDestination"].(map[string]any)
		if !ok {
			continue
		}
		n++
		if canon(d["EventBusArn"]) != canon(defaultBus) {
			errs = append(errs, fmt.Errorf("%s: EventBridge destination on %s, but SES publishes only to the default bus", id, canon(d["EventBusArn"])))
		}
		for _, et := range asList(ed["MatchingEventTypes"]) {
			wantTypes[fmt.Sprint(et)] = true
		}
	}
	if n == 0 {
		return errors.New("no SES EventBridge event destination")
	}
	var rule string
	for _, id := range sortedKeys(t.ofType("AWS::Events::Rule")) {
		ep, _ := t.props(id)["EventPattern"].(map[string]any)
		if ep != nil && slices.Contains(asList(ep["source"]), any("aws.ses")) && !strings.Contains(canon(ep), "CloudTrail") {
			rule = id
		}
	}
	if rule == "" {
		return errors.Join(append(errs, errors.New("no rule for aws.ses sending events"))...)
	}
	p := t.props(rule)
	if bus, ok := p["EventBusName"]; ok && bus != "default" {
		errs = append(errs, fmt.Errorf("%s: rule on bus %v, SES publishes to the default bus", rule, bus))
	}
	// The rule routes exactly the published types detection reads (detect.IngestEventTypes);
	// the others stay on the bus (free) and in the archive.
	got := asList(p["EventPattern"].(map[string]any)["detail-type"])
	ingest := map[string]bool{"SEND": true, "BOUNCE": true, "COMPLAINT": true}
	for _, et := range sortedKeys(wantTypes) {
		dt, known := sesDetailType[et]
		switch {
		case !known:
			errs = append(errs, fmt.Errorf("%s: published event type %s has no known detail-type", rule, et))
		case ingest[et] && !slices.Contains(got, any(dt)):
			errs = append(errs, fmt.Errorf("%s: published event type %s (detail-type %q) not matched", rule, et, dt))
		case !ingest[et] && slices.Contains(got, any(dt)):
			errs = append(errs, fmt.Errorf("%s: event type %s (detail-type %q) routed to ingest, which does not read it", rule, et, dt))
		}
	}
	return errors.Join(errs...)
}

func checkSESToFirehose(t cfn) error {
	var errs []error
	n := 0
	for _, id := range sortedKeys(t.ofType("AWS::SES::ConfigurationSetEventDestination")) {
		ed, _ := t.props(id)["EventDestination"].(map[string]any)
		d, ok := ed["KinesisFirehoseDestination"].(map[string]any)
		if !ok {
			continue
		}
		n++
		role, stream := refID(d["IAMRoleARN"]), d["DeliveryStreamARN"]
		setArn := t.sesSetArn(t.props(id)["ConfigurationSetName"])
		s, ok := findAllow(t.trust(role), "ses.amazonaws.com", nil, "sts:AssumeRole")
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s: role %s does not trust ses.amazonaws.com", id, role))
		case !s.condCovers("aws:SourceAccount", accountID, stringEqualOps...):
			errs = append(errs, fmt.Errorf("%s: trust lacks aws:SourceAccount", id))
		case !s.condCovers("aws:SourceArn", setArn, arnOps...):
			errs = append(errs, fmt.Errorf("%s: trust's aws:SourceArn does not cover %s", id, canon(setArn)))
		}
		if _, ok := findAllow(t.stmtsFor(role), "", stream, "firehose:PutRecordBatch"); !ok {
			errs = append(errs, fmt.Errorf("%s: role %s may not firehose:PutRecordBatch on %s", id, role, canon(stream)))
		}
		dep := false
		for _, pol := range t.policyIDsOn(role) {
			dep = dep || t.dependsOn(id, pol)
		}
		if !dep {
			errs = append(errs, fmt.Errorf("%s: does not depend on the policy of %s (SES checks it can write when the destination is created)", id, role))
		}
	}
	if n == 0 {
		return errors.New("no Firehose event destination")
	}
	return errors.Join(errs...)
}

func checkFirehoseToS3(t cfn) error {
	var errs []error
	streams := t.ofType("AWS::KinesisFirehose::DeliveryStream")
	if len(streams) == 0 {
		return errors.New("no delivery stream")
	}
	for _, id := range sortedKeys(streams) {
		d, _ := t.props(id)["ExtendedS3DestinationConfiguration"].(map[string]any)
		role, bucketArn := refID(d["RoleARN"]), d["BucketARN"]
		if lit, _ := d["RoleARN"].(string); strings.HasPrefix(lit, "arn:") && strings.HasPrefix(id, "ExportSecurityLakeStream") {
			// The Security Lake provider role: created, trusted and granted the source's prefix
			// by Security Lake, outside this template (checkLakeGrants covers the rest).
			continue
		}
		s, ok := findAllow(t.trust(role), "firehose.amazonaws.com", nil, "sts:AssumeRole")
		if !ok {
			errs = append(errs, fmt.Errorf("%s: role %s does not trust firehose.amazonaws.com", id, role))
		} else if !s.condCovers("sts:ExternalId", accountID, stringEqualOps...) {
			errs = append(errs, fmt.Errorf("%s: firehose trust lacks sts:ExternalId = the account", id))
		}
		st := t.stmtsFor(role)
		if _, ok := findAllow(st, "", bucketArn, "s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"); !ok {
			errs = append(errs, fmt.Errorf("%s: role may not list/locate the bucket", id))
		}
		for _, prefix := range []any{d["Prefix"], d["ErrorOutputPrefix"]} {
			root, _, _ := strings.Cut(fmt.Sprint(prefix), "!{")
			objects := map[string]any{"Fn::Join": []any{"", []any{bucketArn, "/" + root + "*"}}}
			if _, ok := findAllow(st, "", objects, "s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject"); !ok {
				errs = append(errs, fmt.Errorf("%s: role may not write objects under %s", id, root))
			}
		}
		if lo, _ := d["CloudWatchLoggingOptions"].(map[string]any); lo["Enabled"] == true {
			group := getAtt(refID(lo["LogGroupName"]), "Arn")
			if _, ok := findAllow(st, "", group, "logs:PutLogEvents"); !ok {
				errs = append(errs, fmt.Errorf("%s: role may not write its delivery error logs", id))
			}
		}
		dep := false
		for _, pol := range t.policyIDsOn(role) {
			dep = dep || t.dependsOn(id, pol)
		}
		if !dep {
			errs = append(errs, fmt.Errorf("%s: created before its role's policy (Firehose checks bucket access at creation)", id))
		}
	}
	return errors.Join(errs...)
}

// queueGrant checks the queue (logical id q) lets svc sqs:SendMessage with aws:SourceArn = src.
func queueGrant(t cfn, q, svc string, src any) error {
	all := allAllows(t.stmtsFor(q), svc, getAtt(q, "Arn"), "sqs:SendMessage")
	if len(all) == 0 {
		return fmt.Errorf("queue %s does not let %s sqs:SendMessage", q, svc)
	}
	for _, s := range all {
		if s.condCovers("aws:SourceArn", src, arnOps...) {
			return nil
		}
	}
	return fmt.Errorf("queue %s: no %s grant with aws:SourceArn %s", q, svc, canon(src))
}

// queueKeyUsable: a queue on a CMK needs the key to allow svc (SSE-SQS queues need nothing).
func queueKeyUsable(t cfn, q, svc string) error {
	p := t.props(q)
	key := p["KmsMasterKeyId"]
	if key == nil {
		if p["SqsManagedSseEnabled"] != true {
			return fmt.Errorf("queue %s is not encrypted", q)
		}
		return nil
	}
	kid := refID(key)
	if kid == "" {
		return fmt.Errorf("queue %s uses key %s, which %s cannot be shown to use", q, canon(key), svc)
	}
	if _, ok := findAllow(t.stmtsFor(kid), svc, "*", "kms:GenerateDataKey", "kms:Decrypt"); !ok {
		return fmt.Errorf("queue %s is encrypted with %s, which does not let %s kms:GenerateDataKey*/kms:Decrypt", q, kid, svc)
	}
	return nil
}

func checkSNSToSQS(t cfn) error {
	var errs []error
	n := 0
	for _, id := range sortedKeys(t.ofType("AWS::SNS::Subscription")) {
		p := t.props(id)
		if p["Protocol"] != "sqs" {
			continue
		}
		n++
		topic := p["TopicArn"]
		q := refID(p["Endpoint"])
		if err := queueGrant(t, q, "sns.amazonaws.com", topic); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		}
		errs = append(errs, queueKeyUsable(t, q, "sns.amazonaws.com"))
		dep := false
		for pid, pol := range t.ofType("AWS::SQS::QueuePolicy") {
			pp, _ := pol["Properties"].(map[string]any)
			for _, x := range asList(pp["Queues"]) {
				if refID(x) == q && t.dependsOn(id, pid) {
					dep = true
				}
			}
		}
		if !dep {
			errs = append(errs, fmt.Errorf("%s: not created after the queue policy of %s (SNS would deliver into a queue that refuses it)", id, q))
		}
		rp, _ := p["RedrivePolicy"].(map[string]any)
		dlq := refID(rp["deadLetterTargetArn"])
		if dlq == "" {
			errs = append(errs, fmt.Errorf("%s: subscription without a dead-letter queue", id))
			continue
		}
		if err := queueGrant(t, dlq, "sns.amazonaws.com", topic); err != nil {
			errs = append(errs, fmt.Errorf("%s (subscription DLQ): %w", id, err))
		}
		errs = append(errs, queueKeyUsable(t, dlq, "sns.amazonaws.com"))
	}
	if n == 0 {
		return errors.New("no SQS subscription")
	}
	return errors.Join(errs...)
}

func checkEventBridgeTargets(t cfn) error {
	var errs []error
	for _, rule := range sortedKeys(t.ofType("AWS::Events::Rule")) {
		ruleArn := getAtt(rule, "Arn")
		for _, tg := range asList(t.props(rule)["Targets"]) {
			m, _ := tg.(map[string]any)
			target := refID(m["Arn"])
			switch t.res(target)["Type"] {
			case "AWS::SQS::Queue":
				errs = append(errs, queueGrant(t, target, "events.amazonaws.com", ruleArn), queueKeyUsable(t, target, "events.amazonaws.com"))
			case "AWS::Lambda::Function":
				found := false
				for _, perm := range t.ofType("AWS::Lambda::Permission") {
					pp, _ := perm["Properties"].(map[string]any)
					if refID(pp["FunctionName"]) == target && pp["Principal"] == "events.amazonaws.com" &&
						pp["Action"] == "lambda:InvokeFunction" && canon(pp["SourceArn"]) == canon(ruleArn) {
						found = true
					}
				}
				if !found {
					errs = append(errs, fmt.Errorf("%s: no lambda:InvokeFunction permission for events.amazonaws.com from this rule on %s", rule, target))
				}
			case "AWS::KinesisFirehose::DeliveryStream":
				// EventBridge → Firehose (central findings archive): the target's role trusts
				// events.amazonaws.com and may firehose:PutRecord/PutRecordBatch on this stream only
				// ("Using IAM roles for EventBridge targets", eb-use-identity-based.html).
				role := refID(m["RoleArn"])
				if _, ok := findAllow(t.trust(role), "events.amazonaws.com", nil, "sts:AssumeRole"); !ok {
					errs = append(errs, fmt.Errorf("%s: target role %s does not trust events.amazonaws.com", rule, role))
				}
				if _, ok := findAllow(t.stmtsFor(role), "", getAtt(target, "Arn"), "firehose:PutRecord", "firehose:PutRecordBatch"); !ok {
					errs = append(errs, fmt.Errorf("%s: target role %s may not put into %s", rule, role, target))
				}
			case "AWS::SNS::Topic":
				// EventBridge → encrypted SNS (central bus, infra/central.go): the topic policy lets
				// events.amazonaws.com sns:Publish from this rule only, and the CMK lets it use the key
				// ("Permissions for Amazon SNS targets", eb-use-resource-based.html#eb-sns-permissions).
				if s, ok := findAllow(t.stmtsFor(target), "events.amazonaws.com", ref(target), "sns:Publish"); !ok {
					errs = append(errs, fmt.Errorf("%s: topic %s does not let events.amazonaws.com sns:Publish", rule, target))
				} else if !s.condCovers("aws:SourceArn", ruleArn, arnOps...) {
					errs = append(errs, fmt.Errorf("%s: topic %s grant to events lacks aws:SourceArn of the rule", rule, target))
				}
				if key := t.topicKey(target); key != "" {
					if _, ok := findAllow(t.stmtsFor(key), "events.amazonaws.com", "*", "kms:GenerateDataKey", "kms:Decrypt"); !ok {
						errs = append(errs, fmt.Errorf("%s: topic %s is encrypted with %s, which does not let events.amazonaws.com use it", rule, target, key))
					}
				}
			default:
				errs = append(errs, fmt.Errorf("%s: target %s of unexpected type", rule, canon(m["Arn"])))
			}
			if dl, _ := m["DeadLetterConfig"].(map[string]any); dl != nil {
				dlq := refID(dl["Arn"])
				errs = append(errs, queueGrant(t, dlq, "events.amazonaws.com", ruleArn), queueKeyUsable(t, dlq, "events.amazonaws.com"))
			} else {
				errs = append(errs, fmt.Errorf("%s: target %s without a dead-letter queue", rule, target))
			}
		}
	}
	return errors.Join(errs...)
}

func checkAlarmsToSNS(t cfn) error {
	var errs []error
	topics := map[string]bool{}
	for id := range t.ofType("AWS::CloudWatch::Alarm") {
		actions := asList(t.props(id)["AlarmActions"])
		if len(actions) == 0 {
			errs = append(errs, fmt.Errorf("alarm %s has no action", id))
		}
		for _, a := range actions {
			topics[refID(a)] = true
		}
	}
	if len(topics) == 0 {
		return errors.New("no alarms")
	}
	for _, topic := range sortedKeys(topics) {
		s, ok := findAllow(t.stmtsFor(topic), "cloudwatch.amazonaws.com", ref(topic), "sns:Publish")
		if !ok {
			errs = append(errs, fmt.Errorf("topic %s does not let cloudwatch.amazonaws.com sns:Publish", topic))
		} else if !s.condCovers("aws:SourceAccount", accountID, stringEqualOps...) {
			errs = append(errs, fmt.Errorf("topic %s: cloudwatch grant lacks aws:SourceAccount", topic))
		}
		if key := t.topicKey(topic); key != "" {
			if _, ok := findAllow(t.stmtsFor(key), "cloudwatch.amazonaws.com", "*", "kms:GenerateDataKey", "kms:Decrypt"); !ok {
				errs = append(errs, fmt.Errorf("topic %s is encrypted with %s, which does not let cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*", topic, key))
			}
		}
	}
	return errors.Join(errs...)
}

func checkEventSourceMappings(t cfn) error {
	var errs []error
	maps := t.ofType("AWS::Lambda::EventSourceMapping")
	if len(maps) == 0 {
		return errors.New("no event source mappings")
	}
	for _, id := range sortedKeys(maps) {
		p := t.props(id)
		q, fn := refID(p["EventSourceArn"]), refID(p["FunctionName"])
		if t.res(q)["Type"] != "AWS::SQS::Queue" || t.res(fn)["Type"] != "AWS::Lambda::Function" {
			errs = append(errs, fmt.Errorf("%s: source %q / function %q not in the stack", id, q, fn))
			continue
		}
		fp, qp := t.props(fn), t.props(q)
		timeout, ok1 := num(fp["Timeout"])
		vis, ok2 := num(qp["VisibilityTimeout"])
		if !ok1 {
			timeout = 3 // Lambda's default
		}
		if !ok2 {
			vis = 30 // SQS's default
		}
		if vis < 6*timeout {
			errs = append(errs, fmt.Errorf("%s: queue %s visibility %gs < 6 × function timeout %gs", id, q, vis, timeout))
		}
		if !slices.Contains(asList(p["FunctionResponseTypes"]), any("ReportBatchItemFailures")) {
			errs = append(errs, fmt.Errorf("%s: partial batch responses (ReportBatchItemFailures) not enabled", id))
		}
		batch, ok := num(p["BatchSize"])
		if !ok {
			batch = 10
		}
		window, _ := num(p["MaximumBatchingWindowInSeconds"])
		if window < 0 || window > 300 || (batch > 10 && window < 1) {
			errs = append(errs, fmt.Errorf("%s: batch size %g with batching window %gs (0–300 s; ≥1 s above 10 records)", id, batch, window))
		}
		sc, _ := p["ScalingConfig"].(map[string]any)
		maxC, hasMax := num(sc["MaximumConcurrency"])
		reserved, hasReserved := num(fp["ReservedConcurrentExecutions"])
		if hasMax && (maxC < 2 || maxC > 1000) {
			errs = append(errs, fmt.Errorf("%s: maximum concurrency %g outside 2–1000", id, maxC))
		}
		if hasReserved && (!hasMax || maxC > reserved) {
			errs = append(errs, fmt.Errorf("%s: function %s reserves %g but the mapping's maximum concurrency is %v (want ≤ reserved, or it polls messages the function is throttled on)", id, fn, reserved, sc["MaximumConcurrency"]))
		}
		role := refID(fp["Role"])
		if _, ok := findAllow(t.stmtsFor(role), "", getAtt(q, "Arn"), "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"); !ok {
			errs = append(errs, fmt.Errorf("%s: role %s may not receive/delete/change visibility on %s", id, role, q))
		}
		rp, _ := qp["RedrivePolicy"].(map[string]any)
		if refID(rp["deadLetterTargetArn"]) == "" {
			errs = append(errs, fmt.Errorf("%s: queue %s has no dead-letter queue", id, q))
		}
	}
	return errors.Join(errs...)
}

func checkFunctionDLQs(t cfn) error {
	var errs []error
	n := 0
	for _, fn := range sortedKeys(t.ofType("AWS::Lambda::Function")) {
		dl, _ := t.props(fn)["DeadLetterConfig"].(map[string]any)
		if dl == nil {
			continue
		}
		n++
		q := refID(dl["TargetArn"])
		role := refID(t.props(fn)["Role"])
		if _, ok := findAllow(t.stmtsFor(role), "", getAtt(q, "Arn"), "sqs:SendMessage"); !ok {
			errs = append(errs, fmt.Errorf("function %s: role %s may not sqs:SendMessage to its DLQ %s", fn, role, q))
		}
	}
	if n == 0 {
		return errors.New("no function with a DLQ")
	}
	return errors.Join(errs...)
}

func checkCoverageRegions(t cfn) error {
	var role string
	for _, id := range sortedKeys(t.ofType("AWS::IAM::Role")) {
		if strings.HasPrefix(id, "FunctionsCoverageRole") {
			role = id
		}
	}
	if role == "" {
		return errors.New("no coverage role")
	}
	var errs []error
	for _, a := range []string{"ec2:DescribeRegions", "events:ListRules"} {
		if _, ok := findAllow(t.stmtsFor(role), "", "*", a); !ok {
			errs = append(errs, fmt.Errorf("coverage role %s may not %s on *", role, a))
		}
	}
	return errors.Join(errs...)
}

func checkDLQAlarms(t cfn) error {
	dlqs := map[string]string{}
	for id := range t.ofType("AWS::SQS::Queue") {
		rp, _ := t.props(id)["RedrivePolicy"].(map[string]any)
		if d := refID(rp["deadLetterTargetArn"]); d != "" {
			dlqs[d] = "redrive of " + id
		}
	}
	for id := range t.ofType("AWS::SNS::Subscription") {
		rp, _ := t.props(id)["RedrivePolicy"].(map[string]any)
		if d := refID(rp["deadLetterTargetArn"]); d != "" {
			dlqs[d] = "subscription " + id
		}
	}
	for id := range t.ofType("AWS::Events::Rule") {
		for _, tg := range asList(t.props(id)["Targets"]) {
			if dl, _ := tg.(map[string]any)["DeadLetterConfig"].(map[string]any); dl != nil {
				dlqs[refID(dl["Arn"])] = "rule " + id
			}
		}
	}
	for id := range t.ofType("AWS::Lambda::Function") {
		if dl, _ := t.props(id)["DeadLetterConfig"].(map[string]any); dl != nil {
			dlqs[refID(dl["TargetArn"])] = "function " + id
		}
	}
	watched := map[string]bool{}
	for id := range t.ofType("AWS::CloudWatch::Alarm") {
		p := t.props(id)
		if p["MetricName"] != "ApproximateNumberOfMessagesVisible" || len(asList(p["AlarmActions"])) == 0 {
			continue
		}
		for _, d := range asList(p["Dimensions"]) {
			if m, _ := d.(map[string]any); m["Name"] == "QueueName" {
				watched[refID(m["Value"])] = true
			}
		}
	}
	var errs []error
	for _, q := range sortedKeys(dlqs) {
		if !watched[q] {
			errs = append(errs, fmt.Errorf("dead-letter queue %s (%s) has no alarm", q, dlqs[q]))
		}
	}
	return errors.Join(errs...)
}

func checkAccessLogging(t cfn) error {
	var errs []error
	n := 0
	for _, id := range sortedKeys(t.ofType("AWS::S3::Bucket")) {
		lc, _ := t.props(id)["LoggingConfiguration"].(map[string]any)
		if lc == nil {
			continue
		}
		n++
		dst := refID(lc["DestinationBucketName"])
		objects := map[string]any{"Fn::Join": []any{"", []any{getAtt(dst, "Arn"), "/" + fmt.Sprint(lc["LogFilePrefix"]) + "*"}}}
		ok := false
		for _, s := range allAllows(t.stmtsFor(dst), "logging.s3.amazonaws.com", objects, "s3:PutObject") {
			ok = ok || (s.condCovers("aws:SourceArn", getAtt(id, "Arn"), arnOps...) && s.condCovers("aws:SourceAccount", accountID, stringEqualOps...))
		}
		if !ok {
			errs = append(errs, fmt.Errorf("bucket %s logs to %s, whose policy does not let logging.s3.amazonaws.com s3:PutObject under %v with aws:SourceArn = %s and aws:SourceAccount", id, dst, lc["LogFilePrefix"], id))
		}
	}
	if n == 0 {
		return errors.New("no bucket with access logging")
	}
	return errors.Join(errs...)
}

func checkFunctionLogs(t cfn) error {
	var errs []error
	for _, fn := range sortedKeys(t.ofType("AWS::Lambda::Function")) {
		lc, _ := t.props(fn)["LoggingConfig"].(map[string]any)
		group := refID(lc["LogGroup"])
		if group == "" {
			continue // the default /aws/lambda/<name> group, written through the managed basic execution policy
		}
		role := refID(t.props(fn)["Role"])
		if _, ok := findAllow(t.stmtsFor(role), "", getAtt(group, "Arn"), "logs:CreateLogStream", "logs:PutLogEvents"); !ok {
			errs = append(errs, fmt.Errorf("function %s logs to %s, but role %s may not create streams and put events there", fn, group, role))
		}
	}
	return errors.Join(errs...)
}
