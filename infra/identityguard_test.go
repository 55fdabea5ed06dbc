package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// guardedTypes are the custom resources that change SES identities the stack does not own.
var guardedTypes = []string{"Custom::SesguardIdentityPolicy", "Custom::SesguardDefaultConfigurationSet"}

// TestDefaultDeployAttachesNoIdentityPolicy: with no preventive choice made (the embedded example
// policy, no context), nothing in the template can deny a send (issue 25 item 3).
func TestDefaultDeployAttachesNoIdentityPolicy(t *testing.T) {
	s := get(t, "default")
	if n := len(s.resources("Custom::SesguardIdentityPolicy")); n != 0 {
		t.Errorf("default deploy attaches %d identity policies; want none until preventive: enforce", n)
	}
	for id, r := range cfn(s.json).all() {
		if strings.Contains(canon(r), "EmailIdentityPolicy") && !strings.HasPrefix(id, "Functions") && !strings.HasPrefix(id, "Interact") {
			t.Errorf("%s mentions an identity-policy call in a default deploy: %.300s", id, canon(r))
		}
	}
}

// TestIdentityChangesUseTheGuard: every change to an identity the stack does not own goes
// through the identityguard provider (functions/identityguard), never through SDK calls in the
// template, whose onDelete cleared the customer's default set and deleted a customer's policy of
// the same name after a failed create (issue 26 item 6).
func TestIdentityChangesUseTheGuard(t *testing.T) {
	for _, name := range sortedKeys(configurations) {
		t.Run(name, func(t *testing.T) {
			tmpl := cfn(get(t, name).json)
			n := 0
			for _, typ := range guardedTypes {
				for id := range tmpl.ofType(typ) {
					n++
					p := tmpl.props(id)
					fn := refID(p["ServiceToken"])
					if !strings.HasPrefix(fn, "PreventiveIdentityGuard") || tmpl.res(fn)["Type"] != "AWS::Lambda::Function" {
						t.Errorf("%s (%s) is served by %v, not the identityguard function", id, typ, canon(p["ServiceToken"]))
					}
					for _, k := range []string{"Create", "Update", "Delete"} {
						if p[k] != nil {
							t.Errorf("%s carries an SDK call %s: %.200s", id, k, fmt.Sprint(p[k]))
						}
					}
				}
			}
			if name != "default" && name != "central" && n == 0 {
				t.Skip("no identity changes in this configuration")
			}
		})
	}
}

// guardNeeds are the SES actions identityguard calls per resource type (functions/identityguard).
var guardNeeds = map[string][]string{
	"Custom::SesguardIdentityPolicy": {"ses:GetEmailIdentityPolicies", "ses:CreateEmailIdentityPolicy",
		"ses:UpdateEmailIdentityPolicy", "ses:DeleteEmailIdentityPolicy"},
	"Custom::SesguardDefaultConfigurationSet": {"ses:GetEmailIdentity", "ses:PutEmailIdentityConfigurationSetAttributes"},
}

// checkIdentityGuard proves CloudFormation → identityguard for the custom resources of typ.
// CloudFormation invokes the ServiceToken function with the deployer's credentials
// ("Lambda-backed custom resources", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-custom-resources-lambda.html);
// the function then calls SESv2 with its role, so the role must allow exactly those calls
// (SESv2 Service Authorization Reference, https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsesv2.html):
// each on the resource's own identity, never "*", no SES action no call makes, and the resource
// must wait for the policy carrying them (a role's policy attached after the function exists is
// a separate resource CloudFormation may create later). A default set the stack creates must
// outlive the resource naming it, and StackOwnsSet must say whether the stack creates it (on
// delete a missing prior default keeps an imported set and clears a created one).
func checkIdentityGuard(typ string) func(t cfn) error {
	return func(t cfn) error {
		crs := sortedKeys(t.ofType(typ))
		if len(crs) == 0 {
			return fmt.Errorf("no %s", typ)
		}
		var errs []error
		bad := func(id, format string, args ...any) { errs = append(errs, fmt.Errorf(id+": "+format, args...)) }
		created := map[string]string{} // set name → logical id
		for sid := range t.ofType("AWS::SES::ConfigurationSet") {
			if n, ok := t.props(sid)["Name"].(string); ok {
				created[n] = sid
			}
		}
		for _, id := range crs {
			p := t.props(id)
			fn := refID(p["ServiceToken"])
			if t.res(fn)["Type"] != "AWS::Lambda::Function" || canon(p["ServiceToken"]) != canon(getAtt(fn, "Arn")) {
				bad(id, "ServiceToken %s is not a function's Arn", canon(p["ServiceToken"]))
				continue
			}
			role := refID(t.props(fn)["Role"])
			identity, _ := p["EmailIdentity"].(string)
			identityArn := sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/" + identity)
			for _, a := range guardNeeds[typ] {
				s, ok := findAllow(t.stmtsFor(role), "", identityArn, a)
				switch {
				case !ok:
					bad(id, "role %s may not %s on identity %s", role, a, identity)
					continue
				case slices.Contains(s.resources, `"*"`):
					bad(id, "%s granted on \"*\"", a)
				}
				granting := false
				for _, pid := range t.policyIDsOn(role) {
					for _, st := range statements(t.props(pid)["PolicyDocument"]) {
						if st.allowsAction(a) && t.dependsOn(id, pid) {
							granting = true
						}
					}
				}
				if !granting {
					bad(id, "does not depend on the policy granting %s: CloudFormation may invoke the provider before the grant exists", a)
				}
			}
			if typ == "Custom::SesguardDefaultConfigurationSet" {
				set, _ := p["ConfigurationSetName"].(string)
				anySet := sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/*")
				if _, ok := findAllow(t.stmtsFor(role), "", anySet, "ses:PutEmailIdentityConfigurationSetAttributes"); !ok {
					bad(id, "role %s may not put back a prior default set (configuration-set/*)", role)
				}
				sid, owned := created[set]
				if got := p["StackOwnsSet"]; got != fmt.Sprint(owned) {
					bad(id, "StackOwnsSet = %v but the stack %s set %s", got, map[bool]string{true: "creates", false: "does not create"}[owned], set)
				}
				if owned && !t.dependsOn(id, sid) {
					bad(id, "names configuration set %s but does not depend on it (deletion could remove the set before putting back the default)", sid)
				}
			}
			// Least privilege: no SES action beyond what the provider's calls need.
			var needed []string
			for _, typ := range guardedTypes {
				if len(t.ofType(typ)) > 0 {
					needed = append(needed, guardNeeds[typ]...)
				}
			}
			for _, st := range t.stmtsFor(role) {
				for _, a := range st.actions {
					if strings.HasPrefix(a, "ses:") && !slices.Contains(needed, a) {
						bad(id, "role %s grants %s, which no call makes", role, a)
					}
				}
			}
		}
		return errors.Join(errs...)
	}
}

// guardPolicyStmt selects the identityguard policy's statements allowing action.
func guardPolicyStmt(action string) func(string, stmt) bool {
	return func(o string, s stmt) bool {
		return strings.HasPrefix(o, "PreventiveIdentityGuardPolicy") && s.allowsAction(action)
	}
}

func identityGuardChecks() []grantCheck {
	common := func(typ, action string) map[string]func(cfn) int {
		return map[string]func(cfn) int{
			"role lacks " + action: func(t cfn) int { return t.editStatements(guardPolicyStmt(action), dropAction(action)) },
			"action on every identity": func(t cfn) int {
				return t.editStatements(guardPolicyStmt(action), func(raw map[string]any) { raw["Resource"] = "*" })
			},
			"an unused SES action": func(t cfn) int {
				return t.editStatements(guardPolicyStmt(action), func(raw map[string]any) {
					raw["Action"] = append(asList(raw["Action"]), "ses:DeleteEmailIdentity")
				})
			},
			"resource before its grant": func(t cfn) int {
				n := 0
				for id := range t.ofType(typ) {
					for pid := range t.ofType("AWS::IAM::Policy") {
						n += t.dropDependsOn(id, pid)
					}
				}
				return n
			},
			"served by another function": func(t cfn) int {
				other := ""
				for _, fn := range sortedKeys(t.ofType("AWS::Lambda::Function")) {
					if strings.HasPrefix(fn, "FunctionsIngest") {
						other = fn
					}
				}
				n := 0
				for id := range t.ofType(typ) {
					t.props(id)["ServiceToken"] = getAtt(other, "Arn")
					n++
				}
				return n
			},
		}
	}
	sets := common("Custom::SesguardDefaultConfigurationSet", "ses:PutEmailIdentityConfigurationSetAttributes")
	sets["cannot put back a prior set of another name"] = func(t cfn) int {
		return t.editStatements(guardPolicyStmt("ses:PutEmailIdentityConfigurationSetAttributes"), func(raw map[string]any) {
			var keep []any
			for _, r := range asList(raw["Resource"]) {
				if !strings.Contains(canon(r), "configuration-set/*") {
					keep = append(keep, r)
				}
			}
			raw["Resource"] = keep
		})
	}
	sets["StackOwnsSet wrong"] = func(t cfn) int {
		n := 0
		for id := range t.ofType("Custom::SesguardDefaultConfigurationSet") {
			p := t.props(id)
			p["StackOwnsSet"] = map[any]string{"true": "false", "false": "true"}[p["StackOwnsSet"]]
			n++
		}
		return n
	}
	sets["created set deleted before the default is put back"] = func(t cfn) int {
		n := 0
		for id := range t.ofType("Custom::SesguardDefaultConfigurationSet") {
			for sid := range t.ofType("AWS::SES::ConfigurationSet") {
				n += t.dropDependsOn(id, sid)
			}
		}
		return n
	}
	policies := common("Custom::SesguardIdentityPolicy", "ses:GetEmailIdentityPolicies")
	return []grantCheck{
		{
			name:  "CloudFormation→identityguard (default set)",
			check: checkIdentityGuard("Custom::SesguardDefaultConfigurationSet"),
			// central imports its sets: nothing created to depend on.
			configs: []string{"default", "local", "cloudtrail", "export", "regions", "securityaccount"},
			mutants: sets,
		},
		{
			name:    "CloudFormation→identityguard (identity policy)",
			check:   checkIdentityGuard("Custom::SesguardIdentityPolicy"),
			configs: []string{"local"},
			mutants: policies,
		},
	}
}

// TestIdentityGuardImportedSets: central imports its sets; the default set resources say the
// stack does not own the set (checked without the created-set mutant).
func TestIdentityGuardImportedSets(t *testing.T) {
	tmpl := cfn(get(t, "central").json)
	if err := checkIdentityGuard("Custom::SesguardDefaultConfigurationSet")(tmpl); err != nil {
		t.Fatal(err)
	}
	for id := range tmpl.ofType("Custom::SesguardDefaultConfigurationSet") {
		if p := tmpl.props(id); p["StackOwnsSet"] != "false" || p["ConfigurationSetName"] != "prod-outbound" {
			t.Errorf("%s: %s", id, canon(p))
		}
	}
}
