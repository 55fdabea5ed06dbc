package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// TestRestoreAnnounces: a restore with a findings topic publishes the restored action as a
// containment result of the ledger row's finding, with the attributes subscriptions filter on;
// when publishing fails the restore still happened and the exit status says the announcement did not.
func TestRestoreAnnounces(t *testing.T) {
	m := awstest.Start(t)
	m.Setenv(t)
	t.Setenv(envTable, "sesguard-state")
	t.Setenv("USER", "bob")
	m.SeedStateTable(t, "sesguard-state")
	u := m.SeedSMTPUser(t, "ses-smtp-user.20260112-101500")
	f := cliFinding(u, "f-announce")
	m.SeedKeyLastUsed(u.KeyIDs[1], "ses-smtp", "us-east-1", f.WindowStart.Add(time.Minute))
	tq := m.SeedTopicQueue(t, "findings", "inbox", false)

	code, out, errOut := runCmd(t, "", "contain", "--finding", writeFinding(t, f), "--enforce", "--format", "json")
	if code != exitOK {
		t.Fatalf("enforce: %d %s %s", code, out, errOut)
	}
	_, res, err := finding.Decode([]byte(strings.SplitN(out, "\n", 2)[0]))
	if err != nil {
		t.Fatal(err)
	}
	id := res.Actions[0].ActionID

	t.Setenv(envFindingsTopic, "arn:aws:sns:us-east-1:123456789012:no-such-topic")
	if code, _, errOut = runCmd(t, "", "restore", id); code != exitInput || !strings.Contains(errOut, "is restored, but announcing it failed") {
		t.Fatalf("restore with a broken topic: code %d %s", code, errOut)
	}
	// Rerun: already restored, announced this time (flag beats the environment).
	if code, out, errOut = runCmd(t, "", "restore", id, "--findings-topic", tq.TopicARN); code != exitOK {
		t.Fatalf("restore: code %d %s %s", code, out, errOut)
	}
	msgs, err := sqs.NewFromConfig(m.Config(t)).ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(tq.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil || len(msgs.Messages) != 1 {
		t.Fatalf("announcements: %v, %v", msgs, err)
	}
	var env struct {
		Message           string
		MessageAttributes map[string]struct{ Value string }
	}
	if err := json.Unmarshal([]byte(aws.ToString(msgs.Messages[0].Body)), &env); err != nil {
		t.Fatal(err)
	}
	_, r, err := finding.Decode([]byte(env.Message))
	if err != nil || r == nil {
		t.Fatalf("announcement %q: %v", env.Message, err)
	}
	if r.FindingID != f.ID || r.Rule != f.Rule || r.Actor != "cli:bob" || len(r.Actions) != 1 || r.Actions[0].Outcome != finding.OutcomeRestored || r.Actions[0].ActionID != id {
		t.Errorf("announced result %+v", r)
	}
	if env.MessageAttributes["type"].Value != finding.TypeResult || env.MessageAttributes["rule"].Value != f.Rule {
		t.Errorf("attributes %v", env.MessageAttributes)
	}
}
