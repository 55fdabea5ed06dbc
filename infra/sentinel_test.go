package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// cloudTrailRules are the rules whose pattern matches CloudTrail API-call events.
func cloudTrailRules(t cfn) []string {
	var out []string
	for _, id := range sortedKeys(t.ofType("AWS::Events::Rule")) {
		pat, _ := t.props(id)["EventPattern"].(map[string]any)
		if slices.Contains(asList(pat["detail-type"]), any("AWS API Call via CloudTrail")) {
			out = append(out, id)
		}
	}
	return out
}

// checkReadOnlyState: every CloudTrail rule has ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS
// (read-only calls — the recon — are dropped under ENABLED) and a narrow pattern: event
// sources listed, and event names listed for any source but SES (IAM's read-only traffic is
// high volume). wantRules is how many CloudTrail rules the template must have.
func checkReadOnlyState(wantRules int) func(t cfn) error {
	return func(t cfn) error {
		var errs []error
		rules := cloudTrailRules(t)
		if len(rules) != wantRules {
			errs = append(errs, fmt.Errorf("%d CloudTrail rules %v, want %d", len(rules), rules, wantRules))
		}
		for _, id := range rules {
			p := t.props(id)
			if p["State"] != stateAllManagement {
				errs = append(errs, fmt.Errorf("%s: state %v, want %s", id, p["State"], stateAllManagement))
			}
			detail, _ := p["EventPattern"].(map[string]any)["detail"].(map[string]any)
			sources := asList(detail["eventSource"])
			if len(sources) == 0 {
				errs = append(errs, fmt.Errorf("%s: no detail.eventSource: every service's calls would be delivered", id))
			}
			if !slices.Equal(sources, []any{"ses.amazonaws.com"}) && len(asList(detail["eventName"])) == 0 {
				errs = append(errs, fmt.Errorf("%s: sources %v without detail.eventName: their read-only traffic would be delivered", id, sources))
			}
		}
		return errors.Join(errs...)
	}
}

func readOnlyMutants() map[string]func(cfn) int {
	return map[string]func(cfn) int{
		"SES rule in state ENABLED": func(t cfn) int { return setSESRuleState(t, "ENABLED") },
		"SES rule without a State":  func(t cfn) int { return setSESRuleState(t, nil) },
		"global rule without event names": func(t cfn) int {
			n := 0
			for _, id := range cloudTrailRules(t) {
				if strings.Contains(id, "GlobalApiCallsRule") {
					delete(t.props(id)["EventPattern"].(map[string]any)["detail"].(map[string]any), "eventName")
					n++
				}
			}
			return n
		},
	}
}

// setSESRuleState sets (nil: deletes) State on the SES API-call rule, home or sentinel.
func setSESRuleState(t cfn, v any) int {
	n := 0
	for _, id := range cloudTrailRules(t) {
		if strings.Contains(id, "SesApiCallsRule") {
			if v == nil {
				delete(t.props(id), "State")
			} else {
				t.props(id)["State"] = v
			}
			n++
		}
	}
	return n
}

// TestCloudTrailRulesReadOnlyState: every configuration's home template (SES calls, global
// calls, coverage's SES-change rule) and every sentinel's.
func TestCloudTrailRulesReadOnlyState(t *testing.T) {
	for _, name := range sortedKeys(configurations) {
		s := get(t, name)
		t.Run(name, func(t *testing.T) {
			tmpl := cfn(s.json)
			check := checkReadOnlyState(3)
			if err := check(tmpl); err != nil {
				t.Fatalf("real template: %v", err)
			}
			requireMutantsFail(t, tmpl, readOnlyMutants(), check, nil)
		})
		for region, sn := range s.sentinels {
			t.Run(name+"/sentinel-"+region, func(t *testing.T) {
				want := 1
				if region == globalRegion {
					want = 2
				}
				tmpl := cfn(sn.json)
				if err := checkReadOnlyState(want)(tmpl); err != nil {
					t.Fatalf("real template: %v", err)
				}
				requireMutantsFail(t, tmpl, readOnlyMutants(), checkReadOnlyState(want), func(m string, _ cfn) bool {
					return m == "global rule without event names" && region != globalRegion
				})
			})
		}
	}
}

// homeBusArn is the Fn::Sub ARN a sentinel must target: the default bus of home in its account.
func homeBusArn(home string) string {
	return "arn:${AWS::Partition}:events:" + home + ":${AWS::AccountId}:event-bus/default"
}

// checkSentinelTargets proves the cross-Region hop: every rule's one target is the home
// Region's default bus, through a role that trusts events.amazonaws.com (for this account) and
// may events:PutEvents on exactly that bus ("Sending and receiving events between AWS Regions",
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-region.html), with a DLQ
// whose policy lets EventBridge write for this rule ("Using dead-letter queues",
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
func checkSentinelTargets(home string, wantRules int) func(t cfn) error {
	return func(t cfn) error {
		var errs []error
		rules := sortedKeys(t.ofType("AWS::Events::Rule"))
		if len(rules) != wantRules {
			errs = append(errs, fmt.Errorf("%d rules, want %d", len(rules), wantRules))
		}
		for _, rule := range rules {
			targets := asList(t.props(rule)["Targets"])
			if len(targets) != 1 {
				errs = append(errs, fmt.Errorf("%s: %d targets", rule, len(targets)))
				continue
			}
			tg := targets[0].(map[string]any)
			if subString(tg["Arn"]) != homeBusArn(home) {
				errs = append(errs, fmt.Errorf("%s: target %s, want the default bus of %s", rule, canon(tg["Arn"]), home))
			}
			role := refID(tg["RoleArn"])
			if role == "" {
				errs = append(errs, fmt.Errorf("%s: bus target without a role", rule))
			} else {
				if s, ok := findAllow(t.trust(role), "events.amazonaws.com", nil, "sts:AssumeRole"); !ok {
					errs = append(errs, fmt.Errorf("%s: role %s does not trust events.amazonaws.com", rule, role))
				} else if !s.condCovers("aws:SourceAccount", accountID, stringEqualOps...) {
					errs = append(errs, fmt.Errorf("%s: role %s trust lacks aws:SourceAccount", rule, role))
				}
				if _, ok := findAllow(t.stmtsFor(role), "", map[string]any{"Fn::Sub": homeBusArn(home)}, "events:PutEvents"); !ok {
					errs = append(errs, fmt.Errorf("%s: role %s may not events:PutEvents on the home bus", rule, role))
				}
			}
			dl, _ := tg["DeadLetterConfig"].(map[string]any)
			if dl == nil {
				errs = append(errs, fmt.Errorf("%s: bus target without a dead-letter queue", rule))
				continue
			}
			errs = append(errs, queueGrant(t, refID(dl["Arn"]), "events.amazonaws.com", getAtt(rule, "Arn")))
		}
		return errors.Join(errs...)
	}
}

func sentinelMutants() map[string]func(cfn) int {
	return map[string]func(cfn) int{
		"role cannot put events": func(t cfn) int {
			return t.editStatements(func(o string, s stmt) bool {
				return t.res(o)["Type"] == "AWS::IAM::Policy" && s.allowsAction("events:PutEvents")
			}, dropAction("events:PutEvents"))
		},
		"role trusts lambda, not events": func(t cfn) int {
			n := 0
			for id := range t.ofType("AWS::IAM::Role") {
				for _, st := range asList(t.props(id)["AssumeRolePolicyDocument"].(map[string]any)["Statement"]) {
					st.(map[string]any)["Principal"] = map[string]any{"Service": "lambda.amazonaws.com"}
					n++
				}
			}
			return n
		},
		"trust without aws:SourceAccount": func(t cfn) int {
			n := 0
			for id := range t.ofType("AWS::IAM::Role") {
				for _, st := range asList(t.props(id)["AssumeRolePolicyDocument"].(map[string]any)["Statement"]) {
					delete(st.(map[string]any), "Condition")
					n++
				}
			}
			return n
		},
		"target is this Region's bus": func(t cfn) int {
			n := 0
			for id := range t.ofType("AWS::Events::Rule") {
				for _, tg := range asList(t.props(id)["Targets"]) {
					tg.(map[string]any)["Arn"] = map[string]any{"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"}
					n++
				}
			}
			return n
		},
		"no dead-letter queue": func(t cfn) int {
			n := 0
			for id := range t.ofType("AWS::Events::Rule") {
				for _, tg := range asList(t.props(id)["Targets"]) {
					delete(tg.(map[string]any), "DeadLetterConfig")
					n++
				}
			}
			return n
		},
		"DLQ policy without events": func(t cfn) int {
			return t.dropStatements(func(o string, s stmt) bool {
				return t.res(o)["Type"] == "AWS::SQS::QueuePolicy" && s.hasService("events.amazonaws.com")
			})
		},
		"a rule dropped": func(t cfn) int {
			delete(t["Resources"].(map[string]any), firstID(t, "AWS::Events::Rule"))
			return 1
		},
	}
}

// TestSentinelStacks: -c sesguardRegions=us-east-1,eu-central-1 with home eu-west-1 gives one
// sentinel per extra Region, each forwarding to the home bus (grants proven, mutants rejected);
// us-east-1's also forwards IAM/STS/Support calls and AWS Health; the trail is multi-Region.
func TestSentinelStacks(t *testing.T) {
	s := get(t, "regions")
	if got := sortedKeys(s.sentinels); !slices.Equal(got, []string{"eu-central-1", "us-east-1"}) {
		t.Fatalf("sentinels %v", got)
	}
	for region, sn := range s.sentinels {
		t.Run(region, func(t *testing.T) {
			want := 2
			if region == globalRegion {
				want = 4
			}
			tmpl := cfn(sn.json)
			check := checkSentinelTargets("eu-west-1", want)
			if err := check(tmpl); err != nil {
				t.Fatalf("real template: %v", err)
			}
			requireMutantsFail(t, tmpl, sentinelMutants(), check, nil)
			var sources []string
			for _, id := range sortedKeys(tmpl.ofType("AWS::Events::Rule")) {
				for _, src := range asList(tmpl.props(id)["EventPattern"].(map[string]any)["source"]) {
					sources = append(sources, src.(string))
				}
			}
			slices.Sort(sources)
			wantSources := []string{"aws.ses", "aws.ses"}
			if region == globalRegion {
				wantSources = []string{"aws.health", "aws.iam", "aws.ses", "aws.ses", "aws.sts", "aws.support"}
			}
			if !slices.Equal(sources, wantSources) {
				t.Errorf("sources %v, want %v", sources, wantSources)
			}
		})
	}
	trail := cfn(s.json).props(s.logicalID(t, "AWS::CloudTrail::Trail", "CloudTrailSesTrail"))
	if trail["IsMultiRegionTrail"] != true || trail["IncludeGlobalServiceEvents"] != true {
		t.Errorf("trail with sentinels: multi-Region %v, global events %v", trail["IsMultiRegionTrail"], trail["IncludeGlobalServiceEvents"])
	}
	// The home stack delivers everything the sentinels forward: each sentinel pattern is a home
	// pattern too.
	home := map[string]bool{}
	for _, id := range sortedKeys(cfn(s.json).ofType("AWS::Events::Rule")) {
		if strings.HasPrefix(id, "CloudTrail") {
			home[canon(cfn(s.json).props(id)["EventPattern"])] = true
		}
	}
	for region, sn := range s.sentinels {
		for _, id := range sortedKeys(cfn(sn.json).ofType("AWS::Events::Rule")) {
			if p := canon(cfn(sn.json).props(id)["EventPattern"]); !home[p] {
				t.Errorf("sentinel %s rule %s forwards %s, which no home rule delivers to ingest", region, id, p)
			}
		}
	}
}

func TestLoadRegionConfig(t *testing.T) {
	env := func(v string) func(string) string { return func(string) string { return v } }
	for _, tc := range []struct {
		name    string
		ctx     map[string]any
		env     string
		want    []string
		wantErr string
	}{
		{name: "none", ctx: map[string]any{}},
		{name: "list minus home", ctx: map[string]any{ctxRegions: "us-east-1,eu-central-1,eu-west-1"}, env: "eu-west-1", want: []string{"eu-central-1", "us-east-1"}},
		{name: "all", ctx: map[string]any{ctxRegions: "all"}, env: "us-east-1", want: slices.DeleteFunc(sesRegions(), func(r string) bool { return r == "us-east-1" })},
		{name: "context home wins", ctx: map[string]any{ctxRegions: []any{"us-east-1"}, ctxHomeRegion: "eu-west-1"}, env: "us-east-1", want: []string{"us-east-1"}},
		{name: "no home", ctx: map[string]any{ctxRegions: "us-east-1"}, wantErr: ctxHomeRegion},
		{name: "unknown region", ctx: map[string]any{ctxRegions: "us-east-1,mars-north-1"}, env: "eu-west-1", wantErr: `"mars-north-1"`},
		{name: "GovCloud refused", ctx: map[string]any{ctxRegions: "us-gov-west-1"}, env: "eu-west-1", wantErr: ctxRegions},
		{name: "bad home", ctx: map[string]any{ctxRegions: "us-east-1"}, env: "xx", wantErr: `"xx"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, err := loadRegionConfig(func(k string) any { return tc.ctx[k] }, env(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(rc.Sentinels, tc.want) {
				t.Fatalf("got %v %v, want %v", rc.Sentinels, err, tc.want)
			}
		})
	}
}
