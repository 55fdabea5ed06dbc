package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/deliver/alert"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// recorder is a destination that counts what it was sent.
type recorder struct{ got []string }

func (r *recorder) Name() string { return "sns" }
func (r *recorder) Send(_ context.Context, a alert.Alert) error {
	r.got = append(r.got, a.Finding.ID)
	return nil
}

// TestSlackSecretWithoutValue: the CDK app creates the webhook secret empty. Until the user sets
// it, alerts go to SNS and the record succeeds; a secret that does not exist is still an error;
// once a value is stored, Slack receives the alert.
func TestSlackSecretWithoutValue(t *testing.T) {
	m := awstest.Start(t)
	sm := secretsmanager.NewFromConfig(m.Config(t))
	ctx := context.Background()
	empty, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("Sesguard/slack-webhook")})
	if err != nil {
		t.Fatal(err)
	}
	var posts atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()

	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	notifier := func(secret string) (*alert.Notifier, *recorder) {
		d := slackDestination(sm, secret, nil, log)
		d.(*optionalSlack).Slack.(*alert.ReportRejections).Dest.(*alert.SlackWebhook).Client = srv.Client()
		rec := &recorder{}
		return &alert.Notifier{Destinations: []alert.Destination{d, rec}, Logger: log}, rec
	}
	f := &finding.Finding{Schema: finding.SchemaFinding, ID: "sgf-1", Rule: "network.outside_approved",
		Severity: finding.SeverityHigh, WindowStart: time.Now(), WindowEnd: time.Now(), Evidence: finding.Evidence{Count: 1}}

	n, rec := notifier(aws.ToString(empty.ARN))
	if err := n.NotifyFinding(ctx, f); err != nil {
		t.Fatalf("secret without a value failed the alert: %v", err)
	}
	if posts.Load() != 0 || len(rec.got) != 1 {
		t.Fatalf("slack posts %d, sns %v; want 0 and the finding", posts.Load(), rec.got)
	}
	if !strings.Contains(logs.String(), "Slack webhook secret has no value yet") {
		t.Errorf("no warning logged: %s", logs.String())
	}

	missing, _ := notifier("arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf")
	if err := missing.NotifyFinding(ctx, f); err == nil {
		t.Fatal("a secret that does not exist did not fail the alert")
	}

	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: empty.ARN, SecretString: aws.String(srv.URL + "/services/T/B/x")}); err != nil {
		t.Fatal(err)
	}
	n, _ = notifier(aws.ToString(empty.ARN))
	if err := n.NotifyFinding(ctx, f); err != nil {
		t.Fatal(err)
	}
	if posts.Load() != 1 {
		t.Fatalf("slack posts %d after the secret was set, want 1", posts.Load())
	}
}

// reports records the refusals the Slack destination reports.
type reports struct{ got []alert.Rejection }

func (r *reports) Report(_ context.Context, rej alert.Rejection) error {
	r.got = append(r.got, rej)
	return nil
}

// TestSlackRefusalReported: the notify function's Slack destination turns Slack's 4xx into a
// report (the alerts topic in main) with Slack's reason, and the alert counts as handled.
func TestSlackRefusalReported(t *testing.T) {
	m := awstest.Start(t)
	sm := secretsmanager.NewFromConfig(m.Config(t))
	ctx := context.Background()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "invalid_blocks", http.StatusBadRequest)
	}))
	defer srv.Close()
	sec, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("Sesguard/slack-refuses"), SecretString: aws.String(srv.URL + "/services/T/B/x")})
	if err != nil {
		t.Fatal(err)
	}
	rep := &reports{}
	d := slackDestination(sm, aws.ToString(sec.ARN), rep, slog.New(slog.DiscardHandler))
	d.(*optionalSlack).Slack.(*alert.ReportRejections).Dest.(*alert.SlackWebhook).Client = srv.Client()
	f := &finding.Finding{Schema: finding.SchemaFinding, ID: "sgf-1", Rule: "network.outside_approved", Severity: finding.SeverityHigh}
	if err := d.Send(ctx, alert.Alert{Kind: alert.KindPage, Finding: f}); err != nil {
		t.Fatalf("a refused alert failed the record: %v", err)
	}
	if len(rep.got) != 1 || !strings.Contains(rep.got[0].Reason, "HTTP 400: invalid_blocks") || rep.got[0].Alert.Finding.ID != "sgf-1" {
		t.Fatalf("reports = %+v", rep.got)
	}
}
