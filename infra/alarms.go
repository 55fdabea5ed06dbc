package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// newAlarms wires one alarm per DLQ (any message), per function error and per throttle to the
// alerts topic. Missing data means "nothing happened", never an alarm.
func newAlarms(scope constructs.Construct, id string, tp *topics, pl *pipeline, fns *functions) []awscloudwatch.Alarm {
	c := constructs.NewConstruct(scope, jsii.String(id))
	action := awscloudwatchactions.NewSnsAction(tp.Alerts)
	var out []awscloudwatch.Alarm
	add := func(name, description string, metric awscloudwatch.IMetric) {
		a := awscloudwatch.NewAlarm(c, jsii.String(name), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String("sesguard: " + description),
			Metric:             metric,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		out = append(out, a)
	}
	five := awscdk.Duration_Minutes(jsii.Number(5))
	dlqs := []struct {
		name string
		q    awssqs.Queue
	}{
		{"Ingest", pl.Ingest.DLQ}, {"Respond", fns.Respond.DLQ}, {"Notify", fns.Notify.DLQ}, {"Coverage", fns.CoverageDLQ},
	}
	for _, d := range dlqs {
		add(d.name+"DLQDepth", d.name+" dead-letter queue has messages (events or findings were not processed)",
			d.q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
				Period: five, Statistic: jsii.String("Maximum"),
			}))
	}
	for _, name := range functionNames {
		fn := fns.Fn[name]
		add(title(name)+"Errors", name+" function errors",
			fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}))
		add(title(name)+"Throttles", name+" function throttles",
			fn.MetricThrottles(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}))
	}
	return out
}
