package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/deliver/export"
)

// recorder is a destination that records what it got and fails the keys it is told to.
type recorder struct {
	got  []string
	fail map[string]bool
}

func (r *recorder) Export(_ context.Context, items []export.Item) export.Failures {
	out := export.Failures{}
	for _, it := range items {
		id := "?"
		if it.Finding != nil {
			id = "f:" + it.Finding.ID
		} else if it.Result != nil {
			id = "r:" + it.Result.FindingID
		}
		if !json.Valid(it.Raw) {
			id += "(raw not JSON)"
		}
		r.got = append(r.got, id)
		if r.fail[it.Key] {
			out[it.Key] = errors.New("rejected")
		}
	}
	return out
}

var _ Destination = (*recorder)(nil)

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestHandle(t *testing.T) {
	f := &finding.Finding{Schema: finding.SchemaFinding, ID: "f-1", Rule: "network.outside_approved", Severity: finding.SeverityHigh}
	r := &finding.Result{Schema: finding.SchemaResult, FindingID: "f-1", Mode: "enforce", Time: time.Now()}
	sns := js(map[string]any{"Type": "Notification", "MessageId": "n", "TopicArn": "arn:aws:sns:us-east-1:123456789012:findings", "Message": js(r)})
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "1", Body: js(f)},
		{MessageId: "2", Body: sns},
		{MessageId: "3", Body: "not json"},
		{MessageId: "4", Body: `{"schema":"sesguard.finding/v9"}`},
		{MessageId: "5", Body: js(&finding.Finding{Schema: finding.SchemaFinding, ID: "f-2", Rule: "x"})},
	}}
	hub, bus := &recorder{fail: map[string]bool{"5": true}}, &recorder{fail: map[string]bool{"1": true}}
	h := &Handler{Destinations: []Destination{hub, bus}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	resp, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	slices.Sort(failed)
	// 3, 4 undecodable; 5 refused by the hub, 1 by the bus: each fails alone, once.
	if !slices.Equal(failed, []string{"1", "3", "4", "5"}) {
		t.Errorf("failed %v", failed)
	}
	want := []string{"f:f-1", "r:f-1", "f:f-2"}
	if !slices.Equal(hub.got, want) || !slices.Equal(bus.got, want) {
		t.Errorf("hub got %v, bus got %v, want %v each", hub.got, bus.got, want)
	}
}

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // error substring, "" for none
		hub  bool
		bus  string
	}{
		{"hub", map[string]string{envSecurityHub: "true", envAccountID: "111122223333", "AWS_REGION": "eu-west-1"}, "", true, ""},
		{"bus default", map[string]string{envEventBus: "default"}, "", false, ""},
		{"bus arn", map[string]string{envEventBus: "arn:aws:events:eu-west-1:999999999999:event-bus/sec"}, "", false, "arn:aws:events:eu-west-1:999999999999:event-bus/sec"},
		{"nothing", map[string]string{}, "nothing to export", false, ""},
		{"bad flag", map[string]string{envSecurityHub: "yes", envEventBus: "b"}, "want true or false", false, ""},
		{"hub without account", map[string]string{envSecurityHub: "true", "AWS_REGION": "eu-west-1"}, "12-digit", true, ""},
		{"lake alone", map[string]string{envSecurityLake: "sesguard-SecurityLake-abc_1.2"}, "", false, ""},
		{"lake bad name", map[string]string{envSecurityLake: "s3://bucket/ext"}, "want a Firehose stream name", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := load(func(k string) string { return tc.env[k] })
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil || s.hub != tc.hub || s.bus != tc.bus {
				t.Errorf("settings %+v, %v", s, err)
			}
		})
	}
	s, _ := load(func(k string) string {
		return map[string]string{envSecurityHub: "true", envAccountID: "111122223333", "AWS_REGION": "cn-north-1"}[k]
	})
	if s.product.ARN() != "arn:aws-cn:securityhub:cn-north-1:111122223333:product/111122223333/default" {
		t.Errorf("China product ARN %s", s.product.ARN())
	}
}
