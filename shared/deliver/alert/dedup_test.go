package alert

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time          { return c.t }
func (c *clock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// storeContract runs the same scenario against any Store.
func storeContract(t *testing.T, s Store, clk *clock) {
	ctx := context.Background()
	step := func(name string, key string, count, maxPrev int64, wantDec Decision, wantPrev int64, wantErr error) {
		t.Helper()
		dec, prev, err := s.Claim(ctx, key, count, maxPrev)
		if !errors.Is(err, wantErr) || dec != wantDec || prev != wantPrev {
			t.Fatalf("%s: Claim(%s, %d, %d) = %v, %d, %v; want %v, %d, %v", name, key, count, maxPrev, dec, prev, err, wantDec, wantPrev, wantErr)
		}
	}
	commit := func(key string, count int64) {
		t.Helper()
		if err := s.Commit(ctx, key, count); err != nil {
			t.Fatalf("Commit(%s, %d): %v", key, count, err)
		}
	}

	step("first sighting pages", "a", 10, MaxPrev(10, 2), Page, 0, nil)
	step("concurrent duplicate is in flight", "a", 10, MaxPrev(10, 2), Suppress, 0, ErrInFlight)
	commit("a", 10)
	step("redelivery is suppressed", "a", 10, MaxPrev(10, 2), Suppress, 10, nil)
	step("small growth is suppressed", "a", 19, MaxPrev(19, 2), Suppress, 10, nil)
	step("doubling updates", "a", 20, MaxPrev(20, 2), Update, 10, nil)
	commit("a", 20)
	step("after the update, the bar moves", "a", 39, MaxPrev(39, 2), Suppress, 20, nil)

	// A failed delivery releases its claim: the retry pages again at once.
	step("b pages", "b", 1, MaxPrev(1, 2), Page, 0, nil)
	if err := s.Release(ctx, "b", 1); err != nil {
		t.Fatal(err)
	}
	step("b retried after release pages", "b", 1, MaxPrev(1, 2), Page, 0, nil)

	// A crashed delivery (no commit, no release) blocks retries only for the lease.
	step("b still in flight", "b", 1, MaxPrev(1, 2), Suppress, 0, ErrInFlight)
	clk.Advance(DefaultLease + 2*time.Second)
	step("b after lease expiry pages", "b", 1, MaxPrev(1, 2), Page, 0, nil)
	commit("b", 1)
	step("b count 2 updates (factor 2)", "b", 2, MaxPrev(2, 2), Update, 1, nil)
	// A stale commit (lease expired, another holder took over) does not overwrite.
	if err := s.Commit(ctx, "b", 999); err != nil {
		t.Fatalf("stale commit: %v", err)
	}
	commit("b", 2)
	step("b at 3 is suppressed", "b", 3, MaxPrev(3, 2), Suppress, 2, nil)
}

func TestMemoryStore(t *testing.T) {
	clk := &clock{t: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)}
	s := &MemoryStore{Now: clk.Now}
	storeContract(t, s, clk)
	// Entries expire after TTL: the same id pages again.
	clk.Advance(DefaultDedupTTL + time.Minute)
	if dec, _, err := s.Claim(context.Background(), "a", 40, 20); err != nil || dec != Page {
		t.Fatalf("after TTL: %v, %v; want page", dec, err)
	}
}

func TestDynamoStore(t *testing.T) {
	m := awstest.Start(t)
	client := dynamodb.NewFromConfig(m.Config(t))
	ctx := context.Background()
	const table = "sesguard-state"
	// The shared state table's layout (infra/state.go): pk hash, sk range.
	if _, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange},
		},
		BillingMode: ddbtypes.BillingModePayPerRequest,
	}); err != nil {
		t.Fatalf("create table: %v", err)
	}
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	s := &DynamoStore{Client: client, Table: table, Now: clk.Now}
	storeContract(t, s, clk)

	// Assert the stored state directly: announced count, no pending claim, TTL in the future.
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table),
		Key:            map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "alert#b"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "alert"}},
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Item["alerted"].(*ddbtypes.AttributeValueMemberN).Value; got != "2" {
		t.Errorf("alerted = %s, want 2", got)
	}
	if _, ok := out.Item["lease_until"]; ok {
		t.Errorf("lease still set after commit: %v", out.Item)
	}
	ttl, _ := strconv.ParseInt(out.Item["ttl"].(*ddbtypes.AttributeValueMemberN).Value, 10, 64)
	if want := clk.Now().Add(DefaultDedupTTL).Unix(); ttl != want {
		t.Errorf("ttl = %d, want %d", ttl, want)
	}

	// A hash-only table works too.
	if _, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("hash-only"),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	}); err != nil {
		t.Fatalf("create table: %v", err)
	}
	ho := &DynamoStore{Client: client, Table: "hash-only", KeyAttr: "id", HashOnly: true, TTLAttr: "expires_at", Now: clk.Now}
	if dec, _, err := ho.Claim(ctx, "k", 1, 0); err != nil || dec != Page {
		t.Fatalf("hash-only claim: %v, %v", dec, err)
	}
	if err := ho.Commit(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	if dec, _, err := ho.Claim(ctx, "k", 1, 0); err != nil || dec != Suppress {
		t.Fatalf("hash-only repeat: %v, %v", dec, err)
	}

	// DynamoDB errors other than a lost condition are returned, naming the key.
	bad := &DynamoStore{Client: client, Table: "no-such-table", Now: clk.Now}
	if _, _, err := bad.Claim(ctx, "x", 1, 0); err == nil || !strings.Contains(err.Error(), "dedup claim x") {
		t.Fatalf("claim on a missing table: %v", err)
	}
}
