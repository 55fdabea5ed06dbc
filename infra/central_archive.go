package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskinesisfirehose"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// The central findings archive: every member finding and result as its EventBridge event (one
// JSON object per line, gzip) under findings/YYYY/MM/DD/HH/ of the archive bucket, with a Glue
// table over all accounts beside the SES events table.
const (
	centralFindingsPrefix       = "findings/"
	centralFindingsErrorsPrefix = "errors/findings/"
	centralFindingsTable        = "member_findings"
)

type centralArchive struct {
	Stream      awskinesisfirehose.CfnDeliveryStream
	Policy      awsiam.Policy
	EventsRole  awsiam.Role
	EventsGrant awsiam.Policy
	Table       awsglue.CfnTable
}

// newCentralArchive builds the stream and table and returns the rule target that feeds it.
func newCentralArchive(c constructs.Construct, ar *archive) (*centralArchive, *awsevents.CfnRule_TargetProperty) {
	x := &centralArchive{}
	x.Stream, x.Policy = newS3Delivery(c, s3Delivery{
		LogGroupID: "ArchiveLogs", LogStreamID: "ArchiveS3Delivery", RoleID: "ArchiveFirehoseRole", PolicyID: "ArchiveFirehosePolicy", StreamID: "ArchiveStream",
		ObjectsSid: "FindingObjects", Description: "sesguard: Firehose delivery of member findings into the archive",
		Bucket: ar.Bucket, ObjectPrefixes: []string{centralFindingsPrefix, centralFindingsErrorsPrefix},
		Prefix:      centralFindingsPrefix + "!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/!{timestamp:HH}/",
		ErrorPrefix: centralFindingsErrorsPrefix + "!{firehose:error-output-type}/!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/",
	})
	applies := []any{cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<ArchiveBucket[0-9A-F]+\.Arn>\/(findings|errors\/findings)\/\*$/g`)}}
	cdknag.NagSuppressions_AddResourceSuppressions(x.Policy, &[]*cdknag.NagPackSuppression{{Id: jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("Firehose writes objects with generated names under its own two prefixes only (findings/ and errors/findings/); object ARNs need the wildcard."),
		AppliesTo: &applies}}, jsii.Bool(true))

	// EventBridge puts into the stream through a role it assumes (EventBridge targets: "Amazon
	// Data Firehose" needs an IAM role with firehose:PutRecord/PutRecordBatch).
	x.EventsRole = awsiam.NewRole(c, jsii.String("ArchiveEventsRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}},
		}),
		Description: jsii.String("sesguard: the central bus rule puts member findings into the archive stream"),
	})
	x.EventsGrant = attach(c, "ArchiveEventsPolicy", x.EventsRole, []awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("PutArchive"), Actions: jsii.Strings("firehose:PutRecord", "firehose:PutRecordBatch"), Resources: &[]*string{x.Stream.AttrArn()},
	})})

	location := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("s3://"), ar.Bucket.BucketName(), jsii.String("/" + centralFindingsPrefix)})
	col := func(name, typ string) *awsglue.CfnTable_ColumnProperty {
		return &awsglue.CfnTable_ColumnProperty{Name: jsii.String(name), Type: jsii.String(typ)}
	}
	x.Table = awsglue.NewCfnTable(c, jsii.String("ArchiveTable"), &awsglue.CfnTableProps{
		CatalogId:    awscdk.Aws_ACCOUNT_ID(),
		DatabaseName: ar.Database.Ref(),
		TableInput: &awsglue.CfnTable_TableInputProperty{
			Name:          jsii.String(centralFindingsTable),
			Description:   jsii.String("sesguard findings and containment results of every member account (EventBridge events, one per line, gzip), by delivery hour"),
			TableType:     jsii.String("EXTERNAL_TABLE"),
			PartitionKeys: &[]*awsglue.CfnTable_ColumnProperty{{Name: jsii.String("dt"), Type: jsii.String("string"), Comment: jsii.String("delivery hour, yyyy/MM/dd/HH (UTC)")}},
			Parameters: &map[string]*string{
				"classification": jsii.String("json"), "compressionType": jsii.String("gzip"),
				"projection.enabled": jsii.String("true"), "projection.dt.type": jsii.String("date"),
				"projection.dt.format": jsii.String("yyyy/MM/dd/HH"), "projection.dt.range": jsii.String("2024/01/01/00,NOW"),
				"projection.dt.interval": jsii.String("1"), "projection.dt.interval.unit": jsii.String("HOURS"),
				"storage.location.template": awscdk.Fn_Join(jsii.String(""), &[]*string{location, jsii.String("${dt}/")}),
			},
			StorageDescriptor: &awsglue.CfnTable_StorageDescriptorProperty{
				Location:     location,
				InputFormat:  jsii.String("org.apache.hadoop.mapred.TextInputFormat"),
				OutputFormat: jsii.String("org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"),
				SerdeInfo: &awsglue.CfnTable_SerdeInfoProperty{
					SerializationLibrary: jsii.String("org.openx.data.jsonserde.JsonSerDe"),
					// "detail-type" is no column name; actions differ between findings (names) and
					// results (objects), so the column keeps their JSON text.
					Parameters: &map[string]*string{"ignore.malformed.json": jsii.String("true"), "mapping.detail_type": jsii.String("detail-type")},
				},
				Columns: &[]*awsglue.CfnTable_ColumnProperty{
					col("id", "string"), col("detail_type", "string"), col("source", "string"), col("account", "string"),
					col("time", "string"), col("region", "string"),
					col("detail", "struct<schema:string,id:string,finding_id:string,rule:string,severity:string,account:string,region:string,"+
						"mode:string,actor:string,time:string,source_ip:string,principal:struct<name:string,kind:string,arn:string,access_key_id:string>,"+
						"window_start:string,window_end:string,evidence:struct<count:bigint,first_seen:string,last_seen:string,identity:string,"+
						"configuration_set:string,detail:string,message_ids:array<string>>,actions:string>"),
				},
			},
		},
	})
	return x, &awsevents.CfnRule_TargetProperty{
		Id: jsii.String("Archive"), Arn: x.Stream.AttrArn(), RoleArn: x.EventsRole.RoleArn(),
		// One event per line, so Athena reads the objects Firehose concatenates.
		InputTransformer: &awsevents.CfnRule_InputTransformerProperty{InputTemplate: jsii.String("<aws.events.event.json>\n")},
		RetryPolicy:      &awsevents.CfnRule_RetryPolicyProperty{MaximumRetryAttempts: jsii.Number(8), MaximumEventAgeInSeconds: jsii.Number(86400)},
	}
}
