package contain

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesguard/sesguard/shared/core/statekeys"
)

// Every change to one target (an identity's policy, a user's keys or inline policy, a
// configuration set, the account) and every restore of it runs under a lease on that target in
// the state table, so two writers never read-merge-write the same document at once (respond has
// two concurrent instances, and the CLI and Slack clicks run beside it).
const (
	// leaseTTL outlives one action (actionTimeout plus the ledger write): a lease is only taken
	// over after its holder must have finished or died.
	leaseTTL = actionTimeout + recordTimeout + 30*time.Second
	// leaseWait bounds waiting for another run's lease; the caller then fails the action (the
	// message is redelivered, the operator reruns).
	leaseWait = 90 * time.Second
	// leasePoll is the first pause between attempts (doubling up to leasePollMax).
	leasePoll    = 25 * time.Millisecond
	leasePollMax = time.Second
)

// ErrBusy is wrapped by errors for a target another run holds the lease of past leaseWait.
var ErrBusy = errors.New("target busy")

// targetKey names one target of one action in the lease and holder items.
func targetKey(action, target string) string { return action + "#" + target }

func itemKey(prefix, key, sort string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		ledgerHashKey:  &ddbtypes.AttributeValueMemberS{Value: prefix + key},
		ledgerRangeKey: &ddbtypes.AttributeValueMemberS{Value: sort},
	}
}

// Lease takes the lease of a target (see targetKey) for owner, waiting while another run holds
// it. The returned release gives it back; it runs on a context detached from ctx so a lease is
// released even when the action's budget ran out. Leases use the wall clock: they are about
// elapsed time, not the executor's notion of now.
func (l *Ledger) Lease(ctx context.Context, key, owner string) (release func(), err error) {
	token := owner + "#" + randomToken()
	wait := time.NewTimer(leaseWait)
	defer wait.Stop()
	pause := leasePoll
	for {
		now := time.Now()
		item := itemKey(lockPrefix, key, lockSortKey)
		item["owner"] = &ddbtypes.AttributeValueMemberS{Value: token}
		item["expires"] = &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(leaseTTL).UnixMilli(), 10)}
		item[statekeys.TTLAttr] = &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(leaseTTL+time.Hour).Unix(), 10)}
		_, err := l.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                aws.String(l.table),
			Item:                     item,
			ConditionExpression:      aws.String("attribute_not_exists(#pk) OR #exp < :now"),
			ExpressionAttributeNames: map[string]string{"#pk": ledgerHashKey, "#exp": "expires"},
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
				":now": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(now.UnixMilli(), 10)},
			},
		})
		if err == nil {
			return func() { l.release(ctx, key, token) }, nil
		}
		var ccf *ddbtypes.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return nil, fmt.Errorf("ledger: lease %s: %w", key, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ledger: lease %s: %w: %w", key, ErrBusy, ctx.Err())
		case <-wait.C:
			return nil, fmt.Errorf("ledger: lease %s: %w: another run held it for %s", key, ErrBusy, leaseWait)
		case <-time.After(pause):
		}
		pause = min(2*pause, leasePollMax)
	}
}

// release ends the lease if token still holds it (an expired lease taken over by another run is
// left alone).
func (l *Ledger) release(ctx context.Context, key, token string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	item := itemKey(lockPrefix, key, lockSortKey)
	item["expires"] = &ddbtypes.AttributeValueMemberN{Value: "0"}
	item[statekeys.TTLAttr] = &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)}
	// A failed release only delays the next run by leaseTTL: the lease expires by itself.
	_, _ = l.db.PutItem(rctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(l.table),
		Item:                      item,
		ConditionExpression:       aws.String("#owner = :me"),
		ExpressionAttributeNames:  map[string]string{"#owner": "owner"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":me": &ddbtypes.AttributeValueMemberS{Value: token}},
	})
}

func randomToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// Holders returns the action ids of the ledger rows that hold a target's containment (oldest
// first) and the holder item's revision (0: none yet). Callers hold the target's lease.
func (l *Ledger) Holders(ctx context.Context, key string) ([]string, int64, error) {
	out, err := l.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(l.table), Key: itemKey(holdersPrefix, key, holdersSortKey), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, 0, fmt.Errorf("ledger: holders of %s: %w", key, err)
	}
	if out.Item == nil {
		return nil, 0, nil
	}
	var ids []string
	if v, ok := out.Item["holders"].(*ddbtypes.AttributeValueMemberS); ok {
		if err := json.Unmarshal([]byte(v.Value), &ids); err != nil {
			return nil, 0, fmt.Errorf("ledger: holders of %s: %w", key, err)
		}
	}
	var rev int64
	if v, ok := out.Item["rev"].(*ddbtypes.AttributeValueMemberN); ok {
		if rev, err = strconv.ParseInt(v.Value, 10, 64); err != nil {
			return nil, 0, fmt.Errorf("ledger: holders of %s: revision %q: %w", key, v.Value, err)
		}
	}
	return ids, rev, nil
}

// setHolders writes a target's holder list if it is still at revision rev.
func (l *Ledger) setHolders(ctx context.Context, key string, ids []string, rev int64) error {
	b, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("ledger: holders of %s: %w", key, err)
	}
	item := itemKey(holdersPrefix, key, holdersSortKey)
	item["holders"] = &ddbtypes.AttributeValueMemberS{Value: string(b)}
	item["rev"] = &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(rev+1, 10)}
	names := map[string]string{}
	values := map[string]ddbtypes.AttributeValue{}
	cond := revCondition(rev, names, values)
	in := &dynamodb.PutItemInput{TableName: aws.String(l.table), Item: item, ConditionExpression: aws.String(cond), ExpressionAttributeNames: names}
	if len(values) > 0 {
		in.ExpressionAttributeValues = values
	}
	_, err = l.db.PutItem(ctx, in)
	var ccf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("ledger: holders of %s changed by another run (lease lost?)", key)
	}
	if err != nil {
		return fmt.Errorf("ledger: holders of %s: %w", key, err)
	}
	return nil
}

// AddHolder records id as a holder of the target (idempotent).
func (l *Ledger) AddHolder(ctx context.Context, key, id string) error {
	ids, rev, err := l.Holders(ctx, key)
	if err != nil || slices.Contains(ids, id) {
		return err
	}
	return l.setHolders(ctx, key, append(ids, id), rev)
}

// RemoveHolder drops id from the target's holders (idempotent).
func (l *Ledger) RemoveHolder(ctx context.Context, key, id string) error {
	ids, rev, err := l.Holders(ctx, key)
	if err != nil || !slices.Contains(ids, id) {
		return err
	}
	return l.setHolders(ctx, key, slices.DeleteFunc(ids, func(s string) bool { return s == id }), rev)
}
