package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskinesisfirehose"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// s3Delivery describes a Firehose DirectPut stream writing gzip objects into bucket under
// Prefix (failures under ErrorPrefix), the way both archives (SES events, central findings) do.
// The construct ids are given so each archive keeps its logical ids.
type s3Delivery struct {
	LogGroupID, LogStreamID, RoleID, PolicyID, StreamID string
	ObjectsSid                                          string // Sid of the object-write statement
	Description                                         string // of the delivery role
	Bucket                                              awss3.IBucket
	// ObjectPrefixes are where the role may write (the prefixes' static parts).
	ObjectPrefixes      []string
	Prefix, ErrorPrefix string // Firehose's (may contain !{...} expressions)
}

// newS3Delivery builds the log group and stream, the delivery role (trusting Firehose for this
// account only: sts:ExternalId), its policy and the stream, which depends on the policy so that
// Firehose's access check at creation succeeds.
func newS3Delivery(c constructs.Construct, d s3Delivery) (awskinesisfirehose.CfnDeliveryStream, awsiam.Policy) {
	logGroup := awslogs.NewLogGroup(c, jsii.String(d.LogGroupID), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_YEAR, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	logStream := awslogs.NewLogStream(c, jsii.String(d.LogStreamID), &awslogs.LogStreamProps{
		LogGroup: logGroup, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	role := awsiam.NewRole(c, jsii.String(d.RoleID), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("firehose.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"sts:ExternalId": awscdk.Aws_ACCOUNT_ID()}},
		}),
		Description: jsii.String(d.Description),
	})
	objects := make([]*string, 0, len(d.ObjectPrefixes))
	for _, p := range d.ObjectPrefixes {
		objects = append(objects, d.Bucket.ArnForObjects(jsii.String(p+"*")))
	}
	policy := awsiam.NewPolicy(c, jsii.String(d.PolicyID), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String("ArchiveBucket"),
				Actions: jsii.Strings("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"), Resources: &[]*string{d.Bucket.BucketArn()}}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String(d.ObjectsSid),
				Actions: jsii.Strings("s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"), Resources: &objects}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String("DeliveryLogs"),
				Actions: jsii.Strings("logs:PutLogEvents"), Resources: &[]*string{logGroup.LogGroupArn()}}),
		},
	})
	stream := awskinesisfirehose.NewCfnDeliveryStream(c, jsii.String(d.StreamID), &awskinesisfirehose.CfnDeliveryStreamProps{
		DeliveryStreamType: jsii.String("DirectPut"),
		DeliveryStreamEncryptionConfigurationInput: &awskinesisfirehose.CfnDeliveryStream_DeliveryStreamEncryptionConfigurationInputProperty{
			KeyType: jsii.String("AWS_OWNED_CMK"),
		},
		ExtendedS3DestinationConfiguration: &awskinesisfirehose.CfnDeliveryStream_ExtendedS3DestinationConfigurationProperty{
			BucketArn:         d.Bucket.BucketArn(),
			RoleArn:           role.RoleArn(),
			Prefix:            jsii.String(d.Prefix),
			ErrorOutputPrefix: jsii.String(d.ErrorPrefix),
			CompressionFormat: jsii.String("GZIP"),
			BufferingHints: &awskinesisfirehose.CfnDeliveryStream_BufferingHintsProperty{
				IntervalInSeconds: jsii.Number(300), SizeInMBs: jsii.Number(64),
			},
			CloudWatchLoggingOptions: &awskinesisfirehose.CfnDeliveryStream_CloudWatchLoggingOptionsProperty{
				Enabled: jsii.Bool(true), LogGroupName: logGroup.LogGroupName(), LogStreamName: logStream.LogStreamName(),
			},
		},
	})
	stream.Node().AddDependency(policy)
	return stream, policy
}
