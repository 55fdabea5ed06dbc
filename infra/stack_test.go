package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// sesguardFunctions are the four function resources (the custom-resource provider, a Node.js
// function, is not one of them).
func (s *synthed) sesguardFunctions() map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.resources("AWS::Lambda::Function") {
		if strings.HasPrefix(id, "Functions") {
			out[id] = r
		}
	}
	return out
}

func TestFunctions(t *testing.T) {
	for _, name := range sortedKeys(configurations) {
		s := get(t, name)
		fns := s.sesguardFunctions()
		if len(fns) != 4 {
			t.Fatalf("%s: want 4 sesguard functions, got %d: %v", name, len(fns), sortedKeys(fns))
		}
		for _, fn := range functionNames {
			id := s.logicalID(t, "AWS::Lambda::Function", "Functions"+title(fn))
			// logicalID matched FunctionsIngest…, not FunctionsIngestLogs (a different type).
			p := props(fns[id])
			if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" || canon(p["Architectures"]) != `["arm64"]` {
				t.Errorf("%s/%s: runtime %v handler %v arch %v", name, fn, p["Runtime"], p["Handler"], p["Architectures"])
			}
			env := p["Environment"].(map[string]any)["Variables"].(map[string]any)
			for _, k := range []string{envTable, envFindingsTopic, envAlertsTopic, envSlackSecret, envMode, envPolicy} {
				if env[k] == nil {
					t.Errorf("%s/%s: env %s not set", name, fn, k)
				}
			}
			if env[envPolicy] != bundledPolicyPath {
				t.Errorf("%s/%s: %s = %v", name, fn, envPolicy, env[envPolicy])
			}
			if env[envMode] != s.s.Config.ResponseMode {
				t.Errorf("%s/%s: %s = %v, want %s", name, fn, envMode, env[envMode], s.s.Config.ResponseMode)
			}
			// Only local sets sesguardAlertsFormat; every other configuration gets the default.
			wantFormat := any("text")
			if name == "local" {
				wantFormat = "chatbot"
			}
			if fn != "notify" {
				wantFormat = nil
			}
			if env[envAlertsFormat] != wantFormat {
				t.Errorf("%s/%s: %s = %v, want %v", name, fn, envAlertsFormat, env[envAlertsFormat], wantFormat)
			}
			if layers := asList(p["Layers"]); len(layers) != 1 {
				t.Errorf("%s/%s: want the policy layer, got %v", name, fn, layers)
			}
			rc, hasRC := p["ReservedConcurrentExecutions"]
			if (fn == "respond") != hasRC {
				t.Errorf("%s/%s: reserved concurrency %v (only respond has one)", name, fn, rc)
			}
			if fn == "respond" && rc != float64(s.s.Config.RespondConcurrency) {
				t.Errorf("%s/respond: reserved concurrency %v, want %d", name, rc, s.s.Config.RespondConcurrency)
			}
		}
	}
	if env := props(get(t, "local").resources("AWS::Lambda::Function")[get(t, "local").logicalID(t, "AWS::Lambda::Function", "FunctionsIngest")])["Environment"]; !strings.Contains(canon(env), "vpc-0a1b2c3d4e5f60718=10.20.0.0/16,10.21.0.0/16") {
		t.Errorf("local: SESGUARD_VPC_CIDRS not handed to the functions: %s", canon(env))
	}
	// Tests never build the binaries, so every function must carry the placeholder warning: the
	// four, and identityguard (the identities' default configuration set is on by default).
	if got := strings.Count(strings.Join(get(t, "default").warnings, "\n"), "sesguard:placeholder-code"); got != 5 {
		t.Errorf("default: want 5 placeholder warnings, got %d: %v", got, get(t, "default").warnings)
	}
}

func TestEventSources(t *testing.T) {
	s := get(t, "default")
	maps := s.resources("AWS::Lambda::EventSourceMapping")
	if len(maps) != 3 {
		t.Fatalf("want 3 SQS event source mappings (ingest, respond, notify), got %d", len(maps))
	}
	for id, m := range maps {
		p := props(m)
		if canon(p["FunctionResponseTypes"]) != `["ReportBatchItemFailures"]` {
			t.Errorf("%s: partial batch failures not reported: %v", id, p["FunctionResponseTypes"])
		}
	}
	// respond gets actionable findings only; notify gets findings and results; both raw.
	subs := s.resources("AWS::SNS::Subscription")
	respondQ := getAtt(s.logicalID(t, "AWS::SQS::Queue", "FunctionsRespondQueue"), "Arn")
	notifyQ := getAtt(s.logicalID(t, "AWS::SQS::Queue", "FunctionsNotifyQueue"), "Arn")
	var seen int
	for id, sub := range subs {
		p := props(sub)
		switch canon(p["Endpoint"]) {
		case canon(respondQ):
			seen++
			// The same policy functions/internal/topic's TestRespondSubscriptionFilter runs
			// against moto with the attributes the publisher really sets.
			if canon(p["FilterPolicy"]) != `{"actionable":["true"],"type":["finding"]}` || p["RawMessageDelivery"] != true {
				t.Errorf("%s: respond subscription filter %v raw %v", id, p["FilterPolicy"], p["RawMessageDelivery"])
			}
		case canon(notifyQ):
			seen++
			if p["FilterPolicy"] != nil || p["RawMessageDelivery"] != true {
				t.Errorf("%s: notify subscription filter %v raw %v", id, p["FilterPolicy"], p["RawMessageDelivery"])
			}
		}
		if p["RedrivePolicy"] == nil {
			t.Errorf("%s: subscription without a DLQ", id)
		}
	}
	if seen != 2 {
		t.Errorf("want the respond and notify subscriptions, saw %d", seen)
	}
	// coverage: a schedule and a CloudTrail rule, both with a DLQ.
	var schedule, trail bool
	for id, r := range s.resources("AWS::Events::Rule") {
		p := props(r)
		if !strings.HasPrefix(id, "FunctionsCoverage") {
			continue
		}
		if p["ScheduleExpression"] == "rate(6 hours)" {
			schedule = true
		}
		if strings.Contains(canon(p["EventPattern"]), "AWS API Call via CloudTrail") && strings.Contains(canon(p["EventPattern"]), "PutEmailIdentityConfigurationSetAttributes") {
			trail = true
		}
		if !strings.Contains(canon(p["Targets"]), "DeadLetterConfig") {
			t.Errorf("%s: coverage target without DLQ", id)
		}
	}
	if !schedule || !trail {
		t.Errorf("coverage rules: schedule %v, config-change %v", schedule, trail)
	}
	// A failed asynchronous coverage run (after Lambda's retries) lands in the same DLQ.
	cov := props(s.resources("AWS::Lambda::Function")[s.logicalID(t, "AWS::Lambda::Function", "FunctionsCoverage")])
	if want := canon(map[string]any{"TargetArn": getAtt(s.logicalID(t, "AWS::SQS::Queue", "FunctionsCoverageDLQ"), "Arn")}); canon(cov["DeadLetterConfig"]) != want {
		t.Errorf("coverage function DLQ %s, want %s", canon(cov["DeadLetterConfig"]), want)
	}
}

func TestQueues(t *testing.T) {
	for _, name := range sortedKeys(configurations) {
		s := get(t, name)
		queues := s.resources("AWS::SQS::Queue")
		var dlqs, work int
		for id, q := range queues {
			p := props(q)
			if p["SqsManagedSseEnabled"] != true {
				t.Errorf("%s/%s: queue not SSE-encrypted", name, id)
			}
			if strings.HasSuffix(strings.TrimRight(id, "0123456789ABCDEF"), "DLQ") {
				dlqs++
				if p["MessageRetentionPeriod"] != float64(14*24*3600) {
					t.Errorf("%s/%s: DLQ retention %v", name, id, p["MessageRetentionPeriod"])
				}
				continue
			}
			work++
			rp, _ := p["RedrivePolicy"].(map[string]any)
			if rp == nil || rp["deadLetterTargetArn"] == nil || rp["maxReceiveCount"] == nil {
				t.Errorf("%s/%s: work queue without redrive: %v", name, id, p["RedrivePolicy"])
			}
		}
		wantWork, wantDLQs := 3, 4
		if s.s.Interact != nil {
			wantWork, wantDLQs = wantWork+1, wantDLQs+1 // the interact → respond queue (infra/interact.go)
		}
		if s.s.Export != nil {
			wantWork, wantDLQs = wantWork+1, wantDLQs+1 // the export queue (infra/export.go)
		}
		if s.s.Central != nil {
			wantDLQs++ // the central bus rule's DLQ (infra/central.go)
		}
		if work != wantWork || dlqs != wantDLQs {
			t.Errorf("%s: want %d work queues and %d DLQs, got %d and %d", name, wantWork, wantDLQs, work, dlqs)
		}
		// Every queue denies non-TLS access.
		policies := canon(s.resources("AWS::SQS::QueuePolicy"))
		if strings.Count(policies, `"aws:SecureTransport":"false"`) < len(queues) {
			t.Errorf("%s: not every queue enforces TLS", name)
		}
	}
}

func TestTopicsAndSecret(t *testing.T) {
	for _, name := range sortedKeys(configurations) {
		s := get(t, name)
		key := getAtt(s.logicalID(t, "AWS::KMS::Key", "TopicsTopicKey"), "Arn")
		want := 2
		if c := s.s.Config.EventTransport; c == transportSNS || c == transportBoth {
			want = 3
		}
		topics := s.resources("AWS::SNS::Topic")
		if len(topics) != want {
			t.Errorf("%s: want %d topics, got %d", name, want, len(topics))
		}
		for id, tp := range topics {
			if canon(props(tp)["KmsMasterKeyId"]) != canon(key) {
				t.Errorf("%s/%s: topic not encrypted with the CMK: %v", name, id, props(tp)["KmsMasterKeyId"])
			}
		}
		k := props(s.resources("AWS::KMS::Key")[s.logicalID(t, "AWS::KMS::Key", "TopicsTopicKey")])
		kp := canon(k["KeyPolicy"])
		// SES needs the key only when it publishes to the SES events topic (SNS transport).
		if k["EnableKeyRotation"] != true || !strings.Contains(kp, "cloudwatch.amazonaws.com") || strings.Contains(kp, "ses.amazonaws.com") != (want == 3) {
			t.Errorf("%s: key rotation %v, key policy %s", name, k["EnableKeyRotation"], kp)
		}
		sec := props(s.resources("AWS::SecretsManager::Secret")[s.logicalID(t, "AWS::SecretsManager::Secret", "TopicsSlackWebhook")])
		if sec["SecretString"] != nil || sec["GenerateSecretString"] != nil {
			t.Errorf("%s: the Slack secret must be created without a value: %v", name, sec)
		}
	}
	local := get(t, "local")
	if subs := canon(local.resources("AWS::SNS::Subscription")); !strings.Contains(subs, `"Endpoint":"secops@example.com","Protocol":"email"`) {
		t.Errorf("local: alert e-mail not subscribed: %s", subs)
	}
}

func TestStateTable(t *testing.T) {
	s := get(t, "default")
	tables := s.resources("AWS::DynamoDB::Table")
	if len(tables) != 1 {
		t.Fatalf("want one table, got %d", len(tables))
	}
	for id, tb := range tables {
		p := props(tb)
		checks := map[string][2]string{
			"KeySchema":                        {canon(p["KeySchema"]), `[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]`},
			"AttributeDefinitions":             {canon(p["AttributeDefinitions"]), `[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"}]`},
			"BillingMode":                      {canon(p["BillingMode"]), `"PAY_PER_REQUEST"`},
			"PointInTimeRecoverySpecification": {canon(p["PointInTimeRecoverySpecification"]), `{"PointInTimeRecoveryEnabled":true}`},
			"TimeToLiveSpecification":          {canon(p["TimeToLiveSpecification"]), `{"AttributeName":"ttl","Enabled":true}`},
		}
		for k, c := range checks {
			if c[0] != c[1] {
				t.Errorf("%s.%s = %s, want %s", id, k, c[0], c[1])
			}
		}
		if tb["DeletionPolicy"] != "Retain" {
			t.Errorf("%s: the ledger table must be retained, got %v", id, tb["DeletionPolicy"])
		}
	}
}

func TestArchive(t *testing.T) {
	s := get(t, "default")
	bucketID := s.logicalID(t, "AWS::S3::Bucket", "ArchiveBucket")
	b := props(s.resources("AWS::S3::Bucket")[bucketID])
	if canon(b["VersioningConfiguration"]) != `{"Status":"Enabled"}` {
		t.Errorf("archive not versioned: %v", b["VersioningConfiguration"])
	}
	if canon(b["PublicAccessBlockConfiguration"]) != `{"BlockPublicAcls":true,"BlockPublicPolicy":true,"IgnorePublicAcls":true,"RestrictPublicBuckets":true}` {
		t.Errorf("public access not blocked: %v", b["PublicAccessBlockConfiguration"])
	}
	if !strings.Contains(canon(b["BucketEncryption"]), `"SSEAlgorithm":"AES256"`) {
		t.Errorf("archive not encrypted: %v", b["BucketEncryption"])
	}
	lc := canon(b["LifecycleConfiguration"])
	for _, want := range []string{`"ExpirationInDays":400`, `"Prefix":"events/"`, `"StorageClass":"STANDARD_IA"`, `"Prefix":"athena-results/"`, `"NoncurrentVersionExpiration"`} {
		if !strings.Contains(lc, want) {
			t.Errorf("lifecycle lacks %s: %s", want, lc)
		}
	}
	if b["LoggingConfiguration"] == nil {
		t.Error("archive has no access logging")
	}
	var tls bool
	for _, bp := range s.resources("AWS::S3::BucketPolicy") {
		p := props(bp)
		if canon(p["Bucket"]) == canon(ref(bucketID)) && strings.Contains(canon(p["PolicyDocument"]), `"aws:SecureTransport":"false"`) {
			tls = true
		}
	}
	if !tls {
		t.Error("archive bucket does not deny non-TLS access")
	}

	streams := s.resources("AWS::KinesisFirehose::DeliveryStream")
	if len(streams) != 1 {
		t.Fatalf("want one delivery stream, got %d", len(streams))
	}
	for _, st := range streams {
		p := props(st)
		d := p["ExtendedS3DestinationConfiguration"].(map[string]any)
		if d["Prefix"] != "events/!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/!{timestamp:HH}/" || d["CompressionFormat"] != "GZIP" || d["ErrorOutputPrefix"] == nil {
			t.Errorf("firehose destination: prefix %v compression %v errors %v", d["Prefix"], d["CompressionFormat"], d["ErrorOutputPrefix"])
		}
		if canon(d["BucketARN"]) != canon(getAtt(bucketID, "Arn")) {
			t.Errorf("firehose writes to %v", d["BucketARN"])
		}
		if p["DeliveryStreamEncryptionConfigurationInput"] == nil {
			t.Error("firehose stream not encrypted")
		}
	}

	tables := s.resources("AWS::Glue::Table")
	if len(tables) != 1 {
		t.Fatalf("want one Glue table, got %d", len(tables))
	}
	for _, tb := range tables {
		in := props(tb)["TableInput"].(map[string]any)
		params := canon(in["Parameters"])
		for _, want := range []string{`"projection.dt.format":"yyyy/MM/dd/HH"`, `"projection.enabled":"true"`, `${dt}/`} {
			if !strings.Contains(params, want) {
				t.Errorf("glue table parameters lack %s: %s", want, params)
			}
		}
		cols := canon(in["StorageDescriptor"].(map[string]any)["Columns"])
		if !strings.Contains(cols, `tags:map<string,array<string>>`) || !strings.Contains(cols, `"eventtype"`) {
			t.Errorf("glue columns: %s", cols)
		}
	}

	wg := s.resources("AWS::Athena::WorkGroup")
	if len(wg) != 1 || !strings.Contains(canon(wg), `"EnforceWorkGroupConfiguration":true`) || !strings.Contains(canon(wg), `"EncryptionOption":"SSE_S3"`) {
		t.Errorf("athena workgroup: %s", canon(wg))
	}
	queries := s.resources("AWS::Athena::NamedQuery")
	var names []string
	for _, q := range queries {
		p := props(q)
		names = append(names, p["Name"].(string))
		sql := canon(p["QueryString"])
		if !strings.Contains(sql, "eventtype = 'Send'") || !strings.Contains(sql, `\"${Database}\".\"${Table}\"`) {
			t.Errorf("query %s: %s", p["Name"], sql)
		}
		if strings.Contains(p["Name"].(string), "outside") && !strings.Contains(sql, "contains('10.20.0.0/16'") {
			t.Errorf("outside-networks query does not use the policy CIDR: %s", sql)
		}
	}
	slices.Sort(names)
	if len(names) != 3 || !strings.Contains(strings.Join(names, "|"), "per principal") ||
		!strings.Contains(strings.Join(names, "|"), "outside the approved networks") || !strings.Contains(strings.Join(names, "|"), "per source IP") {
		t.Errorf("named queries: %v", names)
	}
}

func TestNamedQueriesWithoutCIDRs(t *testing.T) {
	qs := namedQueries(nil)
	for _, q := range qs {
		if q.id == "SendsOutsideApprovedNetworks" && !strings.Contains(q.sql, "WHERE TRUE") {
			t.Errorf("with no approved CIDR every send is outside: %s", q.sql)
		}
	}
	qs = namedQueries([]string{"10.0.0.0/8", "2001:db8::/32"})
	for _, q := range qs {
		if q.id == "SendsOutsideApprovedNetworks" && (!strings.Contains(q.sql, "contains('2001:db8::/32'") || !strings.Contains(q.sql, "source_ip IS NULL")) {
			t.Errorf("outside query: %s", q.sql)
		}
	}
}

func TestEventDestinations(t *testing.T) {
	for _, name := range sortedKeys(configurations) {
		s := get(t, name)
		cfg := s.s.Config
		perSet := map[string][]string{}
		for _, d := range s.resources("AWS::SES::ConfigurationSetEventDestination") {
			p := props(d)
			dest := p["EventDestination"].(map[string]any)
			set := canon(p["ConfigurationSetName"])
			perSet[set] = append(perSet[set], dest["Name"].(string))
			if canon(dest["MatchingEventTypes"]) != canon(sesEventTypes) || dest["Enabled"] != true {
				t.Errorf("%s: destination %v types %v", name, dest["Name"], dest["MatchingEventTypes"])
			}
			if dest["Name"] == "sesguard-eventbridge" && !strings.Contains(canon(dest), "event-bus/default") {
				t.Errorf("%s: EventBridge destination not on the default bus: %s", name, canon(dest))
			}
		}
		want := []string{"sesguard-archive"}
		if cfg.EventTransport != transportSNS {
			want = append(want, "sesguard-eventbridge")
		}
		if cfg.EventTransport != transportEventBridge {
			want = append(want, "sesguard-sns")
		}
		slices.Sort(want)
		if len(perSet) != len(cfg.MonitoredConfigSets()) {
			t.Errorf("%s: destinations on %d sets, want %d (%v)", name, len(perSet), len(cfg.MonitoredConfigSets()), perSet)
		}
		for set, got := range perSet {
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: set %s has destinations %v, want %v", name, set, got, want)
			}
		}
		created := s.resources("AWS::SES::ConfigurationSet")
		if (cfg.ConfigSetName != "") != (len(created) == 1) || len(created) > 1 {
			t.Errorf("%s: created sets %d for name %q", name, len(created), cfg.ConfigSetName)
		}
	}
	// Imported sets are referenced by name, not created.
	central := get(t, "central")
	b, _ := json.Marshal(central.resources("AWS::SES::ConfigurationSetEventDestination"))
	for _, n := range []string{`"ConfigurationSetName":"prod-outbound"`, `"ConfigurationSetName":"marketing"`} {
		if !strings.Contains(string(b), n) {
			t.Errorf("central: no destination with %s", n)
		}
	}
}

func TestAlarms(t *testing.T) {
	s := get(t, "default")
	alarms := s.resources("AWS::CloudWatch::Alarm")
	if len(alarms) != 4+4*2+1 {
		t.Errorf("want 13 alarms (4 DLQs, 4 functions × errors/throttles, event lag), got %d", len(alarms))
	}
	alerts := canon(ref(s.logicalID(t, "AWS::SNS::Topic", "TopicsAlerts")))
	counts := map[string]int{}
	for id, a := range alarms {
		p := props(a)
		if canon(p["AlarmActions"]) != "["+alerts+"]" || p["TreatMissingData"] != "notBreaching" {
			t.Errorf("%s: actions %v missing-data %v", id, p["AlarmActions"], p["TreatMissingData"])
		}
		counts[p["MetricName"].(string)]++
	}
	if counts["ApproximateNumberOfMessagesVisible"] != 4 || counts["Errors"] != 4 || counts["Throttles"] != 4 || counts["EventLag"] != 1 {
		t.Errorf("alarm metrics: %v", counts)
	}
}
