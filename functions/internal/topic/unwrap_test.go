package topic

import (
	"strings"
	"testing"
)

func TestUnwrap(t *testing.T) {
	raw := `{"schema":"sesguard.finding/v1","id":"f"}`
	tests := []struct {
		name, body, want, wantErr string
	}{
		{"raw delivery", raw, raw, ""},
		{"sns envelope", `{"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:us-east-1:1:findings","Message":` + `"{\"schema\":\"sesguard.finding/v1\",\"id\":\"f\"}"}`, raw, ""},
		{"finding with a Type field is not an envelope", `{"Type":"Notification","schema":"x"}`, `{"Type":"Notification","schema":"x"}`, ""},
		{"empty", "  ", "", "empty message body"},
		{"garbage", "{", "", "unexpected end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Unwrap(tt.body)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("Unwrap = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
