package sesevent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// SES's plain-text message to a new SNS event destination, and the legacy identity-notification
// equivalent. Neither is an event.
const (
	validationPrefix = "Successfully validated SNS topic"
	legacySubscribed = "AmazonSnsSubscriptionSucceeded"
)

// message is the union of the shapes a queue body, a Firehose/Kinesis blob or a stream value can
// have: a bare SES record, an SNS notification (HTTP/SQS form) or an EventBridge event. One pass of
// encoding/json fills whichever fields are present; field names do not collide across shapes.
type message struct {
	wireRecord

	// SNS notification.
	Type      string  `json:"Type"`
	MessageID string  `json:"MessageId"`
	TopicArn  string  `json:"TopicArn"`
	Message   *string `json:"Message"`
	Timestamp string  `json:"Timestamp"`

	// EventBridge event.
	ID         string          `json:"id"`
	DetailType *string         `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Region     string          `json:"region"`
	Time       string          `json:"time"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// decodeMessage decodes data found in carrier (e.g. "body") of record ref: an SNS notification, an
// EventBridge event or a bare SES record. outer is what the enclosing transport knows.
func decodeMessage(data []byte, carrier, ref string, outer Envelope) Result {
	data = bytes.TrimSpace(data)
	if bytes.HasPrefix(data, []byte(validationPrefix)) {
		return Result{Ref: ref, Skip: "SES SNS topic validation message: " + truncate(data, 120)}
	}
	if ev, ok := fastDecodeRecord(data, outer); ok {
		return Result{Ref: ref, Events: []Event{ev}, Raw: bytes.Clone(data)}
	}
	if res, ok := fastEventBridge(data, carrier, ref, outer); ok {
		return res
	}
	return decodeMessageSlow(data, carrier, ref, outer)
}

// decodeMessageSlow is decodeMessage with encoding/json only: every input the fast path declines,
// every error.
func decodeMessageSlow(data []byte, carrier, ref string, outer Envelope) Result {
	if bareCloudTrail(data) {
		return decodeCloudTrail(data, carrier, ref, outer)
	}
	var m message
	if field, err := unmarshalObject(data, &m); err != nil {
		if field == "" {
			field = carrier
		}
		return errorResult(ref, field, err)
	}
	switch {
	case m.DetailType != nil || m.Detail != nil:
		return decodeEventBridgeParts(ebParts{
			ref: ref, id: m.ID, carrier: joinField(carrier, "detail"), source: m.Source, detailType: deref(m.DetailType),
			account: m.Account, region: m.Region, time: parseEnvTime(m.Time), resources: m.Resources, detail: m.Detail,
		}, outer)
	case m.Message != nil:
		env := Envelope{Time: parseEnvTime(m.Timestamp)}
		env.Region, env.Account, _ = splitARN(m.TopicArn)
		return decodeSNSParts(ref, joinField(carrier, "Message"), m.Type, *m.Message, env.merge(outer))
	}
	if m.NotificationType == legacySubscribed {
		return Result{Ref: ref, Skip: "SES identity-notification subscription confirmation"}
	}
	ev, err := Normalize(m.record(), outer)
	if err != nil {
		return errorResult(ref, "", err)
	}
	return Result{Ref: ref, Events: []Event{ev}, Raw: bytes.Clone(data)}
}

// decodeSNSParts handles an SNS notification's Message (the SES record as a JSON string).
func decodeSNSParts(ref, carrier, typ, msg string, env Envelope) Result {
	switch typ {
	case "", "Notification":
	case "SubscriptionConfirmation", "UnsubscribeConfirmation":
		return Result{Ref: ref, Skip: "SNS " + typ}
	default:
		return errorResult(ref, "Type", fmt.Errorf("unknown SNS message type %q", truncate([]byte(typ), 40)))
	}
	trimmed := strings.TrimSpace(msg)
	if strings.HasPrefix(trimmed, validationPrefix) {
		return Result{Ref: ref, Skip: "SES SNS topic validation message: " + truncate([]byte(trimmed), 120)}
	}
	return decodeRecordResult([]byte(trimmed), carrier, ref, env)
}

// decodeRecordResult decodes a bare SES record carried in carrier.
func decodeRecordResult(data []byte, carrier, ref string, env Envelope) Result {
	data = bytes.TrimSpace(data)
	if ev, ok := fastDecodeRecord(data, env); ok {
		return Result{Ref: ref, Events: []Event{ev}, Raw: bytes.Clone(data)}
	}
	if bareCloudTrail(data) {
		return decodeCloudTrail(data, carrier, ref, env)
	}
	var r wireRecord
	if field, err := unmarshalObject(data, &r); err != nil {
		if field == "" {
			field = carrier
		}
		return errorResult(ref, field, err)
	}
	if r.NotificationType == legacySubscribed {
		return Result{Ref: ref, Skip: "SES identity-notification subscription confirmation"}
	}
	ev, err := Normalize(r.record(), env)
	if err != nil {
		return errorResult(ref, "", err)
	}
	return Result{Ref: ref, Events: []Event{ev}, Raw: bytes.Clone(data)}
}

func joinField(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// parseEnvTime parses transport timestamps; a bad one is only a missing hint, never an error.
func parseEnvTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}
	}
	return t
}
