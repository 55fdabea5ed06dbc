package detect

import (
	"context"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
)

// playbook.multi_region: one key calling SES in many Regions within minutes (the Wiz 2025
// campaign left the sandbox in every Region within 10 seconds). A legitimate sender uses its
// Region(s); a leaked key probes them all.
//
// State: per key and time slot (a fifth of the window), a counter that is a bit set of the
// Regions seen (each Region's bit is added once, guarded by a mark), so the distinct Regions of
// the window are the union of the last slots — exact across batches and Lambda invocations with
// only Mark, Add and Get. The window is judged on slot boundaries: calls up to one slot
// (window/5) further apart than the window can still count together.

const regionSlots = 5

// sesRegions gives each Region a bit; unknown Region names share the last bit.
var sesRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1", "ap-south-2",
	"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-northeast-1",
	"ap-northeast-2", "ap-northeast-3", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-west-1",
	"eu-west-2", "eu-west-3", "eu-south-1", "eu-south-2", "eu-north-1", "il-central-1", "me-south-1", "me-central-1",
	"sa-east-1", "us-gov-east-1", "us-gov-west-1", "mx-central-1", "ap-southeast-7",
}

const otherRegionBit = 62

func regionBit(r string) int {
	if i := slices.Index(sesRegions, r); i >= 0 {
		return i
	}
	return otherRegionBit
}

func regionNames(mask int64) []string {
	var out []string
	for i := range sesRegions {
		if mask&(1<<i) != 0 {
			out = append(out, sesRegions[i])
		}
	}
	if mask&(1<<otherRegionBit) != 0 {
		out = append(out, "(other Regions)")
	}
	return out
}

// multiRegion feeds one SES call into the Region sets of its key and raises the finding when the
// window's Regions reach the policy's count. Marks it makes are appended to marked (rollback).
func (d *Detector) multiRegion(ctx context.Context, a *accum, c *cloudtrail.Event, marked *[]string) error {
	key := c.Principal.AccessKeyID
	if !c.IsSES() || key == "" || c.Region == "" {
		return nil
	}
	w, n := d.p.Playbook.RegionWindow, d.p.Playbook.Regions
	slot := max(w/regionSlots, time.Second)
	t := c.EventTime
	if t.IsZero() {
		t = d.now()
	}
	s := t.Truncate(slot)
	exp := d.expiry(s.Add(w + 2*slot))
	prefix := "mr#" + c.Account + "#" + key + "#"
	mark := prefix + c.Region + "#" + strconv.FormatInt(s.Unix(), 10)
	first, err := d.st.Mark(ctx, mark, SendInfo{}, exp)
	if err != nil {
		return fmt.Errorf("multi-region mark: %w", err)
	}
	if !first {
		return nil // this Region of this slot is already counted: nothing new to judge
	}
	*marked = append(*marked, mark)
	cur, err := d.add(ctx, a, prefix+"set#"+strconv.FormatInt(s.Unix(), 10), int64(1)<<regionBit(c.Region), exp)
	if err != nil {
		return fmt.Errorf("multi-region set: %w", err)
	}
	union := cur
	for i := 1; i <= regionSlots; i++ {
		v, err := d.st.Get(ctx, prefix+"set#"+strconv.FormatInt(s.Add(-time.Duration(i)*slot).Unix(), 10))
		if err != nil {
			return fmt.Errorf("multi-region set: %w", err)
		}
		union |= v
	}
	if bits.OnesCount64(uint64(union)) < n { //nolint:gosec // a bit set of Region slots: the bits are what count, not the sign
		return nil
	}
	names := regionNames(union)
	start := bucket(t, d.window)
	detail := fmt.Sprintf("key %s of %s made SES calls in %d Regions within %s: %s%s", key, principalText(c), len(names), w, strings.Join(names, ", "), refused(c))
	dim := c.Principal.Name + "#" + key
	g := a.hitCall(d, hitSpec{rule: rules.PlaybookMultiRegion, account: c.Account, principal: c.Principal.Name, dim: dim,
		start: start, end: start.Add(d.window), detail: detail}, c, t, callPrincipal(c))
	if strings.Count(g.detail, ",") < strings.Count(detail, ",") {
		g.detail = detail // the latest, widest set of Regions
	}
	g.metric, g.threshold = max(g.metric, float64(len(names))), float64(n)
	return nil
}

func playbookMultiRegion(c rules.Rule) Rule { return Rule{Rule: c} } // evaluated by the Detector (multiRegion)
