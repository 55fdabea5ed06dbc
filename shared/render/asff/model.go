package asff

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/securityhub/schemas"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	smithy "github.com/aws/smithy-go"
)

// The Security Hub API model's constraints on what sesguard sends, checked before every import
// so a finding Security Hub would refuse fails alone, naming the field.
//
// Which strings are NonEmptyString (pattern `.*\S.*`: at least one character that is not
// whitespace) comes from the SDK's own schemas (github.com/aws/aws-sdk-go-v2/service/securityhub
// v1.82.0, schemas.go): every member whose target is NonEmptyString, at any depth, in lists and
// map keys and values. The lengths and counts below are the model's @length constraints as the
// same SDK release documents them on each field (types/types.go), and the ASFF user guide's
// limits for maps (ProductFields, Resources[].Details.Other).
var modelLimits = map[string][2]int{ // path → {min, max}; characters, or entries for lists and maps
	"AwsAccountId":                     {12, 12},
	"Description":                      {1, 1024},
	"GeneratorId":                      {1, 512},
	"Id":                               {1, 512},
	"ProductArn":                       {12, 2048},
	"Title":                            {1, 256},
	"CompanyName":                      {1, 128},
	"ProductName":                      {1, 128},
	"Region":                           {1, 16},
	"Resources":                        {1, 32},
	"Resources[].Type":                 {1, 256},
	"Resources[].Region":               {1, 16},
	"Resources[].Details.Other":        {0, 50},
	"Resources[].Details.Other{key}":   {1, 127}, // "fewer than 128"
	"Resources[].Details.Other{value}": {1, 1023},
	"Types":                            {0, 50},
	"FindingProviderFields.Types":      {0, 50},
	"ProductFields":                    {0, 50},
	"ProductFields{key}":               {1, 128},
	"ProductFields{value}":             {1, 2048},
	"Severity.Original":                {1, 64},
	"FindingProviderFields.Severity.Original": {1, 64},
	"Note.Text": {1, 512},
}

// nonEmptyString is the model's NonEmptyString pattern `.*\S.*`: a character outside Java's \s
// class [ \t\n\x0B\f\r].
func nonEmptyString(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return !strings.ContainsRune(" \t\n\x0B\f\r", r) })
}

// ErrModel is a rendered value outside the Security Hub API model's constraints.
var ErrModel = errors.New("asff: outside the Security Hub API model")

// Check reports every value of f that Security Hub's API model does not accept, by path.
func Check(f types.AwsSecurityFinding) error {
	var bad []string
	checkShape(schemas.AwsSecurityFinding, reflect.ValueOf(f), "", &bad)
	return modelError(bad)
}

// CheckNote reports a BatchUpdateFindings note the model does not accept.
func CheckNote(n types.NoteUpdate) error {
	var bad []string
	checkShape(schemas.NoteUpdate, reflect.ValueOf(n), "Note", &bad)
	return modelError(bad)
}

func modelError(bad []string) error {
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("%w: %s", ErrModel, strings.Join(bad, "; "))
}

// checkShape walks v (a value of the SDK type for schema s) along the schema's members.
func checkShape(s *smithy.Schema, v reflect.Value, path string, bad *[]string) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	join := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	switch s.Type() {
	case smithy.ShapeTypeStructure:
		if v.Kind() != reflect.Struct {
			return
		}
		for name, m := range s.Members() {
			fv := v.FieldByName(name)
			if !fv.IsValid() || (fv.Kind() == reflect.Pointer && fv.IsNil()) {
				continue
			}
			checkShape(m, fv, join(name), bad)
		}
	case smithy.ShapeTypeList, smithy.ShapeTypeSet:
		if v.Kind() != reflect.Slice || v.IsNil() {
			return
		}
		checkCount(path, v.Len(), bad)
		for i := range v.Len() {
			checkShape(s.ListMember(), v.Index(i), path+"[]", bad)
		}
	case smithy.ShapeTypeMap:
		if v.Kind() != reflect.Map || v.IsNil() {
			return
		}
		checkCount(path, v.Len(), bad)
		it := v.MapRange()
		for it.Next() {
			checkShape(s.MapKey(), it.Key(), path+"{key}", bad)
			checkShape(s.MapValue(), it.Value(), path+"{value}", bad)
		}
	case smithy.ShapeTypeString:
		if v.Kind() != reflect.String {
			return
		}
		str := v.String()
		if s.TargetID().Name == "NonEmptyString" && !nonEmptyString(str) {
			*bad = append(*bad, fmt.Sprintf("%s %q is not a NonEmptyString (pattern .*\\S.*)", path, clipQuote(str)))
		}
		if lim, ok := modelLimits[path]; ok {
			if n := utf8.RuneCountInString(str); n < lim[0] || n > lim[1] {
				*bad = append(*bad, fmt.Sprintf("%s has %d characters (model: %d..%d)", path, n, lim[0], lim[1]))
			}
		}
	}
}

func checkCount(path string, n int, bad *[]string) {
	if lim, ok := modelLimits[path]; ok && (n < lim[0] || n > lim[1]) {
		*bad = append(*bad, fmt.Sprintf("%s has %d entries (model: %d..%d)", path, n, lim[0], lim[1]))
	}
}

func clipQuote(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
