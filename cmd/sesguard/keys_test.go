package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/sesguard/sesguard/shared/ops/keyaudit"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

func TestKeysCommand(t *testing.T) {
	m := awstest.Start(t)
	m.Setenv(t)
	ctx := context.Background()
	c := iam.NewFromConfig(m.Config(t))
	smtpUser := m.SeedSMTPUser(t, "ses-smtp-user.20190301-090000")
	newUser := func(name string) string {
		if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(k.AccessKey.AccessKeyId)
	}
	mailer := newUser("mailer-task")
	leaked := newUser("ci-deploy")
	backup := newUser("=HYPERLINK(evil)") // IAM allows '=' in user names
	at := time.Date(2026, 11, 22, 23, 5, 0, 0, time.UTC)
	m.SeedKeyLastUsed(smtpUser.KeyIDs[0], "ses-smtp", "eu-west-1", at)
	m.SeedKeyLastUsed(mailer, "ses", "eu-west-1", at)
	m.SeedKeyLastUsed(leaked, "ses", "ap-southeast-1", at.Add(time.Hour))
	m.SeedKeyLastUsed(backup, "s3", "eu-west-1", at)
	pol := writeFile(t, "p.yaml", "version: 1\nsenders:\n  principals: [mailer-task]\n")

	t.Run("json with policy", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", nil, "keys", "--policy", pol, "--format", "json")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		got := map[string]keyaudit.Key{}
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			var k keyaudit.Key
			if err := json.Unmarshal(sc.Bytes(), &k); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			got[k.AccessKeyID] = k
		}
		if len(got) != 5 {
			t.Fatalf("want 5 keys, got %d:\n%s", len(got), out)
		}
		if k := got[leaked]; k.User != "ci-deploy" || k.Service != "ses" || k.Region != "ap-southeast-1" || flagList(k) != "unapproved-sender" || !k.LastUsed.Equal(at.Add(time.Hour)) {
			t.Errorf("leaked key: %+v", k)
		}
		if k := got[mailer]; flagList(k) != "" || k.Service != "ses" {
			t.Errorf("approved sender flagged: %+v", k)
		}
		if k := got[smtpUser.KeyIDs[0]]; flagList(k) != "smtp-user,unapproved-sender,unapproved-smtp-user" || k.SMTPReason != "name ses-smtp-user.*" {
			t.Errorf("smtp key: %+v", k)
		}
		if k := got[smtpUser.KeyIDs[1]]; flagList(k) != "smtp-user,unapproved-smtp-user" || !k.LastUsed.IsZero() || k.Service != "" {
			t.Errorf("unused smtp key: %+v", k)
		}
	})

	t.Run("table, ses-only, strict", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", nil, "keys", "--policy", pol, "--ses-only", "--strict")
		if code != exitInput {
			t.Fatalf("--strict with flagged keys: exit %d, want %d; %s", code, exitInput, errOut)
		}
		for _, w := range []string{"USER", "LAST USED (UTC)", "ci-deploy", leaked, "2026-11-23 00:05", "ap-southeast-1", "unapproved-sender",
			"ses-smtp-user.20190301-090000", "never", "4 key(s), 3 flagged unapproved"} {
			if !strings.Contains(out, w) {
				t.Errorf("table lacks %q:\n%s", w, out)
			}
		}
		if strings.Contains(out, backup) {
			t.Errorf("--ses-only kept the S3 key:\n%s", out)
		}
	})

	t.Run("csv defuses formulas; no policy means no unapproved flags", func(t *testing.T) {
		t.Chdir(t.TempDir()) // no ./sesguard.yaml here
		code, out, errOut := runCLI(t, "", nil, "keys", "--format", "csv", "--strict")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if !strings.Contains(errOut, "unapproved-* flags not computed") {
			t.Errorf("stderr should say no policy: %q", errOut)
		}
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 6 || rows[0][0] != "user" {
			t.Fatalf("csv rows: %q", rows)
		}
		for _, r := range rows[1:] {
			if strings.HasPrefix(r[0], "=") {
				t.Errorf("formula not defused: %q", r[0])
			}
			if strings.Contains(r[9], "unapproved") {
				t.Errorf("unapproved flag without a policy: %q", r)
			}
		}
		if !strings.Contains(out, "'=HYPERLINK(evil)") {
			t.Errorf("expected the defused user name in:\n%s", out)
		}
	})

	t.Run("IAM denied", func(t *testing.T) {
		rule := m.Fault(awstest.Fault{Service: "iam", Operation: "ListUsers", Kind: awstest.FaultAccessDenied})
		defer m.ClearFaults()
		code, _, errOut := runCLI(t, "", nil, "keys", "--policy", pol)
		if code != exitUsage || !strings.Contains(errOut, "list users") || !strings.Contains(errOut, "AccessDenied") || rule.Hits() == 0 {
			t.Fatalf("exit %d stderr %q", code, errOut)
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{{"--format", "xml"}, {"extra"}, {"--policy", "/nonexistent.yaml"}} {
			if code, _, _ := runCLI(t, "", nil, append([]string{"keys"}, args...)...); code != exitUsage {
				t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
			}
		}
		if code, _, errOut := runCLI(t, "", nil, "keys", "-h"); code != exitOK || !strings.Contains(errOut, "AmazonSesSendingAccess") {
			t.Errorf("help: exit %d %q", code, errOut)
		}
	})
}
