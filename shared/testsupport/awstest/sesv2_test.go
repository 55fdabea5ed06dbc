package awstest

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

func sendTest(ctx context.Context, c *sesv2.Client, from, set string) error {
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(from),
		Destination:      &types.Destination{ToAddresses: []string{"to@example.org"}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String("s")},
			Body:    &types.Body{Text: &types.Content{Data: aws.String("b")}},
		}},
	}
	if set != "" {
		in.ConfigurationSetName = aws.String(set)
	}
	_, err := c.SendEmail(ctx, in)
	return err
}

func TestSESv2AccountPause(t *testing.T) {
	m := Start(t)
	ctx := context.Background()
	c := sesv2.NewFromConfig(m.Config(t))
	m.SeedIdentity(t, "mail.example.com", "")
	if err := sendTest(ctx, c, "a@mail.example.com", ""); err != nil {
		t.Fatalf("send before pause: %v", err)
	}
	acct, err := c.GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil || !acct.SendingEnabled {
		t.Fatalf("GetAccount before pause = %+v, %v", acct, err)
	}
	// The SDK sends {} for false: the filler must read that as a pause.
	if _, err := c.PutAccountSendingAttributes(ctx, &sesv2.PutAccountSendingAttributesInput{SendingEnabled: false}); err != nil {
		t.Fatalf("pause account: %v", err)
	}
	if acct, err = c.GetAccount(ctx, &sesv2.GetAccountInput{}); err != nil || acct.SendingEnabled {
		t.Fatalf("GetAccount after pause = %+v, %v", acct, err)
	}
	var paused *types.SendingPausedException
	if err := sendTest(ctx, c, "a@mail.example.com", ""); !errors.As(err, &paused) {
		t.Fatalf("send while paused: err = %v, want SendingPausedException", err)
	}
	if _, err := c.PutAccountSendingAttributes(ctx, &sesv2.PutAccountSendingAttributesInput{SendingEnabled: true}); err != nil {
		t.Fatalf("resume account: %v", err)
	}
	if err := sendTest(ctx, c, "a@mail.example.com", ""); err != nil {
		t.Fatalf("send after resume: %v", err)
	}
	m.Reset(t)
	if m.AccountSendingPaused() {
		t.Fatal("reset kept the pause")
	}
}

func TestSESv2ConfigurationSetPauseAndDefaults(t *testing.T) {
	m := Start(t)
	ctx := context.Background()
	c := sesv2.NewFromConfig(m.Config(t))
	m.SeedIdentity(t, "mail.example.com", "prod-outbound")
	m.SeedConfigurationSet(t, "other")

	id, err := c.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String("mail.example.com")})
	if err != nil {
		t.Fatalf("GetEmailIdentity: %v", err)
	}
	if got := aws.ToString(id.ConfigurationSetName); got != "prod-outbound" {
		t.Fatalf("ConfigurationSetName = %q", got)
	}
	if _, err := c.PutConfigurationSetSendingOptions(ctx, &sesv2.PutConfigurationSetSendingOptionsInput{ConfigurationSetName: aws.String("prod-outbound")}); err != nil {
		t.Fatalf("pause set: %v", err)
	}
	cs, err := c.GetConfigurationSet(ctx, &sesv2.GetConfigurationSetInput{ConfigurationSetName: aws.String("prod-outbound")})
	if err != nil || cs.SendingOptions == nil || cs.SendingOptions.SendingEnabled {
		t.Fatalf("GetConfigurationSet after pause = %+v, %v", cs.SendingOptions, err)
	}
	var paused *types.SendingPausedException
	// No explicit set: the identity's default applies.
	if err := sendTest(ctx, c, "Ops <ops@mail.example.com>", ""); !errors.As(err, &paused) {
		t.Fatalf("send via default set: err = %v, want SendingPausedException", err)
	}
	if err := sendTest(ctx, c, "ops@mail.example.com", "other"); err != nil {
		t.Fatalf("send via an unpaused set: %v", err)
	}
	if _, err := c.PutConfigurationSetSendingOptions(ctx, &sesv2.PutConfigurationSetSendingOptionsInput{ConfigurationSetName: aws.String("prod-outbound"), SendingEnabled: true}); err != nil {
		t.Fatalf("resume set: %v", err)
	}
	if err := sendTest(ctx, c, "ops@mail.example.com", ""); err != nil {
		t.Fatalf("send after resume: %v", err)
	}
	var nf *types.NotFoundException
	if _, err := c.PutConfigurationSetSendingOptions(ctx, &sesv2.PutConfigurationSetSendingOptionsInput{ConfigurationSetName: aws.String("missing")}); !errors.As(err, &nf) {
		t.Fatalf("pause missing set: err = %v, want NotFoundException", err)
	}
}

func TestSESv2EventDestinations(t *testing.T) {
	m := Start(t)
	ctx := context.Background()
	c := sesv2.NewFromConfig(m.Config(t))
	m.SeedConfigurationSet(t, "prod-outbound")
	in := &sesv2.CreateConfigurationSetEventDestinationInput{
		ConfigurationSetName: aws.String("prod-outbound"),
		EventDestinationName: aws.String("sesguard"),
		EventDestination: &types.EventDestinationDefinition{
			Enabled:            true,
			MatchingEventTypes: []types.EventType{types.EventTypeSend, types.EventTypeBounce},
			SnsDestination:     &types.SnsDestination{TopicArn: aws.String("arn:aws:sns:us-east-1:123456789012:ses-events")},
		},
	}
	if _, err := c.CreateConfigurationSetEventDestination(ctx, in); err != nil {
		t.Fatalf("create destination: %v", err)
	}
	var exists *types.AlreadyExistsException
	if _, err := c.CreateConfigurationSetEventDestination(ctx, in); !errors.As(err, &exists) {
		t.Fatalf("duplicate destination: err = %v, want AlreadyExistsException", err)
	}
	out, err := c.GetConfigurationSetEventDestinations(ctx, &sesv2.GetConfigurationSetEventDestinationsInput{ConfigurationSetName: aws.String("prod-outbound")})
	if err != nil {
		t.Fatalf("get destinations: %v", err)
	}
	if len(out.EventDestinations) != 1 {
		t.Fatalf("destinations = %+v", out.EventDestinations)
	}
	d := out.EventDestinations[0]
	if aws.ToString(d.Name) != "sesguard" || !d.Enabled || len(d.MatchingEventTypes) != 2 || d.SnsDestination == nil ||
		aws.ToString(d.SnsDestination.TopicArn) != "arn:aws:sns:us-east-1:123456789012:ses-events" {
		t.Fatalf("destination = %+v", d)
	}
	if _, err := c.DeleteConfigurationSetEventDestination(ctx, &sesv2.DeleteConfigurationSetEventDestinationInput{
		ConfigurationSetName: aws.String("prod-outbound"), EventDestinationName: aws.String("sesguard"),
	}); err != nil {
		t.Fatalf("delete destination: %v", err)
	}
	if names := m.EventDestinationNames("prod-outbound"); len(names) != 0 {
		t.Fatalf("after delete: %v", names)
	}
}

func TestSESv2GetConfigurationSetParses(t *testing.T) {
	m := Start(t)
	ctx := context.Background()
	c := sesv2.NewFromConfig(m.Config(t))
	for name, opts := range map[string]*types.SendingOptions{"plain": nil, "created-paused": {SendingEnabled: false}, "created-enabled": {SendingEnabled: true}} {
		if _, err := c.CreateConfigurationSet(ctx, &sesv2.CreateConfigurationSetInput{ConfigurationSetName: aws.String(name), SendingOptions: opts}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		out, err := c.GetConfigurationSet(ctx, &sesv2.GetConfigurationSetInput{ConfigurationSetName: aws.String(name)})
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		want := opts == nil || opts.SendingEnabled
		if out.SendingOptions == nil || out.SendingOptions.SendingEnabled != want {
			t.Errorf("%s: SendingOptions = %+v, want enabled=%v", name, out.SendingOptions, want)
		}
	}
}
