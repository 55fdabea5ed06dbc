package main

import (
	"log/slog"
	"time"

	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/engine/detect"
	"github.com/sesguard/sesguard/shared/render/emf"
)

// principalClass is the metric's view of who sent: the caller name is attacker-influenced and
// unbounded, so only its class becomes a dimension.
func principalClass(caller string) string {
	switch caller {
	case "":
		return "unknown"
	case "root":
		return "root"
	}
	return "named"
}

// emitDecoded emits what is known before detection: decode errors, sends seen per account and
// principal class, and the lag of the oldest event (now − event time), which the CDK app alarms on.
func (h *Handler) emitDecoded(log *slog.Logger, results []sesevent.Result, events []sesevent.Event) {
	if h.Metrics == nil {
		return
	}
	var bad int
	for _, r := range results {
		if r.Err != nil {
			bad++
		}
	}
	report := func(err error) {
		if err != nil {
			log.Warn("ingest: metric not emitted", "error", err.Error())
		}
	}
	if bad > 0 {
		report(h.Metrics.Emit(emf.MetricDecodeErrors, float64(bad), nil))
	}
	sends := emf.NewCounter(emf.MetricSendsSeen)
	var oldest time.Time
	for _, ev := range events {
		if ev.Type == sesevent.TypeSend {
			sends.Add(1, map[string]string{emf.DimAccount: ev.Account, emf.DimPrincipalClass: principalClass(ev.CallerIdentity)})
		}
		if t := ev.EventTime; !t.IsZero() && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
	}
	report(sends.Flush(h.Metrics))
	if !oldest.IsZero() {
		now := time.Now
		if h.Metrics.Now != nil {
			now = h.Metrics.Now
		}
		report(h.Metrics.Emit(emf.MetricEventLag, float64(max(now().Sub(oldest), 0).Milliseconds()), nil))
	}
}

// emitFindings counts finding updates per rule.
func (h *Handler) emitFindings(log *slog.Logger, updates []detect.Update) {
	if h.Metrics == nil || len(updates) == 0 {
		return
	}
	c := emf.NewCounter(emf.MetricFindings)
	for _, u := range updates {
		c.Add(1, map[string]string{emf.DimRule: u.Finding.Rule})
	}
	if err := c.Flush(h.Metrics); err != nil {
		log.Warn("ingest: metric not emitted", "error", err.Error())
	}
}
