package asff

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// blanks are values that are empty to Security Hub: empty, whitespace only, or only characters
// the sanitiser removes (zero-width, control, bidi).
var blanks = []string{"", " ", "\t\n ", "\u200b", "\u202e\u200b\x00", "\xff"}

// TestFindingsMeetModel renders ordinary, worst-case and empty-field findings and checks every
// string against the Security Hub API model (Check). A finding either renders into one Security
// Hub accepts or is refused with an error naming the field; only an id or rule with nothing left
// after cleaning is refused.
func TestFindingsMeetModel(t *testing.T) {
	cases := map[string]*finding.Finding{"sample": sampleFinding(), "role": roleFinding(), "coverage": coverageFinding()}
	for i, h := range hostile {
		f := sampleFinding()
		f.Principal.Name, f.Principal.ARN, f.Principal.AccessKeyID = h, "", h
		f.Evidence.From, f.Evidence.MessageIDs = []string{h, h}, []string{h}
		f.Evidence.Identity, f.Evidence.ConfigurationSet, f.Evidence.Detail = h, h, h
		f.SourceIP, f.Mode, f.Actions = h, h, []string{h, h}
		f.Severity = finding.Severity(h)
		cases[fmt.Sprintf("hostile %d", i)] = f
	}
	for i, b := range blanks {
		f := sampleFinding()
		f.Severity, f.Schema, f.Mode = finding.Severity(b), b, b
		f.Principal = finding.Principal{Name: b, ARN: b, AccessKeyID: b, Kind: finding.PrincipalKind(b)}
		f.Evidence.From, f.Evidence.MessageIDs = []string{b}, []string{b, b}
		f.Evidence.Identity, f.Evidence.ConfigurationSet, f.Evidence.Detail = b, b, b
		f.SourceIP, f.Actions = b, []string{b}
		cases[fmt.Sprintf("blank %d %q", i, b)] = f
		for _, kind := range []finding.PrincipalKind{finding.KindUser, finding.KindRole} {
			g := sampleFinding()
			g.Principal.Kind, g.Principal.Name, g.Principal.ARN = kind, b, b
			cases[fmt.Sprintf("blank %d %q %s name", i, b, kind)] = g
		}
		noSev := sampleFinding()
		noSev.Severity = finding.Severity(b)
		cases[fmt.Sprintf("blank %d %q severity only", i, b)] = noSev
	}
	for name, f := range cases {
		got, err := Finding(f, prod)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if err := Check(got); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Nothing left of the id or rule after cleaning: refused, naming the field.
	for _, b := range blanks[3:5] {
		f := sampleFinding()
		f.ID = b
		if _, err := Finding(f, prod); err == nil || !strings.Contains(err.Error(), "id") {
			t.Errorf("id %q: %v", b, err)
		}
		f = sampleFinding()
		f.Rule = b
		if _, err := Finding(f, prod); err == nil || !strings.Contains(err.Error(), "rule") {
			t.Errorf("rule %q: %v", b, err)
		}
	}
	if _, err := Result(&finding.Result{FindingID: "\u200b\u202e"}, prod); err == nil || !strings.Contains(err.Error(), "finding_id") {
		t.Errorf("result whose finding_id is invisible: %v", err)
	}
	// Containment notes too.
	for _, b := range append(blanks, hostile...) {
		r := result(finding.OutcomeFailed)
		r.Actor, r.Mode, r.Actions[0].Error, r.Actions[0].Target = b, b, b, b
		u, err := Result(r, prod)
		if err != nil {
			t.Errorf("result %q: %v", b, err)
			continue
		}
		if err := CheckNote(u.Note); err != nil {
			t.Errorf("result %q: %v", b, err)
		}
	}
}

// TestCheck: the model check catches what Security Hub refuses (one mutation at a time of a
// finding that passes), and names the field.
func TestCheck(t *testing.T) {
	good, err := Finding(sampleFinding(), prod)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(good); err != nil {
		t.Fatalf("sample finding: %v", err)
	}
	tests := []struct {
		name string
		mut  func(f *types.AwsSecurityFinding)
		want string
	}{
		{"empty Severity.Original (issue 22)", func(f *types.AwsSecurityFinding) { f.Severity.Original = aws.String("") }, "Severity.Original"},
		{"blank provider severity", func(f *types.AwsSecurityFinding) { f.FindingProviderFields.Severity.Original = aws.String(" \t") }, "FindingProviderFields.Severity.Original"},
		{"long Severity.Original", func(f *types.AwsSecurityFinding) { f.Severity.Original = aws.String(strings.Repeat("x", 65)) }, "Severity.Original has 65"},
		{"blank title", func(f *types.AwsSecurityFinding) { f.Title = aws.String("  ") }, "Title"},
		{"long title", func(f *types.AwsSecurityFinding) { f.Title = aws.String(strings.Repeat("界", 257)) }, "Title has 257"},
		{"blank type", func(f *types.AwsSecurityFinding) { f.Types = []string{" "} }, "Types[]"},
		{"blank product field value", func(f *types.AwsSecurityFinding) { f.ProductFields["sesguard/x"] = "\n" }, "ProductFields{value}"},
		{"51 product fields", func(f *types.AwsSecurityFinding) {
			for i := range 51 {
				f.ProductFields[fmt.Sprint("k", i)] = "v"
			}
		}, "ProductFields has"},
		{"blank resource id", func(f *types.AwsSecurityFinding) { f.Resources[0].Id = aws.String("") }, "Resources[].Id"},
		{"no resources", func(f *types.AwsSecurityFinding) { f.Resources = []types.Resource{} }, "Resources has 0"},
		{"blank access key principal", func(f *types.AwsSecurityFinding) {
			f.Resources[1].Details.AwsIamAccessKey.PrincipalName = aws.String(" ")
		}, "Resources[].Details.AwsIamAccessKey.PrincipalName"},
		{"short account", func(f *types.AwsSecurityFinding) { f.AwsAccountId = aws.String("1234") }, "AwsAccountId"},
	}
	for _, tc := range tests {
		f, _ := Finding(sampleFinding(), prod)
		tc.mut(&f)
		err := Check(f)
		if !errors.Is(err, ErrModel) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an ErrModel naming %q", tc.name, err, tc.want)
		}
	}
	if err := CheckNote(types.NoteUpdate{Text: aws.String(" "), UpdatedBy: aws.String("sesguard")}); err == nil || !strings.Contains(err.Error(), "Note.Text") {
		t.Errorf("blank note: %v", err)
	}
}
