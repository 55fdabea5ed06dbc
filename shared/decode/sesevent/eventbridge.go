package sesevent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
)

// EventBridge detail-types of SES sending events (source aws.ses). CloudTrail API calls go to
// shared/decode/cloudtrail; other SES detail-types on the bus (advisor recommendations, tenant sending
// status) are skipped.
func sendingDetailType(dt string) bool {
	switch dt {
	case "Email Sent", "Email Delivered", "Email Bounced", "Email Complaint Received", "Email Rejected",
		"Email Opened", "Email Clicked", "Email Rendering Failed", "Email Delivery Delayed", "Email Subscribed":
		return true
	}
	return false
}

// DecodeEventBridge decodes an EventBridge event delivered to a Lambda; the SES record is its
// detail. Ref is "eventbridge:<id>". Events from source aws.ses that are not sending events are
// skipped with a reason; events from other sources are decoded if their detail is an SES record
// (replays through a custom bus cannot use the aws.ses source).
func DecodeEventBridge(ev events.CloudWatchEvent) Result {
	return decodeEventBridgeParts(ebParts{
		ref: "eventbridge:" + ev.ID, id: ev.ID, carrier: "detail", source: ev.Source, detailType: ev.DetailType,
		account: ev.AccountID, region: ev.Region, time: ev.Time.UTC(), resources: ev.Resources, detail: ev.Detail,
	}, Envelope{})
}

type ebParts struct {
	ref, carrier, source, detailType, account, region string
	id                                                string // the EventBridge event id, when read
	time                                              time.Time
	resources                                         []string
	detail                                            json.RawMessage
}

func decodeEventBridgeParts(p ebParts, outer Envelope) Result {
	ref := p.ref
	if p.detailType == cloudtrail.DetailType {
		d := bytes.TrimSpace(p.detail)
		if len(d) == 0 || bytes.Equal(d, []byte("null")) {
			return errorResult(ref, p.carrier, fmt.Errorf("missing"))
		}
		return decodeCloudTrail(d, p.carrier, ref, Envelope{Account: p.account, Region: p.region}.merge(outer))
	}
	if res, ok := decodeNotice(p, outer); ok {
		return res
	}
	if p.source == "aws.ses" && !sendingDetailType(p.detailType) {
		return Result{Ref: ref, Skip: fmt.Sprintf("EventBridge aws.ses event %q is not a sending event", truncate([]byte(p.detailType), 60))}
	}
	d := bytes.TrimSpace(p.detail)
	if len(d) == 0 || bytes.Equal(d, []byte("null")) {
		return errorResult(ref, p.carrier, fmt.Errorf("missing"))
	}
	env := Envelope{Account: p.account, Region: p.region, Time: p.time}
	for _, arn := range p.resources {
		region, account, _ := splitARN(arn)
		if env.Region == "" {
			env.Region = region
		}
		if env.Account == "" {
			env.Account = account
		}
	}
	return decodeRecordResult(d, p.carrier, ref, env.merge(outer))
}
