package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/sesguard/sesguard/shared/engine/coverage"
	"github.com/sesguard/sesguard/shared/policy"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

func TestCoverageCommand(t *testing.T) {
	m := awstest.Start(t)
	m.Setenv(t)
	c := sesv2.NewFromConfig(m.Config(t))
	addDest := func(set, name string) {
		if _, err := c.CreateConfigurationSetEventDestination(context.Background(), &sesv2.CreateConfigurationSetEventDestinationInput{
			ConfigurationSetName: aws.String(set), EventDestinationName: aws.String(name),
			EventDestination: &types.EventDestinationDefinition{Enabled: true, MatchingEventTypes: coverage.DefaultRequiredTypes(),
				EventBridgeDestination: &types.EventBridgeDestination{EventBusArn: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/default")}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	m.SeedIdentity(t, "mail.example.com", "prod-outbound")
	addDest("prod-outbound", "sesguard-eventbridge")
	sentinelRegions(t, m) // every other enabled SES Region has its sentinel (coverage_regions_test.go)

	t.Run("all monitored", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", nil, "coverage")
		if code != exitOK {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		for _, w := range []string{"mail.example.com", "prod-outbound", "sesguard-eventbridge(eventbridge)", "OK: 1 identities and 1 configuration sets in us-east-1 are all monitored"} {
			if !strings.Contains(out, w) {
				t.Errorf("stdout lacks %q:\n%s", w, out)
			}
		}
	})

	m.SeedIdentity(t, "ops@example.org", "")
	m.SeedConfigurationSet(t, "shadow")
	addDest("shadow", "audit-eventbridge")

	t.Run("gaps exit 2", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", nil, "coverage")
		if code != exitInput {
			t.Fatalf("exit %d, want %d\n%s\n%s", code, exitInput, out, errOut)
		}
		for _, w := range []string{"2 gap(s) in us-east-1:", "coverage.identity_no_default_set", "identity ops@example.org",
			"coverage.set_unmonitored", "configuration set shadow", "audit-eventbridge(eventbridge)"} {
			if !strings.Contains(out, w) {
				t.Errorf("stdout lacks %q:\n%s", w, out)
			}
		}
	})

	t.Run("custom prefix makes shadow monitored, json", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", nil, "coverage", "--destination-prefix", "audit-", "--format", "json")
		if code != exitInput {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		var rep coverage.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		kinds := map[string]string{}
		for _, g := range rep.Gaps {
			kinds[g.Identity+g.ConfigurationSet] = g.Kind
		}
		// With prefix audit-, prod-outbound loses its monitoring and shadow gains it.
		want := map[string]string{"ops@example.org": coverage.GapIdentityNoDefaultSet, "prod-outbound": coverage.GapSetNoDestination,
			"mail.example.comprod-outbound": coverage.GapIdentityDefaultUnwatch}
		if len(kinds) != len(want) {
			t.Errorf("gaps %v, want %v", kinds, want)
		}
		for k, v := range want {
			if kinds[k] != v {
				t.Errorf("%s: %q, want %q (all: %v)", k, kinds[k], v, kinds)
			}
		}
	})

	t.Run("errors and usage", func(t *testing.T) {
		m.Fault(awstest.Fault{Service: "ses", Operation: "POST /v2/email/list-identities", Kind: awstest.FaultAccessDenied})
		code, _, errOut := runCLI(t, "", nil, "coverage")
		m.ClearFaults()
		if code != exitUsage || !strings.Contains(errOut, "list email identities") {
			t.Errorf("denied: exit %d %q", code, errOut)
		}
		for _, args := range [][]string{{"--format", "yaml"}, {"x"}, {"--destination-prefix", ""}} {
			if code, _, _ := runCLI(t, "", nil, append([]string{"coverage"}, args...)...); code != exitUsage {
				t.Errorf("%v: exit %d", args, code)
			}
		}
		if code, _, errOut := runCLI(t, "", nil, "coverage", "-h"); code != exitOK || !strings.Contains(errOut, "Exit status") {
			t.Errorf("help: %d %q", code, errOut)
		}
		t.Setenv("AWS_REGION", "")
		t.Setenv("AWS_DEFAULT_REGION", "")
		if code, _, errOut := runCLI(t, "", nil, "coverage"); code != exitUsage || !strings.Contains(errOut, "no AWS Region") {
			t.Errorf("no region: %d %q", code, errOut)
		}
		// --region supplies it (moto answers for any Region; the report names it).
		if code, out, errOut := runCLI(t, "", nil, "coverage", "--region", "eu-west-1"); code == exitUsage || !strings.Contains(out, "in eu-west-1") {
			t.Errorf("--region: %d %q %q", code, out, errOut)
		}
	})
}

// TestOperatorExamples prints the README's keys and coverage examples: the real commands against
// a seeded moto. It runs only with SESGUARD_PRINT_EXAMPLES=1 (go test -run OperatorExamples -v).
func TestOperatorExamples(t *testing.T) {
	if os.Getenv("SESGUARD_PRINT_EXAMPLES") == "" {
		t.Skip("set SESGUARD_PRINT_EXAMPLES=1 to print the README examples")
	}
	m := awstest.Start(t)
	m.Setenv(t)
	ctx := context.Background()
	ic := iam.NewFromConfig(m.Config(t))
	smtpUser := m.SeedSMTPUser(t, "ses-smtp-user.20260112-101500")
	oldSMTP := m.SeedSMTPUser(t, "ses-smtp-user.20190301-090000")
	user := func(name string) string {
		if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		k, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(k.AccessKey.AccessKeyId)
	}
	ci, backup := user("ci-deploy"), user("s3-backup")
	at := time.Date(2026, 11, 23, 6, 40, 0, 0, time.UTC)
	m.SeedKeyLastUsed(smtpUser.KeyIDs[0], "ses-smtp", "eu-west-1", at)
	m.SeedKeyLastUsed(oldSMTP.KeyIDs[1], "ses-smtp", "eu-west-1", at.Add(-3*time.Hour))
	m.SeedKeyLastUsed(ci, "ses", "ap-southeast-1", at.Add(-20*time.Minute))
	m.SeedKeyLastUsed(backup, "s3", "eu-west-1", at.Add(-26*time.Hour))
	pol := writeFile(t, "sesguard.yaml", string(policy.Example()))
	_, out, errOut := runCLI(t, "", nil, "keys", "--policy", pol)
	t.Logf("$ sesguard keys --policy sesguard.yaml\n%s%s", errOut, out)

	sc := sesv2.NewFromConfig(m.Config(t))
	dest := func(set, name string, d types.EventDestinationDefinition) {
		d.Enabled, d.MatchingEventTypes = true, coverage.DefaultRequiredTypes()
		if _, err := sc.CreateConfigurationSetEventDestination(ctx, &sesv2.CreateConfigurationSetEventDestinationInput{
			ConfigurationSetName: aws.String(set), EventDestinationName: aws.String(name), EventDestination: &d}); err != nil {
			t.Fatal(err)
		}
	}
	eb := types.EventDestinationDefinition{EventBridgeDestination: &types.EventBridgeDestination{EventBusArn: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/default")}}
	fh := types.EventDestinationDefinition{KinesisFirehoseDestination: &types.KinesisFirehoseDestination{
		DeliveryStreamArn: aws.String("arn:aws:firehose:us-east-1:123456789012:deliverystream/sesguard-archive"), IamRoleArn: aws.String("arn:aws:iam::123456789012:role/ses")}}
	m.SeedIdentity(t, "mail.example.com", "prod-outbound")
	dest("prod-outbound", "sesguard-eventbridge", eb)
	dest("prod-outbound", "sesguard-archive", fh)
	m.SeedIdentity(t, "news.example.com", "marketing")
	dest("marketing", "sesguard-archive", fh)
	m.SeedIdentity(t, "alerts@example.org", "")
	m.SeedConfigurationSet(t, "test-sandbox")
	_, out, errOut = runCLI(t, "", nil, "coverage")
	t.Logf("$ sesguard coverage\n%s%s", errOut, out)
}
