package jsonstrict

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

type inner struct {
	Name string `json:"name"`
}

type embedded struct {
	Kind string `json:"kind"`
}

type doc struct {
	embedded
	Type  string              `json:"eventType"`
	Mail  *inner              `json:"mail"`
	List  []inner             `json:"list"`
	Tags  map[string][]string `json:"tags"`
	Raw   json.RawMessage     `json:"raw"`
	Plain string
	Skip  string `json:"-"`
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, json, field, err string
	}{
		{"plain", `{"eventType":"Send","mail":{"name":"a"},"list":[{"name":"b"}],"tags":{"a":["1"],"A":["2"]},"other":{"x":1,"x":2},"Plain":"p"}`, "", ""},
		{"raw not looked into", `{"raw":{"a":1,"a":2,"A":3}}`, "", ""},
		{"duplicate", `{"eventType":"Send","eventType":"Delivery"}`, "eventType", `duplicate member "eventType"`},
		{"escaped duplicate", `{"eventType":"Send","event\u0054ype":"Delivery"}`, "eventType", "duplicate"},
		{"case variant", `{"eventType":"Send","EventType":"Delivery"}`, "EventType", `"EventType" is "eventType" in another case`},
		{"case variant alone", `{"EVENTTYPE":"Delivery"}`, "EVENTTYPE", "another case"},
		{"unicode fold", `{"mail":{"nameſ":"x","ſ":1,"naMe":"y"}}`, "mail.naMe", "another case"},
		{"kelvin fold", `{"\u212aind":"x"}`, "\u212aind", `is "kind"`},
		{"embedded duplicate", `{"kind":"a","kind":"b"}`, "kind", "duplicate"},
		{"nested", `{"mail":{"name":"a","name":"b"}}`, "mail.name", "duplicate"},
		{"in array", `{"list":[{"name":"a"},{"Name":"b"}]}`, "list[1].Name", "another case"},
		{"map duplicate", `{"tags":{"ses:source-ip":["1"],"ses:source-ip":["2"]}}`, "tags.ses:source-ip", "duplicate"},
		{"field name default", `{"plain":"x"}`, "plain", `is "Plain"`},
		{"dash tag ignored", `{"Skip":"x","Skip":"y"}`, "", ""},
		{"whitespace", " {\n \"list\" : [ { \"name\" : \"a\" } , { \"name\" : \"a\" , \"name\" : \"b\" } ] }", "list[1].name", "duplicate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			if err := json.Unmarshal([]byte(tc.json), &d); err != nil {
				t.Fatalf("test input does not decode: %v", err)
			}
			field, err := Check([]byte(tc.json), reflect.TypeOf(&d))
			if tc.err == "" {
				if err != nil {
					t.Fatalf("Check = %q, %v; want nil", field, err)
				}
				return
			}
			if err == nil || field != tc.field || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Check = %q, %v; want %q, …%s…", field, err, tc.field, tc.err)
			}
		})
	}
}
