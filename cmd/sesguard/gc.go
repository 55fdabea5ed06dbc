package main

import "runtime/debug"

// Bulk readers (replay, investigate) make short-lived garbage per record over a small live heap
// (investigate's join table, replay's dedup marks), so the default GOGC=100 spends a fifth of
// their CPU in the collector. Without GOGC or GOMEMLIMIT in the environment they collect at 8x
// the live heap instead, under a soft memory limit that takes over as the live heap grows, so
// peak RSS stays bounded on a 1 GB archive (measured: investigate 80 MiB limit → ~90 MiB RSS;
// replay, whose dedup marks grow with the messages of the last 72 h — about 30 MB live for
// 275,000 messages — 64 MiB → ~72 MiB).
const (
	bulkGCPercent          = 800
	investigateMemoryLimit = 80 << 20
	replayMemoryLimit      = 64 << 20
)

// tuneBulkGC applies the bulk defaults with the given soft limit unless the user chose GOGC or
// GOMEMLIMIT.
func tuneBulkGC(getenv func(string) string, limit int64) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(bulkGCPercent)
	debug.SetMemoryLimit(limit)
}
