package sesevent

import (
	"strconv"

	"github.com/aws/aws-lambda-go/events"
)

// DecodeKinesis decodes a Kinesis Data Streams event (SES has no direct Kinesis destination; this
// is for pipelines that re-publish records). Each data blob is a bare SES record, an SNS
// notification or an EventBridge event. One Result per record, in order; Ref is
// "kinesis:<sequenceNumber>".
func DecodeKinesis(ev events.KinesisEvent) []Result {
	out := make([]Result, len(ev.Records))
	for i, r := range ev.Records {
		out[i] = decodeKinesisRecord(r, i)
	}
	return out
}

func decodeKinesisRecord(r events.KinesisEventRecord, i int) Result {
	ref := "kinesis:" + r.Kinesis.SequenceNumber
	if r.Kinesis.SequenceNumber == "" {
		ref = "kinesis:Records[" + strconv.Itoa(i) + "]"
	}
	env := Envelope{Region: r.AwsRegion}
	region, account, _ := splitARN(r.EventSourceArn)
	env.Account = account
	if env.Region == "" {
		env.Region = region
	}
	if !r.Kinesis.ApproximateArrivalTimestamp.IsZero() {
		env.Time = r.Kinesis.ApproximateArrivalTimestamp.UTC()
	}
	return decodeMessage(r.Kinesis.Data, "kinesis.data", ref, env)
}
