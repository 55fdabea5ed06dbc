package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudtrail"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Context keys of the CloudTrail input (shared/decode/cloudtrail → ingest).
const (
	// ctxCreateTrail: true creates a trail recording management events, for accounts without
	// one (EventBridge receives CloudTrail API-call events only while a trail is logging).
	ctxCreateTrail = "sesguardCreateTrail"
	// ctxSendDataEvents: true records SES send data events (SendEmail, SendRawEmail, ...) with
	// advanced event selectors on sesguard's trail: charged, $0.10 per 100,000 events.
	ctxSendDataEvents = "sesguardSendDataEvents"
	// ctxReconcileMins: how often the coverage function reconciles CloudWatch's send counts.
	ctxReconcileMins = "sesguardReconcileMinutes"
	// envSendDataEvents tells ingest (functions/ingest/main.go) to join each Send event to its
	// API call's data event (detect.WithAPISendJoin): set only with ctxSendDataEvents.
	envSendDataEvents = "SESGUARD_SEND_DATA_EVENTS"
)

// trailConfig is the CloudTrail part of the context.
type trailConfig struct {
	CreateTrail    bool
	SendDataEvents bool
	ReconcileMins  int
}

// loadTrailConfig reads the keys; errors name the key.
func loadTrailConfig(get func(string) any) (trailConfig, error) {
	r := &contextReader{get: get}
	c := trailConfig{
		CreateTrail:    r.boolean(ctxCreateTrail, false),
		SendDataEvents: r.boolean(ctxSendDataEvents, false),
		ReconcileMins:  r.integer(ctxReconcileMins, 10, 5),
	}
	if c.ReconcileMins > 15 {
		r.errs = append(r.errs, fmt.Errorf("context %s: %d is above the maximum 15 (periods must be checked twice within the reconciliation's lookback)", ctxReconcileMins, c.ReconcileMins))
	}
	if len(r.errs) > 0 {
		return c, r.errs[0]
	}
	return c, nil
}

// cloudTrailInput routes SES's CloudTrail API-call events to the ingest queue and, on request,
// creates the trail that produces them.
type cloudTrailInput struct {
	Rule   awsevents.Rule      // the SES API-call rule
	Rules  []awsevents.Rule    // every rule to ingest (watchRules)
	Trail  awscloudtrail.Trail // nil unless ctxCreateTrail or ctxSendDataEvents
	Bucket awss3.Bucket
}

// sesDataResourceTypes are the advanced-selector resource types of SES sends. Every send is an
// event of its identity; the configuration-set and template resource types would record the same
// send again (and bill it again), so only the identity type is selected.
var sesDataResourceTypes = []string{"AWS::SES::EmailIdentity"}

func newCloudTrailInput(scope constructs.Construct, id string, tc trailConfig, rc regionConfig, p *pipeline, f *functions, logs awss3.IBucket) *cloudTrailInput {
	c := constructs.NewConstruct(scope, jsii.String(id))
	in := &cloudTrailInput{}
	// All SES API calls CloudTrail records (management events, read-only ones included, and,
	// when selected, send data events), SES's own sending-status events and, for us-east-1, the
	// global services' calls and AWS Health's credential warnings, on the default bus → the
	// ingest queue. The home stack does not know its Region at synth, so it always has the
	// us-east-1 rules: elsewhere they match nothing and cost nothing. Sentinels in other Regions
	// forward the same events here (infra/sentinel.go), keeping their source and Region. The
	// SqsQueue target writes the queue policy statement for events.amazonaws.com with
	// aws:SourceArn = each rule.
	for _, w := range watchRules("") {
		rule := awsevents.NewRule(c, jsii.String(w.id), &awsevents.RuleProps{
			Description:  jsii.String("sesguard: " + w.what + " → ingest queue (CloudTrail calls need a trail that is logging)"),
			EventPattern: w.pattern,
		})
		rule.AddTarget(awseventstargets.NewSqsQueue(p.Ingest.Queue, &awseventstargets.SqsQueueProps{
			DeadLetterQueue: p.Ingest.DLQ,
			RetryAttempts:   jsii.Number(20),
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(24)),
		}))
		if w.cloudTrail {
			withReadOnlyEvents(rule)
		}
		in.Rules = append(in.Rules, rule)
	}
	in.Rule = in.Rules[0]
	if !tc.CreateTrail && !tc.SendDataEvents {
		return in
	}
	if tc.SendDataEvents {
		f.Fn["ingest"].AddEnvironment(jsii.String(envSendDataEvents), jsii.String("true"), nil)
	}
	in.Bucket = awss3.NewBucket(c, jsii.String("TrailBucket"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Versioned:         jsii.Bool(true),
		// Access to the trail's evidence is itself logged, next to the archive's access logs.
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String("cloudtrail/"),
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                          jsii.String("expire-trail-logs"),
			Expiration:                  awscdk.Duration_Days(jsii.Number(365)),
			NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(30)),
		}},
	})
	in.Trail = awscloudtrail.NewTrail(c, jsii.String("SesTrail"), &awscloudtrail.TrailProps{
		Bucket: in.Bucket,
		// With sentinels the trail records every Region (and the global services, recorded in
		// us-east-1): EventBridge receives CloudTrail events only where a trail logs them.
		IsMultiRegionTrail:         jsii.Bool(len(rc.Sentinels) > 0),
		IncludeGlobalServiceEvents: jsii.Bool(len(rc.Sentinels) > 0),
		EnableFileValidation:       jsii.Bool(true),
		SendToCloudWatchLogs:       jsii.Bool(false),
	})
	var selectors []any
	if tc.CreateTrail {
		selectors = append(selectors, map[string]any{
			"Name":           "Management events (SES API calls among them)",
			"FieldSelectors": []any{map[string]any{"Field": "eventCategory", "Equals": []string{"Management"}}},
		})
	}
	if tc.SendDataEvents {
		for _, rt := range sesDataResourceTypes {
			selectors = append(selectors, map[string]any{
				"Name": "SES send data events (" + rt + ")",
				"FieldSelectors": []any{
					map[string]any{"Field": "eventCategory", "Equals": []string{"Data"}},
					map[string]any{"Field": "resources.type", "Equals": []string{rt}},
				},
			})
		}
	}
	// Advanced selectors replace the basic ones: without a Management selector (the account's
	// own trail already records management events) this trail records SES sends only.
	cfn := in.Trail.Node().DefaultChild().(awscloudtrail.CfnTrail)
	cfn.AddPropertyOverride(jsii.String("AdvancedEventSelectors"), selectors)
	// CloudFormation takes either EventSelectors or AdvancedEventSelectors; the L2 writes an
	// empty EventSelectors list.
	cfn.AddPropertyDeletionOverride(jsii.String("EventSelectors"))
	return in
}
