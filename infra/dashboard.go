package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/sesguard/sesguard/shared/render/emf"
)

// ctxLagAlarmMinutes: the lag alarm fires when ingest processes an event older than this.
const ctxLagAlarmMinutes = "sesguardLagAlarmMinutes"

// dashboard is the CloudWatch dashboard and the lag alarm.
type dashboard struct {
	Dashboard awscloudwatch.Dashboard
	LagAlarm  awscloudwatch.Alarm
}

// catalogMetric graphs one emf.Catalog metric: a plain metric when it has only the Function
// dimension, else a SEARCH over every series of its dimension set (accounts, rules, outcomes are
// not known at deploy time).
func catalogMetric(d emf.Definition, period awscdk.Duration) awscloudwatch.IMetric {
	stat := "Sum"
	if d.Unit == emf.UnitMilliseconds {
		stat = "Maximum"
	}
	if len(d.Dimensions) == 0 {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(emf.Namespace), MetricName: jsii.String(d.Name), Statistic: jsii.String(stat), Period: period,
			DimensionsMap: &map[string]*string{emf.DimFunction: jsii.String(d.Function)},
		})
	}
	keys := strings.Join(append([]string{emf.Namespace, emf.DimFunction}, d.Dimensions...), ",")
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String(fmt.Sprintf(`SEARCH('{%s} MetricName="%s"', '%s', %d)`, keys, d.Name, stat, int(*period.ToSeconds(nil)))),
		Label:      jsii.String(d.Name),
		Period:     period,
	})
}

// loadLagMinutes reads ctxLagAlarmMinutes (default 15, at least 1).
func loadLagMinutes(get func(string) any) (int, error) {
	r := &contextReader{get: get}
	n := r.integer(ctxLagAlarmMinutes, 15, 1)
	if len(r.errs) > 0 {
		return 0, r.errs[0]
	}
	return n, nil
}

func newDashboard(scope constructs.Construct, id string, s *Sesguard, lagMinutes int) *dashboard {
	c := constructs.NewConstruct(scope, jsii.String(id))
	five := awscdk.Duration_Minutes(jsii.Number(5))
	graph := func(title string, metrics ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &metrics, Width: jsii.Number(12), Height: jsii.Number(6),
		})
	}
	byName := map[string]awscloudwatch.IMetric{}
	for _, d := range emf.Catalog {
		byName[d.Name] = catalogMetric(d, five)
	}
	dlqs := map[string]awssqs.Queue{"Ingest": s.Pipeline.Ingest.DLQ, "Respond": s.Functions.Respond.DLQ, "Notify": s.Functions.Notify.DLQ, "Coverage": s.Functions.CoverageDLQ}
	if s.Export != nil {
		dlqs["Export"] = s.Export.Queue.DLQ
	}
	if s.Interact != nil {
		dlqs["Interact"] = s.Interact.Queue.DLQ
	}
	var depth []awscloudwatch.IMetric
	for _, name := range slices.Sorted(maps.Keys(dlqs)) {
		depth = append(depth, dlqs[name].MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: five, Statistic: jsii.String("Maximum"), Label: jsii.String(name)}))
	}
	var errs []awscloudwatch.IMetric
	for _, name := range functionNames {
		errs = append(errs, s.Functions.Fn[name].MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum"), Label: jsii.String(name)}))
	}
	if s.Export != nil {
		errs = append(errs, s.Export.Fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum"), Label: jsii.String("export")}))
	}
	if s.Interact != nil {
		errs = append(errs, s.Interact.Fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum"), Label: jsii.String("interact")}))
	}
	d := &dashboard{}
	d.Dashboard = awscloudwatch.NewDashboard(c, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(24)),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{graph("Sends seen (by account, principal class)", byName[emf.MetricSendsSeen]), graph("Findings (by rule)", byName[emf.MetricFindings])},
			{graph("Containment actions (by action, outcome)", byName[emf.MetricActions]), graph("Alerts sent", byName[emf.MetricAlerts])},
			{graph("Event lag (ms, oldest event per batch)", byName[emf.MetricEventLag]), graph("Decode errors", byName[emf.MetricDecodeErrors])},
			{graph("Dead-letter queue depth", depth...), graph("Function errors", errs...)},
		},
	})
	// Events older than lagMinutes when ingest processes them: the pipeline is stuck or backed up.
	d.LagAlarm = awscloudwatch.NewAlarm(c, jsii.String("LagAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String(fmt.Sprintf("sesguard: ingest processed SES events older than %d minutes (pipeline delayed)", lagMinutes)),
		Metric:             byName[emf.MetricEventLag],
		Threshold:          jsii.Number(float64(lagMinutes) * 60_000),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	d.LagAlarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(s.Topics.Alerts))
	awscdk.NewCfnOutput(scope, jsii.String("DashboardName"), &awscdk.CfnOutputProps{Value: d.Dashboard.DashboardName(), Description: jsii.String("CloudWatch dashboard: sends, findings, actions, lag, DLQs, errors")})
	return d
}
