package detect

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"time"
)

// SendCountPeriod is the period of the per-account/Region Send counters the coverage function
// reconciles with SES's CloudWatch Send metric (the same 5-minute periods it asks CloudWatch for).
const SendCountPeriod = 5 * time.Minute

// SendCountTTL keeps a period's counter long enough for late events and a day of reconciliation.
const SendCountTTL = 48 * time.Hour

// SendCountKey is the State counter of the Send events sesguard saw for account and region in
// the period containing t (by mail.timestamp, when SES accepted the message).
func SendCountKey(account, region string, t time.Time) string {
	return "sends#" + account + "#" + region + "#" + strconv.FormatInt(t.UTC().Truncate(SendCountPeriod).Unix(), 10)
}

type sendPeriod struct {
	account, region string
	start           int64 // unix seconds
}

// countSends adds a batch's first-seen Send events to their period counters (duplicates were
// skipped by the dedup marks, so a redelivery does not count twice; a failed batch takes its
// increments back).
func (d *Detector) countSends(ctx context.Context, a *accum) error {
	periods := make([]sendPeriod, 0, len(a.sendCounts))
	for k := range a.sendCounts {
		periods = append(periods, k)
	}
	slices.SortFunc(periods, func(x, y sendPeriod) int {
		return cmp.Or(cmp.Compare(x.start, y.start), cmp.Compare(x.account, y.account), cmp.Compare(x.region, y.region))
	})
	for _, p := range periods {
		start := time.Unix(p.start, 0)
		if _, err := d.add(ctx, a, SendCountKey(p.account, p.region, start), a.sendCounts[p], d.expiry(start.Add(SendCountPeriod+SendCountTTL))); err != nil {
			return err
		}
	}
	return nil
}
