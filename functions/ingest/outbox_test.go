package main

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

type memOutbox struct {
	mu   sync.Mutex
	kept map[string]map[string]finding.Finding
}

func (o *memOutbox) Save(_ context.Context, ref string, f *finding.Finding) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.kept == nil {
		o.kept = map[string]map[string]finding.Finding{}
	}
	if o.kept[ref] == nil {
		o.kept[ref] = map[string]finding.Finding{}
	}
	o.kept[ref][f.ID] = *f
	return nil
}

func (o *memOutbox) Pending(_ context.Context, ref string) ([]finding.Finding, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []finding.Finding
	for _, f := range o.kept[ref] {
		out = append(out, f)
	}
	return out, nil
}

func (o *memOutbox) Done(_ context.Context, ref, id string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.kept[ref], id)
	return nil
}

func (o *memOutbox) size() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, m := range o.kept {
		n += len(m)
	}
	return n
}

func withReceiveCount(payload []byte, n string) []byte {
	var ev events.SQSEvent
	_ = json.Unmarshal(payload, &ev)
	for i := range ev.Records {
		ev.Records[i].Attributes = map[string]string{"ApproximateReceiveCount": n}
	}
	out, _ := json.Marshal(ev)
	return out
}

// TestOutboxRepublishesOnRedelivery: the detector has counted the events when the publish fails,
// so the redelivered record is a duplicate to it; the kept finding is published then.
func TestOutboxRepublishesOnRedelivery(t *testing.T) {
	p, ob := &fakePublisher{fail: true}, &memOutbox{}
	h := newHandler(newDetector(t, false), p, nil)
	h.Outbox = ob
	batch := sqsEvent(sendRecord("a", "app", "10.1.2.3"), sendRecord("b", "thief", "198.51.100.7"))

	resp, err := invoke(t, h, withReceiveCount(batch, "1"))
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(t, resp); !slices.Equal(got, []string{"m-1"}) || ob.size() != 1 {
		t.Fatalf("publish down: failures %v, kept %d; want [m-1] and one kept finding", got, ob.size())
	}
	p.fail = false
	resp, err = invoke(t, h, withReceiveCount(batch, "2"))
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(t, resp); len(got) != 0 {
		t.Fatalf("redelivery failures %v", got)
	}
	if names := p.names(); !slices.Equal(names, []string{"network.outside_approved thief"}) || ob.size() != 0 {
		t.Fatalf("redelivery published %v, kept %d; want the thief finding once and nothing kept", names, ob.size())
	}
	// A first delivery never reads the outbox.
	p.fail = true
	if _, err := invoke(t, h, withReceiveCount(sqsEvent(sendRecord("c", "thief", "198.51.100.8")), "1")); err != nil {
		t.Fatal(err)
	}
	p.fail = false
	before := len(p.got)
	if _, err := invoke(t, h, withReceiveCount(sqsEvent(sendRecord("d", "app", "10.0.0.1")), "1")); err != nil {
		t.Fatal(err)
	}
	if len(p.got) != before {
		t.Errorf("a first delivery published kept findings of another record")
	}
}

func TestDynamoOutbox(t *testing.T) {
	m := awstest.Start(t)
	m.SeedStateTable(t, "state")
	o := &DynamoOutbox{API: dynamodb.NewFromConfig(m.Config(t)), Table: "state"}
	ctx := context.Background()
	f1 := &finding.Finding{Schema: finding.SchemaFinding, ID: "f-1", Rule: "network.outside_approved", Evidence: finding.Evidence{Count: 3}}
	f2 := &finding.Finding{Schema: finding.SchemaFinding, ID: "f-2", Rule: "sender.from_unapproved"}
	for _, f := range []*finding.Finding{f1, f2, f1} { // saving twice keeps one
		if err := o.Save(ctx, "sqs:m-1", f); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Save(ctx, "sqs:m-2", f2); err != nil {
		t.Fatal(err)
	}
	got, err := o.Pending(ctx, "sqs:m-1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range got {
		ids = append(ids, f.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"f-1", "f-2"}) || got[0].Evidence.Count != 3 && got[1].Evidence.Count != 3 {
		t.Fatalf("pending = %+v", got)
	}
	if err := o.Done(ctx, "sqs:m-1", "f-1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := o.Pending(ctx, "sqs:m-1"); len(got) != 1 || got[0].ID != "f-2" {
		t.Fatalf("after Done: %+v", got)
	}
	if got, _ := o.Pending(ctx, "sqs:m-2"); len(got) != 1 {
		t.Fatalf("other record's findings: %+v", got)
	}
	if got, err := o.Pending(ctx, "sqs:none"); err != nil || len(got) != 0 {
		t.Fatalf("empty ref: %+v %v", got, err)
	}
}

// liveOutbox saves only under a live context, as a DynamoDB call would.
type liveOutbox struct{ memOutbox }

func (o *liveOutbox) Save(ctx context.Context, ref string, f *finding.Finding) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return o.memOutbox.Save(ctx, ref, f)
}

// hangingPublisher never answers before its context ends (SNS unreachable).
type hangingPublisher struct{}

func (hangingPublisher) PublishFinding(ctx context.Context, _ *finding.Finding) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

// TestHangingPublishKeepsFindingBeforeDeadline: a publish that hangs must give up while there is
// still time to keep the finding for the redelivery and answer; running into the invocation
// timeout would lose the finding (the events are already counted).
func TestHangingPublishKeepsFindingBeforeDeadline(t *testing.T) {
	ob := &liveOutbox{}
	h := newHandler(newDetector(t, false), &fakePublisher{}, nil)
	h.Publisher, h.Outbox, h.Reserve = hangingPublisher{}, ob, 200*time.Millisecond
	deadline := time.Now().Add(time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	resp, err := h.Handle(ctx, withReceiveCount(sqsEvent(sendRecord("a", "app", "10.1.2.3"), sendRecord("b", "thief", "198.51.100.7")), "1"))
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(deadline); left < 100*time.Millisecond {
		t.Errorf("answered %v before the deadline; want the reserve kept", left)
	}
	if got := failures(t, resp); !slices.Equal(got, []string{"m-1"}) || ob.size() != 1 {
		t.Fatalf("failures %v, kept %d; want [m-1] and the finding kept", got, ob.size())
	}
}
