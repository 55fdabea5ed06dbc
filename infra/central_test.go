package main

import (
	"strings"
	"testing"
)

// TestCentralBusPolicy: the central bus admits exactly the listed member accounts and the
// organization, for events:PutEvents of sesguard's own events on this bus only. Sources:
// "Sending and receiving events between AWS accounts in Amazon EventBridge" (resource policy on
// the receiving bus, principal = the sending account) and "Permissions for event buses in Amazon
// EventBridge" (aws:PrincipalOrgID to admit an AWS Organization; events:source condition key),
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html and
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html.
func TestCentralBusPolicy(t *testing.T) {
	s := get(t, "securityaccount")
	bus := s.logicalID(t, "AWS::Events::EventBus", "CentralBus")
	pols := s.resources("AWS::Events::EventBusPolicy")
	if len(pols) != 2 {
		t.Fatalf("%d bus policies, want 2 (accounts, organization)", len(pols))
	}
	want := map[string]string{
		"MemberAccounts": canon(map[string]any{"AWS": []any{
			sub("arn:${AWS::Partition}:iam::111111111111:root"), sub("arn:${AWS::Partition}:iam::222222222222:root")}}),
		"MemberOrganization": canon("*"),
	}
	for id, p := range pols {
		st := props(p)["Statement"].(map[string]any)
		sid, _ := st["Sid"].(string)
		if canon(props(p)["EventBusName"]) != canon(ref(bus)) {
			t.Errorf("%s on bus %v", id, props(p)["EventBusName"])
		}
		if want[sid] == "" || canon(st["Principal"]) != want[sid] || st["Action"] != "events:PutEvents" || st["Effect"] != "Allow" ||
			canon(st["Resource"]) != canon(getAtt(bus, "Arn")) {
			t.Errorf("%s: statement %s", id, canon(st))
		}
		cond := st["Condition"].(map[string]any)["StringEquals"].(map[string]any)
		if cond["events:source"] != "sesguard" || (sid == "MemberOrganization") != (cond["aws:PrincipalOrgID"] == "o-a1b2c3d4e5") {
			t.Errorf("%s: condition %s", id, canon(cond))
		}
	}
	for _, name := range sortedKeys(configurations) {
		if name != "securityaccount" && len(get(t, name).resources("AWS::Events::EventBus")) != 0 {
			t.Errorf("%s: a member stack has a central bus", name)
		}
	}
}

// TestCentralRuleFeedsFindingsTopic: the rule on the central bus sends the v1 detail of member
// findings and results to the findings topic (so notify and export take them like local ones),
// with retries and a DLQ, and EventBridge may use the topic's key. Sources: "Amazon EventBridge
// targets" / "Permissions for Amazon SNS targets" (topic policy for events.amazonaws.com; for an
// encrypted topic the KMS key policy must let events.amazonaws.com kms:GenerateDataKey and
// kms:Decrypt), https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions,
// and "Using dead-letter queues to process undelivered events in EventBridge",
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html.
func TestCentralRuleFeedsFindingsTopic(t *testing.T) {
	s := get(t, "securityaccount")
	bus := s.logicalID(t, "AWS::Events::EventBus", "CentralBus")
	findings := s.logicalID(t, "AWS::SNS::Topic", "TopicsFindings")
	ruleID := s.logicalID(t, "AWS::Events::Rule", "CentralMembers")
	rule := props(s.resources("AWS::Events::Rule")[ruleID])
	if canon(rule["EventBusName"]) != canon(ref(bus)) ||
		canon(rule["EventPattern"]) != canon(map[string]any{"source": []any{"sesguard"}, "detail-type": []any{"SES Send Finding", "SES Containment Result"}}) {
		t.Errorf("rule %s", canon(rule))
	}
	targets := map[string]map[string]any{}
	for _, tg := range asList(rule["Targets"]) {
		targets[tg.(map[string]any)["Id"].(string)] = tg.(map[string]any)
	}
	if len(targets) != 2 || targets["FindingsTopic"] == nil || targets["Archive"] == nil {
		t.Fatalf("targets %s", canon(rule["Targets"]))
	}
	tg := targets["FindingsTopic"]
	dlq := s.logicalID(t, "AWS::SQS::Queue", "CentralDLQ")
	if canon(tg["Arn"]) != canon(ref(findings)) || tg["InputPath"] != "$.detail" || tg["RetryPolicy"] == nil ||
		canon(tg["DeadLetterConfig"]) != canon(map[string]any{"Arn": getAtt(dlq, "Arn")}) {
		t.Errorf("target %s", canon(tg))
	}
	var topicOK bool
	for _, p := range s.resources("AWS::SNS::TopicPolicy") {
		for _, st := range asList(props(p)["PolicyDocument"].(map[string]any)["Statement"]) {
			m := st.(map[string]any)
			if canon(m["Principal"]) == canon(map[string]any{"Service": "events.amazonaws.com"}) {
				topicOK = m["Action"] == "sns:Publish" && canon(m["Resource"]) == canon(ref(findings)) &&
					canon(m["Condition"]) == canon(map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": getAtt(ruleID, "Arn")}})
			}
		}
	}
	if !topicOK {
		t.Error("no topic policy statement lets EventBridge publish to the findings topic from the central rule only")
	}
	key := props(s.resources("AWS::KMS::Key")[s.logicalID(t, "AWS::KMS::Key", "TopicsTopicKey")])
	var keyOK bool
	for _, st := range asList(key["KeyPolicy"].(map[string]any)["Statement"]) {
		m := st.(map[string]any)
		if m["Sid"] == "AllowPublishFromEventBridge" {
			keyOK = canon(m["Principal"]) == canon(map[string]any{"Service": "events.amazonaws.com"}) &&
				canon(m["Action"]) == canon([]any{"kms:GenerateDataKey*", "kms:Decrypt"}) &&
				canon(m["Condition"]) == canon(map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": ref("AWS::AccountId")}})
		}
	}
	if !keyOK {
		t.Errorf("key policy lacks the exact EventBridge statement: %s", canon(key["KeyPolicy"]))
	}
	// A member stack's key does not trust EventBridge.
	if strings.Contains(canon(props(get(t, "default").resources("AWS::KMS::Key")[get(t, "default").logicalID(t, "AWS::KMS::Key", "TopicsTopicKey")])), "events.amazonaws.com") {
		t.Error("default stack's topic key admits EventBridge")
	}
}

// TestCentralArchive: every member event also goes, one JSON object per line, through a Firehose
// stream into findings/ of the archive bucket, read by a Glue table with hourly partition
// projection over exactly that prefix. The generic Firehose → S3 and EventBridge → Firehose
// grants are checked by TestCrossServiceGrants.
func TestCentralArchive(t *testing.T) {
	s := get(t, "securityaccount")
	rule := props(s.resources("AWS::Events::Rule")[s.logicalID(t, "AWS::Events::Rule", "CentralMembers")])
	stream := s.logicalID(t, "AWS::KinesisFirehose::DeliveryStream", "CentralArchiveStream")
	var tg map[string]any
	for _, x := range asList(rule["Targets"]) {
		if x.(map[string]any)["Id"] == "Archive" {
			tg = x.(map[string]any)
		}
	}
	if tg == nil || canon(tg["Arn"]) != canon(getAtt(stream, "Arn")) || tg["DeadLetterConfig"] == nil ||
		canon(tg["InputTransformer"]) != canon(map[string]any{"InputTemplate": "<aws.events.event.json>\n"}) {
		t.Errorf("archive target %s", canon(tg))
	}
	d := props(s.resources("AWS::KinesisFirehose::DeliveryStream")[stream])["ExtendedS3DestinationConfiguration"].(map[string]any)
	bucket := s.logicalID(t, "AWS::S3::Bucket", "ArchiveBucket")
	if canon(d["BucketARN"]) != canon(getAtt(bucket, "Arn")) || !strings.HasPrefix(d["Prefix"].(string), centralFindingsPrefix+"!{timestamp:yyyy}/") {
		t.Errorf("stream destination %s", canon(d))
	}
	in := props(s.resources("AWS::Glue::Table")[s.logicalID(t, "AWS::Glue::Table", "CentralArchiveTable")])["TableInput"].(map[string]any)
	loc := canon(in["StorageDescriptor"].(map[string]any)["Location"])
	params := canon(in["Parameters"])
	if !strings.Contains(loc, `"/`+centralFindingsPrefix+`"`) || !strings.Contains(params, `"projection.dt.format":"yyyy/MM/dd/HH"`) ||
		!strings.Contains(canon(in["StorageDescriptor"]), `"mapping.detail_type":"detail-type"`) || !strings.Contains(canon(in["StorageDescriptor"]), "account") {
		t.Errorf("table %s", canon(in))
	}
	if len(get(t, "default").resources("AWS::Glue::Table")) != 1 {
		t.Error("a member stack has more than the SES events table")
	}
}

func TestLoadCentralConfig(t *testing.T) {
	for _, tc := range []struct {
		ctx map[string]any
		err string
	}{
		{map[string]any{}, ""},
		{map[string]any{ctxRole: "member"}, ""},
		{map[string]any{ctxRole: "central", ctxOrganizationID: "o-a1b2c3d4e5"}, ""},
		{map[string]any{ctxRole: "central", ctxMemberAccounts: "111111111111"}, ""},
		{map[string]any{ctxRole: "central"}, "needs the members"},
		{map[string]any{ctxRole: "central", ctxMemberAccounts: "1111"}, "12-digit"},
		{map[string]any{ctxRole: "central", ctxOrganizationID: "org"}, "Organizations id"},
		{map[string]any{ctxRole: "hub"}, "want member or central"},
		{map[string]any{ctxMemberAccounts: "111111111111"}, "are for -c sesguardRole=central"},
	} {
		_, err := loadCentralConfig(func(k string) any { return tc.ctx[k] })
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%v: %v, want %q", tc.ctx, err, tc.err)
		}
	}
}
