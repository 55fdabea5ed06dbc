package main

import (
	"strings"
	"testing"
)

// TestSesApiCallsRule: in every configuration the aws.ses CloudTrail API-call events go to the
// ingest queue, with the ingest DLQ as target DLQ, and the queue policy lets EventBridge send
// only for this rule (events.amazonaws.com sqs:SendMessage with aws:SourceArn = the rule:
// "Amazon SQS permissions",
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions;
// TestCrossServiceGrants proves the same for every rule and fails on a mutated template).
func TestSesApiCallsRule(t *testing.T) {
	for _, name := range sortedKeys(configurations) {
		s := get(t, name)
		tmpl := cfn(s.json)
		rule := s.logicalID(t, "AWS::Events::Rule", "CloudTrailSesApiCallsRule")
		p := tmpl.props(rule)
		if got := canon(p["EventPattern"]); got != `{"detail":{"eventSource":["ses.amazonaws.com"]},"detail-type":["AWS API Call via CloudTrail"],"source":["aws.ses"]}` {
			t.Errorf("%s: pattern %s", name, got)
		}
		targets := asList(p["Targets"])
		if len(targets) != 1 {
			t.Fatalf("%s: targets %s", name, canon(targets))
		}
		tg := targets[0].(map[string]any)
		queue := s.logicalID(t, "AWS::SQS::Queue", "PipelineIngestQueue")
		dlq := s.logicalID(t, "AWS::SQS::Queue", "PipelineIngestDLQ")
		if refID(tg["Arn"]) != queue || refID(tg["DeadLetterConfig"].(map[string]any)["Arn"]) != dlq {
			t.Errorf("%s: target %s", name, canon(tg))
		}
		if err := queueGrant(tmpl, queue, "events.amazonaws.com", getAtt(rule, "Arn")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestTrailOptIn: no trail unless asked; with sesguardCreateTrail and sesguardSendDataEvents one
// single-Region trail with file validation into a private, TLS-only bucket, and advanced event
// selectors for all management events plus SES send data events on email identities. The bucket
// policy is CloudTrail's documented one ("Amazon S3 bucket policy for CloudTrail",
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html:
// cloudtrail.amazonaws.com s3:GetBucketAcl on the bucket and s3:PutObject on AWSLogs/<account>/*
// with s3:x-amz-acl bucket-owner-full-control).
func TestTrailOptIn(t *testing.T) {
	for _, name := range sortedKeys(configurations) {
		if n := len(get(t, name).resources("AWS::CloudTrail::Trail")); (n == 1) != (name == "cloudtrail" || name == "regions") {
			t.Errorf("%s: %d trails", name, n)
		}
	}
	s := get(t, "cloudtrail")
	tmpl := cfn(s.json)
	trail := s.logicalID(t, "AWS::CloudTrail::Trail", "CloudTrailSesTrail")
	p := tmpl.props(trail)
	if p["IsMultiRegionTrail"] != false || p["EnableLogFileValidation"] != true || p["IsLogging"] != true || p["EventSelectors"] != nil {
		t.Errorf("trail %s", canon(p))
	}
	want := `[{"FieldSelectors":[{"Equals":["Management"],"Field":"eventCategory"}],"Name":"Management events (SES API calls among them)"},` +
		`{"FieldSelectors":[{"Equals":["Data"],"Field":"eventCategory"},{"Equals":["AWS::SES::EmailIdentity"],"Field":"resources.type"}],"Name":"SES send data events (AWS::SES::EmailIdentity)"}]`
	if got := canon(p["AdvancedEventSelectors"]); got != want {
		t.Errorf("selectors\n got %s\nwant %s", got, want)
	}
	bucket := s.logicalID(t, "AWS::S3::Bucket", "CloudTrailTrailBucket")
	if refID(p["S3BucketName"]) != bucket {
		t.Errorf("trail writes to %s", canon(p["S3BucketName"]))
	}
	bp := props(s.resources("AWS::S3::BucketPolicy")[s.logicalID(t, "AWS::S3::BucketPolicy", "CloudTrailTrailBucketPolicy")])
	var acl, put, tls bool
	for _, st := range statements(bp["PolicyDocument"]) {
		switch {
		case st.hasService("cloudtrail.amazonaws.com") && st.allowsAction("s3:GetBucketAcl"):
			acl = true
		case st.hasService("cloudtrail.amazonaws.com") && st.allowsAction("s3:PutObject") && st.condCovers("s3:x-amz-acl", "bucket-owner-full-control", "StringEquals"):
			put = true
		case !st.allow && len(st.condValues("aws:SecureTransport", "Bool")) > 0:
			tls = true
		}
	}
	if !acl || !put || !tls {
		t.Errorf("bucket policy: GetBucketAcl %v, PutObject %v, TLS-only %v: %s", acl, put, tls, canon(bp))
	}
	// Ingest joins Send events to data events only where data events are recorded.
	for name, want := range map[string]any{"default": nil, "cloudtrail": "true"} {
		ing := get(t, name).resources("AWS::Lambda::Function")[get(t, name).logicalID(t, "AWS::Lambda::Function", "FunctionsIngest")]
		if got := props(ing)["Environment"].(map[string]any)["Variables"].(map[string]any)[envSendDataEvents]; got != want {
			t.Errorf("%s: ingest %s = %v, want %v", name, envSendDataEvents, got, want)
		}
	}
	// Data events only (the account's own trail records management events): no Management selector.
	tc, err := loadTrailConfig(func(k string) any { return map[string]any{ctxSendDataEvents: "true"}[k] })
	if err != nil || tc.CreateTrail || !tc.SendDataEvents {
		t.Errorf("data events only: %+v %v", tc, err)
	}
}

// TestReconcileScheduleAndGrants: the coverage function is invoked every
// sesguardReconcileMinutes (5–15, default 10) with the reconcile-only input, and may read SES's
// metrics and the state table (cloudwatch:GetMetricData has no resource-level permissions:
// "Actions, resources, and condition keys for Amazon CloudWatch",
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html).
func TestReconcileScheduleAndGrants(t *testing.T) {
	for name, want := range map[string]string{"default": "rate(10 minutes)", "cloudtrail": "rate(5 minutes)"} {
		s := get(t, name)
		tmpl := cfn(s.json)
		rule := s.logicalID(t, "AWS::Events::Rule", "ReconcileReconcileSchedule")
		p := tmpl.props(rule)
		if p["ScheduleExpression"] != want {
			t.Errorf("%s: schedule %v, want %s", name, p["ScheduleExpression"], want)
		}
		tg := asList(p["Targets"])[0].(map[string]any)
		if refID(tg["Arn"]) != s.logicalID(t, "AWS::Lambda::Function", "FunctionsCoverage") || tg["Input"] != `{"sesguard":"reconcile"}` {
			t.Errorf("%s: target %s", name, canon(tg))
		}
		role := s.logicalID(t, "AWS::IAM::Role", "FunctionsCoverageRole")
		var metrics bool
		for _, st := range s.roleStatements(t, role) {
			if strings.Join(st.Actions, ",") == "cloudwatch:GetMetricData" && canon(st.Resources) == `["*"]` {
				metrics = true
			}
		}
		if !metrics {
			t.Errorf("%s: coverage role cannot read the metrics", name)
		}
	}
	for _, bad := range []any{"4", "16", "x"} {
		if _, err := loadTrailConfig(func(k string) any { return map[string]any{ctxReconcileMins: bad}[k] }); err == nil || !strings.Contains(err.Error(), ctxReconcileMins) {
			t.Errorf("%v: err %v", bad, err)
		}
	}
}
