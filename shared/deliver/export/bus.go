package export

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// BusAPI is the part of the EventBridge client Bus uses.
type BusAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ BusAPI = (*eventbridge.Client)(nil)

// The custom event's envelope; rules match on these.
const (
	Source            = "sesguard"
	DetailTypeFinding = "SES Send Finding"
	DetailTypeResult  = "SES Containment Result"
	// MaxEntries is PutEvents' per-call limit; maxEntryBytes its 256 KB per-request limit, which
	// bounds every entry too.
	MaxEntries    = 10
	maxEntryBytes = 256 * 1024
)

// Bus puts findings and results as custom events on one bus (a name or an ARN; another account's
// bus by ARN when its resource policy admits this account).
type Bus struct {
	Client BusAPI
	// Bus is the event bus name or ARN; "" is the account's default bus.
	Bus string
}

// Entry builds the event for it; detail is the v1 JSON exactly as published on the findings topic.
func (b *Bus) Entry(it Item) (types.PutEventsRequestEntry, error) {
	if len(it.Raw) == 0 || !utf8.Valid(it.Raw) {
		return types.PutEventsRequestEntry{}, errors.New("eventbridge: message body is empty or not UTF-8")
	}
	e := types.PutEventsRequestEntry{Source: aws.String(Source), Detail: aws.String(string(it.Raw))}
	if b.Bus != "" {
		e.EventBusName = aws.String(b.Bus)
	}
	var t time.Time
	var arn string
	switch {
	case it.Finding != nil:
		e.DetailType = aws.String(DetailTypeFinding)
		t, arn = it.Finding.Evidence.LastSeen, it.Finding.Principal.ARN
	case it.Result != nil:
		e.DetailType = aws.String(DetailTypeResult)
		t, arn = it.Result.Time, it.Result.Principal.ARN
	default:
		return types.PutEventsRequestEntry{}, errors.New("eventbridge: item is neither a finding nor a result")
	}
	if !t.IsZero() {
		e.Time = aws.Time(t)
	}
	if strings.HasPrefix(arn, "arn:") && utf8.ValidString(arn) && len(arn) <= 1600 {
		e.Resources = []string{arn}
	}
	if size := entrySize(e); size > maxEntryBytes {
		return types.PutEventsRequestEntry{}, fmt.Errorf("eventbridge: event is %d bytes, over the 256 KB limit", size)
	}
	return e, nil
}

// entrySize is PutEvents' size accounting: source, detail-type, detail, resources, plus 14 bytes
// for a time.
func entrySize(e types.PutEventsRequestEntry) int {
	n := len(aws.ToString(e.Source)) + len(aws.ToString(e.DetailType)) + len(aws.ToString(e.Detail))
	for _, r := range e.Resources {
		n += len(r)
	}
	if e.Time != nil {
		n += 14
	}
	return n
}

// Export puts the items, up to MaxEntries (and 256 KB) per call; an entry EventBridge rejects
// (FailedEntryCount, per-entry ErrorCode) fails its item alone.
func (b *Bus) Export(ctx context.Context, items []Item) Failures {
	fail := Failures{}
	type pending struct {
		key string
		e   types.PutEventsRequestEntry
	}
	var batch []pending
	size := 0
	flush := func() {
		if len(batch) == 0 {
			return
		}
		in := &eventbridge.PutEventsInput{Entries: make([]types.PutEventsRequestEntry, len(batch))}
		for i, p := range batch {
			in.Entries[i] = p.e
		}
		out, err := b.Client.PutEvents(ctx, in)
		switch {
		case err != nil:
			for _, p := range batch {
				fail.add(p.key, fmt.Errorf("eventbridge PutEvents: %w", err))
			}
		case len(out.Entries) != len(batch):
			for _, p := range batch {
				fail.add(p.key, fmt.Errorf("eventbridge PutEvents answered %d entries for %d", len(out.Entries), len(batch)))
			}
		default:
			for i, r := range out.Entries {
				if r.ErrorCode != nil {
					fail.add(batch[i].key, fmt.Errorf("eventbridge rejected the event: %s: %s", aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage)))
				}
			}
		}
		batch, size = batch[:0], 0
	}
	for _, it := range items {
		e, err := b.Entry(it)
		if err != nil {
			fail.add(it.Key, err)
			continue
		}
		s := entrySize(e)
		if len(batch) == MaxEntries || size+s > maxEntryBytes {
			flush()
		}
		batch = append(batch, pending{it.Key, e})
		size += s
	}
	flush()
	return fail
}
