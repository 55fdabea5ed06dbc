package ocsf

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sesguard/sesguard/shared/core/finding"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func sampleFinding() *finding.Finding {
	t0 := time.Date(2026, 5, 4, 9, 15, 0, 0, time.UTC)
	return &finding.Finding{
		Schema: finding.SchemaFinding, ID: "f-network.outside_approved-111122223333-ci-deploy-20260504T0915",
		Rule: "network.outside_approved", Severity: finding.SeverityHigh, Account: "111122223333", Region: "eu-west-1",
		Principal: finding.Principal{Name: "ses-smtp-user.20260101", Kind: finding.KindUser,
			ARN: "arn:aws:iam::111122223333:user/ses-smtp-user.20260101", AccessKeyID: "AKIAIOSFODNN7EXAMPLE"},
		SourceIP: "203.0.113.77", WindowStart: t0, WindowEnd: t0.Add(5 * time.Minute),
		Evidence: finding.Evidence{
			MessageIDs: []string{"0102018f3a6bb7e2-000000"}, Count: 1234,
			FirstSeen: t0.Add(12 * time.Second), LastSeen: t0.Add(4*time.Minute + 50*time.Second),
			From: []string{"Billing <billing@mail.example.com>"}, Identity: "mail.example.com", ConfigurationSet: "prod-outbound",
			Detail: "203.0.113.77 not in approved networks (10.20.0.0/16, vpc-0a1b2c)",
		},
		Actions: []string{"deactivate_keys", "deny_send_policy"}, Mode: "enforce",
	}
}

func coverageFinding() *finding.Finding {
	t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	return &finding.Finding{Schema: finding.SchemaFinding, ID: "cov-set-unmonitored-marketing", Rule: "coverage.set_unmonitored",
		Severity: finding.SeverityMedium, Account: "111122223333", Region: "eu-west-1", Principal: finding.Principal{Kind: finding.KindUnknown},
		WindowStart: t0, WindowEnd: t0, Evidence: finding.Evidence{Count: 1, Detail: "configuration set marketing publishes no events"}, Actions: []string{}}
}

func result(o finding.Outcome) *finding.Result {
	return &finding.Result{Schema: finding.SchemaResult, FindingID: sampleFinding().ID, Rule: "network.outside_approved",
		Severity: finding.SeverityHigh, Account: "111122223333", Region: "eu-west-1",
		Principal: finding.Principal{Name: "ses-smtp-user.20260101", Kind: finding.KindUser, AccessKeyID: "AKIAIOSFODNN7EXAMPLE"},
		SourceIP:  "203.0.113.77", Mode: "enforce", Actor: "sesguard-respond", Time: time.Date(2026, 5, 4, 9, 16, 2, 0, time.UTC),
		Actions: []finding.ActionResult{{ActionID: "act-1", Action: "deactivate_keys", Target: "ses-smtp-user.20260101", Outcome: o,
			Changes: []string{"AKIAIOSFODNN7EXAMPLE: Active -> Inactive"}}}}
}

func encode(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		render func() (DetectionFinding, error)
		status int
	}{
		{"finding_user.json", func() (DetectionFinding, error) { return Finding(sampleFinding(), ActivityCreate) }, StatusNew},
		{"finding_coverage.json", func() (DetectionFinding, error) { return Finding(coverageFinding(), ActivityCreate) }, StatusNew},
		{"result_contained.json", func() (DetectionFinding, error) { return Result(result(finding.OutcomeApplied)) }, StatusInProgress},
		{"result_restored.json", func() (DetectionFinding, error) { return Result(result(finding.OutcomeRestored)) }, StatusResolved},
		{"result_failed.json", func() (DetectionFinding, error) { return Result(result(finding.OutcomeFailed)) }, StatusNew},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.render()
			if err != nil {
				t.Fatal(err)
			}
			got := encode(t, d)
			validate(t, got)
			if d.StatusID != tc.status {
				t.Errorf("status_id %d, want %d", d.StatusID, tc.status)
			}
			path := filepath.Join("testdata", tc.name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./shared/render/ocsf/ -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("differs from %s:\n%s", path, got)
			}
		})
	}
}

// validate checks the JSON against what OCSF 1.1.0 requires of a Detection Finding: the base
// event's required attributes (activity_id, category_uid, class_uid, metadata with product and
// version, severity_id, time, type_uid = class_uid*100+activity_id), the finding class's
// finding_info with uid and title, and the cloud profile's cloud.provider.
func validate(t *testing.T, raw []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	num := func(k string) float64 {
		v, ok := m[k].(float64)
		if !ok {
			t.Errorf("required %s missing or not a number", k)
		}
		return v
	}
	if num("class_uid") != 2004 || num("category_uid") != 2 {
		t.Errorf("class/category %v/%v", m["class_uid"], m["category_uid"])
	}
	act := num("activity_id")
	if act != 1 && act != 2 {
		t.Errorf("activity_id %v", act)
	}
	if num("type_uid") != 2004*100+act {
		t.Errorf("type_uid %v", m["type_uid"])
	}
	if s := num("severity_id"); s < 0 || s > 6 {
		t.Errorf("severity_id %v", s)
	}
	if num("time") < 1e12 {
		t.Errorf("time %v is not epoch milliseconds", m["time"])
	}
	if s := num("status_id"); s != 1 && s != 2 && s != 4 {
		t.Errorf("status_id %v", s)
	}
	md, _ := m["metadata"].(map[string]any)
	prod, _ := md["product"].(map[string]any)
	if v, _ := md["version"].(string); !strings.HasPrefix(v, "1.") || prod["name"] == nil || prod["vendor_name"] == nil {
		t.Errorf("metadata %v", md)
	}
	fi, _ := m["finding_info"].(map[string]any)
	if fi["uid"] == "" || fi["uid"] == nil || fi["title"] == "" || fi["title"] == nil {
		t.Errorf("finding_info %v", fi)
	}
	cl, _ := m["cloud"].(map[string]any)
	if cl["provider"] != "AWS" {
		t.Errorf("cloud %v", cl)
	}
}

func TestHostileText(t *testing.T) {
	for _, h := range []string{"Bill\u202eing\r\n@channel \x00", strings.Repeat("e\u0301\u0301\u0301\u0301", 4000), "\xff\xfe"} {
		f := sampleFinding()
		f.Evidence.From, f.Evidence.Identity, f.Principal.Name, f.Evidence.Detail = []string{h}, h, h, h
		d, err := Finding(f, ActivityCreate)
		if err != nil {
			t.Fatal(err)
		}
		raw := encode(t, d)
		validate(t, raw)
		if !utf8.Valid(raw) || strings.Contains(string(raw), "@channel") {
			t.Errorf("unsafe output")
		}
		for _, r := range d.Info.Desc + d.Info.Title + d.Unmapped.Identity + strings.Join(d.Unmapped.From, "") {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("control/format character %U", r)
			}
		}
		if n := utf8.RuneCountInString(d.Info.Desc); n > 1024 {
			t.Errorf("desc %d characters", n)
		}
	}
}

func TestBadInput(t *testing.T) {
	f := sampleFinding()
	f.ID = ""
	if _, err := Finding(f, ActivityCreate); err == nil {
		t.Error("finding without id rendered")
	}
	f = sampleFinding()
	f.Evidence.LastSeen, f.WindowStart = time.Time{}, time.Time{}
	if _, err := Finding(f, ActivityCreate); err == nil || !strings.Contains(err.Error(), "last_seen") {
		t.Errorf("finding without time: %v", err)
	}
	if _, err := Result(&finding.Result{FindingID: "x"}); err == nil || !strings.Contains(err.Error(), "time") {
		t.Errorf("result without time: %v", err)
	}
}

func BenchmarkFinding(b *testing.B) {
	f := sampleFinding()
	b.ReportAllocs()
	for b.Loop() {
		d, err := Finding(f, ActivityCreate)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(d); err != nil {
			b.Fatal(err)
		}
	}
}
