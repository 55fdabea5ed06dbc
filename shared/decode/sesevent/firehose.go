package sesevent

import (
	"strconv"

	"github.com/aws/aws-lambda-go/events"
)

// DecodeFirehose decodes a Firehose data-transformation event. Each record's data is normally a
// bare SES record followed by a newline; SNS notifications and EventBridge events are accepted too.
// One Result per record, in order; Ref is "firehose:<recordId>". Result.Raw is what a transform
// re-encodes (remember to re-append the newline).
func DecodeFirehose(ev events.KinesisFirehoseEvent) []Result {
	env := firehoseEnvelope(ev)
	out := make([]Result, len(ev.Records))
	for i, r := range ev.Records {
		out[i] = decodeFirehoseRecord(env, r, i)
	}
	return out
}

func firehoseEnvelope(ev events.KinesisFirehoseEvent) Envelope {
	env := Envelope{Region: ev.Region}
	region, account, _ := splitARN(ev.DeliveryStreamArn)
	env.Account = account
	if env.Region == "" {
		env.Region = region
	}
	return env
}

func decodeFirehoseRecord(env Envelope, r events.KinesisFirehoseEventRecord, i int) Result {
	ref := "firehose:" + r.RecordID
	if r.RecordID == "" {
		ref = "firehose:records[" + strconv.Itoa(i) + "]"
	}
	if !r.ApproximateArrivalTimestamp.IsZero() {
		env.Time = r.ApproximateArrivalTimestamp.UTC()
	}
	return decodeMessage(r.Data, "data", ref, env)
}
