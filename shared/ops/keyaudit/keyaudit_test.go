package keyaudit

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/sesguard/sesguard/shared/policy"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

const testPolicy = `version: 1
senders:
  principals: ["ses-smtp-user.2026*", "mailer-task"]
`

// seedAccount builds an account with every kind of key the audit must tell apart and returns the
// access key ids by role.
func seedAccount(t *testing.T, m *awstest.Moto) map[string][]string {
	t.Helper()
	ctx := context.Background()
	c := iam.NewFromConfig(m.Config(t))
	keys := map[string][]string{}
	user := func(name string, nkeys int) {
		if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		for range nkeys {
			k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			keys[name] = append(keys[name], aws.ToString(k.AccessKey.AccessKeyId))
		}
	}
	// Console-made SMTP user, approved by pattern; one key used over SMTP, one never.
	approvedSMTP := m.SeedSMTPUser(t, "ses-smtp-user.20260112-101500")
	keys[approvedSMTP.UserName] = approvedSMTP.KeyIDs
	// Console-made SMTP user from an older year: not approved.
	oldSMTP := m.SeedSMTPUser(t, "ses-smtp-user.20190301-090000")
	keys[oldSMTP.UserName] = oldSMTP.KeyIDs
	// SMTP user renamed in the console: recognised by its inline policy only.
	user("legacy-relay", 1)
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("legacy-relay"),
		PolicyName: aws.String(SMTPPolicyName), PolicyDocument: aws.String(awstest.SMTPSendingPolicy)}); err != nil {
		t.Fatal(err)
	}
	// SMTP user recognised by an attached managed policy of that name.
	user("relay-two", 1)
	pol, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(SMTPPolicyName), PolicyDocument: aws.String(awstest.SMTPSendingPolicy)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("relay-two"), PolicyArn: pol.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	user("mailer-task", 1) // approved API sender
	user("ci-deploy", 1)   // not approved, used for SES: the leak
	user("s3-backup", 1)   // used for S3 only
	user("no-keys", 0)     // nothing to audit
	if _, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("s3-backup"),
		AccessKeyId: aws.String(keys["s3-backup"][0]), Status: "Inactive"}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC)
	m.SeedKeyLastUsed(approvedSMTP.KeyIDs[0], ServiceSESSMTP, "eu-west-1", at)
	m.SeedKeyLastUsed(oldSMTP.KeyIDs[1], ServiceSESSMTP, "us-east-1", at.Add(time.Hour))
	m.SeedKeyLastUsed(keys["mailer-task"][0], ServiceSES, "eu-west-1", at)
	m.SeedKeyLastUsed(keys["ci-deploy"][0], ServiceSES, "ap-southeast-1", at.Add(2*time.Hour))
	m.SeedKeyLastUsed(keys["s3-backup"][0], "s3", "eu-west-1", at)
	return keys
}

// pagingIAM serves moto's real ListUsers answers in pages of MaxItems with
// IsTruncated/Marker, as IAM does; moto 5.2.1 ignores MaxItems, so this proves the audit follows
// markers. It counts the pages served.
type pagingIAM struct {
	*iam.Client
	userPages atomic.Int32
}

func page[T any](all []T, marker *string, max *int32) (part []T, next *string) {
	start := 0
	if marker != nil {
		start, _ = strconv.Atoi(*marker)
	}
	end := len(all)
	if max != nil && start+int(*max) < end {
		end = start + int(*max)
		next = aws.String(strconv.Itoa(end))
	}
	return all[start:end], next
}

func (c *pagingIAM) ListUsers(ctx context.Context, in *iam.ListUsersInput, opt ...func(*iam.Options)) (*iam.ListUsersOutput, error) {
	c.userPages.Add(1)
	out, err := c.Client.ListUsers(ctx, &iam.ListUsersInput{PathPrefix: in.PathPrefix}, opt...)
	if err != nil {
		return nil, err
	}
	out.Users, out.Marker = page(out.Users, in.Marker, in.MaxItems)
	out.IsTruncated = out.Marker != nil
	return out, nil
}

func TestAuditAgainstMoto(t *testing.T) {
	m := awstest.Start(t)
	ids := seedAccount(t, m)
	pol, err := policy.Load([]byte(testPolicy), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	api := &pagingIAM{Client: iam.NewFromConfig(m.Config(t))}
	var progress atomic.Int32
	keys, err := Audit(context.Background(), api, Options{Approver: pol, PageSize: 1,
		Progress: func(done, total int) { progress.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if n := api.userPages.Load(); n != 8 {
		t.Errorf("ListUsers pages %d, want 8 (8 users, page size 1)", n)
	}
	if progress.Load() != 8 {
		t.Errorf("progress called %d times, want 8 (one per user)", progress.Load())
	}
	byID := map[string]Key{}
	for _, k := range keys {
		byID[k.AccessKeyID] = k
	}
	if len(keys) != 9 {
		t.Fatalf("got %d keys, want 9 (no-keys user left out): %+v", len(keys), keys)
	}
	tests := []struct {
		name, user       string
		idx              int
		status, service  string
		region           string
		smtp             bool
		reason           string
		flags            []Flag
		wantLastUsedZero bool
	}{
		{"approved SMTP user, used over SMTP", "ses-smtp-user.20260112-101500", 0, "Active", ServiceSESSMTP, "eu-west-1", true, "name ses-smtp-user.*", []Flag{FlagSMTPUser}, false},
		{"approved SMTP user, second key never used", "ses-smtp-user.20260112-101500", 1, "Active", "", "", true, "name ses-smtp-user.*", []Flag{FlagSMTPUser}, true},
		{"old SMTP user, unused key", "ses-smtp-user.20190301-090000", 0, "Active", "", "", true, "name ses-smtp-user.*", []Flag{FlagSMTPUser, FlagUnapprovedSMTPUser}, true},
		{"old SMTP user, used key", "ses-smtp-user.20190301-090000", 1, "Active", ServiceSESSMTP, "us-east-1", true, "name ses-smtp-user.*", []Flag{FlagSMTPUser, FlagUnapprovedSender, FlagUnapprovedSMTPUser}, false},
		{"renamed SMTP user (inline policy)", "legacy-relay", 0, "Active", "", "", true, "inline policy AmazonSesSendingAccess", []Flag{FlagSMTPUser, FlagUnapprovedSMTPUser}, true},
		{"SMTP user by attached policy", "relay-two", 0, "Active", "", "", true, "attached policy AmazonSesSendingAccess", []Flag{FlagSMTPUser, FlagUnapprovedSMTPUser}, true},
		{"approved API sender", "mailer-task", 0, "Active", ServiceSES, "eu-west-1", false, "", nil, false},
		{"unapproved principal sending via the API", "ci-deploy", 0, "Active", ServiceSES, "ap-southeast-1", false, "", []Flag{FlagUnapprovedSender}, false},
		{"inactive key used for S3", "s3-backup", 0, "Inactive", "s3", "eu-west-1", false, "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, ok := byID[ids[tt.user][tt.idx]]
			if !ok {
				t.Fatalf("key %s of %s missing", ids[tt.user][tt.idx], tt.user)
			}
			if k.User != tt.user || k.Status != tt.status || k.Service != tt.service || k.Region != tt.region ||
				k.SMTPUser != tt.smtp || k.SMTPReason != tt.reason || !slices.Equal(k.Flags, tt.flags) {
				t.Errorf("got %+v\nwant user=%s status=%s service=%q region=%q smtp=%v reason=%q flags=%v",
					k, tt.user, tt.status, tt.service, tt.region, tt.smtp, tt.reason, tt.flags)
			}
			if k.LastUsed.IsZero() != tt.wantLastUsedZero {
				t.Errorf("LastUsed %v, want zero=%v", k.LastUsed, tt.wantLastUsedZero)
			}
			if k.Created.IsZero() || !strings.HasPrefix(k.UserARN, "arn:aws:iam::"+awstest.Account+":user/") {
				t.Errorf("created %v arn %q", k.Created, k.UserARN)
			}
		})
	}
	// Sorted by user name.
	if !slices.IsSortedFunc(keys, func(a, b Key) int { return strings.Compare(a.User, b.User) }) {
		t.Error("keys not sorted by user")
	}

	// Without a policy nothing is "unapproved"; SMTP users are still marked.
	plain, err := Audit(context.Background(), api, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range plain {
		if k.Flagged() {
			t.Errorf("no policy given but %s flagged %v", k.AccessKeyID, k.Flags)
		}
	}
}

func TestAuditPropagatesErrors(t *testing.T) {
	m := awstest.Start(t)
	seedAccount(t, m)
	cfg := m.Config(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Audit(ctx, iam.NewFromConfig(cfg), Options{}); err == nil {
		t.Fatal("cancelled context: want an error")
	}
	m.Fault(awstest.Fault{Service: "iam", Operation: "GetAccessKeyLastUsed", Kind: awstest.FaultAccessDenied})
	_, err := Audit(context.Background(), iam.NewFromConfig(cfg), Options{})
	if err == nil || !strings.Contains(err.Error(), "last use of access key") || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("want a wrapped AccessDenied, got %v", err)
	}
}
