package coverage

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

var allTypes = []types.EventType{types.EventTypeSend, types.EventTypeReject, types.EventTypeBounce,
	types.EventTypeComplaint, types.EventTypeDelivery, types.EventTypeDeliveryDelay, types.EventTypeRenderingFailure}

// Seed builds an account with one of every coverage situation; exported to the cmd tests via
// a copy there (test files do not cross packages).
func seed(t *testing.T, m *awstest.Moto) {
	t.Helper()
	ctx := context.Background()
	c := sesv2.NewFromConfig(m.Config(t))
	dest := func(set, name string, enabled bool, kinds []types.EventType, d types.EventDestinationDefinition) {
		d.Enabled = enabled
		d.MatchingEventTypes = kinds
		if _, err := c.CreateConfigurationSetEventDestination(ctx, &sesv2.CreateConfigurationSetEventDestinationInput{
			ConfigurationSetName: aws.String(set), EventDestinationName: aws.String(name), EventDestination: &d,
		}); err != nil {
			t.Fatalf("destination %s/%s: %v", set, name, err)
		}
	}
	eb := types.EventDestinationDefinition{EventBridgeDestination: &types.EventBridgeDestination{EventBusArn: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/default")}}
	sns := types.EventDestinationDefinition{SnsDestination: &types.SnsDestination{TopicArn: aws.String("arn:aws:sns:us-east-1:123456789012:ses-events")}}
	fh := types.EventDestinationDefinition{KinesisFirehoseDestination: &types.KinesisFirehoseDestination{
		DeliveryStreamArn: aws.String("arn:aws:firehose:us-east-1:123456789012:deliverystream/sesguard"), IamRoleArn: aws.String("arn:aws:iam::123456789012:role/ses-fh")}}
	cw := types.EventDestinationDefinition{CloudWatchDestination: &types.CloudWatchDestination{DimensionConfigurations: []types.CloudWatchDimensionConfiguration{{
		DimensionName: aws.String("ses:configuration-set"), DimensionValueSource: types.DimensionValueSourceMessageTag, DefaultDimensionValue: aws.String("none")}}}}

	m.SeedIdentity(t, "mail.example.com", "prod-outbound")
	dest("prod-outbound", "sesguard-eventbridge", true, allTypes, eb)
	dest("prod-outbound", "sesguard-archive", true, allTypes, fh)

	m.SeedIdentity(t, "marketing.example.com", "marketing")
	dest("marketing", "sesguard-archive", true, allTypes, fh)

	m.SeedIdentity(t, "noreply@example.org", "")

	m.SeedConfigurationSet(t, "legacy")
	dest("legacy", "cloudwatch-metrics", true, allTypes, cw)

	m.SeedConfigurationSet(t, "paused-dest")
	dest("paused-dest", "sesguard-sns", false, allTypes, sns)

	m.SeedConfigurationSet(t, "partial")
	dest("partial", "sesguard-eventbridge", true, []types.EventType{types.EventTypeSend, types.EventTypeBounce}, eb)

	m.SeedIdentity(t, "old.example.com", "doomed")
	dest("doomed", "sesguard-sns", true, allTypes, sns)
	if _, err := c.DeleteConfigurationSet(ctx, &sesv2.DeleteConfigurationSetInput{ConfigurationSetName: aws.String("doomed")}); err != nil {
		t.Fatal(err)
	}
}

func TestCheckAgainstMoto(t *testing.T) {
	m := awstest.Start(t)
	seed(t, m)
	rep, err := Check(context.Background(), sesv2.NewFromConfig(m.Config(t)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{} // identity-or-set → gap kind
	for _, g := range rep.Gaps {
		key := g.Identity
		if key == "" {
			key = "set:" + g.ConfigurationSet
		}
		if _, dup := got[key]; dup {
			t.Errorf("two gaps for %s", key)
		}
		got[key] = g.Kind
		if g.Detail == "" {
			t.Errorf("gap %+v has no detail", g)
		}
	}
	want := map[string]string{
		"marketing.example.com": GapIdentityDefaultUnwatch,
		"noreply@example.org":   GapIdentityNoDefaultSet,
		"old.example.com":       GapIdentityDefaultMissing,
		"set:marketing":         GapSetNotLive,
		"set:legacy":            GapSetNoDestination,
		"set:paused-dest":       GapSetDestinationsDisabled,
		"set:partial":           GapSetMissingTypes,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: gap %q, want %q", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected gap %s: %s", k, v)
		}
	}
	if rep.Monitored() {
		t.Error("report says monitored")
	}
	for _, g := range rep.Gaps {
		if g.Kind == GapSetMissingTypes && !strings.Contains(g.Detail, "REJECT, COMPLAINT, DELIVERY") {
			t.Errorf("missing types detail: %q", g.Detail)
		}
	}
	var prod *ConfigurationSet
	for i := range rep.ConfigurationSets {
		if rep.ConfigurationSets[i].Name == "prod-outbound" {
			prod = &rep.ConfigurationSets[i]
		}
	}
	if prod == nil || !prod.Monitored || len(prod.Destinations) != 2 || prod.Destinations[0].Kind != "eventbridge" || !prod.Destinations[0].Ours {
		t.Errorf("prod-outbound: %+v", prod)
	}
	if len(rep.Identities) != 4 || rep.Identities[0].Name != "mail.example.com" || !rep.Identities[0].Monitored ||
		rep.Identities[0].DefaultSet != "prod-outbound" || rep.Identities[0].Type != "DOMAIN" {
		t.Errorf("identities: %+v", rep.Identities)
	}

	// A custom prefix: nothing is named "guard-" so every set is unmonitored.
	rep2, err := Check(context.Background(), sesv2.NewFromConfig(m.Config(t)), Options{DestinationPrefix: "guard-"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range rep2.Gaps {
		if g.Kind == GapSetNoDestination {
			n++
		}
	}
	if n != len(rep2.ConfigurationSets) {
		t.Errorf("custom prefix: %d unmonitored sets of %d", n, len(rep2.ConfigurationSets))
	}
}

func TestCheckFullyMonitored(t *testing.T) {
	m := awstest.Start(t)
	c := sesv2.NewFromConfig(m.Config(t))
	m.SeedIdentity(t, "mail.example.com", "prod-outbound")
	if _, err := c.CreateConfigurationSetEventDestination(context.Background(), &sesv2.CreateConfigurationSetEventDestinationInput{
		ConfigurationSetName: aws.String("prod-outbound"), EventDestinationName: aws.String("sesguard-sns"),
		EventDestination: &types.EventDestinationDefinition{Enabled: true, MatchingEventTypes: DefaultRequiredTypes(),
			SnsDestination: &types.SnsDestination{TopicArn: aws.String("arn:aws:sns:us-east-1:123456789012:t")}},
	}); err != nil {
		t.Fatal(err)
	}
	rep, err := Check(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Monitored() || len(rep.Identities) != 1 || !rep.Identities[0].Monitored {
		t.Fatalf("want fully monitored: %+v", rep)
	}
}

func TestCheckErrors(t *testing.T) {
	m := awstest.Start(t)
	m.SeedIdentity(t, "mail.example.com", "prod-outbound")
	m.Fault(awstest.Fault{Service: "ses", Operation: "GET /v2/email/configuration-sets/*/event-destinations", Kind: awstest.FaultAccessDenied})
	_, err := Check(context.Background(), sesv2.NewFromConfig(m.Config(t)), Options{})
	if err == nil || !strings.Contains(err.Error(), "event destinations of configuration set prod-outbound") {
		t.Fatalf("want a wrapped error naming the set, got %v", err)
	}
}
