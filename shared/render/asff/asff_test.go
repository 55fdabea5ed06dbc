package asff

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/sesguard/sesguard/shared/core/finding"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

var prod = Product{Region: "eu-west-1", Account: "111122223333"}

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
			MessageIDs:       []string{"0102018f3a6bb7e2-000000", "0102018f3a6bb7e3-000000"},
			Count:            1234,
			FirstSeen:        t0.Add(12 * time.Second),
			LastSeen:         t0.Add(4*time.Minute + 50*time.Second),
			From:             []string{"Billing <billing@mail.example.com>"},
			Identity:         "mail.example.com",
			ConfigurationSet: "prod-outbound",
			RecipientsSample: []string{"victim1@example.org"},
			Detail:           "203.0.113.77 not in approved networks (10.20.0.0/16, vpc-0a1b2c)",
		},
		Actions: []string{"deactivate_keys", "deny_send_policy"},
		Mode:    "enforce",
	}
}

func roleFinding() *finding.Finding {
	f := sampleFinding()
	f.ID, f.Rule, f.Severity = "f-sender.principal_unapproved-role", "sender.principal_unapproved", finding.SeverityCritical
	f.Principal = finding.Principal{Name: "mailer-task-role", Kind: finding.KindRole}
	f.SourceIP = "2001:db8::7"
	f.Evidence.ConfigurationSet = ""
	f.Mode = "dry-run"
	return f
}

func coverageFinding() *finding.Finding {
	t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	return &finding.Finding{
		Schema: finding.SchemaFinding, ID: "cov-set-unmonitored-marketing", Rule: "coverage.set_unmonitored",
		Severity: finding.SeverityMedium, Account: "111122223333", Region: "eu-west-1",
		Principal: finding.Principal{Kind: finding.KindUnknown}, WindowStart: t0, WindowEnd: t0,
		Evidence: finding.Evidence{Count: 1, Detail: "configuration set marketing publishes no events to sesguard"},
		Actions:  []string{},
	}
}

func result(outcomes ...finding.Outcome) *finding.Result {
	r := &finding.Result{
		Schema: finding.SchemaResult, FindingID: sampleFinding().ID, Rule: "network.outside_approved",
		Severity: finding.SeverityHigh, Account: "111122223333", Region: "eu-west-1",
		Principal: finding.Principal{Name: "ses-smtp-user.20260101", Kind: finding.KindUser, AccessKeyID: "AKIAIOSFODNN7EXAMPLE"},
		Mode:      "enforce", Actor: "sesguard-respond", Time: time.Date(2026, 5, 4, 9, 16, 2, 0, time.UTC),
	}
	actions := []string{"deactivate_keys", "deny_send_policy", "pause_configuration_set"}
	for i, o := range outcomes {
		a := finding.ActionResult{ActionID: "act-" + actions[i%3], Action: actions[i%3], Target: "ses-smtp-user.20260101", Outcome: o}
		switch o {
		case finding.OutcomeApplied:
			a.Changes, a.Restore = []string{"AKIAIOSFODNN7EXAMPLE: Active -> Inactive"}, "sesguard restore act-"+actions[i%3]
		case finding.OutcomeFailed:
			a.Error = "AccessDenied: not authorized to perform ses:PutConfigurationSetSendingOptions"
		case finding.OutcomeRestored:
			a.Changes = []string{"AKIAIOSFODNN7EXAMPLE: Inactive -> Active"}
		case finding.OutcomePlanned:
			r.Mode = "dry-run"
		}
		r.Actions = append(r.Actions, a)
	}
	return r
}

// canonicalJSON is v as JSON without the SDK's nil pointers and empty collections: the ASFF a
// reader sees, stable for golden files.
func canonicalJSON(t testing.TB, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(prune(m)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			e = prune(e)
			if e == nil || e == "" {
				delete(x, k)
				continue
			}
			if l, ok := e.([]any); ok && len(l) == 0 {
				delete(x, k)
				continue
			}
			if mm, ok := e.(map[string]any); ok && len(mm) == 0 {
				delete(x, k)
				continue
			}
			x[k] = e
		}
		return x
	case []any:
		for i := range x {
			x[i] = prune(x[i])
		}
	}
	return v
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./shared/render/asff/ -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

func TestFindingGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *finding.Finding
	}{
		{"finding_user.json", sampleFinding()},
		{"finding_role.json", roleFinding()},
		{"finding_coverage.json", coverageFinding()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Finding(tc.f, prod)
			if err != nil {
				t.Fatal(err)
			}
			validate(t, got)
			golden(t, tc.name, canonicalJSON(t, got))
		})
	}
}

func TestResultGolden(t *testing.T) {
	for _, tc := range []struct {
		name     string
		r        *finding.Result
		workflow types.WorkflowStatus
	}{
		{"result_contained.json", result(finding.OutcomeApplied, finding.OutcomeAlreadyContained), types.WorkflowStatusNotified},
		{"result_partial_failure.json", result(finding.OutcomeApplied, finding.OutcomeApplied, finding.OutcomeFailed), ""},
		{"result_restored.json", result(finding.OutcomeRestored), types.WorkflowStatusResolved},
		{"result_dryrun.json", result(finding.OutcomePlanned, finding.OutcomePlanned), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := Result(tc.r, prod)
			if err != nil {
				t.Fatal(err)
			}
			if u.Workflow != tc.workflow {
				t.Errorf("workflow %q, want %q", u.Workflow, tc.workflow)
			}
			if *u.Identifier.Id != tc.r.FindingID || *u.Identifier.ProductArn != prod.ARN() {
				t.Errorf("identifier %+v", u.Identifier)
			}
			if n := utf8.RuneCountInString(*u.Note.Text); n == 0 || n > MaxNote {
				t.Errorf("note length %d", n)
			}
			golden(t, tc.name, canonicalJSON(t, u))
		})
	}
}

func TestWorkflow(t *testing.T) {
	for _, tc := range []struct {
		outcomes []finding.Outcome
		want     types.WorkflowStatus
	}{
		{[]finding.Outcome{finding.OutcomeApplied}, types.WorkflowStatusNotified},
		{[]finding.Outcome{finding.OutcomeAlreadyContained}, types.WorkflowStatusNotified},
		{[]finding.Outcome{finding.OutcomeApplied, finding.OutcomeSkipped}, types.WorkflowStatusNotified},
		{[]finding.Outcome{finding.OutcomeApplied, finding.OutcomeFailed}, ""},
		{[]finding.Outcome{finding.OutcomeApplied, finding.OutcomeRateCapped}, ""},
		{[]finding.Outcome{finding.OutcomeSkippedProtected}, ""},
		{[]finding.Outcome{finding.OutcomePlanned}, ""},
		{[]finding.Outcome{finding.OutcomeRestored}, types.WorkflowStatusResolved},
		{[]finding.Outcome{finding.OutcomeRestored, finding.OutcomeSkipped}, types.WorkflowStatusResolved},
		{[]finding.Outcome{finding.OutcomeRestored, finding.OutcomeFailed}, ""},
		{nil, ""},
	} {
		if got := Workflow(result(tc.outcomes...)); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.outcomes, got, tc.want)
		}
	}
}

var timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// validate checks what Security Hub requires of an imported finding (ASFF required top-level
// attributes and their limits) and sesguard's own promises.
func validate(t *testing.T, f types.AwsSecurityFinding) {
	t.Helper()
	req := map[string]*string{"SchemaVersion": f.SchemaVersion, "Id": f.Id, "ProductArn": f.ProductArn, "GeneratorId": f.GeneratorId,
		"AwsAccountId": f.AwsAccountId, "CreatedAt": f.CreatedAt, "UpdatedAt": f.UpdatedAt, "Title": f.Title, "Description": f.Description}
	for k, v := range req {
		if v == nil || *v == "" {
			t.Errorf("required %s is empty", k)
		}
	}
	if t.Failed() {
		return
	}
	if *f.SchemaVersion != SchemaVersion {
		t.Errorf("SchemaVersion %q", *f.SchemaVersion)
	}
	if !regexp.MustCompile(`^arn:aws:securityhub:[a-z0-9-]+:(\d{12}):product/(\d{12})/default$`).MatchString(*f.ProductArn) {
		t.Errorf("ProductArn %q", *f.ProductArn)
	}
	if !strings.Contains(*f.ProductArn, ":"+*f.AwsAccountId+":product/"+*f.AwsAccountId+"/") {
		t.Errorf("ProductArn %q is not the account's %s", *f.ProductArn, *f.AwsAccountId)
	}
	for k, v := range map[string]*string{"CreatedAt": f.CreatedAt, "UpdatedAt": f.UpdatedAt, "FirstObservedAt": f.FirstObservedAt, "LastObservedAt": f.LastObservedAt} {
		if v != nil && !timeRE.MatchString(*v) {
			t.Errorf("%s %q is not ISO 8601 UTC", k, *v)
		}
	}
	if *f.UpdatedAt < *f.CreatedAt {
		t.Errorf("UpdatedAt %s before CreatedAt %s", *f.UpdatedAt, *f.CreatedAt)
	}
	if f.Severity == nil || f.FindingProviderFields == nil || f.FindingProviderFields.Severity == nil || f.FindingProviderFields.Severity.Label == "" {
		t.Errorf("no severity label in FindingProviderFields")
	}
	if len(f.Types) == 0 || len(f.FindingProviderFields.Types) == 0 {
		t.Errorf("no Types")
	}
	for _, ty := range f.Types {
		ns, _, _ := strings.Cut(ty, "/")
		switch ns {
		case "Software and Configuration Checks", "TTPs", "Effects", "Unusual Behaviors", "Sensitive Data Identifications":
		default:
			t.Errorf("type %q: namespace %q is not an ASFF namespace", ty, ns)
		}
		if strings.Count(ty, "/") != 2 {
			t.Errorf("type %q is not namespace/category/classifier", ty)
		}
	}
	if n := len(f.Resources); n == 0 || n > MaxResources {
		t.Errorf("%d resources", n)
	}
	for _, r := range f.Resources {
		if r.Id == nil || *r.Id == "" || r.Type == nil || *r.Type == "" {
			t.Errorf("resource without Id or Type: %+v", r)
		}
	}
	if n := utf8.RuneCountInString(*f.Title); n > MaxTitle {
		t.Errorf("Title has %d characters", n)
	}
	if n := utf8.RuneCountInString(*f.Description); n > MaxDescription {
		t.Errorf("Description has %d characters", n)
	}
	if f.SourceUrl != nil {
		t.Errorf("SourceUrl set: %q", *f.SourceUrl)
	}
	if f.Workflow != nil || f.Note != nil {
		t.Errorf("Workflow/Note set at import (Security Hub ignores them after creation)")
	}
	if len(f.ProductFields) > 50 {
		t.Errorf("%d ProductFields (limit 50)", len(f.ProductFields))
	}
	for k, v := range f.ProductFields {
		if len(k) > 128 || utf8.RuneCountInString(v) > 2048 || v == "" {
			t.Errorf("ProductFields %q=%q out of limits", k, v)
		}
	}
	if raw := canonicalJSON(t, f); len(raw) > 240*1024 {
		t.Errorf("finding is %d bytes (limit 240 KB)", len(raw))
	}
}

// TestUpdatedAtFollowsCount: a later send in the same window (higher count, later last_seen)
// re-imports the same Id with a newer UpdatedAt; a redelivery is byte-identical.
func TestUpdatedAtFollowsCount(t *testing.T) {
	f := sampleFinding()
	a, _ := Finding(f, prod)
	again, _ := Finding(f, prod)
	if !bytes.Equal(canonicalJSON(t, a), canonicalJSON(t, again)) {
		t.Error("the same finding rendered twice differs")
	}
	f.Evidence.Count++
	f.Evidence.LastSeen = f.Evidence.LastSeen.Add(3 * time.Second)
	b, _ := Finding(f, prod)
	if *b.Id != *a.Id || *b.CreatedAt != *a.CreatedAt || !(*b.UpdatedAt > *a.UpdatedAt) {
		t.Errorf("update: id %s→%s created %s→%s updated %s→%s", *a.Id, *b.Id, *a.CreatedAt, *b.CreatedAt, *a.UpdatedAt, *b.UpdatedAt)
	}
	if b.ProductFields[FieldCount] != "1235" {
		t.Errorf("count field %q", b.ProductFields[FieldCount])
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(*finding.Finding)
		p    Product
		want string
	}{
		{"no id", func(f *finding.Finding) { f.ID = "" }, prod, "no id"},
		{"no rule", func(f *finding.Finding) { f.Rule = "" }, prod, "no rule"},
		{"no times", func(f *finding.Finding) { f.Evidence.FirstSeen, f.WindowStart = time.Time{}, time.Time{} }, prod, "first_seen"},
		{"bad account", func(*finding.Finding) {}, Product{Region: "eu-west-1", Account: "12"}, "12-digit"},
		{"no region", func(*finding.Finding) {}, Product{Account: "111122223333"}, "region"},
	} {
		f := sampleFinding()
		tc.f(f)
		if _, err := Finding(f, tc.p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	if _, err := Result(&finding.Result{}, prod); err == nil || !strings.Contains(err.Error(), "finding_id") {
		t.Errorf("result without finding_id: %v", err)
	}
}

// hostile is attacker-controlled text: From display names and identities come from the sender.
var hostile = []string{
	"Billing\u202e<moc.live@x>\u202c \r\nBcc: x@y",
	"@here \x00\x07 zero\u200bwidth \xff\xfe invalid",
	strings.Repeat("Z\u0300\u0301\u0302\u0303\u0304", 3000),
	strings.Repeat("界", 5000),
}

// TestHostileText: whatever the sender puts in From, identity or the principal name, every string
// in the ASFF is one line of valid UTF-8 without control or bidi characters, within limits.
func TestHostileText(t *testing.T) {
	for i, h := range hostile {
		f := sampleFinding()
		f.Evidence.From = []string{h, h}
		f.Evidence.Identity = h
		f.Evidence.Detail = h
		f.Principal.Name = h
		f.Principal.ARN = ""
		f.Evidence.MessageIDs = []string{h}
		got, err := Finding(f, prod)
		if err != nil {
			t.Fatal(err)
		}
		validate(t, got)
		checkStrings(t, i, canonicalJSON(t, got))
		r := result(finding.OutcomeFailed)
		r.Actions[0].Error, r.Actions[0].Target, r.Actor = h, h, h
		u, err := Result(r, prod)
		if err != nil {
			t.Fatal(err)
		}
		if n := utf8.RuneCountInString(*u.Note.Text); n > MaxNote {
			t.Errorf("%d: note has %d characters", i, n)
		}
		checkStrings(t, i, canonicalJSON(t, u))
	}
}

func checkStrings(t *testing.T, i int, raw []byte) {
	t.Helper()
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if !utf8.ValidString(x) {
				t.Errorf("%d: invalid UTF-8 %q", i, x)
			}
			for _, r := range x {
				if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
					t.Errorf("%d: control/format character %U in %q", i, r, x)
					return
				}
			}
			if strings.Contains(strings.ToLower(x), "@here") {
				t.Errorf("%d: live mention in %q", i, x)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	var m any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	walk(m)
}

func FuzzFinding(f *testing.F) {
	f.Add("a@b.example", "mail.example.com", "ses-user", "203.0.113.7", int64(3))
	f.Add("\u202e\x00", "\xff", "", "not-an-ip", int64(-1))
	f.Fuzz(func(t *testing.T, from, identity, name, ip string, count int64) {
		fd := sampleFinding()
		fd.Evidence.From, fd.Evidence.Identity, fd.Principal.Name, fd.Principal.ARN, fd.SourceIP, fd.Evidence.Count = []string{from}, identity, name, "", ip, count
		got, err := Finding(fd, prod)
		if err != nil {
			t.Fatal(err)
		}
		validate(t, got)
		checkStrings(t, 0, canonicalJSON(t, got))
	})
}

func BenchmarkFinding(b *testing.B) {
	f := sampleFinding()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Finding(f, prod); err != nil {
			b.Fatal(err)
		}
	}
}
