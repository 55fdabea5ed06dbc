package awstest

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// SeedMetric puts one datapoint of namespace/name at t into moto's CloudWatch, as SES publishes
// its AWS/SES metrics (moto accepts the AWS/ namespaces that real PutMetricData refuses).
func (m *Moto) SeedMetric(tb testing.TB, namespace, name string, t time.Time, value float64) {
	tb.Helper()
	cw := cloudwatch.NewFromConfig(m.Config(tb))
	_, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{
		Namespace:  aws.String(namespace),
		MetricData: []cwtypes.MetricDatum{{MetricName: aws.String(name), Timestamp: aws.Time(t), Value: aws.Float64(value)}},
	})
	if err != nil {
		tb.Fatalf("awstest: seed metric %s/%s: %v", namespace, name, err)
	}
}
