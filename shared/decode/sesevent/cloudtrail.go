package sesevent

import (
	"bytes"
	"errors"

	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
)

// bareCloudTrail reports whether data is a bare CloudTrail record rather than an SES record or
// an envelope: it names "eventSource" and "userIdentity" or "eventVersion" as JSON tokens
// (inside a JSON string the quotes would be escaped) and is not an EventBridge event (whose
// CloudTrail detail is handled by the detail-type).
func bareCloudTrail(data []byte) bool {
	return bytes.Contains(data, []byte(`"eventSource"`)) &&
		(bytes.Contains(data, []byte(`"userIdentity"`)) || bytes.Contains(data, []byte(`"eventVersion"`))) &&
		!bytes.Contains(data, []byte(`"detail-type"`))
}

// decodeCloudTrail decodes a CloudTrail record found in carrier with shared/decode/cloudtrail. Records
// of other services (CloudTrail log files hold every service) are skipped, not failed.
func decodeCloudTrail(data []byte, carrier, ref string, env Envelope) Result {
	ev, err := cloudtrail.Decode(data, cloudtrail.Envelope{Account: env.Account, Region: env.Region})
	if err != nil {
		var fe *cloudtrail.FieldError
		if !errors.As(err, &fe) {
			return errorResult(ref, carrier, err)
		}
		if errors.Is(err, cloudtrail.ErrNotSES) {
			return Result{Ref: ref, Skip: "CloudTrail record is " + fe.Err.Error()}
		}
		field := carrier
		if fe.Field != "" {
			field = joinField(carrier, fe.Field)
		}
		return errorResult(ref, field, fe.Err)
	}
	return Result{Ref: ref, APICall: &ev, Raw: bytes.Clone(bytes.TrimSpace(data))}
}
