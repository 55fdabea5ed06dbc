package detect

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// CloudTrail send data events (SendEmail, SendRawEmail, ... with additionalEventData.sesMessageId)
// are joined to SES's Send events by message id, whichever arrives first:
//   - each accepted API send leaves a mark apisend#<message id> with the exact key, principal and
//     VPC endpoint, and a numbered slot in its 5-minute period (APISendSlotKey), so the coverage
//     function can later ask, message by message, whether its Send event ever arrived;
//   - with WithAPISendJoin, a Send event whose data event arrived first takes the key and the
//     endpoint from that mark, so its findings name the exact key instead of a guessed one.
// SMTP sends have no data event: only the account-level reconciliation covers them.

// WithAPISendJoin makes Process look up, for every first-seen Send event, the CloudTrail data
// event of the same message (one State read per Send): for deployments recording SES send data
// events (-c sesguardSendDataEvents=true).
func WithAPISendJoin() Option { return func(d *Detector) { d.joinAPISends = true } }

// APISendKey is the mark of the CloudTrail data event of an API send, by SES message id.
func APISendKey(messageID string) string { return "apisend#" + messageID }

// SendSeenKey is the mark ingest leaves for a Send event of messageID (its dedup mark): present
// means sesguard observed the message through SES event publishing.
func SendSeenKey(messageID string) string { return sendKey(messageID) }

// APISendCountKey is the counter of API-send slots of account/region in the period containing t
// (by eventTime, when SES received the call).
func APISendCountKey(account, region string, t time.Time) string {
	return "apisends#" + account + "#" + region + "#" + strconv.FormatInt(t.UTC().Truncate(SendCountPeriod).Unix(), 10)
}

// APISendSlotKey is slot n (1-based) of the period's API sends; its SendInfo names the message.
func APISendSlotKey(account, region string, t time.Time, n int64) string {
	return APISendCountKey(account, region, t) + "#" + strconv.FormatInt(n, 10)
}

// markAPISend records an accepted API send for the join and the per-message reconciliation.
// Marks it makes are appended to *marked (rolled back if the batch fails); the slot counter's
// increments are undone through a.
func (d *Detector) markAPISend(ctx context.Context, a *accum, c *cloudtrail.Event, marked *[]string) error {
	t := c.EventTime
	if t.IsZero() {
		t = d.now()
	}
	for _, id := range c.MessageIDs {
		info := SendInfo{Account: c.Account, Principal: c.Principal.Name, Identity: c.Identity,
			AccessKeyID: c.Principal.AccessKeyID, VPCEndpointID: c.VPCEndpointID, MessageID: id}
		exp := d.expiry(t.Add(MarkTTL))
		first, err := d.st.Mark(ctx, APISendKey(id), info, exp)
		if err != nil {
			return fmt.Errorf("mark API send %s: %w", id, err)
		}
		if !first {
			continue // the same message from another record (a trail and EventBridge both delivering)
		}
		*marked = append(*marked, APISendKey(id))
		n, err := d.add(ctx, a, APISendCountKey(c.Account, c.Region, t), 1, d.expiry(t.Add(SendCountPeriod+SendCountTTL)))
		if err != nil {
			return fmt.Errorf("count API send %s: %w", id, err)
		}
		slot := APISendSlotKey(c.Account, c.Region, t, n)
		ok, err := d.st.Mark(ctx, slot, info, d.expiry(t.Add(SendCountPeriod+SendCountTTL)))
		if err != nil {
			return fmt.Errorf("slot API send %s: %w", id, err)
		}
		if ok {
			*marked = append(*marked, slot)
		}
	}
	return nil
}

// joinAPISend gives a Send event (with a message id) the exact key and VPC endpoint of its API
// call, when the CloudTrail data event was seen first; the zero apiSend when it was not.
func (d *Detector) joinAPISend(ctx context.Context, e *sesevent.Event) (apiSend, error) {
	info, ok, err := d.st.SendInfo(ctx, APISendKey(e.MessageID))
	if err != nil || !ok {
		return apiSend{}, err
	}
	// The call's principal must be the Send's caller: a key is never moved onto another
	// principal's finding, whatever the tags say.
	if e.CallerIdentity != "" && info.Principal != "" && info.Principal != e.CallerIdentity {
		d.log.Warn("detect: API send principal differs from the Send's caller identity; not joined",
			"message_id", e.MessageID, "call_principal", info.Principal, "caller_identity", e.CallerIdentity)
		return apiSend{}, nil
	}
	return apiSend{key: info.AccessKeyID, vpce: info.VPCEndpointID}, nil
}

// apiSend is what a Send event gains from its joined data event.
type apiSend struct{ key, vpce string }

// lookupAPISends joins every first-seen Send of the batch to its data event, concurrently for
// States whose reads are network round trips (as markAll marks): one read per Send.
func (d *Detector) lookupAPISends(ctx context.Context, events []sesevent.Event, process []bool) ([]apiSend, error) {
	out := make([]apiSend, len(events))
	var idx []int
	for i := range events {
		if process[i] && events[i].Type == sesevent.TypeSend && events[i].MessageID != "" {
			idx = append(idx, i)
		}
	}
	errs := d.eachStateCall(len(idx), true, func(k int) (err error) {
		out[idx[k]], err = d.joinAPISend(ctx, &events[idx[k]])
		return err
	})
	return out, errors.Join(errs...)
}
