package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// TestFaultsFailOnlyTheirRecordsAndRecover injects AWS and Slack failures into the pipeline:
// each failure is reported in batchItemFailures (so SQS redelivers the record), nothing is lost
// or half-done, and the redelivery after the fault clears completes the work exactly once.
func TestFaultsFailOnlyTheirRecordsAndRecover(t *testing.T) {
	w := newWorld(t)
	ingest := w.function("ingest", "enforce")
	respond := w.function("respond", "enforce")
	notify := w.function("notify", "enforce")
	sc := newScenario("flt")

	// ingest: the findings topic refuses the publish after detection counted the events → only
	// the attacking record fails and the finding is kept; its redelivery (receive count 2)
	// publishes it although the detector now sees a duplicate.
	pub := newScenarioBy("pub", roleName) // its own finding (another principal) for the later stages
	pubFault := w.m.Fault(awstest.Fault{Service: "sns", Operation: "Publish", Kind: awstest.FaultServerError})
	got := failureIDs(invoke[events.SQSEventResponse](t, ingest, pub.event))
	if pubFault.Hits() == 0 || len(got) != 2 || !slices.Contains(got, pub.garbageID) {
		t.Fatalf("ingest with SNS down: failures %v (fault hits %d), want the garbage and the attacking record", got, pubFault.Hits())
	}
	w.m.ClearFaults()
	var redeliver events.SQSEvent
	for _, r := range pub.event.Records {
		if slices.Contains(got, r.MessageId) {
			r.Attributes = map[string]string{"ApproximateReceiveCount": "2"}
			redeliver.Records = append(redeliver.Records, r)
		}
	}
	if got := failureIDs(invoke[events.SQSEventResponse](t, ingest, redeliver)); !slices.Equal(got, []string{pub.garbageID}) {
		t.Fatalf("ingest redelivery after SNS recovered: failures %v", got)
	}
	kept, _ := decodeAll(t, w.drain(w.findings))
	if len(kept) != 1 || kept[0].Rule != "network.outside_approved" || !slices.Contains(kept[0].Evidence.MessageIDs, pub.attackMsg) {
		t.Fatalf("redelivery published %+v, want the kept finding", kept)
	}
	_ = w.drain(w.notifyQ)

	// ingest: the state table fails (after the SDK's retries) → every decoded record fails and
	// no finding is published; the redelivery publishes it.
	ddb := w.m.Fault(awstest.Fault{Service: "dynamodb", Operation: "*", Kind: awstest.FaultServerError})
	resp := invoke[events.SQSEventResponse](t, ingest, sc.event)
	if got := failureIDs(resp); len(got) != len(sc.event.Records) {
		t.Fatalf("ingest with DynamoDB down: %d failures, want all %d records", len(got), len(sc.event.Records))
	}
	if ddb.Hits() == 0 {
		t.Fatal("DynamoDB fault never hit")
	}
	if fs, _ := decodeAll(t, w.drain(w.findings)); len(fs) != 0 {
		t.Fatalf("ingest with DynamoDB down published %d findings", len(fs))
	}
	w.m.ClearFaults()
	if got := failureIDs(invoke[events.SQSEventResponse](t, ingest, sc.event)); len(got) != 1 || got[0] != sc.garbageID {
		t.Fatalf("ingest redelivery failures = %v, want only %s", got, sc.garbageID)
	}
	toRespond := w.drain(w.findings)
	if fs, _ := decodeAll(t, toRespond); len(fs) != 1 {
		t.Fatalf("redelivery published %d findings, want 1", len(fs))
	}

	// respond: IAM refuses UpdateAccessKey → the record fails, the result says which action
	// failed and why, the key is untouched; the redelivery applies it once.
	deny := w.m.Fault(awstest.Fault{Service: "iam", Operation: "UpdateAccessKey", Kind: awstest.FaultAccessDenied})
	if got := failureIDs(invoke[events.SQSEventResponse](t, respond, toRespond)); len(got) != 1 {
		t.Fatalf("respond with AccessDenied: failures %v, want the finding's record", got)
	}
	if deny.Hits() == 0 {
		t.Fatal("IAM fault never hit")
	}
	_ = w.drain(w.findings)
	_, rs := decodeAll(t, w.drain(w.notifyQ))
	if len(rs) != 1 {
		t.Fatalf("%d results published for the failed attempt, want 1", len(rs))
	}
	if a := findAction(rs[0], "deactivate_keys"); a.Outcome != finding.OutcomeFailed || !strings.Contains(a.Error, "AccessDenied") {
		t.Errorf("failed attempt: deactivate_keys = %+v, want outcome failed naming AccessDenied", a)
	}
	if keys := w.keyStatus(); keys[w.smtpKey] != iamtypes.StatusTypeActive {
		t.Errorf("key changed although UpdateAccessKey was denied: %v", keys)
	}
	w.m.ClearFaults()
	if got := failureIDs(invoke[events.SQSEventResponse](t, respond, toRespond)); len(got) != 0 {
		t.Fatalf("respond redelivery failures = %v", got)
	}
	if keys := w.keyStatus(); keys[w.smtpKey] != iamtypes.StatusTypeInactive || keys[w.otherKey] != iamtypes.StatusTypeActive {
		t.Errorf("after redelivery keys = %v, want %s Inactive only", keys, w.smtpKey)
	}
	if n := w.calls.get("UpdateAccessKey"); n != 1 {
		t.Errorf("UpdateAccessKey reached IAM %d times, want 1", n)
	}
	_ = w.drain(w.findings)
	toNotify := w.drain(w.notifyQ)
	_, rs = decodeAll(t, toNotify)
	if len(rs) != 1 || findAction(rs[0], "deactivate_keys").Outcome != finding.OutcomeApplied {
		t.Fatalf("redelivery result = %+v", rs)
	}

	// notify: Slack answers 500 → the record fails after the webhook's retries; SNS is not
	// repeated on the redelivery; Slack gets it once it is back.
	w.slack.setDown(true)
	resp = invoke[events.SQSEventResponse](t, notify, toNotify)
	if got := failureIDs(resp); len(got) != 1 || got[0] != toNotify.Records[0].MessageId {
		t.Fatalf("notify with Slack down: failures %v, want the result's record", got)
	}
	if w.slack.attempts() < 2 {
		t.Errorf("Slack was tried %d times, want retries", w.slack.attempts())
	}
	sns1 := len(w.drain(w.alerts).Records)
	w.slack.setDown(false)
	// SQS redelivers only after the 180 s visibility timeout, longer than the webhook's 30 s
	// cool-down after a failed post (which the instance that saw the 500 still honours); a fresh
	// instance stands in for that wait.
	notify = w.function("notify", "enforce")
	if got := failureIDs(invoke[events.SQSEventResponse](t, notify, toNotify)); len(got) != 0 {
		t.Fatalf("notify redelivery failures = %v", got)
	}
	if n := len(w.slack.messages()); n != 1 {
		t.Errorf("Slack received %d messages after recovery, want 1", n)
	}
	if sns1 != 1 || len(w.drain(w.alerts).Records) != 0 {
		t.Errorf("SNS alerts: %d on the failed attempt (want 1), repeated on redelivery", sns1)
	}
}
