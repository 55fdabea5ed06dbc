package policy

import (
	"strings"
	"testing"
)

// TestCallerApproved: principals are identities of an account (issue 23, part 2). A name pattern
// approves only the home account's principal of that name; an ARN pattern names its account.
func TestCallerApproved(t *testing.T) {
	p := testPolicy(t, `version: 1
senders:
  principals: [deploy, "mailer-*", "arn:aws:iam::999988887777:role/partner-mailer"]
`)
	const home, other = "111122223333", "999988887777"
	tests := []struct {
		name string
		c    Caller
		want bool
	}{
		{"home user by name", Caller{Name: "deploy", ARN: "arn:aws:iam::" + home + ":user/deploy", Account: home}, true},
		{"home role by pattern", Caller{Name: "mailer-task", ARN: "arn:aws:iam::" + home + ":role/mailer-task", Account: home}, true},
		{"account unknown: judged by name", Caller{Name: "deploy"}, true},
		{"foreign user named like an approved one", Caller{Name: "deploy", ARN: "arn:aws:iam::" + other + ":user/deploy", Account: other}, false},
		{"foreign role named like an approved pattern", Caller{Name: "mailer-x", ARN: "arn:aws:iam::" + other + ":role/mailer-x", Account: other}, false},
		{"foreign account without an ARN", Caller{Name: "deploy", Account: other}, false},
		{"foreign principal approved by ARN", Caller{Name: "partner-mailer", ARN: "arn:aws:iam::" + other + ":role/partner-mailer", Account: other}, true},
		{"ARN pattern names its account only", Caller{Name: "partner-mailer", ARN: "arn:aws:iam::" + home + ":role/partner-mailer", Account: home}, false},
		{"ARN pattern is no name pattern", Caller{Name: "arn:aws:iam::" + other + ":role/partner-mailer"}, false},
		{"nothing known", Caller{Account: home}, false},
		{"delegate by name and account (SES event)", Caller{Name: "partner-mailer", Account: other}, true},
		{"delegate name in another account", Caller{Name: "partner-mailer", Account: "444455556666"}, false},
		{"delegate of the right account, other name", Caller{Name: "deploy", Account: other}, false},
	}
	for _, tt := range tests {
		if got := p.CallerApproved(tt.c, home); got != tt.want {
			t.Errorf("%s: CallerApproved(%+v) = %v, want %v", tt.name, tt.c, got, tt.want)
		}
	}
	if p.PrincipalApproved("arn:aws:iam::" + other + ":role/partner-mailer") {
		t.Error("PrincipalApproved matched a bare name against an ARN pattern")
	}
	if !p.PrincipalApproved("deploy") {
		t.Error("PrincipalApproved(deploy) = false")
	}
}

func TestSenderPrincipalARNPatterns(t *testing.T) {
	for _, ok := range []string{"arn:aws:iam::999988887777:user/deploy", "arn:aws:iam::999988887777:role/*", "arn:aws-us-gov:iam::999988887777:user/path/x"} {
		if _, err := Load([]byte("version: 1\nsenders: { principals: [\""+ok+"\"] }\n"), "a.yaml"); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"arn:aws:iam::*:user/deploy", "arn:aws:iam::99998888777:user/deploy", "arn:aws:sts::999988887777:assumed-role/r/s", "arn:aws:iam::999988887777:group/g"} {
		_, err := Load([]byte("version: 1\nsenders: { principals: [\""+bad+"\"] }\n"), "a.yaml")
		if err == nil || !strings.Contains(err.Error(), "ARN pattern") {
			t.Errorf("%s: err = %v, want an ARN pattern error", bad, err)
		}
	}
	// protected_principals stay names: the CDK app turns them into user/NAME and role/NAME.
	if _, err := Load([]byte("version: 1\nresponse: { protected_principals: [\"arn:aws:iam::999988887777:user/x\"] }\n"), "a.yaml"); err == nil {
		t.Error("an ARN in protected_principals was accepted")
	}
}

func TestARNAccount(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:iam::999988887777:user/leaked-user": "999988887777",
		"arn:aws:iam::999988887777:root":             "999988887777",
		"arn:aws:sts::111122223333:assumed-role/r/s": "111122223333",
		"leaked-user": "", "arn:aws:iam": "",
	} {
		if got := ARNAccount(in); got != want {
			t.Errorf("ARNAccount(%q) = %q, want %q", in, got, want)
		}
	}
}
