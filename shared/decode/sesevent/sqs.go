package sesevent

import (
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// DecodeSQS decodes an SQS batch. Each body may be an SNS notification (non-raw delivery), a bare
// SES record (raw delivery) or an EventBridge event (rule → SQS target). One Result per message,
// in order; Ref is "sqs:<messageId>".
func DecodeSQS(ev events.SQSEvent) []Result {
	out := make([]Result, len(ev.Records))
	for i, m := range ev.Records {
		out[i] = decodeSQSMessage(m, i)
	}
	return out
}

func decodeSQSMessage(m events.SQSMessage, i int) Result {
	ref := "sqs:" + m.MessageId
	if m.MessageId == "" {
		ref = "sqs:Records[" + strconv.Itoa(i) + "]"
	}
	env := Envelope{Region: m.AWSRegion}
	region, account, _ := splitARN(m.EventSourceARN)
	env.Account = account
	if env.Region == "" {
		env.Region = region
	}
	if ms, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64); err == nil && ms > 0 {
		env.Time = time.UnixMilli(ms).UTC()
	}
	return decodeMessage([]byte(m.Body), "body", ref, env)
}
