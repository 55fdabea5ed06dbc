package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// motoBlockers are the resource types in sesguard's templates that moto 5.2.1's CloudFormation
// cannot create (it has no CloudFormation model for them: parse_resource warns "not supported by
// moto's CloudFormation implementation" and any Ref/GetAtt to them fails the stack with
// "references undefined resource"). The deploy test removes exactly these from the cloud
// assembly; README "Deploying into moto" lists them. Custom::* (AwsCustomResource) is kept out by
// context instead: moto would invoke the provider Lambda, which needs Docker.
var motoBlockers = []string{
	"AWS::Athena::NamedQuery",
	"AWS::Athena::WorkGroup",
	"AWS::CloudWatch::Alarm",
	"AWS::Glue::Database",
	"AWS::Glue::Table",
	"AWS::KinesisFirehose::DeliveryStream",
	"AWS::Logs::LogStream",
	"AWS::S3::BucketPolicy",
	"AWS::SES::ConfigurationSet",
	"AWS::SES::ConfigurationSetEventDestination",
	"AWS::SNS::Subscription", // moved inline into AWS::SNS::Topic "Subscription", which moto supports
	"AWS::SNS::TopicPolicy",
	"AWS::SQS::QueuePolicy",
	"AWS::SecretsManager::Secret",
}

// emulatorArn stands in for a Ref/GetAtt to a removed resource, so the resources that use it
// (function environments, policies) still deploy and can be compared.
func emulatorArn(parts ...string) any {
	return sub("arn:${AWS::Partition}:emulator:${AWS::Region}:${AWS::AccountId}:removed/" + strings.Join(parts, "/"))
}

// motoTemplate turns a synthesized template into one moto can deploy: blockers removed (each
// reference to them replaced by emulatorArn, DependsOn on them dropped), SQS subscriptions moved
// into their topic's Subscription list (endpoint and protocol only: raw delivery, filter policy
// and redrive are lost, they exist only on AWS::SNS::Subscription). It returns the removed
// logical ids by type.
func motoTemplate(t cfn) map[string][]string {
	res := t["Resources"].(map[string]any)
	removed := map[string][]string{}
	isRemoved := map[string]bool{}
	for id, r := range t.all() {
		if typ := fmt.Sprint(r["Type"]); slices.Contains(motoBlockers, typ) {
			removed[typ] = append(removed[typ], id)
			isRemoved[id] = true
		}
	}
	for _, id := range removed["AWS::SNS::Subscription"] {
		p := t.props(id)
		topic := refID(p["TopicArn"])
		tp := t.props(topic)
		if tp == nil {
			continue
		}
		tp["Subscription"] = append(asList(tp["Subscription"]), map[string]any{"Endpoint": p["Endpoint"], "Protocol": p["Protocol"]})
	}
	var fix func(v any) any
	fix = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			if id, ok := x["Ref"].(string); ok && isRemoved[id] {
				return emulatorArn(id)
			}
			if g, ok := x["Fn::GetAtt"].([]any); ok && len(g) == 2 && isRemoved[fmt.Sprint(g[0])] {
				return emulatorArn(fmt.Sprint(g[0]), fmt.Sprint(g[1]))
			}
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[k] = fix(e)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = fix(e)
			}
			return out
		}
		return v
	}
	for id := range isRemoved {
		delete(res, id)
	}
	for id, r := range res {
		m := fix(r).(map[string]any)
		var deps []any
		for _, d := range asList(m["DependsOn"]) {
			if !isRemoved[fmt.Sprint(d)] {
				deps = append(deps, d)
			}
		}
		if len(deps) > 0 {
			m["DependsOn"] = deps
		} else {
			delete(m, "DependsOn")
		}
		res[id] = m
	}
	if out, ok := t["Outputs"]; ok {
		t["Outputs"] = fix(out)
	}
	for _, ids := range removed {
		slices.Sort(ids)
	}
	return removed
}

// rewriteAssemblyTemplate applies motoTemplate to the stack template in a cloud assembly
// directory. The template asset keeps its content hash as the object key; cdk-assets uploads the
// file as it is, so the rewritten template is the one deployed.
func rewriteAssemblyTemplate(dir, stack string) (cfn, map[string][]string, error) {
	path := filepath.Join(dir, stack+".template.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var t cfn
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	removed := motoTemplate(t)
	out, err := json.MarshalIndent(t, "", " ")
	if err != nil {
		return nil, nil, err
	}
	return t, removed, os.WriteFile(path, out, 0o644)
}
