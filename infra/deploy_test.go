package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// deployContext is the reduced deployment: no AwsCustomResource (identity policies and default
// configuration sets are SESv2 calls made by a provider Lambda, which moto can only run in
// Docker), both SES transports so the SES events topic and its subscription are deployed, and an
// alert e-mail subscription.
var deployContext = map[string]any{
	ctxIdentityPolicies: false,
	ctxDefaultConfigSet: false,
	ctxEventTransport:   transportBoth,
	ctxAlertEmail:       "secops@example.com",
}

// cdkCLI finds the pinned CLI (node_modules/.bin/cdk), failing under CI=true when it is missing.
func cdkCLI(t *testing.T, root string) string {
	t.Helper()
	requireTool(t, "node", "the pinned aws-cdk CLI runs on Node.js")
	cdk := filepath.Join(root, "node_modules", ".bin", "cdk")
	if _, err := os.Stat(cdk); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node_modules/.bin/cdk missing under CI=true: run npm ci first (README test command): %v", err)
		}
		t.Skipf("SKIPPED: node_modules/.bin/cdk missing (run npm ci --no-audit --no-fund): %v", err)
	}
	return cdk
}

// TestDeployIntoMoto runs the real deploy path against moto: `cdk bootstrap` (the CDKToolkit
// stack: bucket, ECR repository, roles, SSM version parameter), then `cdk deploy` of the
// synthesized cloud assembly with moto's CloudFormation gaps (motoBlockers) taken out, through
// the pinned CLI: assets published to the bootstrap bucket by cdk-assets, change set created and
// executed under the deploy role. Then the SDK lists what CloudFormation created and compares it
// with the template: queues (visibility, retention, encryption, redrive), topics (key,
// subscriptions), the state table, the functions (runtime, handler, architecture, timeout,
// memory, layer, role, environment, reserved concurrency, DLQ), the event source mappings, the
// EventBridge rules and targets, the key, and each role's policy actions.
func TestDeployIntoMoto(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cdk := cdkCLI(t, root)
	m := awstest.Start(t)

	// Synthesize the reduced deployment into its own cloud assembly.
	app, err := newTestApp(root, deployContext)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(root, contextGetter(app))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSesguardStack(app, cfg); err != nil {
		t.Fatal(err)
	}
	dir := *app.Synth(nil).Directory()
	tmpl, removed, err := rewriteAssemblyTemplate(dir, cfg.StackName)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(removed)); !slices.Equal(got, motoBlockers) {
		t.Errorf("removed types %v, want exactly motoBlockers %v (update the list and README)", got, motoBlockers)
	}
	if n := len(tmpl.ofType("AWS::Lambda::Function")); n != 4 || len(customResources(tmpl)) != 0 {
		t.Fatalf("reduced template: %d functions, %d custom resources (want 4 and none)", n, len(customResources(tmpl)))
	}

	// moto reads a TemplateURL only as https://s3…amazonaws.com/… or with "localhost" in it: the
	// CLI builds it from AWS_ENDPOINT_URL, so the endpoint is named localhost (the proxy listens
	// on 127.0.0.1, which localhost resolves to).
	env := m.Env()
	env["AWS_ENDPOINT_URL"] = strings.Replace(m.Endpoint, "127.0.0.1", "localhost", 1)
	cli := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, cdk, append(args, "--no-notices", "--no-color")...)
		cmd.Dir = t.TempDir() // no cdk.json: the assembly is given with --app
		cmd.Env = append(os.Environ(), "CDK_DISABLE_VERSION_CHECK=true", "CDK_DISABLE_CLI_TELEMETRY=true",
			"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20", "CDK_HOME="+t.TempDir())
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("cdk %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		t.Logf("cdk %s: %s", args[0], time.Since(start).Round(100*time.Millisecond))
	}
	cli("bootstrap", "aws://"+awstest.Account+"/"+awstest.Region)
	cli("deploy", "--app", dir, "--require-approval", "never", cfg.StackName)

	ctx := context.Background()
	awsCfg := m.Config(t)
	cf := cloudformation.NewFromConfig(awsCfg)
	st, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(cfg.StackName)})
	if err != nil {
		t.Fatal(err)
	}
	if s := st.Stacks[0].StackStatus; s != cfntypes.StackStatusCreateComplete {
		t.Fatalf("stack %s: %s (%s)", cfg.StackName, s, aws.ToString(st.Stacks[0].StackStatusReason))
	}
	phys := map[string]string{}
	listed := map[string]bool{}
	var next *string
	for {
		out, err := cf.ListStackResources(ctx, &cloudformation.ListStackResourcesInput{StackName: aws.String(cfg.StackName), NextToken: next})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.StackResourceSummaries {
			phys[aws.ToString(r.LogicalResourceId)] = aws.ToString(r.PhysicalResourceId)
			listed[aws.ToString(r.LogicalResourceId)] = true
		}
		if next = out.NextToken; next == nil {
			break
		}
	}
	for id, r := range tmpl.all() {
		typ := fmt.Sprint(r["Type"])
		switch {
		case !listed[id]:
			t.Errorf("%s (%s) is not in the deployed stack", id, typ)
		case phys[id] == "" && !slices.Contains(motoNoPhysicalID, typ):
			t.Errorf("%s (%s) has no physical id", id, typ)
		}
	}
	t.Logf("stack CREATE_COMPLETE with %d resources; moto could not create %d of the template's: %v", len(phys), countIDs(removed), motoBlockers)

	d := &deployed{t: t, ctx: ctx, tmpl: tmpl, phys: phys,
		sqs: sqs.NewFromConfig(awsCfg), sns: sns.NewFromConfig(awsCfg), ddb: dynamodb.NewFromConfig(awsCfg),
		lambda: lambda.NewFromConfig(awsCfg), events: eventbridge.NewFromConfig(awsCfg), kms: kms.NewFromConfig(awsCfg), iam: iam.NewFromConfig(awsCfg),
		queueArns: map[string]string{}}
	d.queues()
	d.topics()
	d.table()
	d.functions()
	d.mappings()
	d.rules()
	d.key()
	d.permissions()
	d.rolePolicies()
}

// motoNoPhysicalID are types moto creates but lists with an empty physical id; the test finds
// them through their service instead (layerArns, permissions).
var motoNoPhysicalID = []string{"AWS::Lambda::LayerVersion", "AWS::Lambda::Permission"}

// motoFunctionGaps are AWS::Lambda::Function properties moto 5.2.1's CloudFormation ignores (its
// create_from_cloudformation_json passes only Code, Handler, Role, Runtime, Description,
// MemorySize, Publish, Timeout, VpcConfig, Environment, ReservedConcurrentExecutions): they are
// proven on the template, and only a real account shows them deployed.
var motoFunctionGaps = map[string]string{
	"Architectures":    "moto creates x86_64",
	"Layers":           "moto attaches no layer",
	"DeadLetterConfig": "moto sets no DLQ",
}

func countIDs(m map[string][]string) int {
	n := 0
	for _, ids := range m {
		n += len(ids)
	}
	return n
}

// deployed compares what moto's CloudFormation created with the template.
type deployed struct {
	t         *testing.T
	ctx       context.Context
	tmpl      cfn
	phys      map[string]string // logical id → physical id
	sqs       *sqs.Client
	sns       *sns.Client
	ddb       *dynamodb.Client
	lambda    *lambda.Client
	events    *eventbridge.Client
	kms       *kms.Client
	iam       *iam.Client
	queueArns map[string]string // logical id → queue ARN
}

// resolve evaluates the intrinsics the compared properties use, from the deployed resources.
func (d *deployed) resolve(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case map[string]any:
		if s, ok := x["Fn::Sub"].(string); ok {
			r := strings.NewReplacer("${AWS::Partition}", "aws", "${AWS::Region}", awstest.Region, "${AWS::AccountId}", awstest.Account)
			out := r.Replace(s)
			if strings.Contains(out, "${") {
				return "", fmt.Errorf("unresolved Fn::Sub %q", s)
			}
			return out, nil
		}
		if id := refID(x); id != "" {
			if _, isRef := x["Ref"]; isRef {
				switch d.tmpl.res(id)["Type"] {
				case "AWS::SNS::Topic", "AWS::DynamoDB::Table", "AWS::KMS::Key", "AWS::Lambda::Function", "AWS::SQS::Queue":
					if d.phys[id] == "" {
						return "", fmt.Errorf("Ref %s: no physical id", id)
					}
					return d.phys[id], nil // for a queue, its URL
				}
				return "", fmt.Errorf("Ref %s: type %v not resolved", id, d.tmpl.res(id)["Type"])
			}
			attr := fmt.Sprint(x["Fn::GetAtt"].([]any)[1])
			switch typ := d.tmpl.res(id)["Type"]; {
			case typ == "AWS::SQS::Queue" && attr == "Arn":
				return d.queueArn(id), nil
			case typ == "AWS::KMS::Key" && attr == "Arn":
				// Built, not described: moto 5.2.1 stores a CloudFormation KeyPolicy as an object
				// and then fails (HTTP 500) every call that evaluates it (DescribeKey,
				// GetKeyPolicy); see key().
				return "arn:aws:kms:" + awstest.Region + ":" + awstest.Account + ":key/" + d.phys[id], nil
			case typ == "AWS::Lambda::Function" && attr == "Arn":
				out, err := d.lambda.GetFunction(d.ctx, &lambda.GetFunctionInput{FunctionName: aws.String(d.phys[id])})
				if err != nil {
					return "", err
				}
				return aws.ToString(out.Configuration.FunctionArn), nil
			case typ == "AWS::IAM::Role" && attr == "Arn":
				out, err := d.iam.GetRole(d.ctx, &iam.GetRoleInput{RoleName: aws.String(d.phys[id])})
				if err != nil {
					return "", err
				}
				return aws.ToString(out.Role.Arn), nil
			}
			return "", fmt.Errorf("GetAtt %s.%s not resolved", id, attr)
		}
	}
	return "", fmt.Errorf("cannot resolve %s", canon(v))
}

func (d *deployed) must(v any) string {
	d.t.Helper()
	s, err := d.resolve(v)
	if err != nil {
		d.t.Fatal(err)
	}
	return s
}

func (d *deployed) queueArn(id string) string {
	d.t.Helper()
	if arn, ok := d.queueArns[id]; ok {
		return arn
	}
	out, err := d.sqs.GetQueueAttributes(d.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(d.phys[id]), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		d.t.Fatalf("queue %s (%s): %v", id, d.phys[id], err)
	}
	d.queueArns[id] = out.Attributes["QueueArn"]
	return d.queueArns[id]
}

func (d *deployed) queues() {
	t := d.t
	for _, id := range sortedKeys(d.tmpl.ofType("AWS::SQS::Queue")) {
		p := d.tmpl.props(id)
		out, err := d.sqs.GetQueueAttributes(d.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(d.phys[id]), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			t.Errorf("queue %s: %v", id, err)
			continue
		}
		a := out.Attributes
		want := map[string]string{"VisibilityTimeout": "30", "MessageRetentionPeriod": "345600", "SqsManagedSseEnabled": "true"}
		for k := range want {
			if v, ok := p[k]; ok {
				want[k] = d.must(v)
			}
		}
		for k, v := range want {
			if a[k] != v {
				t.Errorf("queue %s: %s = %q, template %q", id, k, a[k], v)
			}
		}
		if rp, ok := p["RedrivePolicy"].(map[string]any); ok {
			var got struct {
				DeadLetterTargetArn string `json:"deadLetterTargetArn"`
				MaxReceiveCount     any    `json:"maxReceiveCount"`
			}
			if err := json.Unmarshal([]byte(a["RedrivePolicy"]), &got); err != nil {
				t.Errorf("queue %s: RedrivePolicy %q: %v", id, a["RedrivePolicy"], err)
				continue
			}
			if got.DeadLetterTargetArn != d.must(rp["deadLetterTargetArn"]) || fmt.Sprint(got.MaxReceiveCount) != fmt.Sprint(rp["maxReceiveCount"]) {
				t.Errorf("queue %s: redrive %+v, template %s", id, got, canon(rp))
			}
		}
	}
}

func (d *deployed) topics() {
	t := d.t
	listed, err := d.sns.ListTopics(d.ctx, &sns.ListTopicsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var arns []string
	for _, tp := range listed.Topics {
		arns = append(arns, aws.ToString(tp.TopicArn))
	}
	for _, id := range sortedKeys(d.tmpl.ofType("AWS::SNS::Topic")) {
		p := d.tmpl.props(id)
		arn := d.phys[id]
		if !slices.Contains(arns, arn) {
			t.Errorf("topic %s (%s) not listed", id, arn)
			continue
		}
		attrs, err := d.sns.GetTopicAttributes(d.ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := attrs.Attributes["KmsMasterKeyId"], d.must(p["KmsMasterKeyId"]); got != want {
			t.Errorf("topic %s: KmsMasterKeyId %q, template %q", id, got, want)
		}
		if got, want := attrs.Attributes["DisplayName"], fmt.Sprint(p["DisplayName"]); got != want {
			t.Errorf("topic %s: DisplayName %q, template %q", id, got, want)
		}
		subs, err := d.sns.ListSubscriptionsByTopic(d.ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, s := range subs.Subscriptions {
			got = append(got, aws.ToString(s.Protocol)+" "+aws.ToString(s.Endpoint))
		}
		for _, s := range asList(p["Subscription"]) {
			m := s.(map[string]any)
			want = append(want, fmt.Sprint(m["Protocol"])+" "+d.must(m["Endpoint"]))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("topic %s: subscriptions %v, template %v", id, got, want)
		}
	}
}

func (d *deployed) table() {
	t := d.t
	for _, id := range sortedKeys(d.tmpl.ofType("AWS::DynamoDB::Table")) {
		p := d.tmpl.props(id)
		out, err := d.ddb.DescribeTable(d.ctx, &dynamodb.DescribeTableInput{TableName: aws.String(d.phys[id])})
		if err != nil {
			t.Fatalf("table %s: %v", id, err)
		}
		var got []string
		for _, k := range out.Table.KeySchema {
			got = append(got, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
		}
		var want []string
		for _, k := range asList(p["KeySchema"]) {
			m := k.(map[string]any)
			want = append(want, fmt.Sprint(m["AttributeName"])+" "+fmt.Sprint(m["KeyType"]))
		}
		if !slices.Equal(got, want) {
			t.Errorf("table %s: key schema %v, template %v", id, got, want)
		}
		if out.Table.BillingModeSummary == nil || string(out.Table.BillingModeSummary.BillingMode) != p["BillingMode"] {
			t.Errorf("table %s: billing %+v, template %v", id, out.Table.BillingModeSummary, p["BillingMode"])
		}
	}
}

func (d *deployed) functions() {
	t := d.t
	for _, id := range sortedKeys(d.tmpl.ofType("AWS::Lambda::Function")) {
		p := d.tmpl.props(id)
		out, err := d.lambda.GetFunction(d.ctx, &lambda.GetFunctionInput{FunctionName: aws.String(d.phys[id])})
		if err != nil {
			t.Errorf("function %s: %v", id, err)
			continue
		}
		c := out.Configuration
		var arch []string
		for _, a := range c.Architectures {
			arch = append(arch, string(a))
		}
		checks := [][3]string{
			{"Runtime", string(c.Runtime), fmt.Sprint(p["Runtime"])},
			{"Handler", aws.ToString(c.Handler), fmt.Sprint(p["Handler"])},
			{"Architectures", strings.Join(arch, ","), d.joinList(p["Architectures"])},
			{"Timeout", strconv.Itoa(int(aws.ToInt32(c.Timeout))), fmt.Sprint(p["Timeout"])},
			{"MemorySize", strconv.Itoa(int(aws.ToInt32(c.MemorySize))), fmt.Sprint(p["MemorySize"])},
			{"Role", aws.ToString(c.Role), d.must(p["Role"])},
		}
		var layers []string
		for _, l := range c.Layers {
			layers = append(layers, aws.ToString(l.Arn))
		}
		checks = append(checks, [3]string{"Layers", strings.Join(layers, ","), d.layerArns(p["Layers"])})
		if dl, ok := p["DeadLetterConfig"].(map[string]any); ok {
			got := ""
			if c.DeadLetterConfig != nil {
				got = aws.ToString(c.DeadLetterConfig.TargetArn)
			}
			checks = append(checks, [3]string{"DeadLetterConfig", got, d.must(dl["TargetArn"])})
		}
		if rc, ok := p["ReservedConcurrentExecutions"]; ok {
			got := "none"
			if out.Concurrency != nil && out.Concurrency.ReservedConcurrentExecutions != nil {
				got = strconv.Itoa(int(*out.Concurrency.ReservedConcurrentExecutions))
			}
			checks = append(checks, [3]string{"ReservedConcurrentExecutions", got, fmt.Sprint(rc)})
		}
		for _, c := range checks {
			if c[1] == c[2] {
				continue
			}
			if gap, ok := motoFunctionGaps[c[0]]; ok {
				t.Logf("moto gap, not compared: function %s: %s = %q, template %q (%s)", id, c[0], c[1], c[2], gap)
				continue
			}
			t.Errorf("function %s: %s = %q, template %q", id, c[0], c[1], c[2])
		}
		want := map[string]string{}
		vars, _ := p["Environment"].(map[string]any)["Variables"].(map[string]any)
		for k, v := range vars {
			want[k] = d.must(v)
		}
		var got map[string]string
		if c.Environment != nil {
			got = c.Environment.Variables
		}
		if !maps.Equal(got, want) {
			t.Errorf("function %s: environment\n got %v\nwant %v", id, got, want)
		}
		for _, k := range []string{envTable, envFindingsTopic, envAlertsTopic, envSlackSecret, envMode, envPolicy} {
			if got[k] == "" {
				t.Errorf("function %s: %s empty after deploy", id, k)
			}
		}
	}
}

// layerArns resolves the function's layers by name: moto lists a LayerVersion with an empty
// physical id, but creates it as <stack>-<logical id>-<suffix>, version 1.
func (d *deployed) layerArns(v any) string {
	d.t.Helper()
	out, err := d.lambda.ListLayers(d.ctx, &lambda.ListLayersInput{})
	if err != nil {
		d.t.Fatal(err)
	}
	var arns []string
	for _, l := range asList(v) {
		id := refID(l)
		found := ""
		for _, ly := range out.Layers {
			if strings.Contains(aws.ToString(ly.LayerName), "-"+id+"-") && ly.LatestMatchingVersion != nil {
				found = aws.ToString(ly.LatestMatchingVersion.LayerVersionArn)
			}
		}
		if found == "" {
			d.t.Errorf("layer %s was not created", id)
		}
		arns = append(arns, found)
	}
	return strings.Join(arns, ",")
}

func (d *deployed) joinList(v any) string {
	var out []string
	for _, e := range asList(v) {
		out = append(out, d.must(e))
	}
	return strings.Join(out, ",")
}

func (d *deployed) mappings() {
	t := d.t
	out, err := d.lambda.ListEventSourceMappings(d.ctx, &lambda.ListEventSourceMappingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range out.EventSourceMappings {
		fn := aws.ToString(m.FunctionArn)
		fn = fn[strings.LastIndex(fn, ":")+1:]
		maxC := "-"
		if m.ScalingConfig != nil && m.ScalingConfig.MaximumConcurrency != nil {
			maxC = strconv.Itoa(int(*m.ScalingConfig.MaximumConcurrency))
		}
		var types []string
		for _, r := range m.FunctionResponseTypes {
			types = append(types, string(r))
		}
		got[aws.ToString(m.EventSourceArn)+" → "+fn] = fmt.Sprintf("batch %d window %d max %s %v", aws.ToInt32(m.BatchSize), aws.ToInt32(m.MaximumBatchingWindowInSeconds), maxC, types)
	}
	want := map[string]string{}
	for _, id := range sortedKeys(d.tmpl.ofType("AWS::Lambda::EventSourceMapping")) {
		p := d.tmpl.props(id)
		maxC := "-"
		if sc, ok := p["ScalingConfig"].(map[string]any); ok {
			maxC = fmt.Sprint(sc["MaximumConcurrency"])
		}
		window := "0"
		if w, ok := p["MaximumBatchingWindowInSeconds"]; ok {
			window = fmt.Sprint(w)
		}
		var types []string
		for _, r := range asList(p["FunctionResponseTypes"]) {
			types = append(types, fmt.Sprint(r))
		}
		want[d.must(p["EventSourceArn"])+" → "+d.must(p["FunctionName"])] = fmt.Sprintf("batch %v window %s max %s %v", p["BatchSize"], window, maxC, types)
	}
	if !maps.Equal(got, want) {
		t.Errorf("event source mappings\n got %v\nwant %v", got, want)
	}
}

func (d *deployed) rules() {
	t := d.t
	for _, id := range sortedKeys(d.tmpl.ofType("AWS::Events::Rule")) {
		p := d.tmpl.props(id)
		name := d.phys[id]
		rule, err := d.events.DescribeRule(d.ctx, &eventbridge.DescribeRuleInput{Name: aws.String(name)})
		if err != nil {
			t.Errorf("rule %s (%s): %v", id, name, err)
			continue
		}
		if ep, ok := p["EventPattern"]; ok {
			var got any
			if err := json.Unmarshal([]byte(aws.ToString(rule.EventPattern)), &got); err != nil || canon(got) != canon(ep) {
				t.Errorf("rule %s: pattern %s, template %s (%v)", id, aws.ToString(rule.EventPattern), canon(ep), err)
			}
		}
		if se, ok := p["ScheduleExpression"]; ok && aws.ToString(rule.ScheduleExpression) != se {
			t.Errorf("rule %s: schedule %q, template %v", id, aws.ToString(rule.ScheduleExpression), se)
		}
		targets, err := d.events.ListTargetsByRule(d.ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, tg := range targets.Targets {
			dlq := ""
			if tg.DeadLetterConfig != nil {
				dlq = aws.ToString(tg.DeadLetterConfig.Arn)
			}
			got = append(got, aws.ToString(tg.Arn)+" dlq "+dlq)
		}
		for _, tg := range asList(p["Targets"]) {
			m := tg.(map[string]any)
			dlq := ""
			if dl, ok := m["DeadLetterConfig"].(map[string]any); ok {
				dlq = d.must(dl["Arn"])
			}
			want = append(want, d.must(m["Arn"])+" dlq "+dlq)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("rule %s: targets %v, template %v", id, got, want)
		}
	}
}

// key: the key exists. Its policy and rotation cannot be read back: moto 5.2.1 keeps a
// CloudFormation KeyPolicy as an object, so GetKeyPolicy returns an object where the API has a
// string and every call that evaluates the policy (DescribeKey, GetKeyRotationStatus) fails with
// HTTP 500; the key policy is proven on the template instead (TestCrossServiceGrants).
func (d *deployed) key() {
	t := d.t
	out, err := d.kms.ListKeys(d.ctx, &kms.ListKeysInput{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range out.Keys {
		ids = append(ids, aws.ToString(k.KeyId))
	}
	for _, id := range sortedKeys(d.tmpl.ofType("AWS::KMS::Key")) {
		if !slices.Contains(ids, d.phys[id]) {
			t.Errorf("key %s (%s) not listed: %v", id, d.phys[id], ids)
		}
	}
}

// permissions: the EventBridge → Lambda permissions are on the function's resource policy (moto
// lists AWS::Lambda::Permission with an empty physical id).
func (d *deployed) permissions() {
	t := d.t
	for _, id := range sortedKeys(d.tmpl.ofType("AWS::Lambda::Permission")) {
		p := d.tmpl.props(id)
		fn := d.must(p["FunctionName"])
		pol, err := d.lambda.GetPolicy(d.ctx, &lambda.GetPolicyInput{FunctionName: aws.String(fn)})
		if err != nil {
			t.Errorf("permission %s: function policy of %s: %v", id, fn, err)
			continue
		}
		doc, err := decodePolicy(aws.ToString(pol.Policy))
		if err != nil {
			t.Fatal(err)
		}
		rule := refID(p["SourceArn"])
		ruleOut, err := d.events.DescribeRule(d.ctx, &eventbridge.DescribeRuleInput{Name: aws.String(d.phys[rule])})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(canon(doc), aws.ToString(ruleOut.Arn)) || !strings.Contains(canon(doc), fmt.Sprint(p["Principal"])) {
			t.Errorf("permission %s: function policy %s lacks %s from %s", id, canon(doc), p["Principal"], aws.ToString(ruleOut.Arn))
		}
	}
}

// rolePolicies: each role's inline policies (CDK's AWS::IAM::Policy become inline role policies)
// carry the template's actions.
func (d *deployed) rolePolicies() {
	t := d.t
	for _, role := range sortedKeys(d.tmpl.ofType("AWS::IAM::Role")) {
		want := map[string]bool{}
		for _, pid := range d.tmpl.policyIDsOn(role) {
			for _, s := range statements(d.tmpl.props(pid)["PolicyDocument"]) {
				for _, a := range s.actions {
					want[a] = true
				}
			}
		}
		got := map[string]bool{}
		names, err := d.iam.ListRolePolicies(d.ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(d.phys[role])})
		if err != nil {
			t.Errorf("role %s: %v", role, err)
			continue
		}
		for _, n := range names.PolicyNames {
			pol, err := d.iam.GetRolePolicy(d.ctx, &iam.GetRolePolicyInput{RoleName: aws.String(d.phys[role]), PolicyName: aws.String(n)})
			if err != nil {
				t.Fatal(err)
			}
			doc, err := decodePolicy(aws.ToString(pol.PolicyDocument))
			if err != nil {
				t.Fatalf("role %s policy %s: %v", role, n, err)
			}
			for _, s := range statements(doc) {
				for _, a := range s.actions {
					got[a] = true
				}
			}
		}
		if !maps.Equal(got, want) {
			t.Errorf("role %s: actions %v, template %v", role, sortedKeys(got), sortedKeys(want))
		}
	}
}

// decodePolicy reads an IAM policy document, URL-encoded as IAM returns it or plain as moto may.
func decodePolicy(s string) (any, error) {
	var doc any
	if err := json.Unmarshal([]byte(s), &doc); err == nil {
		return doc, nil
	}
	u, err := url.QueryUnescape(s)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(u), &doc); err != nil {
		return nil, errors.New("policy document is neither JSON nor URL-encoded JSON")
	}
	return doc, nil
}
