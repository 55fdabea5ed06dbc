package sesevent

import (
	"bytes"
	"errors"

	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
)

// decodeNotice decodes AWS's own notices on the bus (an AWS Health event, SES's sending-status
// event) with shared/decode/cloudtrail into an APICall; ok=false for any other event. Health
// events of other types are skipped by name.
func decodeNotice(p ebParts, outer Envelope) (Result, bool) {
	if !cloudtrail.IsNotice(p.source, p.detailType) {
		return Result{}, false
	}
	env := Envelope{Account: p.account, Region: p.region, Time: p.time}.merge(outer)
	ev, err := cloudtrail.DecodeNotice(p.detail, cloudtrail.NoticeEnvelope{
		ID: firstNonEmpty(p.id, p.ref), Source: p.source, DetailType: p.detailType, Account: env.Account, Region: env.Region,
		Time: env.Time, Resources: p.resources,
	})
	if err != nil {
		var fe *cloudtrail.FieldError
		if !errors.As(err, &fe) {
			return errorResult(p.ref, p.carrier, err), true
		}
		if errors.Is(err, cloudtrail.ErrNotNotice) {
			return Result{Ref: p.ref, Skip: fe.Err.Error()}, true
		}
		field := p.carrier
		if fe.Field != "" {
			field = joinField(p.carrier, fe.Field)
		}
		return errorResult(p.ref, field, fe.Err), true
	}
	return Result{Ref: p.ref, APICall: &ev, Raw: bytes.Clone(bytes.TrimSpace(p.detail))}, true
}
