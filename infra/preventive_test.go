package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/policy"
)

// unjoin flattens a Fn::Join into a string with pseudo parameters as ${AWS::…}, so rendered JSON
// inside a custom resource's property can be compared with the renderer's output.
func unjoin(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if j, ok := x["Fn::Join"].([]any); ok {
			var b strings.Builder
			for _, part := range j[1].([]any) {
				b.WriteString(unjoin(part))
			}
			return b.String()
		}
		if r, ok := x["Ref"].(string); ok {
			return "${" + r + "}"
		}
	}
	return canon(v)
}

func TestIdentityPolicies(t *testing.T) {
	s := get(t, "local")
	crs := s.resources("Custom::SesguardIdentityPolicy")
	if len(crs) != 2 {
		t.Fatalf("want identity policies on the 2 literal identities, got %d", len(crs))
	}
	for _, identity := range []string{"example.com", "mail.example.com"} {
		id := s.logicalID(t, "Custom::SesguardIdentityPolicy", "PreventiveIdentityPolicy"+strings.ReplaceAll(identity, ".", ""))
		p := props(crs[id])
		arn := "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/" + identity
		doc, err := policy.RenderIdentityPolicy(s.s.Config.Policy, arn)
		if err != nil {
			t.Fatal(err)
		}
		if got := unjoin(p["Policy"]); got != string(doc) || p["EmailIdentity"] != identity || p["PolicyName"] != s.s.Config.IdentityPolicyName() {
			t.Errorf("%s: properties do not carry the rendered policy:\n%s\nwant policy %s", identity, canon(p), doc)
		}
		for _, want := range []string{"aws:SourceVpc", "vpc-0a1b2c3d4e5f60718", "ses:FromAddress", "ses:Recipients", "aws:SourceIp", "203.0.113.10/32"} {
			if !strings.Contains(string(doc), want) {
				t.Errorf("%s: rendered identity policy lacks %s", identity, want)
			}
		}
		// Every Deny names every send action (issue 23: the network Deny named only SendEmail and
		// SendRawEmail, so templated and bulk sends from outside the approved VPC went through).
		var parsed policy.Document
		if err := json.Unmarshal(doc, &parsed); err != nil {
			t.Fatal(err)
		}
		for _, st := range parsed.Statement {
			for _, a := range policy.SendActions() {
				if st.Effect == "Deny" && !slices.Contains(st.Action, a) {
					t.Errorf("%s: deployed Deny %s does not name %s: %v", identity, st.Sid, a, st.Action)
				}
			}
		}
	}
	// The provider may only touch the policy's identities.
	for id, p := range s.resources("AWS::IAM::Policy") {
		if !strings.HasPrefix(id, "PreventiveIdentityGuardPolicy") {
			continue
		}
		doc := canon(props(p)["PolicyDocument"])
		named := regexp.MustCompile(`:identity/([^"]*)"`).FindAllStringSubmatch(doc, -1)
		if len(named) == 0 || strings.Contains(doc, `"Resource":"*"`) {
			t.Errorf("%s is not scoped to the policy's identities: %s", id, doc)
		}
		for _, m := range named {
			if !slices.Contains(s.s.Config.LiteralIdentities(), m[1]) {
				t.Errorf("%s names identity %q, not one of the policy's literal identities", id, m[1])
			}
		}
	}
}

// TestPreventiveChoice: identity policies follow the policy's `preventive` key, the context
// overrides it, and sesguardIdentityPolicies=false still turns them off (issue 25 item 3).
func TestPreventiveChoice(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ctx  map[string]any
		want bool
		err  string
	}{
		{"policy off", map[string]any{}, false, ""},
		{"context enforce", map[string]any{ctxPreventive: "enforce"}, true, ""},
		{"policy enforce", map[string]any{ctxPolicy: "infra/testdata/local.yaml"}, true, ""},
		{"context off over policy enforce", map[string]any{ctxPolicy: "infra/testdata/local.yaml", ctxPreventive: "off"}, false, ""},
		{"identity policies off", map[string]any{ctxPolicy: "infra/testdata/local.yaml", ctxIdentityPolicies: false}, false, ""},
		{"bad value", map[string]any{ctxPreventive: "on"}, false, `context sesguardPreventive: want off or enforce, got "on"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := loadConfig(root, func(k string) any { return c.ctx[k] })
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.PreventiveEnforced() != c.want {
				t.Errorf("PreventiveEnforced = %v, want %v (preventive %q)", cfg.PreventiveEnforced(), c.want, cfg.Preventive)
			}
		})
	}
}

func TestDefaultConfigurationSet(t *testing.T) {
	for _, c := range []struct{ name, set string }{{"local", "sesguard-local"}, {"default", "sesguard-monitored"}, {"central", "prod-outbound"}} {
		s := get(t, c.name)
		crs := s.resources("Custom::SesguardDefaultConfigurationSet")
		if len(crs) != len(s.s.Config.LiteralIdentities()) {
			t.Errorf("%s: %d default-set resources for identities %v", c.name, len(crs), s.s.Config.LiteralIdentities())
		}
		for id, cr := range crs {
			p := props(cr)
			if p["ConfigurationSetName"] != c.set || p["StackOwnsSet"] != fmt.Sprint(c.name != "central") {
				t.Errorf("%s/%s: properties %s", c.name, id, canon(p))
			}
		}
	}
}

func TestSenderUser(t *testing.T) {
	if n := len(get(t, "default").resources("AWS::IAM::User")); n != 0 {
		t.Errorf("default: sender user created without sesguardSenderUser (%d)", n)
	}
	s := get(t, "local")
	users := s.resources("AWS::IAM::User")
	if len(users) != 1 {
		t.Fatalf("want one sender user, got %d", len(users))
	}
	userID := s.logicalID(t, "AWS::IAM::User", "PreventiveSenderUser")
	if p := props(users[userID]); p["LoginProfile"] != nil || p["ManagedPolicyArns"] != nil {
		t.Errorf("sender user must be programmatic-only with no managed policies: %s", canon(p))
	}
	if n := len(s.resources("AWS::IAM::AccessKey")); n != 0 {
		t.Errorf("the stack must not create access keys (their secret would pass through CloudFormation): %d", n)
	}
	doc, err := policy.SMTPUserPolicy(s.s.Config.Policy)
	if err != nil {
		t.Fatal(err)
	}
	var want []stmtWant
	for _, st := range doc.Statement {
		cond := map[string]any{}
		for op, kv := range st.Condition {
			m := map[string]any{}
			for k, v := range kv {
				vals := make([]any, len(v))
				for i := range v {
					vals[i] = v[i]
				}
				if len(vals) == 1 {
					m[k] = vals[0]
				} else {
					m[k] = vals
				}
			}
			cond[op] = m
		}
		want = append(want, stmtWant{Effect: st.Effect, Actions: st.Action, Resources: []any{st.Resource}, Condition: cond})
	}
	var got []stmtWant
	for _, p := range s.resources("AWS::IAM::Policy") {
		pp := props(p)
		if canon(pp["Users"]) == canon([]any{ref(userID)}) {
			for _, st := range asList(pp["PolicyDocument"].(map[string]any)["Statement"]) {
				got = append(got, templateStmt(st.(map[string]any)))
			}
		}
	}
	// CloudFormation keeps single-element condition lists as lists; normalise both sides.
	norm := func(ws []stmtWant) []stmtWant {
		for i := range ws {
			ws[i].Condition = normaliseCondition(ws[i].Condition)
		}
		return ws
	}
	assertStatements(t, "sender user", norm(got), norm(want))
	for _, st := range got {
		if st.Effect == "Allow" && !slices.Equal(st.Actions, []string{"ses:SendRawEmail"}) {
			t.Errorf("sender user's Allow names %v: SMTP needs only ses:SendRawEmail", st.Actions)
		}
	}
	if len(want) == 0 || !strings.Contains(canon(want), "aws:SourceVpc") {
		t.Errorf("sender policy lacks the VPC condition: %s", canon(want))
	}
}

// normaliseCondition turns every condition value into a list.
func normaliseCondition(c any) any {
	m, ok := c.(map[string]any)
	if !ok {
		return c
	}
	out := map[string]any{}
	for op, kv := range m {
		inner := map[string]any{}
		for k, v := range kv.(map[string]any) {
			inner[k] = asList(v)
		}
		out[op] = inner
	}
	return out
}
