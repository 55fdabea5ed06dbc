package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func sub(s string) any           { return map[string]any{"Fn::Sub": s} }
func getAtt(id, attr string) any { return map[string]any{"Fn::GetAtt": []any{id, attr}} }
func ref(id string) any          { return map[string]any{"Ref": id} }
func userArn(name string) any {
	return sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:user/" + name)
}
func roleArn(name string) any {
	return sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/" + name)
}
func sesResource(res string) any {
	return sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:" + res)
}
func allow(actions []string, resources ...any) stmtWant {
	return stmtWant{Effect: "Allow", Actions: actions, Resources: resources}
}

// stmtWant is an expected policy statement; key() normalises it the same way as a template one.
type stmtWant struct {
	Effect    string
	Actions   []string
	Resources []any
	Condition any
}

func (w stmtWant) key() string {
	acts := slices.Clone(w.Actions)
	slices.Sort(acts)
	res := make([]string, len(w.Resources))
	for i, r := range w.Resources {
		res[i] = canon(r)
	}
	slices.Sort(res)
	cond := ""
	if w.Condition != nil {
		cond = " if " + canon(w.Condition)
	}
	return fmt.Sprintf("%s %s on %s%s", w.Effect, strings.Join(acts, ","), strings.Join(res, ","), cond)
}

// asList turns a single value or a list into a list (CloudFormation allows both for Action and Resource).
func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func templateStmt(st map[string]any) stmtWant {
	w := stmtWant{Effect: fmt.Sprint(st["Effect"]), Resources: asList(st["Resource"]), Condition: st["Condition"]}
	for _, a := range asList(st["Action"]) {
		w.Actions = append(w.Actions, fmt.Sprint(a))
	}
	return w
}

// roleStatements collects every statement of every AWS::IAM::Policy attached to roleID: the
// complete set of permissions the role has (the roles have no managed or inline policies).
func (s *synthed) roleStatements(t *testing.T, roleID string) []stmtWant {
	t.Helper()
	role := s.resources("AWS::IAM::Role")[roleID]
	if role == nil {
		t.Fatalf("%s: no role %s", s.name, roleID)
	}
	if p := props(role); p["ManagedPolicyArns"] != nil || p["Policies"] != nil {
		t.Fatalf("%s: role %s has managed or inline policies: %s", s.name, roleID, canon(p))
	}
	var out []stmtWant
	for _, pol := range s.resources("AWS::IAM::Policy") {
		p := props(pol)
		attached := false
		for _, r := range asList(p["Roles"]) {
			if canon(r) == canon(ref(roleID)) {
				attached = true
			}
		}
		if !attached {
			continue
		}
		doc, _ := p["PolicyDocument"].(map[string]any)
		for _, st := range asList(doc["Statement"]) {
			out = append(out, templateStmt(st.(map[string]any)))
		}
	}
	return out
}

// assertStatements fails unless got and want hold exactly the same statements.
func assertStatements(t *testing.T, what string, got, want []stmtWant) {
	t.Helper()
	g := make([]string, len(got))
	for i, s := range got {
		g[i] = s.key()
	}
	w := make([]string, len(want))
	for i, s := range want {
		w[i] = s.key()
	}
	slices.Sort(g)
	slices.Sort(w)
	var missing, extra []string
	for _, k := range w {
		if !slices.Contains(g, k) {
			missing = append(missing, k)
		}
	}
	for _, k := range g {
		if !slices.Contains(w, k) {
			extra = append(extra, k)
		}
	}
	if len(missing) > 0 || len(extra) > 0 || len(g) != len(w) {
		t.Errorf("%s: statements differ\nmissing:\n  %s\nunexpected:\n  %s", what, strings.Join(missing, "\n  "), strings.Join(extra, "\n  "))
	}
}

var sqsConsume = []string{"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"}

// expectedStatements is the complete permission set of each function in configuration s.
func expectedStatements(t *testing.T, s *synthed) map[string][]stmtWant {
	t.Helper()
	id := func(typ, prefix string) string { return s.logicalID(t, typ, prefix) }
	table := getAtt(id("AWS::DynamoDB::Table", "State"), "Arn")
	key := getAtt(id("AWS::KMS::Key", "TopicsTopicKey"), "Arn")
	findings := ref(id("AWS::SNS::Topic", "TopicsFindings"))
	alerts := ref(id("AWS::SNS::Topic", "TopicsAlerts"))
	secret := ref(id("AWS::SecretsManager::Secret", "TopicsSlackWebhook"))
	logs := func(fn string) stmtWant {
		return allow([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, getAtt(id("AWS::Logs::LogGroup", "Functions"+title(fn)+"Logs"), "Arn"))
	}
	queue := func(prefix string) any { return getAtt(id("AWS::SQS::Queue", prefix), "Arn") }
	kms := allow([]string{"kms:Decrypt", "kms:GenerateDataKey"}, key)

	want := map[string][]stmtWant{
		"ingest": {
			logs("ingest"),
			allow(sqsConsume, queue("PipelineIngestQueue")),
			allow([]string{"iam:GetUser", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:ListUserPolicies", "iam:ListAttachedUserPolicies"}, userArn("*")),
			allow([]string{"iam:GetRole"}, roleArn("*")),
			allow([]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}, table),
			allow([]string{"sns:Publish"}, findings), kms,
		},
		"notify": {
			logs("notify"),
			allow(sqsConsume, queue("FunctionsNotifyQueue")),
			allow([]string{"secretsmanager:GetSecretValue"}, secret),
			allow([]string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, table),
			allow([]string{"sns:Publish"}, alerts), kms,
		},
		"coverage": {
			logs("coverage"),
			allow([]string{"sqs:SendMessage"}, queue("FunctionsCoverageDLQ")), // function DLQ (failed async invocations)
			allow([]string{"ses:ListEmailIdentities", "ses:ListConfigurationSets"}, "*"),
			allow([]string{"ses:GetEmailIdentity"}, sesResource("identity/*")),
			allow([]string{"ses:GetConfigurationSetEventDestinations"}, sesResource("configuration-set/*")),
			allow([]string{"ec2:DescribeRegions", "events:ListRules"}, "*"),
			allow([]string{"sns:Publish"}, findings), kms,
			// Reconciliation (infra/reconcile.go): SES's metrics and the state table.
			allow([]string{"cloudwatch:GetMetricData"}, "*"),
			allow([]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}, table),
		},
	}

	cfg := s.s.Config
	var deny []any
	patterns := slices.Clone(cfg.Policy.Response.ProtectedPrincipals)
	slices.Sort(patterns)
	for _, p := range patterns {
		deny = append(deny, userArn(p), userArn("*/"+p), roleArn(p), roleArn("*/"+p))
	}
	for _, fn := range functionNames {
		deny = append(deny, getAtt(id("AWS::IAM::Role", "Functions"+title(fn)+"Role"), "Arn"))
	}
	respond := []stmtWant{
		logs("respond"),
		allow(sqsConsume, queue("FunctionsRespondQueue")),
		allow([]string{"iam:UpdateAccessKey", "iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:DeleteLoginProfile", "iam:CreateLoginProfile"}, userArn("*")),
		allow([]string{"iam:PutRolePolicy", "iam:DeleteRolePolicy"}, roleArn("*")),
		allow([]string{"iam:GetUser", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:GetUserPolicy", "iam:GetLoginProfile"}, userArn("*")),
		allow([]string{"iam:GetRole", "iam:GetRolePolicy"}, roleArn("*")),
		{Effect: "Deny", Actions: []string{"iam:UpdateAccessKey", "iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:DeleteLoginProfile", "iam:CreateLoginProfile", "iam:PutRolePolicy", "iam:DeleteRolePolicy"}, Resources: deny},
		allow([]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, table),
		allow([]string{"sns:Publish"}, findings), kms,
	}
	// SES statements exist only for the containment actions the policy uses; reads on any
	// identity, writes on the literal ones.
	tighten, pauseSet := usesAction(cfg.Policy, "tighten_identity_policy"), usesAction(cfg.Policy, "pause_configuration_set")
	var reads []string
	if tighten {
		reads = append(reads, "ses:GetEmailIdentityPolicies")
	}
	if pauseSet {
		reads = append(reads, "ses:GetEmailIdentity")
	}
	if len(reads) > 0 {
		respond = append(respond, allow(reads, sesResource("identity/*")))
	}
	var idArns []any
	for _, i := range cfg.LiteralIdentities() {
		idArns = append(idArns, sesResource("identity/"+i))
	}
	if len(idArns) > 0 && tighten {
		respond = append(respond, allow([]string{"ses:CreateEmailIdentityPolicy", "ses:UpdateEmailIdentityPolicy", "ses:DeleteEmailIdentityPolicy"}, idArns...))
	}
	if pauseSet {
		var setArns []any
		for _, n := range cfg.PausableConfigSets() {
			setArns = append(setArns, sesResource("configuration-set/"+n))
		}
		respond = append(respond, allow([]string{"ses:PutConfigurationSetSendingOptions"}, setArns...),
			allow([]string{"ses:GetConfigurationSet"}, sesResource("configuration-set/*")))
	}
	if usesActionPauseAccount(cfg) {
		respond = append(respond, allow([]string{"ses:GetAccount", "ses:PutAccountSendingAttributes"}, "*"))
	}
	if s.s.Interact != nil {
		// Approved Slack clicks (infra/interact.go).
		respond = append(respond, allow(sqsConsume, queue("InteractQueue")))
	}
	want["respond"] = respond
	return want
}

func TestFunctionPermissionsAreExact(t *testing.T) {
	for _, name := range sortedKeys(configurations) {
		t.Run(name, func(t *testing.T) {
			s := get(t, name)
			for fn, want := range expectedStatements(t, s) {
				roleID := s.logicalID(t, "AWS::IAM::Role", "Functions"+title(fn)+"Role")
				assertStatements(t, name+"/"+fn, s.roleStatements(t, roleID), want)
			}
		})
	}
}

// TestRespondScope pins the parts of respond's policy the threat model depends on, in the
// configuration with the richest policy (testdata/local.yaml).
func TestRespondScope(t *testing.T) {
	s := get(t, "local")
	want := expectedStatements(t, s)["respond"]
	keys := make([]string, len(want))
	for i, w := range want {
		keys[i] = w.key()
	}
	joined := strings.Join(keys, "\n")
	for _, must := range []string{
		// protected principals from the policy, with and without an IAM path
		`user/admin`, `user/*/admin`, `role/break-glass-*`, `role/*/break-glass-*`,
		// only the literal identities (the wildcard *.example.org gets nothing)
		`identity/example.com`, `identity/mail.example.com`,
		// the policy's set and the created monitored set
		`configuration-set/prod-outbound`, `configuration-set/sesguard-local`,
	} {
		if !strings.Contains(joined, must) {
			t.Errorf("respond policy lacks %q", must)
		}
	}
	if strings.Contains(joined, "example.org") {
		t.Errorf("respond may write a wildcard identity:\n%s", joined)
	}
}

// writeActions are the IAM and SES control-plane writes sesguard ever makes.
func isWrite(action string) bool {
	for _, p := range []string{"iam:Update", "iam:Put", "iam:Delete", "iam:Create", "iam:Attach", "iam:Detach",
		"ses:Create", "ses:Update", "ses:Delete", "ses:Put", "ses:Send", "ses:*", "iam:*", "*"} {
		if strings.HasPrefix(action, p) || action == p {
			return true
		}
	}
	return false
}

// TestOnlyRespondWrites scans every policy in every configuration: IAM/SES writes appear only in
// respond's policy, in the deploy-time custom-resource provider (scoped per identity / zone), and
// in the optional sender user's send permission.
func TestOnlyRespondWrites(t *testing.T) {
	for _, name := range sortedKeys(configurations) {
		s := get(t, name)
		respondRole := ref(s.logicalID(t, "AWS::IAM::Role", "FunctionsRespondRole"))
		for id, pol := range s.resources("AWS::IAM::Policy") {
			p := props(pol)
			doc, _ := p["PolicyDocument"].(map[string]any)
			for _, raw := range asList(doc["Statement"]) {
				st := templateStmt(raw.(map[string]any))
				if st.Effect != "Allow" {
					continue
				}
				for _, a := range st.Actions {
					if !isWrite(a) {
						continue
					}
					switch {
					case canon(asList(p["Roles"])) == canon([]any{respondRole}):
						for _, r := range st.Resources {
							if r == "*" && a != "ses:PutAccountSendingAttributes" {
								t.Errorf("%s: respond may %s on every resource", name, a)
							}
						}
					case strings.HasPrefix(id, "Preventive") || strings.HasPrefix(id, "AWS679f53fac002430cb0da5b7982bd2287") || strings.HasPrefix(id, "EndpointsAuthorize"):
						if strings.HasPrefix(a, "ses:Send") {
							if !strings.HasPrefix(id, "PreventiveSenderPolicy") {
								t.Errorf("%s: %s may send mail", name, id)
							}
							continue
						}
						for _, r := range st.Resources {
							if r == "*" {
								t.Errorf("%s: deploy-time policy %s may %s on every resource", name, id, a)
							}
						}
					default:
						t.Errorf("%s: policy %s (roles %s) grants the write %s", name, id, canon(p["Roles"]), a)
					}
				}
			}
		}
	}
}
