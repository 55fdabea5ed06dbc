package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/testsupport/lambdatest"
)

// TestMisconfigurationFailsInit checks that each function refuses to start on bad configuration,
// as Lambda shows it (Runtime.ExitError at init, every invoke), with the reason in its logs.
// It needs no AWS: configuration is checked before any client is used.
func TestMisconfigurationFailsInit(t *testing.T) {
	b := binaries(t)
	badPolicy := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badPolicy, []byte("version: 1\nnetwork: { cidrs: [10.0.0.0/33] }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:sns:us-east-1:123456789012:t"
	tests := []struct {
		fn      string
		env     map[string]string
		wantLog []string
	}{
		{"ingest", map[string]string{"SESGUARD_FINDINGS_TOPIC_ARN": arn}, []string{"SESGUARD_TABLE is not set (the DynamoDB state table name)"}},
		{"respond", map[string]string{}, []string{"SESGUARD_TABLE is not set", "SESGUARD_FINDINGS_TOPIC_ARN is not set"}},
		{"respond", map[string]string{"SESGUARD_TABLE": "t", "SESGUARD_FINDINGS_TOPIC_ARN": arn, "SESGUARD_MODE": "yolo"}, []string{`SESGUARD_MODE=\"yolo\": want dry-run or enforce`}},
		{"notify", map[string]string{"SESGUARD_ALERTS_TOPIC_ARN": "alerts"}, []string{`SESGUARD_ALERTS_TOPIC_ARN=\"alerts\" is not an ARN`}},
		{"notify", map[string]string{"SESGUARD_ALERTS_TOPIC_ARN": arn, "SESGUARD_ALERTS_FORMAT": "yaml"}, []string{`SESGUARD_ALERTS_FORMAT=\"yaml\": want text or chatbot`}},
		{"coverage", map[string]string{"SESGUARD_FINDINGS_TOPIC_ARN": arn, "SESGUARD_POLICY": badPolicy}, []string{"10.0.0.0/33"}},
	}
	for _, tt := range tests {
		t.Run(tt.fn, func(t *testing.T) {
			rt, err := lambdatest.New(lambdatest.Options{Binary: b[tt.fn], Env: tt.env})
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close()
			_, fnErr, err := rt.Invoke(context.Background(), []byte(`{"Records":[]}`))
			if err != nil {
				t.Fatal(err)
			}
			if fnErr == nil || fnErr.Type != lambdatest.ErrorTypeExit || !strings.Contains(fnErr.Message, "during init") {
				t.Fatalf("want Runtime.ExitError during init, got %v", fnErr)
			}
			logs := rt.Logs()
			for _, w := range tt.wantLog {
				if !strings.Contains(logs, w) {
					t.Errorf("logs do not say %q:\n%s", w, logs)
				}
			}
			if !strings.Contains(logs, `"level":"ERROR"`) || !strings.Contains(logs, "cannot start") {
				t.Errorf("no JSON error line naming the failure:\n%s", logs)
			}
		})
	}
}
