package attribute_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/engine/attribute"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// countingIAM counts calls so cache behaviour can be asserted on a real client.
type countingIAM struct {
	*iam.Client
	getUser atomic.Int32
}

func (c *countingIAM) GetUser(ctx context.Context, in *iam.GetUserInput, opts ...func(*iam.Options)) (*iam.GetUserOutput, error) {
	c.getUser.Add(1)
	return c.Client.GetUser(ctx, in, opts...)
}

func TestAttributorAgainstMoto(t *testing.T) {
	m := awstest.Start(t)
	ctx := context.Background()
	client := iam.NewFromConfig(m.Config(t))

	smtp := m.SeedSMTPUser(t, "ses-smtp-user.20260112-101500")
	roleARN := m.SeedRole(t, "mailer-task-role")
	// A user recognised as SMTP by its inline policy only, and a plain user.
	for _, u := range []string{"legacy-mailer", "deploy-bot", "attached-mailer"} {
		if _, err := client.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("legacy-mailer"),
		PolicyName: aws.String(attribute.SMTPPolicyName), PolicyDocument: aws.String(awstest.SMTPSendingPolicy)}); err != nil {
		t.Fatal(err)
	}
	pol, err := client.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(attribute.SMTPPolicyName),
		PolicyDocument: aws.String(awstest.SMTPSendingPolicy)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("attached-mailer"), PolicyArn: pol.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	// Two keys with different last-used services: the older one via SMTP, the newer via the API.
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	m.SeedKeyLastUsed(smtp.KeyIDs[0], "ses-smtp", "eu-west-1", t0)
	m.SeedKeyLastUsed(smtp.KeyIDs[1], "ses", "eu-west-1", t0.Add(time.Hour))

	now := t0
	counting := &countingIAM{Client: client}
	a := attribute.New(counting, attribute.WithAccount(awstest.Account), attribute.WithTTL(time.Minute),
		attribute.WithClock(func() time.Time { return now }))

	tests := []struct {
		name     string
		account  string
		wantKind finding.PrincipalKind
		wantARN  string
		wantSMTP bool
		reason   string
	}{
		{"ses-smtp-user.20260112-101500", awstest.Account, finding.KindUser, smtp.ARN, true, ""},
		{"legacy-mailer", awstest.Account, finding.KindUser, "arn:aws:iam::123456789012:user/legacy-mailer", true, ""},
		{"attached-mailer", awstest.Account, finding.KindUser, "arn:aws:iam::123456789012:user/attached-mailer", true, ""},
		{"deploy-bot", awstest.Account, finding.KindUser, "arn:aws:iam::123456789012:user/deploy-bot", false, ""},
		{"mailer-task-role", awstest.Account, finding.KindRole, roleARN, false, ""},
		{"root", awstest.Account, finding.KindRoot, "arn:aws:iam::123456789012:root", false, ""},
		{"ghost", awstest.Account, finding.KindUnknown, "", false, `no IAM user or role named "ghost"`},
		{"", awstest.Account, finding.KindUnknown, "", false, "no caller identity"},
		{"deploy-bot", "999999999999", finding.KindUnknown, "", false, "not the attributing account"},
	}
	for _, tt := range tests {
		p := a.Lookup(ctx, tt.account, tt.name)
		if p.Kind != tt.wantKind || p.ARN != tt.wantARN || p.SMTP != tt.wantSMTP || !strings.Contains(p.Reason, tt.reason) {
			t.Errorf("Lookup(%q, %q) = %+v, want kind %s arn %q smtp %v reason ~%q", tt.account, tt.name, p, tt.wantKind, tt.wantARN, tt.wantSMTP, tt.reason)
		}
	}

	// Keys: both SES keys, the most recent (API) first.
	keys, err := a.Keys(ctx, smtp.UserName)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].AccessKeyID != smtp.KeyIDs[1] || keys[0].Service != "ses" ||
		keys[1].AccessKeyID != smtp.KeyIDs[0] || keys[1].Service != "ses-smtp" || !keys[1].LastUsed.Equal(t0) {
		t.Errorf("keys = %+v", keys)
	}
	if keys[0].Status != "Active" || keys[0].Region != "eu-west-1" {
		t.Errorf("key status/region = %s/%s", keys[0].Status, keys[0].Region)
	}
	// Both keys were used for SES: which one sent is a guess, so the finding names neither (and
	// containment does not narrow to the wrong one).
	fp := a.Attribute(ctx, awstest.Account, smtp.UserName)
	if fp.Kind != finding.KindUser || fp.AccessKeyID != "" || fp.ARN != smtp.ARN {
		t.Errorf("Attribute with two SES keys = %+v, want no key", fp)
	}
	// One key used for SES, the other elsewhere: that key.
	other := m.SeedSMTPUser(t, "ses-smtp-user.20260301-080000")
	m.SeedKeyLastUsed(other.KeyIDs[0], "ses-smtp", "eu-west-1", t0)
	m.SeedKeyLastUsed(other.KeyIDs[1], "s3", "eu-west-1", t0.Add(time.Hour))
	if fp := a.Attribute(ctx, awstest.Account, other.UserName); fp.AccessKeyID != other.KeyIDs[0] {
		t.Errorf("Attribute with one SES key = %+v, want %s", fp, other.KeyIDs[0])
	}
	// A user whose keys were never used for SES gets no key.
	if _, err := client.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("deploy-bot")}); err != nil {
		t.Fatal(err)
	}
	if fp := a.Attribute(ctx, awstest.Account, "deploy-bot"); fp.AccessKeyID != "" || fp.Kind != finding.KindUser {
		t.Errorf("Attribute(deploy-bot) = %+v, want no key", fp)
	}

	// Cache: a second lookup within the TTL makes no IAM call; after it, one.
	before := counting.getUser.Load()
	a.Lookup(ctx, awstest.Account, "deploy-bot")
	if got := counting.getUser.Load(); got != before {
		t.Errorf("cached lookup called GetUser %d times", got-before)
	}
	now = now.Add(2 * time.Minute)
	a.Lookup(ctx, awstest.Account, "deploy-bot")
	if got := counting.getUser.Load(); got != before+1 {
		t.Errorf("expired lookup called GetUser %d times, want 1", got-before)
	}
}

func TestAttributorFailureIsUnknown(t *testing.T) {
	m := awstest.Start(t)
	ctx := context.Background()
	m.SeedRole(t, "mailer-task-role")
	rule := m.Fault(awstest.Fault{Service: "iam", Operation: "GetRole", Kind: awstest.FaultAccessDenied, Times: 1})
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	a := attribute.New(iam.NewFromConfig(m.Config(t)), attribute.WithTTL(10*time.Minute),
		attribute.WithClock(func() time.Time { return now }))

	p := a.Lookup(ctx, awstest.Account, "mailer-task-role")
	if p.Kind != finding.KindUnknown || !strings.Contains(p.Reason, "IAM lookup") || rule.Hits() != 1 {
		t.Fatalf("Lookup under AccessDenied = %+v (hits %d), want unknown", p, rule.Hits())
	}
	// Failures are cached for a tenth of the TTL only.
	now = now.Add(30 * time.Second)
	if p := a.Lookup(ctx, awstest.Account, "mailer-task-role"); p.Kind != finding.KindUnknown {
		t.Errorf("failure not cached: %+v", p)
	}
	now = now.Add(time.Minute)
	if p := a.Lookup(ctx, awstest.Account, "mailer-task-role"); p.Kind != finding.KindRole {
		t.Errorf("after the failure TTL: %+v, want role", p)
	}
}

// Without WithAccount, a caller name from another account (a delegate sender) that matches one
// of the IAM client's principals is not attributed to it: the ARN IAM returns names the account.
func TestAttributorOtherAccountWithoutWithAccount(t *testing.T) {
	m := awstest.Start(t)
	arn := m.SeedRole(t, "mailer")
	a := attribute.New(iam.NewFromConfig(m.Config(t)))
	if p := a.Lookup(context.Background(), "999999999999", "mailer"); p.Kind != finding.KindUnknown || p.ARN != "" ||
		!strings.Contains(p.Reason, "not the attributing account") {
		t.Errorf("Lookup from another account = %+v, want unknown", p)
	}
	if p := a.Lookup(context.Background(), awstest.Account, "mailer"); p.Kind != finding.KindRole || p.ARN != arn {
		t.Errorf("Lookup in the account = %+v, want the role", p)
	}
	if fp := a.Attribute(context.Background(), "999999999999", "mailer"); fp.Kind != finding.KindUnknown || fp.ARN != "" {
		t.Errorf("Attribute from another account = %+v", fp)
	}
}

func TestAttributorAmbiguousName(t *testing.T) {
	m := awstest.Start(t)
	ctx := context.Background()
	m.SeedRole(t, "mailer")
	if _, err := iam.NewFromConfig(m.Config(t)).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("mailer")}); err != nil {
		t.Fatal(err)
	}
	p := attribute.New(iam.NewFromConfig(m.Config(t))).Lookup(ctx, awstest.Account, "mailer")
	if p.Kind != finding.KindUnknown || !strings.Contains(p.Reason, "both an IAM user and an IAM role") {
		t.Errorf("Lookup(mailer) = %+v, want unknown (ambiguous)", p)
	}
}

func TestRankKeys(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	keys := []attribute.KeyUse{
		{AccessKeyID: "AKIA1", Service: "s3", LastUsed: t0.Add(5 * time.Hour)},
		{AccessKeyID: "AKIA2", Service: "N/A"},
		{AccessKeyID: "AKIA3", Service: "ses-smtp", LastUsed: t0.Add(time.Hour)},
		{AccessKeyID: "AKIA4", Service: "ses", LastUsed: t0.Add(2 * time.Hour)},
		{AccessKeyID: "AKIA5", Service: "ses", LastUsed: t0.Add(2 * time.Hour), Created: t0},
	}
	attribute.RankKeys(keys)
	var got []string
	for _, k := range keys {
		got = append(got, k.AccessKeyID)
	}
	if s := strings.Join(got, ","); s != "AKIA5,AKIA4,AKIA3,AKIA1,AKIA2" {
		t.Errorf("rank = %s", s)
	}
}

// A failed SMTP check must not be cached for the full TTL: the user is known, but "not SMTP" was
// a guess under AccessDenied and must be retried after the failure TTL.
func TestAttributorSMTPCheckFailureCachedShort(t *testing.T) {
	m := awstest.Start(t)
	ctx := context.Background()
	c := iam.NewFromConfig(m.Config(t))
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("legacy-mailer")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("legacy-mailer"),
		PolicyName: aws.String(attribute.SMTPPolicyName), PolicyDocument: aws.String(awstest.SMTPSendingPolicy)}); err != nil {
		t.Fatal(err)
	}
	rule := m.Fault(awstest.Fault{Service: "iam", Operation: "ListUserPolicies", Kind: awstest.FaultAccessDenied, Times: 1})
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	a := attribute.New(c, attribute.WithTTL(10*time.Minute), attribute.WithClock(func() time.Time { return now }))

	p := a.Lookup(ctx, awstest.Account, "legacy-mailer")
	if p.Kind != finding.KindUser || p.SMTP || rule.Hits() != 1 {
		t.Fatalf("Lookup under AccessDenied = %+v (hits %d), want user, SMTP unknown", p, rule.Hits())
	}
	now = now.Add(2 * time.Minute) // past the failure TTL, well within the success TTL
	if p := a.Lookup(ctx, awstest.Account, "legacy-mailer"); !p.SMTP {
		t.Errorf("after the failure TTL: %+v, want SMTP user (the failed check stayed cached)", p)
	}
}

// "No such principal" is cached only as long as a failure: the principal may have been created
// moments before it sent (IAM is eventually consistent).
func TestAttributorNotFoundCachedShort(t *testing.T) {
	m := awstest.Start(t)
	ctx := context.Background()
	c := iam.NewFromConfig(m.Config(t))
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	a := attribute.New(c, attribute.WithTTL(10*time.Minute), attribute.WithClock(func() time.Time { return now }))
	if p := a.Lookup(ctx, awstest.Account, "intruder"); p.Kind != finding.KindUnknown {
		t.Fatalf("Lookup(intruder) before it exists = %+v", p)
	}
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("intruder")}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if p := a.Lookup(ctx, awstest.Account, "intruder"); p.Kind != finding.KindUser {
		t.Errorf("Lookup(intruder) 2 minutes after it was created = %+v, want user", p)
	}
}

// A lookup cut short by the caller's context is not cached at all.
func TestAttributorCanceledLookupNotCached(t *testing.T) {
	m := awstest.Start(t)
	m.SeedRole(t, "mailer-task-role")
	a := attribute.New(iam.NewFromConfig(m.Config(t)))
	dead, cancel := context.WithCancel(context.Background())
	cancel()
	if p := a.Lookup(dead, awstest.Account, "mailer-task-role"); p.Kind != finding.KindUnknown {
		t.Fatalf("Lookup on a canceled context = %+v, want unknown", p)
	}
	if p := a.Lookup(context.Background(), awstest.Account, "mailer-task-role"); p.Kind != finding.KindRole {
		t.Errorf("next Lookup = %+v, want role (the canceled failure was cached)", p)
	}
}
