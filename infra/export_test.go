package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/firehose"

	"github.com/sesguard/sesguard/shared/deliver/export"
)

// lakeAPI mirrors functions/export.LakeAPI (package main, not importable): the Security Lake
// destination's only call.
type lakeAPI interface {
	PutRecordBatch(ctx context.Context, in *firehose.PutRecordBatchInput, opts ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error)
}

// TestExportPermissionsAreExact pins the export role. Sources for each grant:
//   - securityhub:BatchImportFindings on the account's default product ARN and
//     securityhub:BatchUpdateFindings on the account's hub: Service Authorization Reference,
//     "Actions, resources, and condition keys for AWS Security Hub"
//     (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecurityhub.html);
//     the product ARN form arn:aws:securityhub:<region>:<account>:product/<account>/default and the
//     rule that the caller's account must equal AwsAccountId: BatchImportFindings API reference
//     (https://docs.aws.amazon.com/securityhub/latest/userguide/finding-update-batchimportfindings.html).
//   - events:PutEvents on the target bus ARN, another account's bus included when that bus's
//     resource policy admits the sender: "Sending and receiving events between AWS accounts in
//     Amazon EventBridge" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html).
//   - SNS → SQS delivery to the export queue (queue policy written by the subscription) is the
//     same construct as notify's, proven by TestCrossServiceGrants.
func TestExportPermissionsAreExact(t *testing.T) {
	s := get(t, "export")
	id := func(typ, prefix string) string { return s.logicalID(t, typ, prefix) }
	want := []stmtWant{
		allow([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, getAtt(id("AWS::Logs::LogGroup", "ExportLogs"), "Arn")),
		allow(sqsConsume, getAtt(id("AWS::SQS::Queue", "ExportQueue"), "Arn")),
		allow([]string{"securityhub:BatchImportFindings"}, sub("arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:product/${AWS::AccountId}/default")),
		allow([]string{"securityhub:BatchUpdateFindings"}, sub("arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:hub/default")),
		allow([]string{"events:PutEvents"}, "arn:aws:events:eu-west-1:999999999999:event-bus/sesguard-central"),
		allow([]string{"firehose:PutRecordBatch"}, getAtt(id("AWS::KinesisFirehose::DeliveryStream", "ExportSecurityLakeStream"), "Arn")),
	}
	assertStatements(t, "export", s.roleStatements(t, id("AWS::IAM::Role", "ExportRole")), want)
}

// TestExportPermissionsMatchCode derives the export function's AWS calls from the client
// interfaces it is built on (export.HubAPI, export.BusAPI) and compares them with its grants.
func TestExportPermissionsMatchCode(t *testing.T) {
	s := get(t, "export")
	code := slices.Concat(apiActions(t, ifaceOf[export.HubAPI]()), apiActions(t, ifaceOf[export.BusAPI]()), apiActions(t, ifaceOf[lakeAPI]()))
	slices.Sort(code)
	granted := grantedActions(s.roleStatements(t, s.logicalID(t, "AWS::IAM::Role", "ExportRole")))
	if !slices.Equal(code, granted) {
		t.Errorf("export: code calls %v, role allows %v", code, granted)
	}
}

// TestExportWiring: opt-in only; in the export configuration the function reads the findings
// topic through its own raw, unfiltered subscription with a DLQ and gets the env it validates.
func TestExportWiring(t *testing.T) {
	for _, name := range sortedKeys(configurations) {
		ctx := configurations[name]
		optedIn := ctx[ctxSecurityHub] != nil || ctx[ctxEventBus] != nil || ctx[ctxCentralBusArn] != nil || ctx[ctxSecurityLakeLocation] != nil
		var fns int
		for id := range get(t, name).resources("AWS::Lambda::Function") {
			if strings.HasPrefix(id, "ExportFunction") {
				fns++
			}
		}
		if fns != map[bool]int{true: 1, false: 0}[optedIn] {
			t.Errorf("%s: %d export functions, opted in: %v", name, fns, optedIn)
		}
	}
	s := get(t, "export")
	queue := s.logicalID(t, "AWS::SQS::Queue", "ExportQueue")
	dlq := s.logicalID(t, "AWS::SQS::Queue", "ExportDLQ")
	var found bool
	for _, sub := range s.resources("AWS::SNS::Subscription") {
		p := props(sub)
		if canon(p["Endpoint"]) != canon(getAtt(queue, "Arn")) {
			continue
		}
		found = true
		if p["RawMessageDelivery"] != true || p["FilterPolicy"] != nil || canon(p["RedrivePolicy"]) != canon(map[string]any{"deadLetterTargetArn": getAtt(dlq, "Arn")}) {
			t.Errorf("export subscription %s", canon(p))
		}
	}
	if !found {
		t.Fatal("no findings-topic subscription for the export queue")
	}
	fn := props(s.resources("AWS::Lambda::Function")[s.logicalID(t, "AWS::Lambda::Function", "ExportFunction")])
	env, _ := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
	if canon(env[envSecurityLake]) != canon(ref(s.logicalID(t, "AWS::KinesisFirehose::DeliveryStream", "ExportSecurityLakeStream"))) {
		t.Errorf("export env %s: no Security Lake stream", canon(env))
	}
	if env[envSecurityHub] != "true" || env[envEventBus] != "arn:aws:events:eu-west-1:999999999999:event-bus/sesguard-central" || canon(env[envAccountID]) != canon(ref("AWS::AccountId")) {
		t.Errorf("export env %s", canon(env))
	}
}

func TestLoadExportConfig(t *testing.T) {
	const arn = "arn:aws:events:eu-west-1:999999999999:event-bus/central"
	for _, tc := range []struct {
		ctx  map[string]any
		want exportConfig
		err  string
	}{
		{map[string]any{}, exportConfig{}, ""},
		{map[string]any{ctxSecurityHub: "true"}, exportConfig{SecurityHub: true}, ""},
		{map[string]any{ctxSecurityHub: true, ctxEventBus: "default"}, exportConfig{SecurityHub: true, Bus: "default"}, ""},
		{map[string]any{ctxEventBus: "security-events"}, exportConfig{Bus: "security-events"}, ""},
		{map[string]any{ctxCentralBusArn: arn}, exportConfig{Bus: arn}, ""},
		{map[string]any{ctxCentralBusArn: "central"}, exportConfig{}, "want an event bus ARN"},
		{map[string]any{ctxCentralBusArn: arn, ctxEventBus: "default"}, exportConfig{}, "give one"},
		{map[string]any{ctxSecurityHub: "maybe"}, exportConfig{}, ctxSecurityHub},
		{map[string]any{ctxEventBus: "bad bus!"}, exportConfig{}, "want default"},
		{map[string]any{ctxSecurityLakeLocation: "s3://lake-bucket/ext/sesguard/", ctxSecurityLakeRole: "arn:aws:iam::111122223333:role/p"},
			exportConfig{Lake: lakeConfig{Bucket: "lake-bucket", Prefix: "ext/sesguard/", Role: "arn:aws:iam::111122223333:role/p"}}, ""},
		{map[string]any{ctxSecurityLakeLocation: "s3://lake-bucket/ext/sesguard"}, exportConfig{}, "give both"},
		{map[string]any{ctxSecurityLakeLocation: "s3://lake-bucket/sesguard/", ctxSecurityLakeRole: "arn:aws:iam::111122223333:role/p"}, exportConfig{}, "ext/<source>"},
		{map[string]any{ctxSecurityLakeLocation: "s3://lake-bucket/ext/a/../../b/", ctxSecurityLakeRole: "arn:aws:iam::111122223333:role/p"}, exportConfig{}, "ext/<source>"},
		{map[string]any{ctxSecurityLakeLocation: "s3://lake-bucket/ext/sesguard/", ctxSecurityLakeRole: "role/p"}, exportConfig{}, "provider role ARN"},
	} {
		got, err := loadExportConfig(func(k string) any { return tc.ctx[k] })
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: error %v, want %q", tc.ctx, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v: %+v, %v", tc.ctx, got, err)
		}
	}
}
