package main

import (
	"bufio"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
)

// TestReplayPlaybooks: each published playbook (events/playbooks, written from the public
// reports) replays under the example policy to a finding that names the exact key and principal
// with a containment plan that is not skipped, from a step before any send; DangerDev's plan also
// contains the user and the key the attacker created; the benign traffic raises nothing.
func TestReplayPlaybooks(t *testing.T) {
	t.Chdir("../..")
	cases := []struct {
		file, principal, key, rule string
		created                    []string // user:action pairs planned on created identities
	}{
		{"wiz-2025.json", "ses-smtp-user.2026legacy", "AKIAZX3WIZCAMPAIGN01", rules.PlaybookMultiRegion, nil},
		{"legion.json", "smtp-relay", "AKIAZX3LEGIONVICT001", rules.PlaybookPersistence,
			[]string{"ses_legion:deactivate_keys", "ses_legion:deny_all_policy", "ses_legion:delete_login_profile"}},
		{"dangerdev.json", "ci-mailer", "AKIAZX3DANGERDEV0001", rules.PlaybookPersistence,
			[]string{"ses:deactivate_keys", "ses:deny_send_policy", "ses:deny_all_policy", "ses:delete_login_profile"}},
		{"trufflehog-validation.json", "newsletter-sender", "AKIAZX3TRUFFLEVAL001", rules.PlaybookKeyValidated, nil},
		{"federation-token.json", "ses-smtp-user.20260301", "AKIAZX3FEDTOKENUSE01", rules.PlaybookPersistence, nil},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			fs := replayJSON(t, "events/playbooks/"+tc.file)
			var f *finding.Finding
			for i := range fs {
				if fs[i].Rule == tc.rule && fs[i].Principal.AccessKeyID == tc.key {
					f = &fs[i]
				}
			}
			if f == nil {
				t.Fatalf("no %s finding of key %s among %d findings", tc.rule, tc.key, len(fs))
			}
			if f.Principal.Name != tc.principal || f.Principal.Kind != finding.KindUser || f.Incident == "" {
				t.Fatalf("finding names %+v (incident %q)", f.Principal, f.Incident)
			}
			var planned []string
			for _, a := range f.Plan {
				if a.Outcome == finding.OutcomePlanned {
					planned = append(planned, a.Target+":"+a.Action)
				}
			}
			if !slices.Contains(planned, tc.principal+":deny_send_policy") {
				t.Fatalf("plan %v does not contain the key's principal", planned)
			}
			if !slices.Contains(planned, tc.principal+":deactivate_keys") {
				t.Errorf("plan %v does not deactivate %s", planned, tc.key)
			}
			for _, c := range tc.created {
				if !slices.Contains(planned, c) {
					t.Errorf("plan %v lacks %s", planned, c)
				}
			}
		})
	}
	t.Run("benign.json", func(t *testing.T) {
		if fs := replayJSON(t, "events/playbooks/benign.json"); len(fs) != 0 {
			t.Fatalf("benign traffic raised %d findings: %+v", len(fs), fs)
		}
	})
}

func replayJSON(t *testing.T, path string) []finding.Finding {
	t.Helper()
	code, out, errOut := runCLI(t, "", nil, "replay", "--format", "json", path)
	if code != exitOK {
		t.Fatalf("replay %s: exit %d\n%s", path, code, errOut)
	}
	var fs []finding.Finding
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var f finding.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		fs = append(fs, f)
	}
	return fs
}
