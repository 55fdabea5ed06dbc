package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sesguard/sesguard/functions/internal/topic"
	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/engine/coverage"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

type memPublisher struct {
	got  []finding.Finding
	fail bool
}

func (p *memPublisher) PublishFinding(_ context.Context, f *finding.Finding) (string, error) {
	if p.fail {
		return "", errors.New("sns down")
	}
	p.got = append(p.got, *f)
	return "m", nil
}

func TestGapFindingsStableAndAttributed(t *testing.T) {
	rep := &coverage.Report{
		Identities: []coverage.Identity{{Name: "a.example.com"}},
		Gaps: []coverage.Gap{
			{Kind: coverage.GapIdentityNoDefaultSet, Identity: "a.example.com", Detail: "no default configuration set"},
			{Kind: coverage.GapSetMissingTypes, ConfigurationSet: "prod", Detail: "missing BOUNCE"},
		},
	}
	p := &memPublisher{}
	h := &Handler{
		Check:     func(context.Context) (*coverage.Report, error) { return rep, nil },
		Publisher: p, Mode: "dry-run", Log: quiet,
		Severity: func(rule string, def finding.Severity) finding.Severity {
			if rule == coverage.GapIdentityNoDefaultSet {
				return finding.SeverityCritical
			}
			return def
		},
	}
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{
		AwsRequestID: "r", InvokedFunctionArn: "arn:aws:lambda:eu-west-1:111122223333:function:sesguard-coverage"})
	sum, err := h.Handle(ctx, json.RawMessage(`{"detail-type":"Scheduled Event"}`))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Gaps != 2 || len(sum.Findings) != 2 || len(p.got) != 2 {
		t.Fatalf("summary %+v, published %d", sum, len(p.got))
	}
	f0, f1 := p.got[0], p.got[1]
	if f0.Account != "111122223333" || f0.Region != "eu-west-1" || f0.Severity != finding.SeverityCritical || f1.Severity != finding.SeverityLow {
		t.Errorf("findings = %+v / %+v", f0, f1)
	}
	if f0.Evidence.Identity != "a.example.com" || f1.Evidence.ConfigurationSet != "prod" || f0.Actionable() || f0.Schema != finding.SchemaFinding {
		t.Errorf("evidence/actions wrong: %+v / %+v", f0, f1)
	}
	// A second run later gives the same ids (one alert per persistent gap).
	h.Now = func() time.Time { return time.Now().Add(time.Hour) }
	if _, err := h.Handle(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if p.got[2].ID != f0.ID || p.got[3].ID != f1.ID || f0.ID == f1.ID {
		t.Errorf("ids not stable: %s %s vs %s %s", f0.ID, f1.ID, p.got[2].ID, p.got[3].ID)
	}
}

func TestErrorsSurface(t *testing.T) {
	h := &Handler{Check: func(context.Context) (*coverage.Report, error) { return nil, errors.New("AccessDenied") }, Publisher: &memPublisher{}, Log: quiet}
	if _, err := h.Handle(context.Background(), nil); err == nil {
		t.Fatal("check error swallowed")
	}
	rep := &coverage.Report{Gaps: []coverage.Gap{{Kind: coverage.GapSetNoDestination, ConfigurationSet: "x"}}}
	h = &Handler{Check: func(context.Context) (*coverage.Report, error) { return rep, nil }, Publisher: &memPublisher{fail: true}, Log: quiet}
	if _, err := h.Handle(context.Background(), nil); err == nil {
		t.Fatal("publish error swallowed")
	}
}

// TestAgainstMoto runs the real coverage check over moto (with the harness's SESv2 gap filling)
// and the real publisher, and reads the findings back from a queue on the findings topic.
func TestAgainstMoto(t *testing.T) {
	m := awstest.Start(t)
	m.SeedIdentity(t, "orphan.example.com", "")
	m.SeedIdentity(t, "mail.example.com", "prod-outbound") // prod-outbound has no sesguard destination
	tq := m.SeedTopicQueue(t, "findings", "findings-all", true)
	cfg := m.Config(t)
	ses := sesv2.NewFromConfig(cfg)
	h := &Handler{
		Check: func(ctx context.Context) (*coverage.Report, error) {
			return coverage.Check(ctx, ses, coverage.Options{})
		},
		Publisher: topic.New(sns.NewFromConfig(cfg), tq.TopicARN),
		Account:   awstest.Account, Region: awstest.Region, Mode: "dry-run", Log: quiet,
	}
	sum, err := h.Handle(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Identities != 2 || sum.ConfigurationSets != 1 {
		t.Errorf("summary = %+v", sum)
	}
	out, err := sqs.NewFromConfig(cfg).ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(tq.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, msg := range out.Messages {
		f, _, err := finding.Decode([]byte(aws.ToString(msg.Body)))
		if err != nil || f == nil {
			t.Fatalf("message %q: %v", aws.ToString(msg.Body), err)
		}
		got = append(got, f.Rule+" "+f.Evidence.Identity+f.Evidence.ConfigurationSet)
	}
	sort.Strings(got)
	for _, want := range []string{coverage.GapIdentityNoDefaultSet + " orphan.example.com", coverage.GapSetNoDestination + " prod-outbound"} {
		if !slices.Contains(got, want) {
			t.Errorf("findings %v lack %q", got, want)
		}
	}
	if len(got) != sum.Gaps {
		t.Errorf("published %d findings for %d gaps", len(got), sum.Gaps)
	}
}
