package sesevent

import (
	"strconv"

	"github.com/aws/aws-lambda-go/events"
)

// DecodeSNS decodes an SNS → Lambda event: each Sns.Message is an SES record serialised as a JSON
// string. SES's plain-text validation message is skipped. One Result per record, in order; Ref is
// "sns:<MessageId>".
func DecodeSNS(ev events.SNSEvent) []Result {
	out := make([]Result, len(ev.Records))
	for i, r := range ev.Records {
		out[i] = decodeSNSRecord(r, i)
	}
	return out
}

func decodeSNSRecord(r events.SNSEventRecord, i int) Result {
	ref := "sns:" + r.SNS.MessageID
	if r.SNS.MessageID == "" {
		ref = "sns:Records[" + strconv.Itoa(i) + "]"
	}
	env := Envelope{Time: r.SNS.Timestamp.UTC()}
	env.Region, env.Account, _ = splitARN(r.SNS.TopicArn)
	return decodeSNSParts(ref, "Sns.Message", r.SNS.Type, r.SNS.Message, env)
}
