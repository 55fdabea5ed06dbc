package main

import (
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/deliver/alert"
	"github.com/sesguard/sesguard/shared/engine/attribute"
	"github.com/sesguard/sesguard/shared/engine/contain"
	"github.com/sesguard/sesguard/shared/engine/coverage"
	"github.com/sesguard/sesguard/shared/engine/detect"
	"github.com/sesguard/sesguard/shared/engine/reconcile"
	"github.com/sesguard/sesguard/shared/slack/approval"
)

// iamPrefix maps an SDK service package to its IAM action prefix.
var iamPrefix = map[string]string{"iam": "iam", "sesv2": "ses", "dynamodb": "dynamodb", "secretsmanager": "secretsmanager", "sns": "sns", "securityhub": "securityhub", "eventbridge": "events", "sqs": "sqs", "cloudwatch": "cloudwatch", "ec2": "ec2", "firehose": "firehose"}

// apiActions derives the IAM actions an SDK client interface can call: each method's name under
// the prefix of the package of its input type (GetUser(ctx, *iam.GetUserInput) → iam:GetUser).
func apiActions(t *testing.T, iface reflect.Type) []string {
	t.Helper()
	if iface.Kind() != reflect.Interface {
		t.Fatalf("%v is not an interface", iface)
	}
	var out []string
	for i := range iface.NumMethod() {
		m := iface.Method(i)
		if m.Type.NumIn() < 2 {
			t.Fatalf("%v.%s: not an SDK call", iface, m.Name)
		}
		in := m.Type.In(1)
		if in.Kind() == reflect.Pointer {
			in = in.Elem()
		}
		prefix, ok := iamPrefix[path.Base(in.PkgPath())]
		if !ok {
			t.Fatalf("%v.%s: no IAM prefix for SDK package %s", iface, m.Name, in.PkgPath())
		}
		out = append(out, prefix+":"+m.Name)
	}
	return out
}

func ifaceOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

func fieldType(v any, field string) reflect.Type {
	f, _ := reflect.TypeOf(v).FieldByName(field)
	return f.Type
}

// codeActions are the AWS calls each function's code can make at run time, derived from the client
// interfaces of the packages its main wires up (functions/<fn>/main.go). sns:Publish is
// functions/internal/topic's SNSAPI (an internal package this one cannot import).
func codeActions(t *testing.T) map[string][]string {
	t.Helper()
	uniq := func(l ...[]string) []string {
		out := slices.Concat(l...)
		slices.Sort(out)
		return slices.Compact(out)
	}
	publish := []string{"sns:Publish"}
	return map[string][]string{
		// attribute.New(iam), detect.NewDynamoState(ddb), the outbox (GetItem/UpdateItem), topic.
		"ingest": uniq(apiActions(t, ifaceOf[attribute.IAMAPI]()), apiActions(t, ifaceOf[detect.DynamoAPI]()), publish),
		// contain.NewExecutor(iam, sesv2, NewLedger(ddb)), approval.Store (Slack buttons), topic.
		"respond": uniq(apiActions(t, ifaceOf[contain.IAMAPI]()), apiActions(t, ifaceOf[contain.LoginProfileAPI]()), apiActions(t, ifaceOf[contain.SESAPI]()), apiActions(t, ifaceOf[contain.DynamoAPI]()),
			apiActions(t, ifaceOf[approval.DynamoAPI]()), publish),
		// alert.NewSecretURL(secretsmanager), alert.DynamoStore, alert.SNSPublisher.
		"notify": uniq(apiActions(t, fieldType(alert.SecretURL{}, "Client")), apiActions(t, fieldType(alert.DynamoStore{}, "Client")), apiActions(t, fieldType(alert.SNSPublisher{}, "Client"))),
		// coverage.Check(sesv2), coverage.CheckRegions(ec2, eventbridge), topic;
		// reconcile.Reconciler(cloudwatch, detect.NewDynamoState(ddb)).
		"coverage": uniq(apiActions(t, ifaceOf[coverage.SESAPI]()), apiActions(t, ifaceOf[coverage.RegionLister]()), apiActions(t, ifaceOf[coverage.RuleLister]()),
			apiActions(t, ifaceOf[reconcile.MetricsAPI]()), apiActions(t, ifaceOf[detect.DynamoAPI]()), publish),
	}
}

// grantedActions are the service actions a function role allows, without the plumbing every
// function has (its log group, its queue, the topic key).
func grantedActions(stmts []stmtWant) []string {
	var out []string
	for _, st := range stmts {
		if st.Effect != "Allow" {
			continue
		}
		for _, a := range st.Actions {
			if strings.HasPrefix(a, "logs:") || strings.HasPrefix(a, "sqs:") || strings.HasPrefix(a, "kms:") {
				continue
			}
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestPermissionsMatchCode cross-checks each role against the code: no role allows a call its
// function's code cannot make, and with the policy that uses every containment action (local)
// every call the code can make is allowed, so a new SDK call without its grant fails here rather
// than with AccessDenied in production.
func TestPermissionsMatchCode(t *testing.T) {
	code := codeActions(t)
	for _, name := range sortedKeys(configurations) {
		s := get(t, name)
		for _, fn := range functionNames {
			roleID := s.logicalID(t, "AWS::IAM::Role", "Functions"+title(fn)+"Role")
			granted := grantedActions(s.roleStatements(t, roleID))
			for _, a := range granted {
				if !slices.Contains(code[fn], a) {
					t.Errorf("%s/%s: role allows %s, which the code never calls", name, fn, a)
				}
			}
			if name != "local" {
				continue
			}
			for _, a := range code[fn] {
				if !slices.Contains(granted, a) {
					t.Errorf("%s/%s: the code calls %s but the role does not allow it", name, fn, a)
				}
			}
		}
	}
	// The local policy must really use every containment action, or the check above is partial.
	for _, a := range []string{"deactivate_keys", "deny_send_policy", "tighten_identity_policy", "pause_configuration_set", "pause_account"} {
		if !usesAction(get(t, "local").s.Config.Policy, a) {
			t.Errorf("testdata/local.yaml does not use %s", a)
		}
	}
}
