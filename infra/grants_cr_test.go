package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
)

// sdkClients are the Go SDK clients whose method sets spell the same operation names (and whose
// input structs the same member names) as the SDK v3 clients the custom-resource runtime loads:
// both are generated from the one service model. Route 53 has no Go client in go.mod, so its
// calls are checked for service, IAM action and physical id only.
var sdkClients = map[string]reflect.Type{
	"sesv2": reflect.TypeOf(&sesv2.Client{}),
}

// crCall is one AwsSdkCall as the AwsCustomResource provider receives it.
type crCall struct {
	Service            string         `json:"service"`
	Action             string         `json:"action"`
	Parameters         map[string]any `json:"parameters"`
	PhysicalResourceID *struct {
		ID           string `json:"id"`
		ResponsePath string `json:"responsePath"`
	} `json:"physicalResourceId"`
	IgnoreErrorCodesMatching string `json:"ignoreErrorCodesMatching"`
}

// customResources are the AwsCustomResource instances: Custom::* whose ServiceToken is the
// provider function.
func customResources(t cfn) []string {
	var out []string
	for id, r := range t.all() {
		if !strings.HasPrefix(fmt.Sprint(r["Type"]), "Custom::") {
			continue
		}
		if strings.HasPrefix(refID(t.props(id)["ServiceToken"]), customResourceProviderID) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func parseCall(v any) (*crCall, error) {
	if v == nil {
		return nil, nil
	}
	var c crCall
	if err := json.Unmarshal([]byte(unjoin(v)), &c); err != nil {
		return nil, fmt.Errorf("call is not JSON: %w", err)
	}
	return &c, nil
}

// checkCustomResources proves every AwsCustomResource call (AwsCustomResource API reference,
// https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.custom_resources.AwsCustomResource.html):
//   - the service is a client the runtime's SDK v3 knows and the action one of its operations,
//     with parameters the operation has (SDK v3 spells operations and members as the service
//     model; so does the Go SDK, which the check reflects on);
//   - the resource's policy allows exactly the IAM actions the calls need (CDK's own
//     awsSdkToIamAction mapping; SESv2 actions per the Service Authorization Reference,
//     https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsesv2.html),
//     each on a named resource, never "*";
//   - the physical id is fixed and the same for create and update: a different id on update makes
//     CloudFormation delete the "old" resource, i.e. run onDelete against the policy or default
//     set the update just wrote; rollback of a failed update re-runs onUpdate with the old
//     properties under the same id, which restores the previous document;
//   - onDelete tolerates the target being gone already (NotFound), so deleting a stack whose
//     identity was removed does not fail.
func checkCustomResources(info *sdkInfo) func(t cfn) error {
	return func(t cfn) error {
		crs := customResources(t)
		if len(crs) == 0 {
			return errors.New("no AwsCustomResource")
		}
		var errs []error
		bad := func(id, format string, args ...any) { errs = append(errs, fmt.Errorf(id+": "+format, args...)) }
		for _, id := range crs {
			p := t.props(id)
			calls := map[string]*crCall{}
			for _, k := range []string{"Create", "Update", "Delete"} {
				c, err := parseCall(p[k])
				if err != nil {
					bad(id, "%s: %v", k, err)
				}
				if c != nil {
					calls[k] = c
				}
			}
			create := calls["Create"]
			if create == nil {
				create = calls["Update"] // AwsCustomResource uses onUpdate for create when onCreate is unset
			}
			if create == nil || calls["Delete"] == nil {
				bad(id, "want a create (or update) and a delete call, got %v", sortedKeys(calls))
				continue
			}
			needed := map[string]bool{}
			for _, k := range sortedKeys(calls) {
				c := calls[k]
				v3, ok := info.v3Service(c.Service)
				if !ok {
					bad(id, "%s: service %q is no SDK v3 client the runtime can load", k, c.Service)
					continue
				}
				if typ, known := sdkClients[v3]; known {
					m, ok := typ.MethodByName(c.Action)
					if !ok {
						bad(id, "%s: %s has no operation %q", k, v3, c.Action)
						continue
					}
					in := m.Type.In(2).Elem() // (client, ctx, *Input, ...opts)
					for param := range c.Parameters {
						if _, ok := in.FieldByName(param); !ok {
							bad(id, "%s: %s.%s has no parameter %q", k, v3, c.Action, param)
						}
					}
				}
				needed[info.iamAction(c.Service, c.Action)] = true
			}
			// The statements of the policies this resource depends on (its own grant).
			var granted []stmt
			for _, d := range asList(t.res(id)["DependsOn"]) {
				if t.res(d.(string))["Type"] == "AWS::IAM::Policy" {
					granted = append(granted, statements(t.props(d.(string))["PolicyDocument"])...)
				}
			}
			for _, a := range sortedKeys(needed) {
				s, ok := findAllow(granted, "", nil, a)
				if !ok {
					bad(id, "its policy does not allow %s", a)
				} else if slices.Contains(s.resources, `"*"`) {
					bad(id, "%s granted on \"*\"", a)
				}
			}
			for _, s := range granted {
				for _, a := range s.actions {
					if !needed[a] {
						bad(id, "its policy grants %s, which no call makes", a)
					}
				}
			}
			if calls["Create"] != nil && calls["Update"] != nil {
				if calls["Create"].PhysicalResourceID == nil || calls["Update"].PhysicalResourceID == nil ||
					calls["Create"].PhysicalResourceID.ID != calls["Update"].PhysicalResourceID.ID {
					bad(id, "create and update physical ids differ (%+v, %+v): an update would be followed by onDelete", calls["Create"].PhysicalResourceID, calls["Update"].PhysicalResourceID)
				}
			}
			if pid := create.PhysicalResourceID; pid == nil || pid.ID == "" || pid.ResponsePath != "" {
				bad(id, "physical id %+v is not a fixed id", pid)
			}
			// A default set created by the stack must outlive the resource naming it: on stack
			// deletion the default is cleared first, then the set is deleted.
			if set, _ := create.Parameters["ConfigurationSetName"].(string); set != "" {
				for sid := range t.ofType("AWS::SES::ConfigurationSet") {
					if t.props(sid)["Name"] == set && !t.dependsOn(id, sid) {
						bad(id, "names configuration set %s but does not depend on it (deletion could remove the set before clearing the default)", sid)
					}
				}
			}
			ign := calls["Delete"].IgnoreErrorCodesMatching
			re, err := regexp.Compile(ign)
			switch {
			case ign == "" || err != nil:
				bad(id, "delete does not ignore a missing target (%q, %v)", ign, err)
			case !re.MatchString("NotFoundException") && !re.MatchString("VPCAssociationAuthorizationNotFound"):
				bad(id, "delete ignores %q, not the not-found error", ign)
			}
		}
		return errors.Join(errs...)
	}
}

func TestCustomResourceCalls(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	info, err := loadSDKInfo(root)
	if err != nil {
		t.Fatalf("custom-resource runtime tables: %v", err)
	}
	if v3, _ := info.v3Service("Route53"); info.iamAction("Route53", "CreateVPCAssociationAuthorization") != "route53:CreateVPCAssociationAuthorization" || v3 != "route-53" {
		t.Fatalf("runtime tables changed: Route53 → %s %s", v3, info.iamAction("Route53", "CreateVPCAssociationAuthorization"))
	}
	// Since identityguard serves the SES identity changes, the only AwsCustomResources left are
	// central mode's Route 53 authorizations (calls with tokens inside: mutated as text).
	gc := grantCheck{
		name:  "AwsCustomResource",
		check: checkCustomResources(info),
		mutants: map[string]func(cfn) int{
			"policy lacks the create action": func(t cfn) int {
				return t.editStatements(func(o string, s stmt) bool {
					return strings.HasPrefix(o, "EndpointsAuthorize") && s.allowsAction("route53:CreateVPCAssociationAuthorization")
				}, dropAction("route53:CreateVPCAssociationAuthorization"))
			},
			"policy grants an unused action": func(t cfn) int {
				return t.editStatements(func(o string, s stmt) bool {
					return strings.HasPrefix(o, "EndpointsAuthorize") && s.allowsAction("route53:DeleteVPCAssociationAuthorization")
				}, func(raw map[string]any) { raw["Action"] = append(asList(raw["Action"]), "route53:DeleteHostedZone") })
			},
			"service spelled as no SDK v3 client": func(t cfn) int {
				return editCallText(t, "EndpointsAuthorize", "Create", `"service":"Route53"`, `"service":"Route53Zones"`)
			},
			"action misspelled": func(t cfn) int {
				return editCallText(t, "EndpointsAuthorize", "Delete", `"action":"DeleteVPCAssociationAuthorization"`, `"action":"DeleteVpcAssociationAuthorizations"`)
			},
			"physical id from the response": func(t cfn) int {
				return editCallText(t, "EndpointsAuthorize", "Create", `"physicalResourceId":{"id":`, `"physicalResourceId":{"responsePath":"HostedZoneId","id":`)
			},
			"delete fails on a missing authorization": func(t cfn) int {
				return editCallText(t, "EndpointsAuthorize", "Delete", `"ignoreErrorCodesMatching":"VPCAssociationAuthorizationNotFound|NoSuchHostedZone"`, `"ignoreErrorCodesMatching":"Throttling"`)
			},
		},
	}
	ran := 0
	for _, name := range sortedKeys(configurations) {
		tmpl := cfn(get(t, name).json)
		if len(customResources(tmpl)) == 0 {
			continue
		}
		ran++
		t.Run(name, func(t *testing.T) {
			if err := gc.check(tmpl); err != nil {
				t.Fatalf("real template: %v", err)
			}
			requireMutantsFail(t, tmpl, gc.mutants, gc.check, nil)
		})
	}
	if ran == 0 {
		t.Fatal("no configuration has an AwsCustomResource (central's Route 53 authorizations expected)")
	}
}

// editCallText replaces old with repl in the JSON call prop of the custom resources whose id has
// prefix, in a plain string or in the literal parts of a Fn::Join.
func editCallText(t cfn, prefix, prop, old, repl string) int {
	n := 0
	for _, id := range customResources(t) {
		if !strings.HasPrefix(id, prefix) {
			continue
		}
		p := t.props(id)
		switch v := p[prop].(type) {
		case string:
			if strings.Contains(v, old) {
				p[prop] = strings.Replace(v, old, repl, 1)
				n++
			}
		case map[string]any:
			j, _ := v["Fn::Join"].([]any)
			if len(j) != 2 {
				continue
			}
			parts, _ := j[1].([]any)
			for i, part := range parts {
				if s, ok := part.(string); ok && strings.Contains(s, old) {
					parts[i] = strings.Replace(s, old, repl, 1)
					n++
					break
				}
			}
		}
	}
	return n
}
