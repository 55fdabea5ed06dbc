package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

// The bill of a hand-made usage, priced from prices.go.
func TestPrice(t *testing.T) {
	u := usage{
		sends: 1000,
		requests: map[string]int{
			"dynamodb:PutItem": 1000, "dynamodb:UpdateItem": 500, "dynamodb:GetItem": 100,
			"sns:Publish": 10, "iam:GetUser": 3,
		},
		sqsChunks:     1300,
		firehoseBytes: 2000 * 5120,
		logBytes:      map[string]int64{"ingest": 40 * 1500},
		billedMs:      map[string]float64{"ingest": 40 * 100},
		invocations:   map[string]int{"ingest": 40},
	}
	b := price(u)
	want := map[string]float64{
		"DynamoDB":        1000 * (1500*0.625/1e6 + 100*0.125/1e6),
		"SNS":             1000 * 10 * 0.50 / 1e6,
		"SQS":             1000 * 1300 * 0.40 / 1e6,
		"Lambda":          1000 * (40*0.20/1e6 + 4*0.25*0.0000133334),
		"Firehose":        1000 * 2000 * 5120 / float64(1<<30) * 0.029,
		"CloudWatch Logs": 1000 * 60000 / float64(1<<30) * 0.50,
	}
	for s, w := range want {
		if math.Abs(b.byService[s]-w) > 1e-9 {
			t.Errorf("%s = %.6f, want %.6f", s, b.byService[s], w)
		}
	}
	if !strings.Contains(b.services(), "DynamoDB $0.95") {
		t.Errorf("services: %s", b.services())
	}
}

func TestCostHelpers(t *testing.T) {
	for _, c := range []struct{ n, size, want int }{{0, 64, 1}, {1, 64, 1}, {64, 64, 1}, {65, 64, 2}} {
		if got := chunks(c.n, c.size); got != c.want {
			t.Errorf("chunks(%d, %d) = %d", c.n, c.size, got)
		}
	}
	if got := eventType([]byte(`{"eventType":"Rendering Failure","mail":{}}`)); got != "Rendering Failure" {
		t.Errorf("eventType = %q", got)
	}
	if got := eventType([]byte(`{"mail":{}}`)); got != "" {
		t.Errorf("eventType without it = %q", got)
	}
	// Sixteen marks go at once; other calls one after another.
	if got := roundTrips(map[string]int{"dynamodb:PutItem": 26, "dynamodb:UpdateItem": 9}); got != 11 {
		t.Errorf("roundTrips = %v, want 11", got)
	}
	if defaultWindow > 5*time.Second {
		t.Errorf("default window %s: the window bounds the time to contain (≤ 5 s)", defaultWindow)
	}
}
