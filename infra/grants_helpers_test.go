package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cfn is a synthesized template as plain JSON, for checks that must also run against mutated
// copies (grants_test.go). It never changes the template it wraps unless a mutant asks it to.
type cfn map[string]any

func (t cfn) clone() cfn {
	b, err := json.Marshal(t)
	if err != nil {
		panic(err) // the template came from JSON
	}
	var out cfn
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

func (t cfn) all() map[string]map[string]any {
	out := map[string]map[string]any{}
	res, _ := t["Resources"].(map[string]any)
	for id, r := range res {
		if m, ok := r.(map[string]any); ok {
			out[id] = m
		}
	}
	return out
}

// ofType returns the resources of typ by logical id.
func (t cfn) ofType(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range t.all() {
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

func (t cfn) res(id string) map[string]any { return t.all()[id] }

func (t cfn) props(id string) map[string]any {
	p, _ := t.res(id)["Properties"].(map[string]any)
	return p
}

// refID is the logical id behind {"Ref": id} or {"Fn::GetAtt": [id, attr]} ("" otherwise).
func refID(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if r, ok := m["Ref"].(string); ok && !strings.HasPrefix(r, "AWS::") {
		return r
	}
	if g, ok := m["Fn::GetAtt"].([]any); ok && len(g) == 2 {
		s, _ := g[0].(string)
		return s
	}
	return ""
}

// dependsOn reports whether resource id declares DependsOn on dep.
func (t cfn) dependsOn(id, dep string) bool {
	for _, d := range asList(t.res(id)["DependsOn"]) {
		if d == dep {
			return true
		}
	}
	return false
}

// stmt is one policy statement, normalised.
type stmt struct {
	raw       map[string]any
	allow     bool
	services  []string // Principal.Service
	actions   []string
	resources []string // canon form
	cond      map[string]map[string]any
}

func parseStmt(raw map[string]any) stmt {
	s := stmt{raw: raw, allow: raw["Effect"] == "Allow", cond: map[string]map[string]any{}}
	if p, ok := raw["Principal"].(map[string]any); ok {
		for _, v := range asList(p["Service"]) {
			s.services = append(s.services, fmt.Sprint(v))
		}
	}
	for _, a := range asList(raw["Action"]) {
		s.actions = append(s.actions, fmt.Sprint(a))
	}
	for _, r := range asList(raw["Resource"]) {
		s.resources = append(s.resources, canon(r))
	}
	if c, ok := raw["Condition"].(map[string]any); ok {
		for op, kv := range c {
			m, _ := kv.(map[string]any)
			s.cond[op] = m
		}
	}
	return s
}

// statements of a policy document value.
func statements(doc any) []stmt {
	m, _ := doc.(map[string]any)
	var out []stmt
	for _, st := range asList(m["Statement"]) {
		if raw, ok := st.(map[string]any); ok {
			out = append(out, parseStmt(raw))
		}
	}
	return out
}

// allowsAction: IAM matches actions case-insensitively with * and ? wildcards.
func (s stmt) allowsAction(action string) bool {
	for _, a := range s.actions {
		if ok, _ := path.Match(strings.ToLower(a), strings.ToLower(action)); ok {
			return true
		}
	}
	return false
}

func (s stmt) hasService(svc string) bool { return slices.Contains(s.services, svc) }

// onResource: the statement names want (canon) or "*".
func (s stmt) onResource(want any) bool {
	w := canon(want)
	return slices.Contains(s.resources, w) || slices.Contains(s.resources, `"*"`)
}

// condValues returns the values of condition key (case-insensitive, as IAM compares keys) under
// any of the operators ops.
func (s stmt) condValues(key string, ops ...string) []any {
	var out []any
	for op, kv := range s.cond {
		if !slices.Contains(ops, op) {
			continue
		}
		for k, v := range kv {
			if strings.EqualFold(k, key) {
				out = append(out, asList(v)...)
			}
		}
	}
	return out
}

// condCovers: some value of key under ops equals want, or (for *Like operators) is a Fn::Sub
// pattern matching want's Fn::Sub string.
func (s stmt) condCovers(key string, want any, ops ...string) bool {
	for _, v := range s.condValues(key, ops...) {
		if canon(v) == canon(want) {
			return true
		}
		pv, wv := subString(v), subString(want)
		if pv != "" && wv != "" {
			if ok, _ := path.Match(pv, wv); ok {
				return true
			}
		}
	}
	return false
}

func subString(v any) string {
	if m, ok := v.(map[string]any); ok {
		s, _ := m["Fn::Sub"].(string)
		return s
	}
	return ""
}

var (
	accountID      = map[string]any{"Ref": "AWS::AccountId"}
	arnOps         = []string{"ArnEquals", "ArnLike", "StringEquals", "StringLike"}
	stringEqualOps = []string{"StringEquals"}
)

// policyDocs are the documents of every policy-bearing resource that governs id: topic and queue
// policies naming it, a key's KeyPolicy, a role's trust policy, and IAM policies attached to a role.
func (t cfn) policyDocs(id string) []any {
	var out []any
	r := t.res(id)
	p := t.props(id)
	switch r["Type"] {
	case "AWS::KMS::Key":
		out = append(out, p["KeyPolicy"])
	case "AWS::IAM::Role":
		for _, pol := range t.ofType("AWS::IAM::Policy") {
			pp, _ := pol["Properties"].(map[string]any)
			for _, role := range asList(pp["Roles"]) {
				if refID(role) == id {
					out = append(out, pp["PolicyDocument"])
				}
			}
		}
		for _, inline := range asList(p["Policies"]) {
			if m, ok := inline.(map[string]any); ok {
				out = append(out, m["PolicyDocument"])
			}
		}
	}
	for typ, key := range map[string]string{"AWS::SNS::TopicPolicy": "Topics", "AWS::SQS::QueuePolicy": "Queues", "AWS::S3::BucketPolicy": "Bucket"} {
		for _, pol := range t.ofType(typ) {
			pp, _ := pol["Properties"].(map[string]any)
			for _, x := range asList(pp[key]) {
				if refID(x) == id {
					out = append(out, pp["PolicyDocument"])
				}
			}
		}
	}
	return out
}

// stmtsFor are the statements of every document governing id.
func (t cfn) stmtsFor(id string) []stmt {
	var out []stmt
	for _, d := range t.policyDocs(id) {
		out = append(out, statements(d)...)
	}
	return out
}

// trust is a role's AssumeRolePolicyDocument.
func (t cfn) trust(roleID string) []stmt {
	return statements(t.props(roleID)["AssumeRolePolicyDocument"])
}

// policyIDsOn are the AWS::IAM::Policy resources attached to roleID.
func (t cfn) policyIDsOn(roleID string) []string {
	var out []string
	for id, pol := range t.ofType("AWS::IAM::Policy") {
		pp, _ := pol["Properties"].(map[string]any)
		for _, role := range asList(pp["Roles"]) {
			if refID(role) == roleID {
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out
}

// findAllow returns the first Allow statement of stmts for service principal svc (or any
// principal when svc is "") that allows every action on resource (nil: any resource).
func findAllow(stmts []stmt, svc string, resource any, actions ...string) (stmt, bool) {
	all := allAllows(stmts, svc, resource, actions...)
	if len(all) == 0 {
		return stmt{}, false
	}
	return all[0], true
}

// allAllows returns every statement findAllow would accept.
func allAllows(stmts []stmt, svc string, resource any, actions ...string) []stmt {
	var out []stmt
	for _, s := range stmts {
		if !s.allow || (svc != "" && !s.hasService(svc)) || (resource != nil && !s.onResource(resource)) {
			continue
		}
		all := true
		for _, a := range actions {
			all = all && s.allowsAction(a)
		}
		if all {
			out = append(out, s)
		}
	}
	return out
}

// eachPolicyDoc calls fn on every policy document in the template (resource policies, key
// policies, trust policies, identity policies), so a mutant can edit statements in place.
func (t cfn) eachPolicyDoc(fn func(ownerID string, doc map[string]any)) {
	for id, r := range t.all() {
		p, _ := r["Properties"].(map[string]any)
		for _, key := range []string{"PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"} {
			if d, ok := p[key].(map[string]any); ok {
				fn(id, d)
			}
		}
	}
}

// dropStatements removes every statement matching pred from every policy document and returns
// how many it removed (a mutant that removes nothing is itself a test failure).
func (t cfn) dropStatements(pred func(owner string, s stmt) bool) int {
	n := 0
	t.eachPolicyDoc(func(owner string, doc map[string]any) {
		var keep []any
		for _, raw := range asList(doc["Statement"]) {
			m, _ := raw.(map[string]any)
			if m != nil && pred(owner, parseStmt(m)) {
				n++
				continue
			}
			keep = append(keep, raw)
		}
		doc["Statement"] = keep
	})
	return n
}

// editStatements calls edit on every statement matching pred (in place) and returns how many.
func (t cfn) editStatements(pred func(owner string, s stmt) bool, edit func(raw map[string]any)) int {
	n := 0
	t.eachPolicyDoc(func(owner string, doc map[string]any) {
		for _, raw := range asList(doc["Statement"]) {
			if m, _ := raw.(map[string]any); m != nil && pred(owner, parseStmt(m)) {
				edit(m)
				n++
			}
		}
	})
	return n
}

// dropCondition removes condition key (any operator) from a statement.
func dropCondition(key string) func(raw map[string]any) {
	return func(raw map[string]any) {
		c, _ := raw["Condition"].(map[string]any)
		for op, kv := range c {
			m, _ := kv.(map[string]any)
			for k := range m {
				if strings.EqualFold(k, key) {
					delete(m, k)
				}
			}
			if len(m) == 0 {
				delete(c, op)
			}
		}
		if len(c) == 0 {
			delete(raw, "Condition")
		}
	}
}

// dropAction removes action from a statement's Action list.
func dropAction(action string) func(raw map[string]any) {
	return func(raw map[string]any) {
		var keep []any
		for _, a := range asList(raw["Action"]) {
			if !strings.EqualFold(fmt.Sprint(a), action) {
				keep = append(keep, a)
			}
		}
		raw["Action"] = keep
	}
}

// dropDependsOn removes dep from id's DependsOn; returns 1 if it was there.
func (t cfn) dropDependsOn(id, dep string) int {
	r := t.res(id)
	var keep []any
	n := 0
	for _, d := range asList(r["DependsOn"]) {
		if d == dep {
			n++
			continue
		}
		keep = append(keep, d)
	}
	r["DependsOn"] = keep
	return n
}

// num reads a JSON number (or numeric string, as CloudFormation allows).
func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		var f float64
		_, err := fmt.Sscan(x, &f)
		return f, err == nil
	}
	return 0, false
}

// sesSetArn is the configuration-set ARN for a destination's ConfigurationSetName (a literal or
// a Ref to the created set).
func (t cfn) sesSetArn(setName any) any {
	name, _ := setName.(string)
	if id := refID(setName); id != "" {
		name, _ = t.props(id)["Name"].(string)
	}
	return sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/" + name)
}

// sdkInfo is the AwsCustomResource runtime's own service tables (aws-cdk-lib
// custom-resources/lib/helpers-internal): SDK v2 constructor names → v3 client names, and each v3
// client's IAM prefix and commands. awsSdkToIamAction below follows that package's sdk-info.js,
// which is how CDK itself turns a call into the IAM action it needs.
type sdkInfo struct {
	v2ToV3 map[string]string
	v3     map[string]struct {
		IamPrefix string   `json:"iamPrefix"`
		Commands  []string `json:"commands"`
	}
}

// loadSDKInfo reads the two tables from the aws-cdk-lib tarball the Go module ships (the same
// bytes the jsii runtime loads), so the check follows the pinned CDK version.
func loadSDKInfo(root string) (*sdkInfo, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}|{{.Version}}", "github.com/aws/aws-cdk-go/awscdk/v2")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list awscdk: %w", err)
	}
	dir, version, _ := strings.Cut(strings.TrimSpace(string(out)), "|")
	tgz := filepath.Join(dir, "jsii", "aws-cdk-lib-"+strings.TrimPrefix(version, "v")+".tgz")
	f, err := os.Open(tgz)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tgz, err)
	}
	const dirIn = "package/custom-resources/lib/helpers-internal/"
	info := &sdkInfo{}
	found := 0
	tr := tar.NewReader(gz)
	for found < 2 {
		h, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", tgz, dirIn, err)
		}
		var dst any
		switch h.Name {
		case dirIn + "sdk-v2-to-v3.json":
			dst = &info.v2ToV3
		case dirIn + "sdk-v3-metadata.json":
			dst = &info.v3
		default:
			continue
		}
		if err := json.NewDecoder(tr).Decode(dst); err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		found++
	}
	return info, nil
}

// v3Service normalises an AwsSdkCall service name as the runtime does ("SESv2" → "sesv2",
// "Route53" → "route-53"); ok is false when no SDK v3 client of that name exists.
func (s *sdkInfo) v3Service(service string) (string, bool) {
	name := strings.TrimPrefix(strings.ToLower(service), "@aws-sdk/client-")
	if v3, ok := s.v2ToV3[name]; ok {
		name = v3
	}
	_, ok := s.v3[name]
	return name, ok
}

// iamAction is CDK's awsSdkToIamAction.
func (s *sdkInfo) iamAction(service, action string) string {
	v3, _ := s.v3Service(service)
	prefix := s.v3[v3].IamPrefix
	if prefix == "" {
		prefix = v3
	}
	switch {
	case action != "" && strings.ToLower(action[:1]) == action[:1]:
		action = strings.ToUpper(action[:1]) + action[1:]
	case slices.Contains(s.v3[v3].Commands, action):
	default:
		action = strings.TrimSuffix(action, "Command")
	}
	return prefix + ":" + action
}

// requireMutantsFail applies each mutant to a fresh copy of tmpl and requires check to reject it:
// a mutant that changes nothing means the check it guards is not exercised. skip, if non-nil,
// excuses a mutant that legitimately has nothing to change in this configuration.
func requireMutantsFail(t testing.TB, tmpl cfn, mutants map[string]func(cfn) int, check func(cfn) error, skip func(name string, tmpl cfn) bool) {
	t.Helper()
	for _, m := range sortedKeys(mutants) {
		mut := tmpl.clone()
		if mutants[m](mut) == 0 {
			if skip != nil && skip(m, tmpl) {
				continue
			}
			t.Errorf("mutant %q changed nothing: the check it guards is not exercised", m)
			continue
		}
		err := check(mut)
		if err == nil {
			t.Errorf("mutant %q still passes the check", m)
			continue
		}
		t.Logf("mutant %q fails as it must: %v", m, strings.SplitN(err.Error(), "\n", 2)[0])
	}
}
