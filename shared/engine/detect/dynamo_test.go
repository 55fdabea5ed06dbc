package detect

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

func TestDynamoStateAgainstMoto(t *testing.T) {
	m := awstest.Start(t)
	ctx := context.Background()
	m.SeedStateTable(t, "sesguard-state")
	client := dynamodb.NewFromConfig(m.Config(t))
	st := NewDynamoState(client, "sesguard-state")
	exp := t0.Add(time.Hour)

	// Mark is conditional: the second mark of the same key reports a duplicate.
	info := SendInfo{Account: "111122223333", Principal: "ses-smtp-user.x", Identity: "mail.example.com",
		AccessKeyID: "AKIAEXAMPLE000000001", VPCEndpointID: "vpce-0a1b2c3d4e5f60718", MessageID: "m1"}
	if first, err := st.Mark(ctx, "evt#m1#Send", info, exp); err != nil || !first {
		t.Fatalf("first mark = %v, %v", first, err)
	}
	if first, err := st.Mark(ctx, "evt#m1#Send", SendInfo{}, exp); err != nil || first {
		t.Fatalf("second mark = %v, %v", first, err)
	}
	if got, ok, err := st.SendInfo(ctx, "evt#m1#Send"); err != nil || !ok || got != info {
		t.Errorf("SendInfo = %+v %v %v", got, ok, err)
	}
	if _, ok, err := st.SendInfo(ctx, "evt#nope#Send"); err != nil || ok {
		t.Errorf("SendInfo(absent) = %v %v", ok, err)
	}
	if err := st.Unmark(ctx, "evt#m1#Send"); err != nil {
		t.Fatal(err)
	}
	if first, err := st.Mark(ctx, "evt#m1#Send", info, exp); err != nil || !first {
		t.Errorf("mark after unmark = %v, %v", first, err)
	}

	// Counters are ADD updates returning the new value. (Not exercised concurrently: moto's
	// threaded server does not serialise UpdateItem, so concurrent ADDs lose updates there,
	// unlike DynamoDB.)
	for i := range 20 {
		n, err := st.Add(ctx, "vol#a#p#1", 5, exp)
		if err != nil || n != int64(5*(i+1)) {
			t.Fatalf("add %d = %d, %v", i, n, err)
		}
	}
	if n, err := st.Get(ctx, "vol#a#p#1"); err != nil || n != 100 {
		t.Errorf("counter = %d, %v; want 100", n, err)
	}
	if n, err := st.Get(ctx, "vol#a#p#absent"); err != nil || n != 0 {
		t.Errorf("absent counter = %d, %v", n, err)
	}

	// Tally keeps the first writer's first_seen and sums counts.
	if a, err := st.Tally(ctx, "agg#f1", 3, t0.Add(time.Minute), exp); err != nil || a.Count != 3 || !a.FirstSeen.Equal(t0.Add(time.Minute)) {
		t.Errorf("tally 1 = %+v %v", a, err)
	}
	if a, err := st.Tally(ctx, "agg#f1", 4, t0.Add(2*time.Minute), exp); err != nil || a.Count != 7 || !a.FirstSeen.Equal(t0.Add(time.Minute)) {
		t.Errorf("tally 2 = %+v %v", a, err)
	}

	// Items carry the table's key layout and a TTL.
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("sesguard-state"), Key: map[string]types.AttributeValue{
		awstest.StateHashKey: &types.AttributeValueMemberS{Value: "detect#agg#f1"}, awstest.StateRangeKey: &types.AttributeValueMemberS{Value: "detect"},
	}})
	if err != nil || out.Item == nil {
		t.Fatalf("raw item: %v", err)
	}
	if ttl, ok := out.Item[awstest.StateTTLAttr].(*types.AttributeValueMemberN); !ok || ttl.Value == "" {
		t.Errorf("ttl attribute = %#v", out.Item[awstest.StateTTLAttr])
	}
}

// TestDetectorAcrossInvocations: two Lambda invocations sharing the DynamoDB state aggregate into
// one finding, dedup redeliveries and join a later bounce to its send.
func TestDetectorAcrossInvocations(t *testing.T) {
	m := awstest.Start(t)
	m.SeedStateTable(t, "state")
	st := NewDynamoState(dynamodb.NewFromConfig(m.Config(t)), "state")
	p := loadPolicy(t, `version: 1
network: { cidrs: [10.20.0.0/16] }
senders: { principals: [mailer-task-role], from: ["*"], identities: ["*"], configuration_sets: ["*"] }
recipients: { domains: ["*"] }
limits: { bounce_rate: { window: 1h, max: 0.05, min_sends: 5 } }
`)
	var sends []sesevent.Event
	for i := range 12 {
		sends = append(sends, goodSend(i)) // caller ses-smtp-user...: not approved
	}
	// Invocation 1: 9 sends. Invocation 2 (a fresh Detector, as after a cold start): 3 more and a
	// redelivery of one of the first.
	d1 := newDetector(t, p, st)
	b1 := process(t, d1, sends[:9])
	if len(b1.Updates) != 1 || !b1.Updates[0].Publish || b1.Updates[0].Finding.Evidence.Count != 9 {
		t.Fatalf("invocation 1: %+v", b1.Updates)
	}
	d2 := newDetector(t, p, st)
	b2 := process(t, d2, append(append([]sesevent.Event{}, sends[9:]...), sends[0]))
	if b2.Duplicates != 1 || len(b2.Updates) != 1 {
		t.Fatalf("invocation 2: %+v", b2)
	}
	u := b2.Updates[0]
	if u.Finding.Evidence.Count != 12 || u.New || !u.Publish || u.Finding.ID != b1.Updates[0].Finding.ID ||
		u.Finding.Rule != rules.SenderPrincipalUnapproved {
		t.Errorf("invocation 2 update: new=%v publish=%v count=%d", u.New, u.Publish, u.Finding.Evidence.Count)
	}
	// Invocation 3: one bounce without tags, joined to its send through the state: 1/12 > 5 %.
	bn := bounceOf(sends[3], "Permanent", time.Minute)
	bn.CallerIdentity, bn.Identity = "", ""
	b3 := process(t, newDetector(t, p, st), []sesevent.Event{bn})
	if b3.Unjoined != 0 || len(b3.Updates) != 2 {
		t.Fatalf("invocation 3: %+v", b3)
	}
	for _, u := range b3.Updates {
		if u.Finding.Rule != rules.ReputationBounceSpike || u.Finding.Evidence.Metric != 1.0/12 {
			t.Errorf("bounce update = %+v", u.Finding)
		}
	}
}

// sequentialState exposes only the State methods of a DynamoState (not MarkConcurrency), so
// Process marks one event at a time.
type sequentialState struct{ State }

// BenchmarkProcessDynamoLatency measures one batch of ten sends through DynamoState when every
// DynamoDB call waits 25 ms in the moto proxy, standing in for the network round trip. moto
// itself serialises calls (several ms each on this machine), which no client-side concurrency
// can hide; the held requests show what concurrent marks save where the round trip dominates.
func BenchmarkProcessDynamoLatency(b *testing.B) {
	m := awstest.Start(b)
	m.SeedStateTable(b, "sesguard-state")
	m.Fault(awstest.Fault{Service: "dynamodb", Kind: awstest.FaultDelay, Delay: 25 * time.Millisecond})
	client := dynamodb.NewFromConfig(m.Config(b))
	p := examplePolicy(b)
	for _, tc := range []struct {
		name string
		st   State
	}{
		{"sequential", sequentialState{NewDynamoState(client, "sesguard-state")}},
		{"concurrent", NewDynamoState(client, "sesguard-state")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			d, err := New(p, tc.st)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for b.Loop() {
				batch := make([]sesevent.Event, 10)
				for i := range batch {
					batch[i] = goodSend(n)
					batch[i].MessageID = tc.name + batch[i].MessageID
					n++
				}
				if _, err := d.Process(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/batch")
		})
	}
}

// TestAPISendJoinAgainstMoto: the join's concurrent reads on DynamoDB: of 40 Sends by
// leaked-user from outside the networks, the 4 whose data events came first are judged with
// the exact key (one finding for that key), the rest without.
func TestAPISendJoinAgainstMoto(t *testing.T) {
	m := awstest.Start(t)
	m.SeedStateTable(t, "state")
	st := NewDynamoState(dynamodb.NewFromConfig(m.Config(t)), "state")
	ctx := context.Background()
	d := newDetector(t, examplePolicy(t), st, WithAPISendJoin())
	var calls []cloudtrail.Event
	var sends []sesevent.Event
	for i := range 40 {
		s := with(goodSend(i), func(e *sesevent.Event) {
			e.CallerIdentity, e.SourceIP = "leaked-user", netip.MustParseAddr("203.0.113.9")
		})
		sends = append(sends, s)
		if i%13 == 0 {
			calls = append(calls, apiSendCall(i%20, s.MessageID))
		}
	}
	if _, err := d.ProcessCalls(ctx, calls); err != nil {
		t.Fatal(err)
	}
	b, err := d.Process(ctx, sends)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, u := range b.Updates {
		if u.Finding.Rule == rules.NetworkOutsideApproved {
			counts[u.Finding.Principal.AccessKeyID] += u.Finding.Evidence.Count
		}
	}
	if len(calls) != 4 || counts["AKIALEAKEDUSER000001"] != 4 || counts[""] != 36 {
		t.Errorf("network findings by key %v (calls %d)", counts, len(calls))
	}
}
