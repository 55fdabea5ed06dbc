package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/slack/approval"
)

// interactActions are the AWS calls functions/interact's code can make, derived from the client
// interfaces its main wires up: approval.Store (GetItem for approvals, PutItem for the replay
// cache), approval.SigningSecret (GetSecretValue), approval.Queue (SendMessage).
func interactActions(t *testing.T) []string {
	t.Helper()
	out := slices.Concat(
		apiActions(t, ifaceOf[approval.DynamoAPI]()),
		apiActions(t, fieldType(approval.SigningSecret{}, "API")),
		apiActions(t, fieldType(approval.Queue{}, "API")),
	)
	slices.Sort(out)
	return slices.Compact(out)
}

func TestInteractPrefixesMatchTheStore(t *testing.T) {
	if approvalKeyPrefix != approval.PrefixApproval || replayKeyPrefix != approval.PrefixReplay {
		t.Fatalf("infra prefixes %q %q, store %q %q", approvalKeyPrefix, replayKeyPrefix, approval.PrefixApproval, approval.PrefixReplay)
	}
}

// TestInteractOnlyWithApprovers: the public endpoint exists only where the policy names Slack
// approvers (local); elsewhere there is no function URL and respond has one SQS source less.
func TestInteractOnlyWithApprovers(t *testing.T) {
	for _, name := range sortedKeys(configurations) {
		s := get(t, name)
		urls := s.resources("AWS::Lambda::Url")
		want := len(s.s.Config.Policy.Response.Approvers) > 0
		if (len(urls) == 1) != want || len(urls) > 1 || (s.s.Interact != nil) != want {
			t.Errorf("%s: %d function URLs, interact %v; approvers %v", name, len(urls), s.s.Interact != nil, s.s.Config.Policy.Response.Approvers)
		}
	}
	if get(t, "local").s.Interact == nil {
		t.Fatal("local (testdata/local.yaml names approvers) has no interact construct")
	}
}

func TestInteract(t *testing.T) {
	s := get(t, "local")
	fnID := s.logicalID(t, "AWS::Lambda::Function", "InteractFunction")
	p := props(s.resources("AWS::Lambda::Function")[fnID])
	if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" || canon(p["Architectures"]) != `["arm64"]` {
		t.Errorf("runtime %v handler %v arch %v", p["Runtime"], p["Handler"], p["Architectures"])
	}
	if p["ReservedConcurrentExecutions"] != float64(interactConcurrency) || p["Timeout"] != float64(5) {
		t.Errorf("reserved concurrency %v timeout %v", p["ReservedConcurrentExecutions"], p["Timeout"])
	}
	env := p["Environment"].(map[string]any)["Variables"].(map[string]any)
	secretID := s.logicalID(t, "AWS::SecretsManager::Secret", "InteractSlackSigningSecret")
	queueID := s.logicalID(t, "AWS::SQS::Queue", "InteractQueue")
	if canon(env[envSigningSecret]) != canon(ref(secretID)) || canon(env[envInteractQueue]) != canon(ref(queueID)) ||
		env[envPolicy] != bundledPolicyPath || env[envTable] == nil || len(env) != 4 {
		t.Errorf("environment %s", canon(env))
	}
	if layers := asList(p["Layers"]); len(layers) != 1 {
		t.Errorf("want the policy layer, got %v", layers)
	}

	// The URL: auth NONE (Slack cannot sign SigV4), no CORS (Slack is not a browser).
	for _, u := range s.resources("AWS::Lambda::Url") {
		up := props(u)
		if up["AuthType"] != "NONE" || up["Cors"] != nil || canon(up["TargetFunctionArn"]) != canon(getAtt(fnID, "Arn")) {
			t.Errorf("function URL %s", canon(up))
		}
	}
	// Resource policy ("Control access to Lambda function URLs",
	// https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html: since October 2025 a new URL
	// needs lambda:InvokeFunctionUrl and lambda:InvokeFunction): the public URL invoke with
	// lambda:FunctionUrlAuthType NONE, and InvokeFunction only with lambda:InvokedViaFunctionUrl,
	// so nobody can call lambda:Invoke on the function directly.
	var perms []string
	for _, r := range s.resources("AWS::Lambda::Permission") {
		pp := props(r)
		if canon(pp["FunctionName"]) != canon(getAtt(fnID, "Arn")) {
			continue
		}
		perms = append(perms, canon(map[string]any{"a": pp["Action"], "p": pp["Principal"], "auth": pp["FunctionUrlAuthType"], "via": pp["InvokedViaFunctionUrl"]}))
	}
	slices.Sort(perms)
	want := []string{
		canon(map[string]any{"a": "lambda:InvokeFunction", "p": "*", "auth": nil, "via": true}),
		canon(map[string]any{"a": "lambda:InvokeFunctionUrl", "p": "*", "auth": "NONE", "via": nil}),
	}
	slices.Sort(want)
	if !slices.Equal(perms, want) {
		t.Errorf("interact resource policy\n got  %v\n want %v", perms, want)
	}

	// The signing secret is created empty: no value ever passes through the template.
	sp := props(s.resources("AWS::SecretsManager::Secret")[secretID])
	if sp["SecretString"] != nil || sp["GenerateSecretString"] != nil {
		t.Errorf("signing secret has a value in the template: %s", canon(sp))
	}
	// respond consumes the queue, one click per batch, partial batch responses.
	var found bool
	for _, m := range s.resources("AWS::Lambda::EventSourceMapping") {
		mp := props(m)
		if canon(mp["EventSourceArn"]) == canon(getAtt(queueID, "Arn")) {
			found = true
			if canon(mp["FunctionName"]) != canon(ref(s.logicalID(t, "AWS::Lambda::Function", "FunctionsRespond"))) || mp["BatchSize"] != float64(1) ||
				canon(mp["FunctionResponseTypes"]) != `["ReportBatchItemFailures"]` {
				t.Errorf("interact queue mapping %s", canon(mp))
			}
		}
	}
	if !found {
		t.Error("respond does not consume the interact queue")
	}
	q := props(s.resources("AWS::SQS::Queue")[queueID])
	if q["RedrivePolicy"] == nil || q["SqsManagedSseEnabled"] != true {
		t.Errorf("interact queue %s", canon(q))
	}
	outs, _ := s.json["Outputs"].(map[string]any)
	for _, o := range []string{"SlackInteractivityUrl", "SlackSigningSecretArn"} {
		if outs[o] == nil {
			t.Errorf("output %s missing", o)
		}
	}
	var alarms int
	for id := range s.resources("AWS::CloudWatch::Alarm") {
		if strings.HasPrefix(id, "Interact") {
			alarms++
		}
	}
	if alarms != 3 {
		t.Errorf("%d interact alarms, want 3 (DLQ, errors, throttles)", alarms)
	}
}

// TestInteractPermissionsAreExact (dynamodb:LeadingKeys with ForAllValues:StringLike limits a
// GetItem/PutItem to items whose partition key matches,
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html;
// same-account SQS and Secrets Manager access needs only the identity policy): interact's role is exactly its logs, its secret, GetItem on
// approval rows and PutItem on replay rows (dynamodb:LeadingKeys), and SendMessage to respond's
// queue: no IAM, no SES, no other table rows. And the grants equal the calls its code can make.
func TestInteractPermissionsAreExact(t *testing.T) {
	s := get(t, "local")
	id := func(typ, prefix string) string { return s.logicalID(t, typ, prefix) }
	table := getAtt(id("AWS::DynamoDB::Table", "State"), "Arn")
	leading := func(prefix string) any {
		return map[string]any{"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": []any{prefix + "*"}}}
	}
	want := []stmtWant{
		allow([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, getAtt(id("AWS::Logs::LogGroup", "InteractLogs"), "Arn")),
		allow([]string{"secretsmanager:GetSecretValue"}, ref(id("AWS::SecretsManager::Secret", "InteractSlackSigningSecret"))),
		{Effect: "Allow", Actions: []string{"dynamodb:GetItem"}, Resources: []any{table}, Condition: leading(approval.PrefixApproval)},
		{Effect: "Allow", Actions: []string{"dynamodb:PutItem"}, Resources: []any{table}, Condition: leading(approval.PrefixReplay)},
		allow([]string{"sqs:SendMessage"}, getAtt(id("AWS::SQS::Queue", "InteractQueue"), "Arn")),
	}
	got := s.roleStatements(t, id("AWS::IAM::Role", "InteractRole"))
	assertStatements(t, "local/interact", got, want)

	var granted []string
	for _, st := range got {
		for _, a := range st.Actions {
			if !strings.HasPrefix(a, "logs:") {
				granted = append(granted, a)
			}
		}
	}
	slices.Sort(granted)
	if code := interactActions(t); !slices.Equal(granted, code) {
		t.Errorf("interact role allows %v, its code calls %v", granted, code)
	}
}
