package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestApprovers(t *testing.T) {
	head := "version: 1\nnetwork: { cidrs: [10.0.0.0/8] }\nresponse:\n"
	tests := []struct {
		name      string
		response  string
		approvers []string
		expiry    time.Duration
		errs      []string // line:col: message prefixes, in order
	}{
		{"defaults", "  mode: dry-run\n", nil, DefaultApprovalExpiry, nil},
		{"approvers and expiry", "  approvers: [U0123ABCD, W0456EFGH]\n  approval_expiry: 4h\n", []string{"U0123ABCD", "W0456EFGH"}, 4 * time.Hour, nil},
		{"empty list", "  approvers: []\n", []string{}, DefaultApprovalExpiry, nil},
		{"bad entries", "  approvers:\n    - U0123ABCD\n    - \"@alice\"\n    - u0123abcd\n    - U0123ABCD\n", nil, DefaultApprovalExpiry, []string{
			`p.yaml:6:7: response.approvers: "@alice": not a Slack user id`,
			`p.yaml:7:7: response.approvers: "u0123abcd": not a Slack user id`,
			`p.yaml:8:7: response.approvers: "U0123ABCD" listed twice`,
		}},
		{"not a list", "  approvers: U0123ABCD\n", nil, DefaultApprovalExpiry, []string{`p.yaml:4:14: response.approvers: expected a list`}},
		{"expiry too short", "  approval_expiry: 30s\n", nil, DefaultApprovalExpiry, []string{`p.yaml:4:20: response.approval_expiry: 30s is outside 1m0s to 168h0m0s`}},
		{"expiry too long", "  approval_expiry: 720h\n", nil, DefaultApprovalExpiry, []string{`p.yaml:4:20: response.approval_expiry: 720h0m0s is outside`}},
		{"expiry garbage", "  approval_expiry: a day\n", nil, DefaultApprovalExpiry, []string{`p.yaml:4:20: response.approval_expiry: "a day" is not a duration`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Load([]byte(head+tc.response), "p.yaml")
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(p.Response.Approvers, ",") != strings.Join(tc.approvers, ",") || p.Response.ApprovalExpiry != tc.expiry {
					t.Errorf("approvers %v expiry %s, want %v %s", p.Response.Approvers, p.Response.ApprovalExpiry, tc.approvers, tc.expiry)
				}
				for _, u := range tc.approvers {
					if !p.Response.Approver(u) {
						t.Errorf("%s is not an approver", u)
					}
				}
				for _, u := range []string{"", "U0123abcd", "u0123ABCD", "U999"} {
					if p.Response.Approver(u) {
						t.Errorf("%q is an approver", u)
					}
				}
				return
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v, want Errors", err)
			}
			if len(errs) != len(tc.errs) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(tc.errs), err)
			}
			for i, want := range tc.errs {
				if !strings.HasPrefix(errs[i].Error(), want) {
					t.Errorf("error %d:\n got  %s\n want %s…", i, errs[i].Error(), want)
				}
			}
		})
	}
}
