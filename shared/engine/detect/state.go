package detect

import (
	"context"
	"time"
)

// State holds what detection must remember between events and between Lambda invocations:
// dedup marks (which also carry a Send's attribution for joining its Bounce/Complaint), window
// counters and finding aggregates. MemoryState serves the CLI; DynamoState serves the Lambdas.
// Keys are opaque strings built by the Detector; every entry carries an expiry.
type State interface {
	// Mark records key once. It reports first=false, without changing anything, when key was
	// already marked (a redelivered or repeated event). info is kept for SendInfo.
	Mark(ctx context.Context, key string, info SendInfo, expires time.Time) (first bool, err error)
	// Unmark removes a mark (used to roll back a batch that failed part-way).
	Unmark(ctx context.Context, key string) error
	// SendInfo returns the info stored by Mark; ok=false when key is not marked.
	SendInfo(ctx context.Context, key string) (info SendInfo, ok bool, err error)
	// Add atomically adds delta to the counter key and returns the new value.
	Add(ctx context.Context, key string, delta int64, expires time.Time) (int64, error)
	// Get returns the counter key (0 when absent).
	Get(ctx context.Context, key string) (int64, error)
	// Tally atomically adds n hits to the finding aggregate key, first seen at first, and returns
	// the aggregate after the update.
	Tally(ctx context.Context, key string, n int64, first time.Time, expires time.Time) (Aggregate, error)
}

// SendInfo is the attribution of a Send, kept with its dedup mark so its later Bounce or
// Complaint can be joined to it by message id.
type SendInfo struct {
	Account   string
	Principal string
	Identity  string
	// API sends (CloudTrail data events, joined to their Send by message id): the exact key
	// that signed the request, the VPC endpoint it came through and the message id.
	AccessKeyID   string
	VPCEndpointID string
	MessageID     string
}

// Aggregate is a finding's running total across batches.
type Aggregate struct {
	Count     int64
	FirstSeen time.Time
}
