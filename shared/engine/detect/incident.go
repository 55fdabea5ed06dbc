package detect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
)

// One incident per key: findings of the same access key within playbook.incident_window of the
// key's previous finding share an incident id, and each finding carries the earlier steps of
// its incident (Chain), so an alert for "identity created" says the key was validated and probed
// minutes before.
//
// State (all with the incident window as TTL, renewed by each step): counters inc#…#start and
// inc#…#last (Unix seconds) per key, a step counter per incident, and one mark per step whose
// SendInfo carries the step (Principal: rule, Identity: summary, MessageID: time, VPCEndpointID:
// finding id).

// maxChain caps the earlier steps a finding lists.
const maxChain = 10

// incident sets f.Incident and f.Chain; isNew records f as a step of its incident.
func (d *Detector) incident(ctx context.Context, a *accum, f *finding.Finding, isNew bool) error {
	w := d.p.Playbook.IncidentWindow
	key := f.Principal.AccessKeyID
	if w <= 0 || key == "" {
		return nil
	}
	t := f.Evidence.FirstSeen
	if t.IsZero() {
		t = d.now()
	}
	base := "inc#" + f.Account + "#" + key + "#"
	exp := d.expiry(t.Add(w))
	last, err := d.st.Get(ctx, base+"last")
	if err != nil {
		return fmt.Errorf("incident of %s: %w", key, err)
	}
	start, err := d.st.Get(ctx, base+"start")
	if err != nil {
		return fmt.Errorf("incident of %s: %w", key, err)
	}
	ts := t.Unix()
	if start == 0 || ts-last > int64(w/time.Second) {
		// A new incident: the key was quiet for longer than the window (or never seen).
		if _, err := d.add(ctx, a, base+"start", ts-start, exp); err != nil {
			return fmt.Errorf("incident of %s: %w", key, err)
		}
		start = ts
	}
	if ts > last {
		if _, err := d.add(ctx, a, base+"last", ts-last, exp); err != nil {
			return fmt.Errorf("incident of %s: %w", key, err)
		}
	}
	f.Incident = IncidentID(f.Account, key, time.Unix(start, 0))
	steps := "inc#" + f.Incident + "#"
	n, err := d.st.Get(ctx, steps+"n")
	if err != nil {
		return fmt.Errorf("incident %s: %w", f.Incident, err)
	}
	for i := max(1, n-maxChain*2+1); i <= n; i++ {
		info, ok, err := d.st.SendInfo(ctx, steps+strconv.FormatInt(i, 10))
		if err != nil {
			return fmt.Errorf("incident %s step %d: %w", f.Incident, i, err)
		}
		if !ok || info.VPCEndpointID == f.ID {
			continue
		}
		at, err := time.Parse(time.RFC3339, info.MessageID)
		if err != nil || at.After(f.Evidence.LastSeen) && !f.Evidence.LastSeen.IsZero() {
			continue
		}
		f.Chain = append(f.Chain, finding.Step{Time: at.UTC(), Rule: info.Principal, Summary: info.Identity})
	}
	slices.SortStableFunc(f.Chain, func(x, y finding.Step) int { return x.Time.Compare(y.Time) })
	if len(f.Chain) > maxChain {
		f.Chain = f.Chain[len(f.Chain)-maxChain:]
	}
	if !isNew {
		return nil
	}
	n, err = d.add(ctx, a, steps+"n", 1, exp)
	if err != nil {
		return fmt.Errorf("incident %s: %w", f.Incident, err)
	}
	mark := steps + strconv.FormatInt(n, 10)
	info := SendInfo{Principal: f.Rule, Identity: StepSummary(f), MessageID: t.UTC().Format(time.RFC3339), VPCEndpointID: f.ID}
	if _, err := d.st.Mark(ctx, mark, info, exp); err != nil {
		return fmt.Errorf("incident %s step: %w", f.Incident, err)
	}
	a.undo = append(a.undo, undoOp{key: mark, mark: true})
	return nil
}

// IncidentID is the id of the incident of key that started at start.
func IncidentID(account, key string, start time.Time) string {
	sum := sha256.Sum256([]byte("sesguard.incident\x00" + account + "\x00" + key + "\x00" + start.UTC().Format(time.RFC3339)))
	return "sgi-" + hex.EncodeToString(sum[:12])
}

// StepSummary is the few words an incident chain says about a finding.
func StepSummary(f *finding.Finding) string {
	switch f.Rule {
	case rules.PlaybookKeyValidated:
		return "validated"
	case rules.PlaybookMultiRegion:
		if f.Evidence.Metric > 0 {
			return fmt.Sprintf("recon in %d Regions", int(f.Evidence.Metric))
		}
		return "calls in many Regions"
	case rules.PlaybookPersistence:
		var users []string
		for _, c := range f.Created {
			users = append(users, c.User)
		}
		if len(users) > 0 {
			return "identity created (" + clipText(strings.Join(users, ", "), 60) + ")"
		}
		return "identity created"
	case rules.PlaybookPrivilege:
		return "privilege granted"
	case rules.PlaybookQuotaCase:
		return "SES limit case opened"
	case rules.PlaybookQuarantined:
		return "quarantined by AWS"
	case rules.APIOutsideApproved:
		return "SES calls from outside"
	case rules.SetupSandboxExitRequested:
		return "sandbox exit requested"
	case rules.SetupIdentityCreated:
		return "SES identity created"
	case rules.SetupSendingReenabled:
		return "sending re-enabled"
	}
	if r, ok := rules.Lookup(f.Rule); ok {
		return strings.ToLower(r.Title[:1]) + r.Title[1:]
	}
	return f.Rule
}

// ChainText renders an incident chain for alerts: "validated 09:31, recon in 6 Regions 09:33".
func ChainText(steps []finding.Step) string {
	parts := make([]string, 0, len(steps))
	for _, s := range steps {
		parts = append(parts, s.Summary+" "+s.Time.UTC().Format("15:04"))
	}
	return strings.Join(parts, ", ")
}
