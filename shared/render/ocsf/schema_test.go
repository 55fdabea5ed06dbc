package ocsf

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// The OCSF 1.1.0 schema (github.com/ocsf/ocsf-schema, tag v1.1.0) for every attribute sesguard
// emits, resolved by hand from events/base_event.json (with includes/classification.json,
// includes/occurrence.json and profiles/cloud.json), events/findings/finding.json and
// detection_finding.json, the objects they use, and dictionary.json's types. Pinned: a schema
// upgrade means re-reading these files.
const schemaVersion = "1.1.0"

type attr struct {
	req     bool           // requirement: required
	typ     string         // int, timestamp (timestamp_t: epoch ms), string (string_t: ≤ 65535), ip (ip_t), object, array, strings (array of string_t)
	obj     string         // object name for object and array
	enum    map[int]string // enum id → caption
	caption string         // sibling attribute holding the enum's caption (for 99 Other: free text)
}

var (
	severityEnum  = map[int]string{0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical", 6: "Fatal", 99: "Other"}
	schemaObjects = map[string]map[string]attr{
		"detection_finding": {
			"activity_id":   {req: true, typ: "int", enum: map[int]string{1: "Create", 2: "Update", 3: "Close"}, caption: "activity_name"},
			"activity_name": {typ: "string"},
			"category_uid":  {req: true, typ: "int", enum: map[int]string{2: "Findings"}, caption: "category_name"},
			"category_name": {typ: "string"},
			"class_uid":     {req: true, typ: "int", enum: map[int]string{2004: "Detection Finding"}, caption: "class_name"},
			"class_name":    {typ: "string"},
			"type_uid":      {req: true, typ: "int"},
			"type_name":     {typ: "string"},
			"time":          {req: true, typ: "timestamp"},
			"start_time":    {typ: "timestamp"},
			"end_time":      {typ: "timestamp"},
			"count":         {typ: "int"},
			"severity_id":   {req: true, typ: "int", enum: severityEnum, caption: "severity"},
			"severity":      {typ: "string"},
			"status_id":     {typ: "int", enum: map[int]string{1: "New", 2: "In Progress", 3: "Suppressed", 4: "Resolved"}, caption: "status"},
			"status":        {typ: "string"},
			"message":       {typ: "string"},
			"comment":       {typ: "string"},
			"metadata":      {req: true, typ: "object", obj: "metadata"},
			"finding_info":  {req: true, typ: "object", obj: "finding_info"},
			"cloud":         {req: true, typ: "object", obj: "cloud"}, // required by the cloud profile
			"resources":     {typ: "array", obj: "resource_details"},
			"evidences":     {typ: "array", obj: "evidences"},
			"unmapped":      {typ: "object"}, // free form
		},
		"metadata": {"version": {req: true, typ: "string"}, "product": {req: true, typ: "object", obj: "product"}, "uid": {typ: "string"}, "profiles": {typ: "strings"}},
		"product":  {"name": {typ: "string"}, "vendor_name": {req: true, typ: "string"}},
		"finding_info": {
			"uid": {req: true, typ: "string"}, "title": {req: true, typ: "string"}, "desc": {typ: "string"}, "types": {typ: "strings"},
			"created_time": {typ: "timestamp"}, "modified_time": {typ: "timestamp"}, "first_seen_time": {typ: "timestamp"},
			"last_seen_time": {typ: "timestamp"}, "analytic": {typ: "object", obj: "analytic"},
		},
		"analytic": {"uid": {typ: "string"}, "name": {typ: "string"}, "type": {typ: "string"},
			"type_id": {req: true, typ: "int", enum: map[int]string{0: "Unknown", 1: "Rule", 2: "Behavioral", 3: "Statistical", 4: "Learning (ML/DL)", 99: "Other"}, caption: "type"}},
		"cloud":            {"provider": {req: true, typ: "string"}, "region": {typ: "string"}, "account": {typ: "object", obj: "account"}},
		"account":          {"uid": {typ: "string"}, "type": {typ: "string"}, "type_id": {typ: "int", enum: map[int]string{10: "AWS Account"}, caption: "type"}},
		"resource_details": {"uid": {typ: "string"}, "type": {typ: "string"}, "name": {typ: "string"}},
		"evidences":        {"actor": {typ: "object", obj: "actor"}, "src_endpoint": {typ: "object", obj: "network_endpoint"}},
		"actor":            {"user": {typ: "object", obj: "user"}},
		"user": {"name": {typ: "string"}, "uid": {typ: "string"}, "credential_uid": {typ: "string"}, "type": {typ: "string"},
			"type_id": {typ: "int", enum: map[int]string{0: "Unknown", 1: "User", 2: "Admin", 3: "System", 99: "Other"}, caption: "type"}},
		"network_endpoint": {"ip": {typ: "ip"}},
	}
	// atLeastOne are the objects' "constraints": {"at_least_one": …} (limited to what exists here).
	atLeastOne = map[string][]string{
		"product": {"name", "uid"}, "analytic": {"name", "uid"}, "account": {"name", "uid"}, "resource_details": {"name", "uid"},
		"evidences": {"actor", "src_endpoint"}, "actor": {"user"}, "user": {"account", "name", "uid"}, "network_endpoint": {"ip"},
	}
	// ipT is dictionary.json's ip_t: max_len 40 and its regex (IPv4, or IPv6 with an optional zone).
	ipT = regexp.MustCompile(`((^\s*((([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]).){3}([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]))\s*$)|(^\s*((([0-9A-Fa-f]{1,4}:){7}([0-9A-Fa-f]{1,4}|:))|(([0-9A-Fa-f]{1,4}:){6}(:[0-9A-Fa-f]{1,4}|((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|(([0-9A-Fa-f]{1,4}:){5}(((:[0-9A-Fa-f]{1,4}){1,2})|:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|(([0-9A-Fa-f]{1,4}:){4}(((:[0-9A-Fa-f]{1,4}){1,3})|((:[0-9A-Fa-f]{1,4})?:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){3}(((:[0-9A-Fa-f]{1,4}){1,4})|((:[0-9A-Fa-f]{1,4}){0,2}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){2}(((:[0-9A-Fa-f]{1,4}){1,5})|((:[0-9A-Fa-f]{1,4}){0,3}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){1}(((:[0-9A-Fa-f]{1,4}){1,6})|((:[0-9A-Fa-f]{1,4}){0,4}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(:(((:[0-9A-Fa-f]{1,4}){1,7})|((:[0-9A-Fa-f]{1,4}){0,5}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:)))(%.+)?\s*$))`)
)

// schemaViolations checks one rendered event against the table above: required attributes
// present, no attribute the table does not know (outside unmapped), types and lengths, enum
// values and their captions, type_uid = class_uid·100 + activity_id, and at_least_one.
func schemaViolations(raw []byte) []string {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	var object func(path, name string, o map[string]any)
	object = func(path, name string, o map[string]any) {
		def := schemaObjects[name]
		for k, a := range def {
			if _, ok := o[k]; a.req && !ok {
				fail("%s%s: required, missing", path, k)
			}
		}
		if alo, ok := atLeastOne[name]; ok && !slices.ContainsFunc(alo, func(k string) bool { _, ok := o[k]; return ok }) {
			fail("%s: none of %v (at_least_one)", strings.TrimSuffix(path, "."), alo)
		}
		for k, v := range o {
			a, ok := def[k]
			if !ok {
				fail("%s%s: not an attribute of %s", path, k, name)
				continue
			}
			p := path + k
			switch a.typ {
			case "int", "timestamp":
				n, ok := v.(float64)
				if !ok || n != float64(int64(n)) {
					fail("%s: %v is not an integer", p, v)
					continue
				}
				if a.typ == "timestamp" && n < 1e12 {
					fail("%s: %v is not epoch milliseconds", p, v)
				}
				if a.enum != nil {
					capt, ok := a.enum[int(n)]
					if !ok {
						fail("%s: %v is not in the enum", p, n)
					} else if got, _ := o[a.caption].(string); a.caption != "" && int(n) != 99 && got != capt {
						fail("%s: caption %s = %q, want %q", p, a.caption, got, capt)
					}
				}
			case "string", "ip":
				s, ok := v.(string)
				if !ok || s == "" || utf8.RuneCountInString(s) > 65535 {
					fail("%s: %v is not a non-empty string_t", p, v)
					continue
				}
				if a.typ == "ip" && (len(s) > 40 || !ipT.MatchString(s)) {
					fail("%s: %q is not an ip_t (max 40 characters)", p, s)
				}
			case "strings":
				l, ok := v.([]any)
				for _, e := range l {
					if s, _ := e.(string); s == "" {
						ok = false
					}
				}
				if !ok {
					fail("%s: %v is not an array of string_t", p, v)
				}
			case "object":
				sub, ok := v.(map[string]any)
				if !ok {
					fail("%s: not an object", p)
				} else if a.obj != "" {
					object(p+".", a.obj, sub)
				}
			case "array":
				l, ok := v.([]any)
				if !ok {
					fail("%s: not an array", p)
				}
				for i, e := range l {
					sub, ok := e.(map[string]any)
					if !ok {
						fail("%s[%d]: not an object", p, i)
						continue
					}
					object(fmt.Sprintf("%s[%d].", p, i), a.obj, sub)
				}
			}
		}
		// A caption without its id: the consumer cannot act on the id (the user.type defect).
		for k, a := range def {
			if a.caption == "" {
				continue
			}
			if _, hasCap := o[a.caption]; hasCap {
				if _, hasID := o[k]; !hasID {
					fail("%s%s set without %s", path, a.caption, k)
				}
			}
		}
	}
	object("", "detection_finding", m)
	cls, _ := m["class_uid"].(float64)
	act, _ := m["activity_id"].(float64)
	if tu, _ := m["type_uid"].(float64); tu != cls*100+act {
		fail("type_uid %v != class_uid·100 + activity_id", m["type_uid"])
	}
	if md, _ := m["metadata"].(map[string]any); md["version"] != schemaVersion {
		fail("metadata.version %v, want %s", md["version"], schemaVersion)
	}
	return bad
}

// TestSchema renders ordinary, hostile and edge-case events (a zoned IPv6 source, every
// principal kind, Create and Update of a finding, every result status) and checks each against
// the pinned schema; metadata.uid is per event instance.
func TestSchema(t *testing.T) {
	events := map[string]DetectionFinding{}
	add := func(name string, render func() (DetectionFinding, error)) {
		t.Helper()
		d, err := render()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		events[name] = d
	}
	f := sampleFinding()
	add("create", func() (DetectionFinding, error) { return Finding(f, ActivityCreate) })
	grown := sampleFinding()
	grown.Evidence.Count, grown.Evidence.LastSeen = 2600, grown.Evidence.LastSeen.Add(time.Minute)
	add("update", func() (DetectionFinding, error) { return Finding(grown, ActivityUpdate) })
	add("coverage", func() (DetectionFinding, error) { return Finding(coverageFinding(), ActivityCreate) })
	for _, ip := range []string{"fe80::1%eth0", "fe80:1234:5678:9abc:def0:1234:5678:9abc%en0-with-a-long-interface-name", "::ffff:203.0.113.7", "2001:db8::1", "not-an-ip"} {
		g := sampleFinding()
		g.SourceIP = ip
		add("ip "+ip, func() (DetectionFinding, error) { return Finding(g, ActivityCreate) })
	}
	for _, k := range []finding.PrincipalKind{finding.KindUser, finding.KindRole, finding.KindRoot, finding.KindUnknown, "", "service"} {
		g := sampleFinding()
		g.Principal.Kind = k
		add("kind "+string(k), func() (DetectionFinding, error) { return Finding(g, ActivityCreate) })
	}
	for _, h := range []string{"Bill\u202eing\r\n@channel \x00", "\xff\xfe", strings.Repeat("界", 70000)} {
		g := sampleFinding()
		g.Principal.Name, g.Principal.ARN, g.Evidence.Detail, g.Evidence.Identity = h, h, h, h
		add(fmt.Sprintf("hostile %.10q", h), func() (DetectionFinding, error) { return Finding(g, ActivityCreate) })
	}
	for _, o := range []finding.Outcome{finding.OutcomeApplied, finding.OutcomeRestored, finding.OutcomeFailed, finding.OutcomePlanned} {
		add("result "+string(o), func() (DetectionFinding, error) { return Result(result(o)) })
	}
	uids := map[string]string{}
	for name, d := range events {
		raw := encode(t, d)
		for _, v := range schemaViolations(raw) {
			t.Errorf("%s: %s", name, v)
		}
		if name != "create" && name != "update" && !strings.HasPrefix(name, "result ") {
			continue // variants of the create event, not other events of the finding
		}
		if other, dup := uids[d.Metadata.UID]; dup {
			t.Errorf("%s and %s share metadata.uid %s (it identifies one event instance)", name, other, d.Metadata.UID)
		}
		uids[d.Metadata.UID] = name
	}
	if c, u := events["create"], events["update"]; u.ActivityID != ActivityUpdate || u.TypeUID != 200402 || u.Info.UID != c.Info.UID {
		t.Errorf("count change: activity %d type_uid %d uid %s (create uid %s)", u.ActivityID, u.TypeUID, u.Info.UID, c.Info.UID)
	}
	again, _ := Finding(sampleFinding(), ActivityCreate)
	if again.Metadata.UID != events["create"].Metadata.UID {
		t.Error("a redelivered event changed its metadata.uid")
	}
	if _, err := Finding(sampleFinding(), 3); err == nil {
		t.Error("activity Close accepted for a finding")
	}
}

// TestSchemaValidator: the validator catches each defect it is there for.
func TestSchemaValidator(t *testing.T) {
	good := encode(t, must(Finding(sampleFinding(), ActivityCreate)))
	if v := schemaViolations(good); len(v) > 0 {
		t.Fatalf("sample: %v", v)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"zoned ip over 40", `"ip": "203.0.113.77"`, `"ip": "fe80:1234:5678:9abc:def0:1234:5678:9abc%en0"`, "ip_t"},
		{"user type without type_id", `"type_id": 1,`, ``, "type set without type_id"},
		{"unknown severity id", `"severity_id": 4`, `"severity_id": 7`, "not in the enum"},
		{"wrong caption", `"activity_name": "Create"`, `"activity_name": "Update"`, "caption"},
		{"missing title", `"title": `, `"titel": `, "finding_info.title: required"},
		{"seconds not ms", `"time": 1777886390000`, `"time": 1777886390`, "epoch milliseconds"},
	} {
		mod := strings.Replace(string(good), tc.from, tc.to, 1)
		if mod == string(good) {
			t.Fatalf("%s: %q not in the render", tc.name, tc.from)
		}
		if got := strings.Join(schemaViolations([]byte(mod)), "; "); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func must(d DetectionFinding, err error) DetectionFinding {
	if err != nil {
		panic(err)
	}
	return d
}
