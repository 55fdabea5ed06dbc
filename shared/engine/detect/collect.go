package detect

import (
	"slices"
	"strings"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// Collector merges the updates of successive batches into one finding per id, as a stream
// consumer (the CLI replay) wants them at the end: the highest running count, the earliest first
// and latest last sighting, and evidence samples merged up to their caps.
type Collector struct {
	byID  map[string]*finding.Finding
	order []string
}

// NewCollector returns an empty Collector.
func NewCollector() *Collector { return &Collector{byID: make(map[string]*finding.Finding)} }

// Add merges the updates of one batch.
func (c *Collector) Add(updates []Update) {
	for _, u := range updates {
		c.merge(u.Finding)
	}
}

func (c *Collector) merge(f finding.Finding) {
	cur, ok := c.byID[f.ID]
	if !ok {
		// The samples are kept to the end of the stream: keep no reference into a decoder's
		// buffers (a message id would hold on to a whole chunk of them).
		f.Evidence.MessageIDs = cloneStrings(f.Evidence.MessageIDs)
		f.Evidence.From = cloneStrings(f.Evidence.From)
		f.Evidence.RecipientsSample = cloneStrings(f.Evidence.RecipientsSample)
		f.Evidence.EventIDs = cloneStrings(f.Evidence.EventIDs)
		f.Evidence.EventNames = cloneStrings(f.Evidence.EventNames)
		c.byID[f.ID] = &f
		c.order = append(c.order, f.ID)
		return
	}
	ev, in := &cur.Evidence, f.Evidence
	ev.Count = max(ev.Count, in.Count)
	if in.FirstSeen.Before(ev.FirstSeen) {
		ev.FirstSeen = in.FirstSeen
	}
	if in.LastSeen.After(ev.LastSeen) {
		ev.LastSeen = in.LastSeen
	}
	for _, v := range in.MessageIDs {
		addUniqueClone(&ev.MessageIDs, v, finding.MaxMessageIDs)
	}
	for _, v := range in.From {
		addUniqueClone(&ev.From, v, finding.MaxFrom)
	}
	for _, v := range in.RecipientsSample {
		addUniqueClone(&ev.RecipientsSample, v, finding.MaxRecipients)
	}
	for _, v := range in.EventIDs {
		addUniqueClone(&ev.EventIDs, v, finding.MaxEventIDs)
	}
	for _, v := range in.EventNames {
		addUniqueClone(&ev.EventNames, v, finding.MaxEventIDs)
	}
	if ev.VPCEndpointID == "" {
		ev.VPCEndpointID = in.VPCEndpointID
	}
	if ev.Identity == "" {
		ev.Identity = in.Identity
	}
	if ev.ConfigurationSet == "" {
		ev.ConfigurationSet = in.ConfigurationSet
	}
	if cur.SourceIP == "" {
		cur.SourceIP = f.SourceIP
	}
	if cur.Region == "" {
		cur.Region = f.Region
	}
	// A rate or volume finding reports its worst moment.
	if in.Metric > ev.Metric {
		ev.Metric, ev.Threshold, ev.Detail = in.Metric, in.Threshold, in.Detail
	}
}

// Findings returns the merged findings ordered by window, severity (highest first), rule,
// account, principal and id.
func (c *Collector) Findings() []finding.Finding {
	out := make([]finding.Finding, 0, len(c.order))
	for _, id := range c.order {
		out = append(out, *c.byID[id])
	}
	sortFindings(out)
	return out
}

// cloneStrings copies s and its strings (nil stays nil).
func cloneStrings(s []string) []string {
	out := slices.Clone(s)
	for i := range out {
		out[i] = strings.Clone(out[i])
	}
	return out
}

// addUniqueClone is addUnique keeping a copy of v.
func addUniqueClone(list *[]string, v string, max int) {
	n := len(*list)
	addUnique(list, v, max)
	if len(*list) > n {
		(*list)[n] = strings.Clone(v)
	}
}
