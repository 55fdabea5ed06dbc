package e2e

import (
	"context"
	"encoding/json"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	hubtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sesguard/sesguard/shared/deliver/export"
	"github.com/sesguard/sesguard/shared/render/asff"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
	"github.com/sesguard/sesguard/shared/testsupport/lambdatest"
)

// The export binary is built once, beside the others (the shared binaries() list is left alone).
var (
	exportOnce sync.Once
	exportBin  string
	exportErr  error
)

func exportBinary(t testing.TB) string {
	t.Helper()
	exportOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		var b map[string]string
		b, exportErr = lambdatest.Build(ctx, filepath.Join(buildDir), "github.com/sesguard/sesguard/functions/export")
		exportBin = b["export"]
	})
	if exportErr != nil || exportBin == "" {
		t.Fatalf("build export: %v", exportErr)
	}
	return exportBin
}

// hubFinding reads one finding back from (moto's) Security Hub.
func hubFinding(t *testing.T, c *securityhub.Client, id string) hubtypes.AwsSecurityFinding {
	t.Helper()
	p := securityhub.NewGetFindingsPaginator(c, &securityhub.GetFindingsInput{MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range out.Findings {
			if aws.ToString(f.Id) == id {
				return f
			}
		}
	}
	t.Fatalf("finding %s is not in Security Hub", id)
	return hubtypes.AwsSecurityFinding{}
}

// TestEndToEndSecurityHubAndCentralBus runs the real ingest, respond, export binaries and the
// CLI against moto, as a member account deployed with -c sesguardSecurityHub=true
// -c sesguardCentralBusArn=…: the finding is imported into Security Hub (severity, resources,
// workflow NEW), containment moves it to NOTIFIED with a note, `sesguard restore` to RESOLVED,
// and the finding and each result arrive on the central bus, where a rule routes them to SQS.
func TestEndToEndSecurityHubAndCentralBus(t *testing.T) {
	w := newWorld(t)
	bin := exportBinary(t)
	ctx := context.Background()
	w.m.FillSecurityHub()
	exportQ := w.m.SeedTopicQueue(t, findingsTopic, "sesguard-export", true)
	hub := securityhub.NewFromConfig(w.cfg)
	if _, err := hub.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{}); err != nil {
		t.Fatal(err)
	}

	// The central account's side: its bus and a rule routing every sesguard event to a queue.
	eb, sq := eventbridge.NewFromConfig(w.cfg), sqs.NewFromConfig(w.cfg)
	bus, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("sesguard-central")})
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("central-inbox")})
	if err != nil {
		t.Fatal(err)
	}
	qa, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: inbox.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("members"), EventBusName: aws.String("sesguard-central"),
		EventPattern: aws.String(`{"source":["sesguard"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("members"), EventBusName: aws.String("sesguard-central"),
		Targets: []ebtypes.Target{{Id: aws.String("inbox"), Arn: aws.String(qa.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}

	ingest := w.function("ingest", "enforce")
	respond := w.function("respond", "enforce")
	env := maps.Clone(w.m.Env())
	maps.Copy(env, map[string]string{"SESGUARD_SECURITY_HUB": "true", "SESGUARD_EVENT_BUS": aws.ToString(bus.EventBusArn), "SESGUARD_ACCOUNT_ID": awstest.Account})
	exp, err := lambdatest.New(lambdatest.Options{Binary: bin, FunctionName: "sesguard-export", Env: env, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("export logs:\n%s", exp.Logs())
		}
		exp.Close()
	})
	runExport := func(step string) {
		t.Helper()
		batch := w.drain(exportQ)
		if len(batch.Records) == 0 {
			t.Fatalf("%s: nothing reached the export queue", step)
		}
		start := time.Now()
		if got := failureIDs(invoke[events.SQSEventResponse](t, exp, batch)); len(got) != 0 {
			t.Fatalf("%s: export batchItemFailures %v\n%s", step, got, exp.Logs())
		}
		t.Logf("%s: export of %d records took %v", step, len(batch.Records), time.Since(start).Round(time.Millisecond))
	}

	// 1. ingest → finding → export: in Security Hub with severity, resources, workflow NEW.
	sc := newScenario("hub")
	if got := failureIDs(invoke[events.SQSEventResponse](t, ingest, sc.event)); !slices.Equal(got, []string{sc.garbageID}) {
		t.Fatalf("ingest failures %v", got)
	}
	toRespond := w.drain(w.findings)
	fs, _ := decodeAll(t, toRespond)
	if len(fs) != 1 {
		t.Fatalf("%d findings", len(fs))
	}
	f := fs[0]
	runExport("finding")
	hf := hubFinding(t, hub, f.ID)
	product := asff.Product{Region: awstest.Region, Account: awstest.Account}.ARN()
	if aws.ToString(hf.ProductArn) != product || aws.ToString(hf.GeneratorId) != f.Rule || aws.ToString(hf.AwsAccountId) != awstest.Account {
		t.Errorf("product %s generator %s account %s", aws.ToString(hf.ProductArn), aws.ToString(hf.GeneratorId), aws.ToString(hf.AwsAccountId))
	}
	if hf.Severity == nil || hf.Severity.Label != hubtypes.SeverityLabelHigh || hf.FindingProviderFields.Severity.Label != hubtypes.SeverityLabelHigh {
		t.Errorf("severity %+v", hf.Severity)
	}
	var res []string
	for _, r := range hf.Resources {
		res = append(res, aws.ToString(r.Type)+"="+aws.ToString(r.Id))
	}
	joined := strings.Join(res, " ")
	for _, want := range []string{"AwsIamUser=arn:aws:iam::" + awstest.Account + ":user/" + smtpUserName, "AwsIamAccessKey=" + w.smtpKey,
		"Other=arn:aws:ses:" + awstest.Region + ":" + awstest.Account + ":identity/" + identity} {
		if !strings.Contains(joined, want) {
			t.Errorf("resources %s lack %s", joined, want)
		}
	}
	if hf.Workflow == nil || hf.Workflow.Status != hubtypes.WorkflowStatusNew {
		t.Errorf("workflow after import %+v, want NEW", hf.Workflow)
	}
	if hf.Network == nil || aws.ToString(hf.Network.SourceIpV4) != attackerIP {
		t.Errorf("network %+v", hf.Network)
	}

	// 2. respond contains (enforce) → result → export: NOTIFIED, the note names the actions.
	if got := failureIDs(invoke[events.SQSEventResponse](t, respond, toRespond)); len(got) != 0 {
		t.Fatalf("respond failures %v", got)
	}
	_, rs := decodeAll(t, w.drain(w.notifyQ))
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	runExport("containment")
	hf = hubFinding(t, hub, f.ID)
	if hf.Workflow == nil || hf.Workflow.Status != hubtypes.WorkflowStatusNotified || hf.Note == nil ||
		!strings.Contains(aws.ToString(hf.Note.Text), "deactivate_keys on "+smtpUserName+" applied") || !strings.Contains(aws.ToString(hf.Note.Text), w.smtpKey) {
		t.Errorf("after containment: workflow %+v note %+v", hf.Workflow, hf.Note)
	}

	// 3. sesguard restore (both actions) announces on the findings topic → export: RESOLVED.
	for _, a := range rs[0].Actions {
		if out, code := w.cli("restore", a.ActionID); code != 0 {
			t.Fatalf("restore %s: exit %d\n%s", a.ActionID, code, out)
		}
	}
	runExport("restore")
	hf = hubFinding(t, hub, f.ID)
	if hf.Workflow == nil || hf.Workflow.Status != hubtypes.WorkflowStatusResolved || !strings.Contains(aws.ToString(hf.Note.Text), "restored") {
		t.Errorf("after restore: workflow %+v note %q", hf.Workflow, aws.ToString(hf.Note.Text))
	}

	// 4. The central bus got the finding and every result, each carrying the member account.
	got := map[string][]map[string]any{}
	for range 10 {
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: inbox.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			var ev map[string]any
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				t.Fatal(err)
			}
			got[ev["detail-type"].(string)] = append(got[ev["detail-type"].(string)], ev)
		}
		if len(got[export.DetailTypeFinding]) >= 1 && len(got[export.DetailTypeResult]) >= 3 {
			break
		}
	}
	if len(got[export.DetailTypeFinding]) != 1 || len(got[export.DetailTypeResult]) != 3 {
		t.Fatalf("central bus: %d findings and %d results, want 1 and 3 (containment + two restores)", len(got[export.DetailTypeFinding]), len(got[export.DetailTypeResult]))
	}
	ev := got[export.DetailTypeFinding][0]
	detail, _ := ev["detail"].(map[string]any)
	// The envelope's "account" (the sender, set by EventBridge) is not filled in by moto; the
	// member account is in the v1 detail either way.
	if ev["source"] != export.Source || detail["id"] != f.ID || detail["account"] != awstest.Account || detail["schema"] != "sesguard.finding/v1" {
		t.Errorf("central event %v", ev)
	}
	t.Logf("central event: source=%v detail-type=%v detail.account=%v detail.rule=%v detail.principal=%v", ev["source"], ev["detail-type"], detail["account"], detail["rule"], detail["principal"])
}
