package topic

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// TestPublishAgainstMoto publishes a finding and a result and reads them back from an SQS queue
// subscribed with the SNS envelope, checking body and message attributes.
func TestPublishAgainstMoto(t *testing.T) {
	m := awstest.Start(t)
	tq := m.SeedTopicQueue(t, "findings", "findings-all", false)
	cfg := m.Config(t)
	p := New(sns.NewFromConfig(cfg), tq.TopicARN)
	ctx := context.Background()

	f := &finding.Finding{
		ID: "f-1", Rule: "network.outside_approved", Severity: finding.SeverityHigh, Account: awstest.Account,
		Principal: finding.Principal{Name: "ses-smtp-user.1", Kind: finding.KindUser},
		Actions:   []string{"deactivate_keys"}, Mode: "enforce",
	}
	if _, err := p.PublishFinding(ctx, f); err != nil {
		t.Fatal(err)
	}
	r := &finding.Result{FindingID: "f-1", Rule: f.Rule, Severity: f.Severity, Account: f.Account, Principal: f.Principal, Mode: "enforce", Time: time.Now()}
	if _, err := p.PublishResult(ctx, r); err != nil {
		t.Fatal(err)
	}

	sq := sqs.NewFromConfig(cfg)
	out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(tq.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 2 {
		t.Fatalf("got %d messages, want 2", len(out.Messages))
	}
	types := map[string]bool{}
	for _, msg := range out.Messages {
		var env struct {
			Message           string
			MessageAttributes map[string]struct{ Type, Value string }
		}
		if err := json.Unmarshal([]byte(aws.ToString(msg.Body)), &env); err != nil {
			t.Fatal(err)
		}
		gf, gr, err := finding.Decode([]byte(env.Message))
		if err != nil {
			t.Fatal(err)
		}
		typ := env.MessageAttributes[AttrType].Value
		types[typ] = true
		switch typ {
		case finding.TypeFinding:
			if gf == nil || gf.ID != "f-1" || gf.Schema != finding.SchemaFinding {
				t.Errorf("finding body = %+v", gf)
			}
			for k, want := range map[string]string{AttrRule: f.Rule, AttrSeverity: "high", AttrPrincipal: "ses-smtp-user.1", AttrAccount: awstest.Account, AttrActionable: "true", AttrMode: "enforce"} {
				if got := env.MessageAttributes[k].Value; got != want {
					t.Errorf("finding attribute %s = %q, want %q", k, got, want)
				}
			}
		case finding.TypeResult:
			if gr == nil || gr.FindingID != "f-1" || gr.Schema != finding.SchemaResult {
				t.Errorf("result body = %+v", gr)
			}
		default:
			t.Errorf("unexpected type attribute %q", typ)
		}
	}
	if !types[finding.TypeFinding] || !types[finding.TypeResult] {
		t.Errorf("types seen = %v", types)
	}
}
