package awstest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

func TestSeedMetricReadBack(t *testing.T) {
	m := Start(t)
	at := time.Now().UTC().Add(-30 * time.Minute).Truncate(5 * time.Minute)
	m.SeedMetric(t, "AWS/SES", "Send", at.Add(time.Minute), 40)
	m.SeedMetric(t, "AWS/SES", "Send", at.Add(2*time.Minute), 2)
	out, err := cloudwatch.NewFromConfig(m.Config(t)).GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(at.Add(-time.Hour)), EndTime: aws.Time(at.Add(time.Hour)),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("s"), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/SES"), MetricName: aws.String("Send")}, Period: aws.Int32(300), Stat: aws.String("Sum")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricDataResults) != 1 || len(out.MetricDataResults[0].Values) != 1 || out.MetricDataResults[0].Values[0] != 42 {
		t.Errorf("results %+v", out.MetricDataResults)
	}
}

// TestCloudWatchCBORError: moto's JSON error reaches the SDK as an API error with its code.
func TestCloudWatchCBORError(t *testing.T) {
	m := Start(t)
	_, err := cloudwatch.NewFromConfig(m.Config(t)).GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(time.Now().Add(-time.Hour)), EndTime: aws.Time(time.Now()),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("s")}},
	})
	if err == nil || !strings.Contains(err.Error(), "MetricStat") {
		t.Errorf("err = %v, want moto's validation error naming MetricStat", err)
	}
}
