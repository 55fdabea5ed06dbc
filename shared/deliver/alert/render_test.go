package alert

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/policy"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func sampleFinding() *finding.Finding {
	t0 := time.Date(2026, 5, 4, 9, 15, 0, 0, time.UTC)
	return &finding.Finding{
		Schema:   finding.SchemaFinding,
		ID:       "f-network.outside_approved-111122223333-ci-deploy-20260504T0915",
		Rule:     "network.outside_approved",
		Severity: finding.SeverityHigh,
		Account:  "111122223333",
		Region:   "eu-west-1",
		Principal: finding.Principal{
			Name: "ses-smtp-user.20260101", Kind: finding.KindUser,
			ARN:         "arn:aws:iam::111122223333:user/ses-smtp-user.20260101",
			AccessKeyID: "AKIAIOSFODNN7EXAMPLE",
		},
		SourceIP:    "203.0.113.77",
		WindowStart: t0,
		WindowEnd:   t0.Add(5 * time.Minute),
		Evidence: finding.Evidence{
			MessageIDs:       []string{"0102018f3a6bb7e2-1a2b3c4d-5e6f-4a0b-9c8d-7e6f5a4b3c2d-000000", "0102018f3a6bb7e3-000000"},
			Count:            1234,
			FirstSeen:        t0.Add(12 * time.Second),
			LastSeen:         t0.Add(4*time.Minute + 50*time.Second),
			From:             []string{"Billing <billing@mail.example.com>"},
			Identity:         "mail.example.com",
			ConfigurationSet: "prod-outbound",
			RecipientsSample: []string{"victim1@example.org", "victim2@example.net"},
			Detail:           "203.0.113.77 not in approved networks (10.20.0.0/16, vpc-0a1b2c)",
		},
		Actions: []string{"deactivate_keys", "deny_send_policy"},
		Mode:    "dry-run",
	}
}

func sampleResult(mode string) *finding.Result {
	r := &finding.Result{
		Schema:    finding.SchemaResult,
		FindingID: "f-network.outside_approved-111122223333-ci-deploy-20260504T0915",
		Rule:      "network.outside_approved",
		Severity:  finding.SeverityHigh,
		Account:   "111122223333",
		Region:    "eu-west-1",
		Principal: finding.Principal{Name: "ses-smtp-user.20260101", Kind: finding.KindUser, AccessKeyID: "AKIAIOSFODNN7EXAMPLE"},
		SourceIP:  "203.0.113.77",
		Mode:      mode,
		Actor:     "sesguard-respond",
		Time:      time.Date(2026, 5, 4, 9, 16, 2, 0, time.UTC),
	}
	if mode == "enforce" {
		r.Actions = []finding.ActionResult{
			{ActionID: "act-7f3a9c", Action: "deactivate_keys", Target: "ses-smtp-user.20260101", Outcome: finding.OutcomeApplied,
				Changes: []string{"AKIAIOSFODNN7EXAMPLE: Active -> Inactive"}, Reason: "key last used for ses-smtp inside the window"},
			{ActionID: "act-7f3a9d", Action: "deny_send_policy", Target: "ses-smtp-user.20260101", Outcome: finding.OutcomeApplied,
				Changes: []string{"inline policy SesGuardDenySend attached"}},
			{ActionID: "act-7f3a9e", Action: "pause_configuration_set", Target: "prod-outbound", Outcome: finding.OutcomeFailed,
				Error: "AccessDenied: not authorized to perform ses:PutConfigurationSetSendingOptions"},
		}
	} else {
		r.Actions = []finding.ActionResult{
			{ActionID: "act-7f3a9c", Action: "deactivate_keys", Target: "ses-smtp-user.20260101", Outcome: finding.OutcomePlanned,
				Changes: []string{"AKIAIOSFODNN7EXAMPLE: Active -> Inactive"}},
			{ActionID: "act-7f3a9d", Action: "deny_send_policy", Target: "ses-smtp-user.20260101", Outcome: finding.OutcomePlanned},
		}
	}
	return r
}

// golden compares got (marshalled as indented JSON unless already bytes) with testdata/name.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	var data []byte
	switch v := got.(type) {
	case []byte:
		data = v
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		data = buf.Bytes()
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden %s (run go test ./shared/deliver/alert -run Golden -update): %v", path, err)
	}
	if !bytes.Equal(want, data) {
		t.Errorf("%s differs from golden file (re-run with -update if intended)\n--- got ---\n%s", path, data)
	}
}

func TestGolden(t *testing.T) {
	f := sampleFinding()
	enforced := sampleFinding()
	enforced.Mode = "enforce"
	grown := sampleFinding()
	grown.Evidence.Count = 2600
	tests := []struct {
		name string
		got  any
	}{
		{"slack_finding_dryrun.json", SlackFinding(f)},
		{"slack_finding_enforce.json", SlackFinding(enforced)},
		{"slack_update.json", SlackUpdate(grown, 1234)},
		{"slack_result_enforce.json", SlackResult(sampleResult("enforce"))},
		{"slack_result_dryrun.json", SlackResult(sampleResult("dry-run"))},
		{"sns_finding.json", SNSFinding(f)},
		{"sns_update.json", SNSUpdate(grown, 1234)},
		{"sns_result_enforce.json", SNSResult(sampleResult("enforce"))},
		{"chatbot_finding.json", ChatbotFinding(f)},
		{"chatbot_update.json", ChatbotUpdate(grown, 1234)},
		{"chatbot_result_enforce.json", ChatbotResult(sampleResult("enforce"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { golden(t, tt.name, tt.got) })
	}
	// The SNS bodies are also kept as plain text so reviewers can read them as subscribers will.
	golden(t, "sns_finding.txt", []byte(SNSFinding(f).Body+"\n"))
	golden(t, "sns_result_enforce.txt", []byte(SNSResult(sampleResult("enforce")).Body+"\n"))
}

// TestSlackContent checks the facts an on-call engineer needs are present, independent of layout.
func TestSlackContent(t *testing.T) {
	t.Run("finding dry-run", func(t *testing.T) {
		js := mustJSON(t, SlackFinding(sampleFinding()))
		for _, want := range []string{"111122223333", "eu-west-1", "ses-smtp-user.20260101", "(user)", "203.0.113.77",
			"billing@mail.example.com", "mail.example.com", "prod-outbound", "1,234 sends", "2026-05-04 09:15:12Z",
			"2026-05-04 09:19:50Z", "DRY-RUN — nothing will be changed", "deactivate_keys", `"type":"header"`} {
			if !strings.Contains(js, want) {
				t.Errorf("slack finding lacks %q:\n%s", want, js)
			}
		}
	})
	t.Run("result enforce", func(t *testing.T) {
		msg := SlackResult(sampleResult("enforce"))
		js := mustJSON(t, msg)
		for _, want := range []string{"`sesguard restore act-7f3a9c`", "`sesguard restore act-7f3a9d`", "FAILED", "AccessDenied"} {
			if !strings.Contains(js, want) {
				t.Errorf("slack result lacks %q:\n%s", want, js)
			}
		}
		// A failed action has nothing to restore.
		if strings.Contains(js, "restore act-7f3a9e") {
			t.Errorf("failed action offers a restore command:\n%s", js)
		}
	})
	t.Run("result dry-run", func(t *testing.T) {
		js := mustJSON(t, SlackResult(sampleResult("dry-run")))
		if !strings.Contains(js, "DRY-RUN: nothing was changed") || !strings.Contains(js, "PLANNED (dry-run, not applied)") {
			t.Errorf("dry-run result does not say so:\n%s", js)
		}
		if strings.Contains(js, "sesguard restore") {
			t.Errorf("dry-run result offers restore commands for changes that were not made:\n%s", js)
		}
	})
	t.Run("update has no header", func(t *testing.T) {
		msg := SlackUpdate(sampleFinding(), 600)
		for _, b := range msg.Blocks {
			if b.Type == "header" {
				t.Fatalf("update message has a header block")
			}
		}
		if !strings.HasPrefix(msg.Text, "Update:") || !strings.Contains(msg.Text, "1,234 sends (was 600)") {
			t.Errorf("update text = %q", msg.Text)
		}
	})
	t.Run("unknown mode is reported as dry-run", func(t *testing.T) {
		f := sampleFinding()
		f.Mode = ""
		if js := mustJSON(t, SlackFinding(f)); !strings.Contains(js, "DRY-RUN") {
			t.Errorf("empty mode not treated as dry-run:\n%s", js)
		}
	})
}

func TestSNSRender(t *testing.T) {
	m := SNSFinding(sampleFinding())
	if len(m.Subject) > SNSMaxSubject {
		t.Errorf("subject is %d chars: %q", len(m.Subject), m.Subject)
	}
	want := map[string]string{"rule": "network.outside_approved", "severity": "high", "account": "111122223333",
		"principal": "ses-smtp-user.20260101", "type": "finding", "alert": "page"}
	for k, v := range want {
		if m.Attributes[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, m.Attributes[k], v)
		}
	}
	if !strings.Contains(m.Body, "\nSource IP:          203.0.113.77\n") || !strings.Contains(m.Body, "DRY-RUN") {
		t.Errorf("body:\n%s", m.Body)
	}
	r := SNSResult(sampleResult("enforce"))
	if r.Attributes["type"] != finding.TypeResult || !strings.Contains(r.Body, "undo: sesguard restore act-7f3a9c") {
		t.Errorf("result: %+v", r)
	}
	// Empty values still give SNS-valid attributes.
	e := SNSFinding(&finding.Finding{ID: "x"})
	for k, v := range e.Attributes {
		if v == "" {
			t.Errorf("attribute %s is empty", k)
		}
	}
}

func TestChatbotSchema(t *testing.T) {
	for name, n := range map[string]ChatbotNotification{
		"finding": ChatbotFinding(sampleFinding()),
		"update":  ChatbotUpdate(sampleFinding(), 10),
		"result":  ChatbotResult(sampleResult("enforce")),
	} {
		var m map[string]any
		if err := json.Unmarshal([]byte(mustJSON(t, n)), &m); err != nil {
			t.Fatal(err)
		}
		if m["version"] != "1.0" || m["source"] != "custom" {
			t.Errorf("%s: version/source = %v/%v", name, m["version"], m["source"])
		}
		c, _ := m["content"].(map[string]any)
		md, _ := m["metadata"].(map[string]any)
		if c["title"] == "" || c["description"] == "" || c["textType"] != "client-markdown" {
			t.Errorf("%s: content = %v", name, c)
		}
		if md["threadId"] != "sesguard-"+sampleFinding().ID {
			t.Errorf("%s: threadId = %v (page, update and result must share the thread)", name, md["threadId"])
		}
	}
	// A retry whose outcome differs is a new notification: it must not reuse the first one's id
	// (Chatbot documents id as a unique event identifier).
	first, retry := sampleResult("enforce"), sampleResult("enforce")
	retry.Actions[len(retry.Actions)-1].Outcome = finding.OutcomeApplied
	if a, b := ChatbotResult(first).ID, ChatbotResult(retry).ID; a == b {
		t.Errorf("results with different outcomes share the id %q", a)
	}
	steps := ChatbotResult(sampleResult("enforce")).Content.NextSteps
	if len(steps) != 2 || !strings.Contains(steps[0], "sesguard restore act-7f3a9c") {
		t.Errorf("next steps = %q", steps)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func BenchmarkSlackFinding(b *testing.B) {
	f := sampleFinding()
	b.ReportAllocs()
	for b.Loop() {
		_ = SlackFinding(f)
	}
}

func BenchmarkSlackFindingJSON(b *testing.B) {
	f := sampleFinding()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(SlackFinding(f)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSlackResultAdversarial(b *testing.B) {
	r := sampleResult("enforce")
	big := strings.Repeat("<!channel> *x* ‮", 700)
	r.Principal.Name = big
	for i := range r.Actions {
		r.Actions[i].Reason = big
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = SlackResult(r)
	}
}

func BenchmarkSNSFinding(b *testing.B) {
	f := sampleFinding()
	b.ReportAllocs()
	for b.Loop() {
		_ = SNSFinding(f)
	}
}

func TestTitles(t *testing.T) {
	for _, r := range policy.RuleNames() {
		if got := title(r); strings.HasPrefix(got, "SES finding") {
			t.Errorf("rule %s has no human title", r)
		}
	}
	if got := title("coverage.set_unmonitored"); got != "SES monitoring gap: set unmonitored" {
		t.Errorf("coverage title = %q", got)
	}
	if got := title("future.rule"); got != "SES finding future.rule" {
		t.Errorf("unknown rule title = %q", got)
	}
}
