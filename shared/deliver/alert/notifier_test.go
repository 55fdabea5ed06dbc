package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// recorder is a Destination that records alerts and fails while fail is set.
type recorder struct {
	name string
	got  []Alert
	fail error
}

func (r *recorder) Name() string { return r.name }
func (r *recorder) Send(_ context.Context, a Alert) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if r.fail != nil {
		return r.fail
	}
	r.got = append(r.got, a)
	return nil
}

func kinds(as []Alert) string {
	var s []string
	for _, a := range as {
		s = append(s, string(a.Kind))
	}
	return strings.Join(s, ",")
}

func quietLogger() *slog.Logger { return slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)) }

func TestNotifierNoise(t *testing.T) {
	ctx := context.Background()
	slack, sns := &recorder{name: "slack"}, &recorder{name: "sns"}
	n := &Notifier{Destinations: []Destination{slack, sns}, Store: &MemoryStore{}, Logger: quietLogger()}
	f := sampleFinding()
	send := func(count int64) {
		t.Helper()
		g := *f
		g.Evidence.Count = count
		if err := n.NotifyFinding(ctx, &g); err != nil {
			t.Fatalf("notify count %d: %v", count, err)
		}
	}
	for _, c := range []int64{100, 100, 150, 199, 200, 201, 399, 400, 400} {
		send(c)
	}
	// page at 100; updates at 200 (≥ 2×100) and 400 (≥ 2×200); everything else silent.
	for _, d := range []*recorder{slack, sns} {
		if got := kinds(d.got); got != "page,update,update" {
			t.Fatalf("%s got %s", d.name, got)
		}
		if d.got[1].PrevCount != 100 || d.got[2].PrevCount != 200 {
			t.Errorf("%s update prev counts = %d, %d", d.name, d.got[1].PrevCount, d.got[2].PrevCount)
		}
	}
	// A different finding id pages on its own.
	g := sampleFinding()
	g.ID = "other"
	if err := n.NotifyFinding(ctx, g); err != nil || kinds(slack.got) != "page,update,update,page" {
		t.Fatalf("second finding: %v, %s", err, kinds(slack.got))
	}
}

func TestNotifierFailureIsReturnedAndRetried(t *testing.T) {
	ctx := context.Background()
	slack, sns := &recorder{name: "slack", fail: errors.New("slack down")}, &recorder{name: "sns"}
	n := &Notifier{Destinations: []Destination{slack, sns}, Store: &MemoryStore{}, Logger: quietLogger()}
	f := sampleFinding()
	err := n.NotifyFinding(ctx, f)
	if err == nil || !strings.Contains(err.Error(), "slack down") || !strings.Contains(err.Error(), f.ID) {
		t.Fatalf("err = %v, want the slack failure naming the finding", err)
	}
	if len(sns.got) != 1 {
		t.Fatalf("a failing destination blocked the others: sns got %d", len(sns.got))
	}
	// The queue redelivers: Slack recovered; SNS already has it and stays quiet.
	slack.fail = nil
	if err := n.NotifyFinding(ctx, f); err != nil {
		t.Fatal(err)
	}
	if kinds(slack.got) != "page" || kinds(sns.got) != "page" {
		t.Fatalf("after retry: slack %s, sns %s", kinds(slack.got), kinds(sns.got))
	}
}

func TestNotifierResults(t *testing.T) {
	ctx := context.Background()
	d := &recorder{name: "slack"}
	n := &Notifier{Destinations: []Destination{d}, Store: &MemoryStore{}, Logger: quietLogger()}
	r := sampleResult("dry-run")
	for range 2 {
		if err := n.NotifyResult(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if len(d.got) != 1 {
		t.Fatalf("redelivered result sent %d times", len(d.got))
	}
	// The same finding contained for real is a different outcome: announced.
	if err := n.NotifyResult(ctx, sampleResult("enforce")); err != nil || len(d.got) != 2 || d.got[1].Kind != KindResult {
		t.Fatalf("enforce result: %v, %d", err, len(d.got))
	}
}

func TestNotifierDecodeAndValidate(t *testing.T) {
	ctx := context.Background()
	d := &recorder{name: "slack"}
	n := &Notifier{Destinations: []Destination{d}, Logger: quietLogger()}
	fj, _ := json.Marshal(sampleFinding())
	rj, _ := json.Marshal(sampleResult("enforce"))
	if err := n.Notify(ctx, fj); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(ctx, rj); err != nil {
		t.Fatal(err)
	}
	if kinds(d.got) != "page,result" {
		t.Fatalf("got %s", kinds(d.got))
	}
	for name, in := range map[string]string{
		"not json":       "{",
		"unknown schema": `{"schema":"sesguard.finding/v9","id":"x"}`,
		"no id":          `{"schema":"sesguard.finding/v1"}`,
		"negative count": `{"schema":"sesguard.finding/v1","id":"x","evidence":{"count":-1}}`,
		"no finding_id":  `{"schema":"sesguard.result/v1"}`,
	} {
		if err := n.Notify(ctx, []byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if len(d.got) != 2 {
		t.Errorf("bad input reached a destination")
	}
}

// fakeSecrets answers GetSecretValue with a fixed string.
type fakeSecrets struct{ value string }

func (f fakeSecrets) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return &secretsmanager.GetSecretValueOutput{SecretString: &f.value}, nil
}

// TestWebhookURLNeverLogged drives the whole path (secret → webhook → notifier) through
// failures and checks neither logs nor errors contain the URL's secret path.
func TestWebhookURLNeverLogged(t *testing.T) {
	fs := newFakeSlack(t, status(500, "x"), status(500, "x"), status(500, "x"), status(500, "x"))
	var logs bytes.Buffer
	hook := NewSlackWebhook(NewSecretURL(fakeSecrets{value: fs.srv.URL + secretPath}, "sesguard/slack"))
	hook.Client = fs.srv.Client()
	hook.Sleep = (&sleeps{}).Sleep
	hook.CoolDown = -1 // the retry below comes at once; the cool-down is tested in webhook_test.go
	n := &Notifier{Destinations: []Destination{hook}, Store: &MemoryStore{}, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	err := n.NotifyFinding(context.Background(), sampleFinding())
	if err == nil {
		t.Fatal("persistent 5xx was swallowed")
	}
	if err := n.NotifyFinding(context.Background(), sampleFinding()); err != nil {
		t.Fatalf("retry after release: %v", err)
	}
	if fs.calls() != 5 {
		t.Errorf("calls = %d, want 4 failed attempts then 1 success", fs.calls())
	}
	out := logs.String() + err.Error()
	if strings.Contains(out, "SECRET") {
		t.Errorf("secret leaked:\n%s", out)
	}
	if !strings.Contains(logs.String(), `"msg":"alert sent"`) {
		t.Errorf("no log line for the sent alert:\n%s", logs.String())
	}
}

// hanging is a Destination that blocks until its context ends, like a Slack webhook that times
// out on every attempt.
type hanging struct{ name string }

func (h hanging) Name() string { return h.name }
func (h hanging) Send(ctx context.Context, _ Alert) error {
	<-ctx.Done()
	return ctx.Err()
}

// ctxRecorder records like recorder but, like an SDK call, fails on an ended context.
type ctxRecorder struct{ recorder }

func (r *ctxRecorder) Send(ctx context.Context, a Alert) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return r.recorder.Send(ctx, a)
}

// TestHangingDestinationDoesNotStarveOthers: during a Slack outage that hangs each request, the
// SNS alert (listed after Slack) must still go out before the invocation's deadline.
func TestHangingDestinationDoesNotStarveOthers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	sns := &ctxRecorder{recorder{name: "sns"}}
	n := &Notifier{Destinations: []Destination{hanging{name: "slack"}, sns}, Store: &MemoryStore{}, Logger: quietLogger()}
	err := n.NotifyFinding(ctx, sampleFinding())
	if err == nil || !strings.Contains(err.Error(), "via slack") {
		t.Fatalf("err = %v, want the slack failure", err)
	}
	if kinds(sns.got) != "page" {
		t.Fatalf("sns got %q while slack hung; want the page", kinds(sns.got))
	}
}

// TestZeroCountRedeliveryIsSilent: a finding with no counted sends pages once; redeliveries must
// not turn into "update: 0 sends (was 0)" messages.
func TestZeroCountRedeliveryIsSilent(t *testing.T) {
	d := &recorder{name: "slack"}
	n := &Notifier{Destinations: []Destination{d}, Store: &MemoryStore{}, Logger: quietLogger()}
	f := sampleFinding()
	f.Evidence.Count = 0
	for range 3 {
		if err := n.NotifyFinding(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}
	f.Evidence.Count = 1 // real growth from nothing is still announced
	if err := n.NotifyFinding(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if got := kinds(d.got); got != "page,update" {
		t.Fatalf("got %s, want page,update", got)
	}
}

// ctxStore is a MemoryStore whose writes fail on an ended context, like DynamoDB calls.
type ctxStore struct{ MemoryStore }

func (s *ctxStore) Commit(ctx context.Context, key string, count int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.MemoryStore.Commit(ctx, key, count)
}

// lastSecond is a destination whose send succeeds just as the caller's context ends.
type lastSecond struct {
	recorder
	cancel context.CancelFunc
}

func (d *lastSecond) Send(ctx context.Context, a Alert) error {
	err := d.recorder.Send(ctx, a)
	d.cancel()
	return err
}

// TestCommitSurvivesTheDeadline: a message delivered right at the deadline is still recorded, so
// the next copy of the finding is suppressed instead of blocked (ErrInFlight) and later re-paged.
func TestCommitSurvivesTheDeadline(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	d := &lastSecond{recorder: recorder{name: "slack"}, cancel: cancel}
	n := &Notifier{Destinations: []Destination{d}, Store: &ctxStore{}, Logger: quietLogger()}
	f := sampleFinding()
	if err := n.NotifyFinding(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := n.NotifyFinding(context.Background(), f); err != nil {
		t.Fatalf("redelivery after a send at the deadline: %v", err)
	}
	if kinds(d.got) != "page" {
		t.Fatalf("got %s, want one page", kinds(d.got))
	}
}
