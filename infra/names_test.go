package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// scopedName is a physical name that must be unique in the account and Region, with the rule
// the service puts on it.
type scopedName struct {
	kind  string
	value string
}

// nameRules: pattern and length of each name kind ("Quotas"/"naming" in the CloudFormation
// resource references: AWS::SES::ConfigurationSet Name, AWS::SecretsManager::Secret Name,
// AWS::Glue::Database DatabaseInput Name, AWS::Athena::WorkGroup Name; SESv2
// CreateEmailIdentityPolicy PolicyName, https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_CreateEmailIdentityPolicy.html:
// at most 64 alphanumerics, dashes and underscores).
var nameRules = map[string]*regexp.Regexp{
	"configuration set": regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`),
	"secret":            regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`),
	"glue database":     regexp.MustCompile(`^[a-z0-9_]{1,255}$`),
	"athena workgroup":  regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`),
	"identity policy":   regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`),
}

// generatedOnly are the name properties sesguard leaves to CloudFormation (a generated name has
// the stack name and a random suffix, so it never collides).
var generatedOnly = map[string]string{
	"AWS::SNS::Topic": "TopicName", "AWS::SQS::Queue": "QueueName", "AWS::Lambda::Function": "FunctionName",
	"AWS::IAM::Role": "RoleName", "AWS::IAM::User": "UserName", "AWS::DynamoDB::Table": "TableName",
	"AWS::S3::Bucket": "BucketName", "AWS::KinesisFirehose::DeliveryStream": "DeliveryStreamName",
	"AWS::Logs::LogGroup": "LogGroupName", "AWS::CloudWatch::Alarm": "AlarmName", "AWS::Events::Rule": "Name",
	"AWS::Lambda::LayerVersion": "LayerName", "AWS::KMS::Key": "", "AWS::EC2::SecurityGroup": "GroupName",
}

// scopedNames collects the explicit account/Region-scoped names of a template and checks each
// against its rule and that no other resource has an explicit physical name.
func scopedNames(t cfn) ([]scopedName, error) {
	var out []scopedName
	var errs []error
	add := func(kind string, v any) {
		s, ok := v.(string)
		if !ok {
			errs = append(errs, fmt.Errorf("%s name %s is not a literal", kind, canon(v)))
			return
		}
		if !nameRules[kind].MatchString(s) {
			errs = append(errs, fmt.Errorf("%s name %q breaks %s", kind, s, nameRules[kind]))
		}
		out = append(out, scopedName{kind, s})
	}
	for id, r := range t.all() {
		p := t.props(id)
		switch typ := fmt.Sprint(r["Type"]); typ {
		case "AWS::SES::ConfigurationSet":
			add("configuration set", p["Name"])
		case "AWS::SecretsManager::Secret":
			add("secret", p["Name"])
		case "AWS::Glue::Database":
			add("glue database", p["DatabaseInput"].(map[string]any)["Name"])
		case "AWS::Athena::WorkGroup":
			add("athena workgroup", p["Name"])
		case "Custom::SesguardIdentityPolicy":
			// Identity policy names are per identity: two stacks collide on the same identity.
			add("identity policy", p["PolicyName"])
			identity, _ := p["EmailIdentity"].(string)
			out[len(out)-1].value = identity + "/" + fmt.Sprint(p["PolicyName"])
		default:
			if prop, ok := generatedOnly[typ]; ok && prop != "" && p[prop] != nil {
				errs = append(errs, fmt.Errorf("%s (%s) has an explicit %s %s: two stacks would collide", id, typ, prop, canon(p[prop])))
			}
		}
	}
	return out, errors.Join(errs...)
}

// checkTwoStacks: two stacks (different sesguardStackName) in one account and Region share no
// scoped name, and every name fits its service's rule.
func checkTwoStacks(a, b cfn) error {
	na, errA := scopedNames(a)
	nb, errB := scopedNames(b)
	errs := []error{errA, errB}
	seen := map[scopedName]bool{}
	for _, n := range na {
		seen[n] = true
	}
	for _, n := range nb {
		if seen[n] {
			errs = append(errs, fmt.Errorf("both stacks use %s %q", n.kind, n.value))
		}
	}
	if len(na) < 5 {
		errs = append(errs, fmt.Errorf("only %d scoped names found: %v", len(na), na))
	}
	return errors.Join(errs...)
}

func TestNamesUniquePerStack(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// The longest stack name allowed, so the length rules are checked at the limit.
	long := "Sesguard-" + strings.Repeat("x", maxStackName-len("Sesguard-"))
	// Against "local", whose policy enforces preventive controls, so identity policies are compared.
	second := synthConfig(root, "second stack", map[string]any{ctxStackName: long, ctxPolicy: "infra/testdata/local.yaml"})
	if second.err != nil {
		t.Fatal(second.err)
	}
	a, b := cfn(get(t, "local").json), cfn(second.json)
	if err := checkTwoStacks(a, b); err != nil {
		t.Fatalf("default and %s: %v", long, err)
	}
	mutants := map[string]func(b cfn) int{
		"second stack reuses the set name": func(b cfn) int {
			var name any
			for id := range a.ofType("AWS::SES::ConfigurationSet") {
				name = a.props(id)["Name"]
			}
			return setProp(b, "AWS::SES::ConfigurationSet", "", "Name", name)
		},
		"workgroup name too long": func(b cfn) int {
			return setProp(b, "AWS::Athena::WorkGroup", "", "Name", strings.Repeat("w", 129))
		},
		"explicit topic name": func(b cfn) int {
			return setProp(b, "AWS::SNS::Topic", "TopicsAlerts", "TopicName", "sesguard-alerts")
		},
		"same identity policy name": func(b cfn) int {
			n := 0
			for id := range b.ofType("Custom::SesguardIdentityPolicy") {
				b.props(id)["PolicyName"] = "sesguard-preventive"
				n++
			}
			return n
		},
	}
	requireMutantsFail(t, b, mutants, func(mut cfn) error { return checkTwoStacks(a, mut) }, nil)
}
