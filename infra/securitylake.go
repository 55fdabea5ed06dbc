package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskinesisfirehose"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/sesguard/sesguard/shared/render/ocsf"
)

// Opt-in context keys of the Amazon Security Lake custom source (both or neither). Security Lake
// answers CreateCustomLogSource with both ("provider": location and roleArn; console: the
// source's details). Create the source with event class Detection Finding (2004) and provider
// identity principal firehose.amazonaws.com, external ID the account sesguard runs in, so the
// provider role trusts Firehose the way Firehose assumes a role (sts:ExternalId = its account).
const (
	ctxSecurityLakeLocation = "sesguardSecurityLakeLocation" // s3://aws-security-data-lake-…/ext/<source>/…
	ctxSecurityLakeRole     = "sesguardSecurityLakeRole"     // the provider role Security Lake created
)

// envSecurityLake is the export function's stream variable (functions/export/main.go).
const envSecurityLake = "SESGUARD_SECURITY_LAKE_STREAM"

// lakeConfig is the custom source: Bucket and Prefix (ends in "/", starts with ext/) from its
// location, and its provider role.
type lakeConfig struct {
	Bucket, Prefix, Role string
}

func (l lakeConfig) enabled() bool { return l.Bucket != "" }

var (
	// CustomLogSourceProvider.location: s3[an]?://bucket(/path)+; custom sources live under ext/.
	lakeLocation = regexp.MustCompile(`^s3[an]?://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(ext/[A-Za-z0-9_.=/-]*[A-Za-z0-9_.=-])/?$`)
	lakeRoleARN  = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$`)
)

func loadLakeConfig(r *contextReader) lakeConfig {
	loc, role := r.str(ctxSecurityLakeLocation, ""), r.str(ctxSecurityLakeRole, "")
	if loc == "" && role == "" {
		return lakeConfig{}
	}
	if loc == "" || role == "" {
		r.errs = append(r.errs, fmt.Errorf("context %s and %s: give both (the custom source's location and provider role)", ctxSecurityLakeLocation, ctxSecurityLakeRole))
		return lakeConfig{}
	}
	m := lakeLocation.FindStringSubmatch(loc)
	if m == nil || strings.Contains(m[2], "//") || slices.Contains(strings.Split(m[2], "/"), "..") {
		r.errs = append(r.errs, fmt.Errorf("context %s=%q: want the custom source's S3 location, s3://<lake bucket>/ext/<source>/", ctxSecurityLakeLocation, loc))
		return lakeConfig{}
	}
	if !lakeRoleARN.MatchString(role) {
		r.errs = append(r.errs, fmt.Errorf("context %s=%q: want the provider role ARN (arn:aws:iam::<account>:role/…)", ctxSecurityLakeRole, role))
		return lakeConfig{}
	}
	return lakeConfig{Bucket: m[1], Prefix: m[2] + "/", Role: role}
}

// lakePartitions is the Security Lake custom-source layout under the source's prefix ("Collecting
// data from custom sources": region=, accountId=, eventDay=YYYYMMDD), filled by Firehose dynamic
// partitioning from each event (the finding's account and Region, its time's UTC day).
const lakePartitions = "region=!{partitionKeyFromQuery:region}/accountId=!{partitionKeyFromQuery:accountId}/eventDay=!{partitionKeyFromQuery:eventDay}/"

// lakeQuery extracts those keys (JQ 1.6; OCSF time is epoch milliseconds). functions/export
// refuses records whose region or account would not be a plain key part.
const lakeQuery = `{region: .cloud.region, accountId: .cloud.account.uid, eventDay: (.time / 1000 | floor | strftime("%Y%m%d"))}`

// securityLake is the OCSF conversion path: a Glue table of the OCSF attributes (the Parquet
// schema), a role for Firehose to read it, and the stream writing Parquet into the source.
type securityLake struct {
	Database     awsglue.CfnDatabase
	Table        awsglue.CfnTable
	SchemaRole   awsiam.Role
	SchemaPolicy awsiam.Policy
	Stream       awskinesisfirehose.CfnDeliveryStream
}

func newSecurityLake(scope constructs.Construct, id string, lc lakeConfig) *securityLake {
	c := constructs.NewConstruct(scope, jsii.String(id))
	l := &securityLake{}
	account := awscdk.Aws_ACCOUNT_ID()
	l.Database = awsglue.NewCfnDatabase(c, jsii.String("Database"), &awsglue.CfnDatabaseProps{
		CatalogId: account,
		DatabaseInput: &awsglue.CfnDatabase_DatabaseInputProperty{
			Description: jsii.String("sesguard: schema of the OCSF Detection Findings Firehose converts to Parquet for Security Lake"),
		},
	})
	var cols []any
	for _, col := range ocsf.GlueColumns() {
		cols = append(cols, &awsglue.CfnTable_ColumnProperty{Name: jsii.String(col.Name), Type: jsii.String(col.Type)})
	}
	const tableName = "ocsf_detection_finding"
	l.Table = awsglue.NewCfnTable(c, jsii.String("Table"), &awsglue.CfnTableProps{
		CatalogId:    account,
		DatabaseName: l.Database.Ref(),
		TableInput: &awsglue.CfnTable_TableInputProperty{
			Name:        jsii.String(tableName),
			Description: jsii.String(fmt.Sprintf("OCSF %s class %d as shared/render/ocsf emits it", ocsf.Version, ocsf.ClassUID)),
			TableType:   jsii.String("EXTERNAL_TABLE"),
			StorageDescriptor: &awsglue.CfnTable_StorageDescriptorProperty{
				Columns:      &cols,
				Location:     jsii.String("s3://" + lc.Bucket + "/" + lc.Prefix),
				InputFormat:  jsii.String("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"),
				OutputFormat: jsii.String("org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"),
				SerdeInfo: &awsglue.CfnTable_SerdeInfoProperty{
					SerializationLibrary: jsii.String("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"),
				},
			},
		},
	})
	glueArn := func(res string) *string {
		var vars *map[string]*string
		if strings.Contains(res, "${Database}") {
			vars = &map[string]*string{"Database": l.Database.Ref()}
		}
		return awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:"+res), vars)
	}
	// Firehose reads the schema with its own role (SchemaConfiguration.RoleARN, same account):
	// "Grant Firehose access to AWS Glue for data format conversion" (Firehose developer guide).
	l.SchemaRole = awsiam.NewRole(c, jsii.String("SchemaRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("firehose.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"sts:ExternalId": account}},
		}),
		Description: jsii.String("sesguard: Firehose reads the OCSF Glue table to convert findings to Parquet"),
	})
	l.SchemaPolicy = attach(c, "SchemaPolicy", l.SchemaRole, []awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String("ReadSchema"),
			Actions:   jsii.Strings("glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"),
			Resources: &[]*string{glueArn("catalog"), glueArn("database/${Database}"), glueArn("table/${Database}/" + tableName)}}),
	})
	l.Stream = awskinesisfirehose.NewCfnDeliveryStream(c, jsii.String("Stream"), &awskinesisfirehose.CfnDeliveryStreamProps{
		DeliveryStreamType: jsii.String("DirectPut"),
		DeliveryStreamEncryptionConfigurationInput: &awskinesisfirehose.CfnDeliveryStream_DeliveryStreamEncryptionConfigurationInputProperty{
			KeyType: jsii.String("AWS_OWNED_CMK"),
		},
		ExtendedS3DestinationConfiguration: &awskinesisfirehose.CfnDeliveryStream_ExtendedS3DestinationConfigurationProperty{
			BucketArn: awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:s3:::"+lc.Bucket), nil),
			// The provider role Security Lake created: it alone may write the source's prefix.
			RoleArn: jsii.String(lc.Role),
			Prefix:  jsii.String(lc.Prefix + lakePartitions),
			// Failures stay inside the prefix the provider role may write.
			ErrorOutputPrefix: jsii.String(lc.Prefix + "sesguard-errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/"),
			// Compression is the Parquet serializer's; Firehose requires UNCOMPRESSED here.
			CompressionFormat: jsii.String("UNCOMPRESSED"),
			FileExtension:     jsii.String(".parquet"),
			// Dynamic partitioning needs >= 64 MiB; Security Lake wants objects at most every 5
			// minutes and at most 256 MB.
			BufferingHints: &awskinesisfirehose.CfnDeliveryStream_BufferingHintsProperty{
				IntervalInSeconds: jsii.Number(300), SizeInMBs: jsii.Number(128),
			},
			DynamicPartitioningConfiguration: &awskinesisfirehose.CfnDeliveryStream_DynamicPartitioningConfigurationProperty{
				Enabled: jsii.Bool(true),
			},
			ProcessingConfiguration: &awskinesisfirehose.CfnDeliveryStream_ProcessingConfigurationProperty{
				Enabled: jsii.Bool(true),
				Processors: &[]any{&awskinesisfirehose.CfnDeliveryStream_ProcessorProperty{
					Type: jsii.String("MetadataExtraction"),
					Parameters: &[]any{
						&awskinesisfirehose.CfnDeliveryStream_ProcessorParameterProperty{ParameterName: jsii.String("MetadataExtractionQuery"), ParameterValue: jsii.String(lakeQuery)},
						&awskinesisfirehose.CfnDeliveryStream_ProcessorParameterProperty{ParameterName: jsii.String("JsonParsingEngine"), ParameterValue: jsii.String("JQ-1.6")},
					},
				}},
			},
			DataFormatConversionConfiguration: &awskinesisfirehose.CfnDeliveryStream_DataFormatConversionConfigurationProperty{
				Enabled: jsii.Bool(true),
				InputFormatConfiguration: &awskinesisfirehose.CfnDeliveryStream_InputFormatConfigurationProperty{
					Deserializer: &awskinesisfirehose.CfnDeliveryStream_DeserializerProperty{
						OpenXJsonSerDe: &awskinesisfirehose.CfnDeliveryStream_OpenXJsonSerDeProperty{CaseInsensitive: jsii.Bool(false)},
					},
				},
				OutputFormatConfiguration: &awskinesisfirehose.CfnDeliveryStream_OutputFormatConfigurationProperty{
					Serializer: &awskinesisfirehose.CfnDeliveryStream_SerializerProperty{
						ParquetSerDe: &awskinesisfirehose.CfnDeliveryStream_ParquetSerDeProperty{Compression: jsii.String("SNAPPY")},
					},
				},
				SchemaConfiguration: &awskinesisfirehose.CfnDeliveryStream_SchemaConfigurationProperty{
					CatalogId:    account,
					DatabaseName: l.Database.Ref(),
					TableName:    jsii.String(tableName),
					Region:       awscdk.Aws_REGION(),
					RoleArn:      l.SchemaRole.RoleArn(),
					VersionId:    jsii.String("LATEST"),
				},
			},
		},
	})
	// Firehose checks its access to the table when the stream is created.
	l.Stream.Node().AddDependency(l.SchemaPolicy, l.Table)
	return l
}
