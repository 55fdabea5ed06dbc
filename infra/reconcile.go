package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// reconcileTable and cloudwatch:GetMetricData are what the coverage function's reconciliation (shared/engine/reconcile) calls:
// cloudwatch:GetMetricData for SES's AWS/SES metrics, and the state table through
// detect.DynamoState (ingest's Send counters, its own suspect/alerted marks).
var reconcileTable = []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}

type reconciliation struct {
	Policy   awsiam.Policy
	Schedule awsevents.Rule
}

func newReconciliation(scope constructs.Construct, id string, tc trailConfig, f *functions, table awsdynamodb.Table) *reconciliation {
	c := constructs.NewConstruct(scope, jsii.String(id))
	r := &reconciliation{}
	stmt := func(sid string, actions []string, resource *string) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: &[]*string{resource},
		})
	}
	r.Policy = attach(c, "CoverageReconcilePolicy", f.Roles["coverage"], []awsiam.PolicyStatement{
		// GetMetricData has no resource-level permissions (CloudWatch service authorization
		// reference), so the resource is "*".
		stmt("SesMetrics", []string{"cloudwatch:GetMetricData"}, jsii.String("*")),
		stmt("StateTable", reconcileTable, table.TableArn()),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(r.Policy, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("cloudwatch:GetMetricData supports no resource-level permissions; the reconciliation reads SES's account-level AWS/SES metrics only."),
		AppliesTo: &[]any{nagAny},
	}}, jsii.Bool(true))
	target := awseventstargets.NewLambdaFunction(f.Fn["coverage"], &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: f.CoverageDLQ,
		RetryAttempts:   jsii.Number(2),
		// functions/coverage.ReconcileEvent: reconcile only, no SES listing.
		Event: awsevents.RuleTargetInput_FromObject(map[string]any{"sesguard": "reconcile"}),
	})
	r.Schedule = awsevents.NewRule(c, jsii.String("ReconcileSchedule"), &awsevents.RuleProps{
		Description: jsii.String("sesguard: reconcile SES's CloudWatch send counts with the Send events ingest saw"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(float64(tc.ReconcileMins)))),
		Targets:     &[]awsevents.IRuleTarget{target},
	})
	return r
}
