package main

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/engine/contain"
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

// TestGlobalCallsPublishWithPlan: an IAM CreateUser by a leaked key (events/global, as the
// us-east-1 rule delivers it) is a playbook.persistence finding, published with its pure
// containment plan (each action, outcome and reason) when Plan is set.
func TestGlobalCallsPublishWithPlan(t *testing.T) {
	pub := &fakePublisher{}
	h := newHandler(newDetector(t, false), pub, nil)
	h.Plan = &contain.Config{On: map[string][]string{"playbook.persistence": {contain.ActionDeactivateKeys, contain.ActionDenySendPolicy}}}
	data, err := os.ReadFile("../../events/global/eventbridge-iam-create-user.json")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := invoke(t, h, sqsEvent(string(data)))
	if err != nil || len(failures(t, resp)) != 0 {
		t.Fatalf("%v %v", resp, err)
	}
	var f *finding.Finding
	for i := range pub.got {
		if pub.got[i].Rule == "playbook.persistence" {
			f = &pub.got[i]
		}
	}
	if f == nil || f.Principal.AccessKeyID != "AKIAZX3LEAKEDUSER001" || len(f.Created) != 1 || f.Created[0].User != "ses_legion" {
		t.Fatalf("published %v; finding %+v", pub.names(), f)
	}
	var plan []string
	for _, a := range f.Plan {
		plan = append(plan, a.Target+":"+a.Action+":"+string(a.Outcome))
	}
	want := []string{"leaked-user:deactivate_keys:planned", "leaked-user:deny_send_policy:planned", "ses_legion:deactivate_keys:planned", "ses_legion:deny_send_policy:planned"}
	if !slices.Equal(plan, want) {
		t.Fatalf("plan %v, want %v", plan, want)
	}
}
