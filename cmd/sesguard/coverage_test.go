package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/sesguard/sesguard/shared/awstest"
	"github.com/sesguard/sesguard/shared/coverage"
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
		defer m.ClearFaults()
		code, _, errOut := runCLI(t, "", nil, "coverage")
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
	})
}
