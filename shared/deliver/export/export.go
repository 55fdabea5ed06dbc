// Package export delivers findings and containment results to where security teams already look:
// Security Hub CSPM (ASFF through BatchImportFindings / BatchUpdateFindings) and an EventBridge bus
// (custom events, detail = the sesguard v1 JSON). Each destination reports errors per item, so the
// caller fails exactly the SQS records that were not delivered.
package export

import (
	"github.com/sesguard/sesguard/shared/core/finding"
)

// Item is one findings-topic message: exactly one of Finding and Result is set, Raw is the v1 JSON
// as published. Key identifies it to the caller (the SQS message id).
type Item struct {
	Key     string
	Finding *finding.Finding
	Result  *finding.Result
	Raw     []byte
}

// Failures maps an item's Key to why it was not delivered.
type Failures map[string]error

func (f Failures) add(key string, err error) {
	if _, ok := f[key]; !ok {
		f[key] = err
	}
}

// chunks splits n items into runs of at most size.
func chunks[T any](items []T, size int) [][]T {
	var out [][]T
	for len(items) > size {
		out = append(out, items[:size])
		items = items[size:]
	}
	if len(items) > 0 {
		out = append(out, items)
	}
	return out
}
