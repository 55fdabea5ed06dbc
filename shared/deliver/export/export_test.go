package export

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	hubtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/render/asff"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

var prod = asff.Product{Region: awstest.Region, Account: awstest.Account}

func testFinding(id string, count int64) *finding.Finding {
	t0 := time.Date(2026, 5, 4, 9, 15, 0, 0, time.UTC)
	return &finding.Finding{
		Schema: finding.SchemaFinding, ID: id, Rule: "network.outside_approved", Severity: finding.SeverityHigh,
		Account: awstest.Account, Region: awstest.Region,
		Principal: finding.Principal{Name: "ses-smtp-user", Kind: finding.KindUser, ARN: "arn:aws:iam::" + awstest.Account + ":user/ses-smtp-user", AccessKeyID: "AKIAIOSFODNN7EXAMPLE"},
		SourceIP:  "203.0.113.77", WindowStart: t0, WindowEnd: t0.Add(5 * time.Minute),
		Evidence: finding.Evidence{Count: count, FirstSeen: t0.Add(time.Second), LastSeen: t0.Add(time.Duration(count) * time.Second), Identity: "mail.example.com"},
		Actions:  []string{"deactivate_keys"}, Mode: "enforce",
	}
}

func testResult(id string, o finding.Outcome) *finding.Result {
	return &finding.Result{Schema: finding.SchemaResult, FindingID: id, Rule: "network.outside_approved", Severity: finding.SeverityHigh,
		Account: awstest.Account, Region: awstest.Region, Principal: finding.Principal{Name: "ses-smtp-user", Kind: finding.KindUser},
		Mode: "enforce", Actor: "sesguard-respond", Time: time.Date(2026, 5, 4, 9, 16, 0, 0, time.UTC),
		Actions: []finding.ActionResult{{ActionID: "act-1", Action: "deactivate_keys", Target: "ses-smtp-user", Outcome: o}}}
}

func item(t *testing.T, key string, v any) Item {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	it := Item{Key: key, Raw: raw}
	switch x := v.(type) {
	case *finding.Finding:
		it.Finding = x
	case *finding.Result:
		it.Result = x
	}
	return it
}

func getFinding(t *testing.T, c *securityhub.Client, id string) hubtypes.AwsSecurityFinding {
	t.Helper()
	p := securityhub.NewGetFindingsPaginator(c, &securityhub.GetFindingsInput{MaxResults: aws.Int32(100)})
	n := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range out.Findings {
			n++
			if aws.ToString(f.Id) == id {
				return f
			}
		}
	}
	t.Fatalf("finding %s not in Security Hub (%d findings)", id, n)
	return hubtypes.AwsSecurityFinding{}
}

func TestHubAgainstMoto(t *testing.T) {
	m := awstest.Start(t)
	// failNext answers the next import with a per-finding failure for f-bad; installed before
	// the Security Hub filler so it runs first.
	var failNext atomic.Bool
	m.Handle(func(w http.ResponseWriter, r *http.Request) bool {
		if !failNext.Load() || awstest.SigningService(r) != "securityhub" || r.URL.Path != "/findings/import" {
			return false
		}
		failNext.Store(false)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"FailedCount":1,"SuccessCount":1,"FailedFindings":[{"Id":"f-bad","ErrorCode":"InvalidInput","ErrorMessage":"Finding is over 240 KB"}]}`))
		return true
	})
	m.FillSecurityHub()
	ctx := context.Background()
	client := securityhub.NewFromConfig(m.ConfigFastRetry(t, 3))
	var logs bytes.Buffer
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	h := &Hub{Client: client, Product: prod, Log: slog.New(slog.NewJSONHandler(&logs, nil)), Now: func() time.Time { return now }}

	t.Run("not enabled: one warning, nothing failed", func(t *testing.T) {
		calls := m.Fault(awstest.Fault{Service: "securityhub", Operation: "POST /findings/import", Kind: awstest.FaultDelay, Delay: time.Millisecond})
		for range 3 {
			if fail := h.Export(ctx, []Item{item(t, "m1", testFinding("f-1", 1))}); len(fail) != 0 {
				t.Fatalf("failures %v", fail)
			}
		}
		if n := strings.Count(logs.String(), "Security Hub is not enabled"); n != 1 {
			t.Errorf("%d warnings, want 1:\n%s", n, logs.String())
		}
		if calls.Matched() != 1 {
			t.Errorf("%d import calls while disabled, want 1 (then back off for %s)", calls.Matched(), DisabledRecheck)
		}
		m.ClearFaults()
	})

	if _, err := client.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(DisabledRecheck + time.Second) // past the back-off: tries again

	t.Run("import, update count, contain, restore", func(t *testing.T) {
		if fail := h.Export(ctx, []Item{item(t, "m1", testFinding("f-1", 1))}); len(fail) != 0 {
			t.Fatalf("failures %v", fail)
		}
		f := getFinding(t, client, "f-1")
		if f.Severity.Label != hubtypes.SeverityLabelHigh || f.FindingProviderFields.Severity.Label != hubtypes.SeverityLabelHigh {
			t.Errorf("severity %+v", f.Severity)
		}
		var types []string
		for _, r := range f.Resources {
			types = append(types, aws.ToString(r.Type)+"="+aws.ToString(r.Id))
		}
		want := "AwsIamUser=arn:aws:iam::123456789012:user/ses-smtp-user AwsIamAccessKey=AKIAIOSFODNN7EXAMPLE Other=arn:aws:ses:us-east-1:123456789012:identity/mail.example.com"
		if strings.Join(types, " ") != want {
			t.Errorf("resources %v", types)
		}
		if f.Workflow == nil || f.Workflow.Status != hubtypes.WorkflowStatusNew {
			t.Errorf("workflow %+v, want NEW", f.Workflow)
		}
		first := aws.ToString(f.UpdatedAt)

		// the finding grows, then respond contains it in the same batch
		if fail := h.Export(ctx, []Item{item(t, "m2", testFinding("f-1", 7)), item(t, "m3", testResult("f-1", finding.OutcomeApplied))}); len(fail) != 0 {
			t.Fatalf("failures %v", fail)
		}
		f = getFinding(t, client, "f-1")
		if !(aws.ToString(f.UpdatedAt) > first) || f.ProductFields[asff.FieldCount] != "7" {
			t.Errorf("count update: UpdatedAt %s (was %s), count %s", aws.ToString(f.UpdatedAt), first, f.ProductFields[asff.FieldCount])
		}
		if f.Workflow.Status != hubtypes.WorkflowStatusNotified || f.Note == nil || !strings.Contains(aws.ToString(f.Note.Text), "deactivate_keys on ses-smtp-user applied") {
			t.Errorf("after containment: workflow %v note %+v", f.Workflow.Status, f.Note)
		}

		// a later count update must not reset the analyst's workflow (Security Hub ignores it)
		if fail := h.Export(ctx, []Item{item(t, "m4", testFinding("f-1", 9))}); len(fail) != 0 {
			t.Fatal(fail)
		}
		if f = getFinding(t, client, "f-1"); f.Workflow.Status != hubtypes.WorkflowStatusNotified {
			t.Errorf("re-import reset workflow to %v", f.Workflow.Status)
		}

		if fail := h.Export(ctx, []Item{item(t, "m5", testResult("f-1", finding.OutcomeRestored))}); len(fail) != 0 {
			t.Fatal(fail)
		}
		if f = getFinding(t, client, "f-1"); f.Workflow.Status != hubtypes.WorkflowStatusResolved || !strings.Contains(aws.ToString(f.Note.Text), "restored") {
			t.Errorf("after restore: workflow %v note %q", f.Workflow.Status, aws.ToString(f.Note.Text))
		}
	})

	t.Run("result before its finding fails alone", func(t *testing.T) {
		fail := h.Export(ctx, []Item{item(t, "ok", testFinding("f-2", 1)), item(t, "orphan", testResult("f-missing", finding.OutcomeApplied))})
		if len(fail) != 1 || fail["orphan"] == nil || !strings.Contains(fail["orphan"].Error(), "FindingNotFound") {
			t.Errorf("failures %v", fail)
		}
	})

	t.Run("150 findings: two calls, throttling retried", func(t *testing.T) {
		rule := m.Fault(awstest.Fault{Service: "securityhub", Operation: "POST /findings/import", Kind: awstest.FaultThrottle, Times: 1})
		var items []Item
		for i := range 150 {
			items = append(items, item(t, fmt.Sprintf("b%d", i), testFinding(fmt.Sprintf("bulk-%03d", i), 1)))
		}
		if fail := h.Export(ctx, items); len(fail) != 0 {
			t.Fatalf("failures %v", fail)
		}
		if rule.Hits() != 1 || rule.Matched() != 3 {
			t.Errorf("import calls: %d throttled, %d in all; want 1 and 3 (throttled + retry, second batch)", rule.Hits(), rule.Matched())
		}
		m.ClearFaults()
		getFinding(t, client, "bulk-149")
	})

	t.Run("FailedFindings fail their record only", func(t *testing.T) {
		failNext.Store(true)
		fail := h.Export(ctx, []Item{item(t, "good", testFinding("f-good", 1)), item(t, "bad", testFinding("f-bad", 1))})
		if len(fail) != 1 || fail["bad"] == nil || !strings.Contains(fail["bad"].Error(), "InvalidInput") {
			t.Errorf("failures %v", fail)
		}
	})

	t.Run("a member's finding in the central account is skipped, not failed", func(t *testing.T) {
		f := testFinding("f-member", 1)
		f.Account = "999999999999"
		r := testResult("f-member", finding.OutcomeApplied)
		r.Account = "999999999999"
		if fail := h.Export(ctx, []Item{item(t, "mf", f), item(t, "mr", r)}); len(fail) != 0 {
			t.Errorf("failures %v", fail)
		}
		for p := securityhub.NewGetFindingsPaginator(client, &securityhub.GetFindingsInput{MaxResults: aws.Int32(100)}); p.HasMorePages(); {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range out.Findings {
				if aws.ToString(f.Id) == "f-member" {
					t.Error("a member's finding was imported under the central account")
				}
			}
		}
	})

	t.Run("bad finding fails alone", func(t *testing.T) {
		bad := testFinding("", 1)
		fail := h.Export(ctx, []Item{item(t, "noid", bad), item(t, "fine", testFinding("f-3", 1))})
		if len(fail) != 1 || !strings.Contains(fmt.Sprint(fail["noid"]), "no id") {
			t.Errorf("failures %v", fail)
		}
	})
}

func TestBusAgainstMoto(t *testing.T) {
	m := awstest.Start(t)
	ctx := context.Background()
	cfg := m.Config(t)
	eb, sq := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("security")}); err != nil {
		t.Fatal(err)
	}
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("routed")})
	if err != nil {
		t.Fatal(err)
	}
	qa, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	// A user's rule: every sesguard event on the bus.
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("all-sesguard"), EventBusName: aws.String("security"),
		EventPattern: aws.String(`{"source":["sesguard"],"detail-type":["SES Send Finding","SES Containment Result"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("all-sesguard"), EventBusName: aws.String("security"),
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(qa.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}
	b := &Bus{Client: eb, Bus: "security"}
	var items []Item
	for i := range 12 { // two PutEvents calls
		items = append(items, item(t, fmt.Sprintf("f%d", i), testFinding(fmt.Sprintf("f-%d", i), 1)))
	}
	items = append(items, item(t, "r", testResult("f-0", finding.OutcomeApplied)))
	broken := item(t, "broken", testFinding("f-x", 1))
	broken.Raw = []byte("{not json")
	items = append(items, broken)
	fail := b.Export(ctx, items)
	if len(fail) != 1 || !strings.Contains(fmt.Sprint(fail["broken"]), "MalformedDetail") {
		t.Fatalf("failures %v", fail)
	}

	got := map[string]int{}
	var sample map[string]any
	for range 5 {
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range out.Messages {
			var ev map[string]any
			if err := json.Unmarshal([]byte(aws.ToString(msg.Body)), &ev); err != nil {
				t.Fatal(err)
			}
			got[fmt.Sprint(ev["detail-type"])]++
			if ev["detail-type"] == DetailTypeResult {
				sample = ev
			}
		}
		if got[DetailTypeFinding]+got[DetailTypeResult] == 13 {
			break
		}
	}
	if got[DetailTypeFinding] != 12 || got[DetailTypeResult] != 1 {
		t.Fatalf("routed events %v, want 12 findings and 1 result", got)
	}
	detail, _ := sample["detail"].(map[string]any)
	if sample["source"] != Source || detail["schema"] != finding.SchemaResult || detail["finding_id"] != "f-0" {
		t.Errorf("event %v", sample)
	}
}

func TestEntryLimits(t *testing.T) {
	b := &Bus{}
	big := testFinding("f-big", 1)
	it := item(t, "big", big)
	it.Raw = []byte(`{"x":"` + strings.Repeat("a", maxEntryBytes) + `"}`)
	if _, err := b.Entry(it); err == nil || !strings.Contains(err.Error(), "256 KB") {
		t.Errorf("oversized event: %v", err)
	}
	if _, err := b.Entry(Item{Key: "x", Raw: []byte("{}")}); err == nil {
		t.Error("an item that is neither finding nor result was accepted")
	}
	e, err := b.Entry(item(t, "ok", testFinding("f-1", 1)))
	if err != nil || e.EventBusName != nil || aws.ToString(e.DetailType) != DetailTypeFinding || len(e.Resources) != 1 {
		t.Errorf("entry %+v, %v", e, err)
	}
}

func TestUpdateInput(t *testing.T) {
	id := types.AwsSecurityFindingIdentifier{Id: aws.String("f-1"), ProductArn: aws.String("arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default")}
	note := types.NoteUpdate{Text: aws.String("contained"), UpdatedBy: aws.String("sesguard")}
	for _, tc := range []struct {
		workflow types.WorkflowStatus
		want     bool
	}{{types.WorkflowStatusNotified, true}, {"", false}} {
		in := UpdateInput(asff.Update{Identifier: id, Note: note, Workflow: tc.workflow})
		if len(in.FindingIdentifiers) != 1 || *in.FindingIdentifiers[0].Id != "f-1" || *in.Note.Text != "contained" {
			t.Errorf("workflow %q: input %+v", tc.workflow, in)
		}
		if (in.Workflow != nil) != tc.want || (tc.want && in.Workflow.Status != tc.workflow) {
			t.Errorf("workflow %q: Workflow %+v, want set=%v", tc.workflow, in.Workflow, tc.want)
		}
	}
}
