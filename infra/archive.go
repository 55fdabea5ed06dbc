package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsathena"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskinesisfirehose"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Archive layout. Firehose writes gzipped NDJSON under events/YYYY/MM/DD/HH/ (UTC), the layout the
// Glue table's partition projection and `sesguard investigate` read.
const (
	archiveEventsPrefix  = "events/"
	archiveErrorsPrefix  = "errors/"
	athenaResultsPrefix  = "athena-results/"
	archiveTableName     = "ses_events"
	firehosePrefix       = archiveEventsPrefix + "!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/!{timestamp:HH}/"
	firehoseErrorsPrefix = archiveErrorsPrefix + "!{firehose:error-output-type}/!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/"
)

// archive is the S3 archive of every SES event, the Firehose stream feeding it, and the Glue
// table / Athena workgroup over it. The stream has no processor: the archive keeps SES's records
// byte for byte (the evidence), and detection already sees every event through the ingest queue.
// ingest's Firehose-transformation mode (annotated records) is for deployments whose only SES
// destination is a Firehose stream; wiring it here too would run detection twice per event.
type archive struct {
	Bucket    awss3.Bucket
	LogBucket awss3.Bucket
	Stream    awskinesisfirehose.CfnDeliveryStream
	// FirehosePolicy is the delivery role's policy (object writes under events/ and errors/).
	FirehosePolicy awsiam.Policy
	Database       awsglue.CfnDatabase
	Table          awsglue.CfnTable
	WorkGroup      awsathena.CfnWorkGroup
	Queries        map[string]awsathena.CfnNamedQuery
}

func newArchive(scope constructs.Construct, id string, cfg *Config) *archive {
	c := constructs.NewConstruct(scope, jsii.String(id))
	a := &archive{Queries: map[string]awsathena.CfnNamedQuery{}}

	a.LogBucket = awss3.NewBucket(c, jsii.String("AccessLogs"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Versioned:         jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_PREFERRED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                          jsii.String("expire-access-logs"),
			Expiration:                  awscdk.Duration_Days(jsii.Number(float64(cfg.ArchiveDays))),
			NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(30)),
		}},
	})
	a.Bucket = awss3.NewBucket(c, jsii.String("Bucket"), &awss3.BucketProps{
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:             jsii.Bool(true),
		Versioned:              jsii.Bool(true),
		ServerAccessLogsBucket: a.LogBucket,
		ServerAccessLogsPrefix: jsii.String("archive/"),
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{
			{
				Id:     jsii.String("archive-events"),
				Prefix: jsii.String(archiveEventsPrefix),
				Transitions: &[]*awss3.Transition{{
					StorageClass:    awss3.StorageClass_INFREQUENT_ACCESS(),
					TransitionAfter: awscdk.Duration_Days(jsii.Number(30)),
				}},
				Expiration:                  awscdk.Duration_Days(jsii.Number(float64(cfg.ArchiveDays))),
				NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(30)),
			},
			{
				Id:                          jsii.String("expire-delivery-errors"),
				Prefix:                      jsii.String(archiveErrorsPrefix),
				Expiration:                  awscdk.Duration_Days(jsii.Number(90)),
				NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(7)),
			},
			{
				Id:                          jsii.String("expire-athena-results"),
				Prefix:                      jsii.String(athenaResultsPrefix),
				Expiration:                  awscdk.Duration_Days(jsii.Number(30)),
				NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(1)),
			},
			{
				Id:                                  jsii.String("abort-incomplete-uploads"),
				AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
			},
		},
	})

	a.Stream, a.FirehosePolicy = newS3Delivery(c, s3Delivery{
		LogGroupID: "FirehoseLogs", LogStreamID: "FirehoseS3Delivery", RoleID: "FirehoseRole", PolicyID: "FirehosePolicy", StreamID: "Stream",
		ObjectsSid: "ArchiveObjects", Description: "sesguard: Firehose delivery into the SES event archive",
		Bucket: a.Bucket, ObjectPrefixes: []string{archiveEventsPrefix, archiveErrorsPrefix},
		Prefix: firehosePrefix, ErrorPrefix: firehoseErrorsPrefix,
	})

	a.Database = awsglue.NewCfnDatabase(c, jsii.String("Database"), &awsglue.CfnDatabaseProps{
		CatalogId: awscdk.Aws_ACCOUNT_ID(),
		DatabaseInput: &awsglue.CfnDatabase_DatabaseInputProperty{
			// Athena wants lower-case names without dashes.
			Name:        jsii.String(strings.ReplaceAll(strings.ToLower(cfg.StackName), "-", "_") + "_archive"),
			Description: jsii.String("sesguard: SES event archive"),
		},
	})
	location := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("s3://"), a.Bucket.BucketName(), jsii.String("/" + archiveEventsPrefix)})
	a.Table = awsglue.NewCfnTable(c, jsii.String("Table"), &awsglue.CfnTableProps{
		CatalogId:    awscdk.Aws_ACCOUNT_ID(),
		DatabaseName: a.Database.Ref(),
		TableInput: &awsglue.CfnTable_TableInputProperty{
			Name:        jsii.String(archiveTableName),
			Description: jsii.String("SES event publishing records (one JSON object per line, gzip), partitioned by delivery hour"),
			TableType:   jsii.String("EXTERNAL_TABLE"),
			PartitionKeys: &[]*awsglue.CfnTable_ColumnProperty{{
				Name: jsii.String("dt"), Type: jsii.String("string"),
				Comment: jsii.String("delivery hour, yyyy/MM/dd/HH (UTC)"),
			}},
			Parameters: &map[string]*string{
				"classification":              jsii.String("json"),
				"compressionType":             jsii.String("gzip"),
				"projection.enabled":          jsii.String("true"),
				"projection.dt.type":          jsii.String("date"),
				"projection.dt.format":        jsii.String("yyyy/MM/dd/HH"),
				"projection.dt.range":         jsii.String("2024/01/01/00,NOW"),
				"projection.dt.interval":      jsii.String("1"),
				"projection.dt.interval.unit": jsii.String("HOURS"),
				"storage.location.template":   awscdk.Fn_Join(jsii.String(""), &[]*string{location, jsii.String("${dt}/")}),
			},
			StorageDescriptor: &awsglue.CfnTable_StorageDescriptorProperty{
				Location:     location,
				InputFormat:  jsii.String("org.apache.hadoop.mapred.TextInputFormat"),
				OutputFormat: jsii.String("org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"),
				SerdeInfo: &awsglue.CfnTable_SerdeInfoProperty{
					SerializationLibrary: jsii.String("org.openx.data.jsonserde.JsonSerDe"),
					Parameters:           &map[string]*string{"ignore.malformed.json": jsii.String("true")},
				},
				Columns: archiveColumns(),
			},
		},
	})

	a.WorkGroup = awsathena.NewCfnWorkGroup(c, jsii.String("WorkGroup"), &awsathena.CfnWorkGroupProps{
		Name:        jsii.String(strings.ToLower(cfg.StackName) + "-forensics"),
		Description: jsii.String("sesguard: forensics over the SES event archive"),
		State:       jsii.String("ENABLED"),
		WorkGroupConfiguration: &awsathena.CfnWorkGroup_WorkGroupConfigurationProperty{
			EnforceWorkGroupConfiguration:   jsii.Bool(true),
			PublishCloudWatchMetricsEnabled: jsii.Bool(true),
			BytesScannedCutoffPerQuery:      jsii.Number(10 * 1024 * 1024 * 1024),
			EngineVersion: &awsathena.CfnWorkGroup_EngineVersionProperty{
				SelectedEngineVersion: jsii.String("Athena engine version 3"),
			},
			ResultConfiguration: &awsathena.CfnWorkGroup_ResultConfigurationProperty{
				OutputLocation: awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("s3://"), a.Bucket.BucketName(), jsii.String("/" + athenaResultsPrefix)}),
				EncryptionConfiguration: &awsathena.CfnWorkGroup_EncryptionConfigurationProperty{
					EncryptionOption: jsii.String("SSE_S3"),
				},
			},
		},
		RecursiveDeleteOption: jsii.Bool(false),
	})

	for _, q := range namedQueries(approvedCIDRs(cfg)) {
		// WorkGroup is a Ref, so CloudFormation creates the workgroup first.
		nq := awsathena.NewCfnNamedQuery(c, jsii.String("Query"+q.id), &awsathena.CfnNamedQueryProps{
			Name:        jsii.String(q.name),
			Description: jsii.String(q.description),
			Database:    a.Database.Ref(),
			WorkGroup:   a.WorkGroup.Ref(),
			QueryString: awscdk.Fn_Sub(jsii.String(q.sql), &map[string]*string{
				"Database": a.Database.Ref(),
				"Table":    jsii.String(archiveTableName),
			}),
		})
		a.Queries[q.id] = nq
	}
	return a
}

// archiveColumns is the part of the SES event record forensics needs. The OpenX SerDe matches
// JSON keys case-insensitively; mail.tags keeps the auto-tags (ses:caller-identity,
// ses:source-ip, …) as a map of arrays, as SES publishes them. mail.headersTruncated is a string:
// SES documents it as one and records carry both "true" and true, and a value of the wrong type
// makes the whole row NULL (ignore.malformed.json).
func archiveColumns() *[]*awsglue.CfnTable_ColumnProperty {
	cols := []struct{ name, typ string }{
		{"eventtype", "string"},
		{"mail", "struct<timestamp:string,source:string,sourcearn:string,sendingaccountid:string,messageid:string,destination:array<string>,headerstruncated:string,tags:map<string,array<string>>,commonheaders:struct<from:array<string>,to:array<string>,subject:string>>"},
		{"bounce", "struct<bouncetype:string,bouncesubtype:string,timestamp:string,feedbackid:string,bouncedrecipients:array<struct<emailaddress:string,status:string,diagnosticcode:string>>>"},
		{"complaint", "struct<complaintfeedbacktype:string,timestamp:string,feedbackid:string,complainedrecipients:array<struct<emailaddress:string>>>"},
		{"delivery", "struct<timestamp:string,processingtimemillis:bigint,recipients:array<string>,smtpresponse:string,reportingmta:string>"},
		{"reject", "struct<reason:string>"},
		{"deliverydelay", "struct<timestamp:string,delaytype:string,expirationtime:string>"},
		{"failure", "struct<errormessage:string,templatename:string>"},
	}
	out := make([]*awsglue.CfnTable_ColumnProperty, len(cols))
	for i, c := range cols {
		out[i] = &awsglue.CfnTable_ColumnProperty{Name: jsii.String(c.name), Type: jsii.String(c.typ)}
	}
	return &out
}

type namedQuery struct{ id, name, description, sql string }

// sendsCTE selects one row per Send event of the last 7 days. ${Database}/${Table} are filled by
// Fn::Sub; partition pruning on dt keeps scans to the window. Tags are read with element_at, which
// yields NULL for a missing key: the map subscript mail.tags['…'] fails the whole query on the
// first record without that tag (Athena engine 3 / Trino "Key not present in map").
const sendsCTE = `WITH sends AS (
  SELECT mail.messageid AS message_id,
         mail."timestamp" AS ts,
         element_at(element_at(mail.tags, 'ses:caller-identity'), 1) AS principal,
         element_at(element_at(mail.tags, 'ses:source-ip'), 1) AS source_ip,
         mail.source AS from_address,
         element_at(element_at(mail.tags, 'ses:configuration-set'), 1) AS configuration_set
  FROM "${Database}"."${Table}"
  WHERE eventtype = 'Send'
    AND dt >= date_format(current_timestamp - interval '7' day, '%Y/%m/%d/%H')
)
`

// namedQueries renders the saved forensics queries; cidrs are the approved networks.
func namedQueries(cidrs []string) []namedQuery {
	outside := "TRUE -- the policy approves no CIDR: every send is outside"
	if len(cidrs) > 0 {
		terms := make([]string, len(cidrs))
		for i, c := range cidrs {
			terms[i] = fmt.Sprintf("contains('%s', try_cast(source_ip AS ipaddress))", c)
		}
		outside = "source_ip IS NULL OR try_cast(source_ip AS ipaddress) IS NULL\n   OR NOT (" + strings.Join(terms, "\n        OR ") + ")"
	}
	return []namedQuery{
		{
			id:          "SendsPerPrincipal",
			name:        "sesguard: sends per principal (7 days)",
			description: "Send events per IAM principal (ses:caller-identity), with first/last send and distinct source IPs",
			sql: sendsCTE + `SELECT coalesce(principal, '(unknown)') AS principal, count(*) AS sends,
       count(DISTINCT source_ip) AS source_ips, min(ts) AS first_seen, max(ts) AS last_seen
FROM sends
GROUP BY 1
ORDER BY sends DESC`,
		},
		{
			id:          "SendsOutsideApprovedNetworks",
			name:        "sesguard: sends from outside the approved networks (7 days)",
			description: "Send events whose ses:source-ip is missing or outside the policy's network CIDRs at deploy time",
			sql: sendsCTE + `SELECT coalesce(principal, '(unknown)') AS principal, coalesce(source_ip, '(unknown)') AS source_ip,
       count(*) AS sends, min(ts) AS first_seen, max(ts) AS last_seen,
       slice(array_agg(DISTINCT from_address), 1, 10) AS from_addresses
FROM sends
WHERE ` + outside + `
GROUP BY 1, 2
ORDER BY sends DESC`,
		},
		{
			id:          "SendsPerSourceIp",
			name:        "sesguard: sends per source IP (7 days)",
			description: "Send events per client IP (ses:source-ip), with the principals seen from each",
			sql: sendsCTE + `SELECT coalesce(source_ip, '(unknown)') AS source_ip, count(*) AS sends,
       slice(array_agg(DISTINCT principal), 1, 10) AS principals, min(ts) AS first_seen, max(ts) AS last_seen
FROM sends
GROUP BY 1
ORDER BY sends DESC`,
		},
	}
}

// approvedCIDRs are the policy's approved blocks (network.cidrs plus resolved VPC blocks).
func approvedCIDRs(cfg *Config) []string {
	var out []string
	for _, p := range cfg.Policy.ApprovedPrefixes() {
		out = append(out, p.String())
	}
	return out
}
