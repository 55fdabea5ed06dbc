package main

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

// cloudTrailBody returns the SQS body of the CloudTrail fixtures: EventBridge
// "AWS API Call via CloudTrail" events, as the ingest queue receives them from the rule.
func cloudTrailBody(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile("../../events/cloudtrail/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestSQSCloudTrailCalls: CloudTrail SES API calls in SQS bodies are detected next to SES
// events; the api.outside_approved finding names the record's exact key; a broken CloudTrail
// record fails alone (partial batch response) and an SES event in the same batch still counts.
func TestSQSCloudTrailCalls(t *testing.T) {
	pub := &fakePublisher{}
	h := newHandler(newDetector(t, false), pub, nil)
	quota := cloudTrailBody(t, "eventbridge-get-send-quota.json")
	bad := strings.Replace(quota, `"203.0.113.9"`, `"203.0.113.999"`, 1)
	send := sendRecord("m-send-1", "ses-smtp-user.1", "198.51.100.7")
	resp, err := invoke(t, h, sqsEvent(quota, bad, send, quota))
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(t, resp); !slices.Equal(got, []string{"m-1"}) {
		t.Errorf("failures %v, want only the broken CloudTrail record m-1", got)
	}
	var apiKey string
	for _, f := range pub.got {
		if f.Rule == "api.outside_approved" {
			apiKey = f.Principal.AccessKeyID
			if f.Principal.Name != "leaked-user" || f.Evidence.Count != 1 || len(f.Evidence.EventIDs) != 1 {
				t.Errorf("finding %+v", f)
			}
		}
	}
	if apiKey != "AKIAZX3LEAKEDUSER001" {
		t.Errorf("api.outside_approved key %q; published %v", apiKey, pub.names())
	}
	if !slices.Contains(pub.names(), "network.outside_approved ses-smtp-user.1") {
		t.Errorf("the SES send in the batch was not detected: %v", pub.names())
	}
}

// TestCloudTrailDetectionFailureFailsTheCallRecords: a state error while detecting the API
// calls fails their records (for redelivery), next to an undecodable one.
func TestCloudTrailDetectionFailureFailsTheCallRecords(t *testing.T) {
	pub := &fakePublisher{}
	h := newHandler(newDetector(t, true), pub, nil)
	resp, err := invoke(t, h, sqsEvent(cloudTrailBody(t, "eventbridge-get-send-quota.json"), "not json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(t, resp); !slices.Equal(got, []string{"m-0", "m-1"}) {
		t.Errorf("failures %v", got)
	}
	b, _ := json.Marshal(resp)
	if !strings.Contains(string(b), "m-0") {
		t.Errorf("response %s", b)
	}
}
