package contain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesguard/sesguard/shared/core/statekeys"
)

// Status of a ledger row.
type Status string

// Ledger statuses. A row is written "pending" with the prior state before anything changes, then
// moves to exactly one of applied, failed or rate_capped; restored after a restore, or
// unrestorable when the target is gone (a terminal state: no rerun can restore it).
const (
	StatusPending      Status = "pending"
	StatusApplied      Status = "applied"
	StatusFailed       Status = "failed"
	StatusRateCapped   Status = "rate_capped"
	StatusRestored     Status = "restored"
	StatusUnrestorable Status = "unrestorable"
)

// Ledger table layout (the shared state table: string keys pk and sk).
const (
	ledgerHashKey  = statekeys.HashKey
	ledgerRangeKey = statekeys.SortKey
	actionPrefix   = statekeys.ContainAction
	lockPrefix     = statekeys.ContainLock
	holdersPrefix  = statekeys.ContainHolders
	lockSortKey    = "lock"
	holdersSortKey = "holders"
	ratePrefix     = statekeys.ContainRate
	ledgerSortKey  = "ledger"
	rateSortKey    = "count"
	rateTTL        = 48 * time.Hour
)

// ErrNotFound is returned by Ledger.Get for an unknown action id.
var ErrNotFound = errors.New("no such containment action")

// Record is one ledger row: one action for one finding, with the prior state in Step.State.
type Record struct {
	ActionID  string    `json:"action_id"`
	FindingID string    `json:"finding_id"`
	Rule      string    `json:"rule"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	Actor     string    `json:"actor"`
	Status    Status    `json:"status"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	Step      Step      `json:"step"`
	// Earlier are the steps of failed earlier attempts this row replaced; a failed apply may
	// have changed part of its target, so Restore undoes them too (newest first).
	Earlier []Step `json:"earlier,omitempty"`
	// Inherited are the steps of other findings' rows on the same target that were restored
	// while this row still held the containment: the last holder's restore undoes them too.
	Inherited []Step `json:"inherited,omitempty"`
	// Rev is the row's revision: every write is conditional on the revision read, so two runs
	// working from the same read cannot both write (the loser re-reads).
	Rev   int64  `json:"rev"`
	Error string `json:"error,omitempty"`
	// Unrestorable says why the row cannot be restored (Status unrestorable).
	Unrestorable string `json:"unrestorable,omitempty"`
	// ForcedBy is who restored over a change made after containment (restore --force).
	ForcedBy string `json:"forced_by,omitempty"`
	// Restore details, set when Status is restored.
	RestoredBy     string    `json:"restored_by,omitempty"`
	RestoredAt     time.Time `json:"restored_at,omitzero"`
	RestoreChanges []string  `json:"restore_changes,omitempty"`
	// ApprovedBy is the human who approved the action (a Slack button), RestoreApprovedBy the one
	// who approved its undo; nil for the policy's automatic mode and the CLI.
	ApprovedBy        *Approver `json:"approved_by,omitempty"`
	RestoreApprovedBy *Approver `json:"restore_approved_by,omitempty"`
}

// Approver is who approved a change from Slack and when: the audit trail of a button click.
type Approver struct {
	SlackUser string `json:"slack_user"`
	SlackTeam string `json:"slack_team"`
	// At is the click's time (Slack's signed request timestamp).
	At time.Time `json:"at"`
	// Ref is the approval reference the button carried.
	Ref string `json:"ref,omitempty"`
}

// Actor names the approver for the ledger's actor fields.
func (a *Approver) Actor() string { return "slack:" + a.SlackTeam + "/" + a.SlackUser }

// Ledger stores containment records in DynamoDB. Rows have no TTL: they are the audit trail.
type Ledger struct {
	db    DynamoAPI
	table string
}

// NewLedger returns a ledger on table (string keys pk, sk).
func NewLedger(db DynamoAPI, table string) *Ledger { return &Ledger{db: db, table: table} }

// ActionID is the deterministic ledger key of an action for a finding and target, so redelivered
// and concurrent duplicates collide on the same row.
func ActionID(findingID, action, target string) string {
	h := sha256.Sum256([]byte(findingID + "\x00" + action + "\x00" + target))
	return "sg-" + hex.EncodeToString(h[:10])
}

func actionKey(id string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		ledgerHashKey:  &ddbtypes.AttributeValueMemberS{Value: actionPrefix + id},
		ledgerRangeKey: &ddbtypes.AttributeValueMemberS{Value: ledgerSortKey},
	}
}

// Get reads a record; ErrNotFound when there is none.
func (l *Ledger) Get(ctx context.Context, id string) (*Record, error) {
	out, err := l.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(l.table), Key: actionKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("ledger: get %s: %w", id, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("ledger: %s: %w", id, ErrNotFound)
	}
	v, ok := out.Item["record"].(*ddbtypes.AttributeValueMemberS)
	if !ok {
		return nil, fmt.Errorf("ledger: %s: row has no record attribute", id)
	}
	var r Record
	if err := json.Unmarshal([]byte(v.Value), &r); err != nil {
		return nil, fmt.Errorf("ledger: %s: decode record: %w", id, err)
	}
	return &r, nil
}

func (l *Ledger) item(r *Record) (map[string]ddbtypes.AttributeValue, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("ledger: encode %s: %w", r.ActionID, err)
	}
	item := actionKey(r.ActionID)
	item["record"] = &ddbtypes.AttributeValueMemberS{Value: string(b)}
	item["status"] = &ddbtypes.AttributeValueMemberS{Value: string(r.Status)}
	item["finding_id"] = &ddbtypes.AttributeValueMemberS{Value: r.FindingID}
	item["action"] = &ddbtypes.AttributeValueMemberS{Value: r.Action}
	item["updated"] = &ddbtypes.AttributeValueMemberS{Value: r.Updated.UTC().Format(time.RFC3339Nano)}
	item["rev"] = &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(r.Rev, 10)}
	return item, nil
}

// revCondition is the condition "the stored row is at revision rev" (rows written before
// revisions existed have none: revision 0).
func revCondition(rev int64, names map[string]string, values map[string]ddbtypes.AttributeValue) string {
	names["#rev"] = "rev"
	if rev == 0 {
		return "attribute_not_exists(#rev)"
	}
	values[":rev"] = &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(rev, 10)}
	return "#rev = :rev"
}

// Claim writes r unless a row for the action exists that is not failed or rate_capped, or that
// is not at revision r.Rev (the revision the caller read; 0 for a new row): the conditional write
// that resolves concurrent duplicates and retries. When another row wins, it returns
// claimed=false and that row. On success r.Rev is the new revision.
func (l *Ledger) Claim(ctx context.Context, r *Record) (claimed bool, existing *Record, err error) {
	read := r.Rev
	r.Rev = read + 1
	item, err := l.item(r)
	if err != nil {
		r.Rev = read
		return false, nil, err
	}
	names := map[string]string{"#pk": ledgerHashKey, "#st": "status"}
	values := map[string]ddbtypes.AttributeValue{
		":failed": &ddbtypes.AttributeValueMemberS{Value: string(StatusFailed)},
		":capped": &ddbtypes.AttributeValueMemberS{Value: string(StatusRateCapped)},
	}
	cond := "attribute_not_exists(#pk) OR (#st IN (:failed, :capped) AND " + revCondition(read, names, values) + ")"
	_, err = l.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(l.table),
		Item:                      item,
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if err != nil {
		r.Rev = read
	}
	var ccf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		cur, gerr := l.Get(ctx, r.ActionID)
		if gerr != nil {
			return false, nil, fmt.Errorf("ledger: %s claimed by another run, and reading it failed: %w", r.ActionID, gerr)
		}
		return false, cur, nil
	}
	if err != nil {
		return false, nil, fmt.Errorf("ledger: claim %s: %w", r.ActionID, err)
	}
	return true, nil, nil
}

// Transition replaces the row with r if its status is still from and its revision still r.Rev
// (optimistic concurrency); on success r.Rev is the new revision.
func (l *Ledger) Transition(ctx context.Context, from Status, r *Record) error {
	read := r.Rev
	r.Rev = read + 1
	item, err := l.item(r)
	if err != nil {
		r.Rev = read
		return err
	}
	names := map[string]string{"#st": "status"}
	values := map[string]ddbtypes.AttributeValue{":from": &ddbtypes.AttributeValueMemberS{Value: string(from)}}
	_, err = l.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(l.table),
		Item:                      item,
		ConditionExpression:       aws.String("#st = :from AND " + revCondition(read, names, values)),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if err != nil {
		r.Rev = read
	}
	var ccf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("ledger: %s is no longer %s at revision %d (changed by another run)", r.ActionID, from, read)
	}
	if err != nil {
		return fmt.Errorf("ledger: set %s %s -> %s: %w", r.ActionID, from, r.Status, err)
	}
	return nil
}

// rateWindow is the window of the action cap: any 60 minutes, not a clock hour (with clock-hour
// counters a burst across the hour boundary could apply twice the cap within minutes).
const rateWindow = time.Hour

// rateContention bounds the optimistic-concurrency retries of TakeSlot.
const rateContention = 10

func rateKey() map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		ledgerHashKey:  &ddbtypes.AttributeValueMemberS{Value: ratePrefix + "window"},
		ledgerRangeKey: &ddbtypes.AttributeValueMemberS{Value: rateSortKey},
	}
}

// rateTimes reads the times (unix ns) of the actions counted so far and the row's version (0:
// no row yet).
func (l *Ledger) rateTimes(ctx context.Context) ([]int64, int64, error) {
	out, err := l.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(l.table), Key: rateKey(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, 0, fmt.Errorf("ledger: read rate window: %w", err)
	}
	if out.Item == nil {
		return nil, 0, nil
	}
	var times []int64
	if v, ok := out.Item["times"].(*ddbtypes.AttributeValueMemberS); ok {
		if err := json.Unmarshal([]byte(v.Value), &times); err != nil {
			return nil, 0, fmt.Errorf("ledger: rate window: %w", err)
		}
	}
	var ver int64
	if v, ok := out.Item["v"].(*ddbtypes.AttributeValueMemberN); ok {
		if ver, err = strconv.ParseInt(v.Value, 10, 64); err != nil {
			return nil, 0, fmt.Errorf("ledger: rate window version %q: %w", v.Value, err)
		}
	}
	return times, ver, nil
}

// inWindow keeps the times inside the rateWindow that ends at now.
func inWindow(times []int64, now time.Time) []int64 {
	from := now.Add(-rateWindow).UnixNano()
	out := times[:0:0]
	for _, t := range times {
		if t > from {
			out = append(out, t)
		}
	}
	return out
}

// TakeSlot counts one action at now unless max actions are already counted in the hour before
// it (a sliding window); it reports whether the slot was granted. The window is one row updated
// with a version condition, so concurrent executors cannot exceed max together.
func (l *Ledger) TakeSlot(ctx context.Context, now time.Time, max int) (bool, error) {
	if max <= 0 {
		return false, nil
	}
	for range rateContention {
		times, ver, err := l.rateTimes(ctx)
		if err != nil {
			return false, err
		}
		live := inWindow(times, now)
		if len(live) >= max {
			return false, nil
		}
		live = append(live, now.UnixNano())
		b, _ := json.Marshal(live)
		item := rateKey()
		item["times"] = &ddbtypes.AttributeValueMemberS{Value: string(b)}
		item["v"] = &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(ver+1, 10)}
		item[statekeys.TTLAttr] = &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(rateTTL).Unix(), 10)}
		in := &dynamodb.PutItemInput{TableName: aws.String(l.table), Item: item}
		if ver == 0 {
			in.ConditionExpression = aws.String("attribute_not_exists(#pk)")
			in.ExpressionAttributeNames = map[string]string{"#pk": ledgerHashKey}
		} else {
			in.ConditionExpression = aws.String("#v = :v")
			in.ExpressionAttributeNames = map[string]string{"#v": "v"}
			in.ExpressionAttributeValues = map[string]ddbtypes.AttributeValue{":v": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(ver, 10)}}
		}
		_, err = l.db.PutItem(ctx, in)
		var ccf *ddbtypes.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			continue // another executor took a slot meanwhile: re-read
		}
		if err != nil {
			return false, fmt.Errorf("ledger: rate window: %w", err)
		}
		return true, nil
	}
	return false, fmt.Errorf("ledger: rate window: still contended after %d attempts", rateContention)
}

// RateUsed returns how many actions were counted in the hour before now.
func (l *Ledger) RateUsed(ctx context.Context, now time.Time) (int, error) {
	times, _, err := l.rateTimes(ctx)
	if err != nil {
		return 0, err
	}
	return len(inWindow(times, now)), nil
}
