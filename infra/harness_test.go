package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// synthed is one configuration synthesized once and shared by every test (CDK synths cost seconds).
type synthed struct {
	name     string
	s        *Sesguard
	tmpl     assertions.Template
	json     map[string]any // the template as plain JSON
	errors   []string       // error annotations (cdk-nag and ours)
	warnings []string
	err      error
	// sentinels are the Region sentinel stacks' templates by Region (-c sesguardRegions).
	sentinels map[string]*sentinelSynth
}

// sentinelSynth is one sentinel stack's template and its annotations.
type sentinelSynth struct {
	json             map[string]any
	errors, warnings []string
}

// configurations are the deployments the tests cover: the default (embedded example policy, no
// endpoint), local endpoint mode with every option on, and central mode with imported sets.
var configurations = map[string]map[string]any{
	"default": {},
	"local": {
		ctxEndpointMode:       "local",
		ctxVpcID:              "vpc-0a1b2c3d4e5f60718",
		ctxSubnetIDs:          "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
		ctxVpcCidrs:           map[string]any{"vpc-0a1b2c3d4e5f60718": []any{"10.20.0.0/16", "10.21.0.0/16"}},
		ctxSESAPIEndpoint:     "true",
		ctxEventTransport:     "both",
		ctxSenderUser:         true,
		ctxAlertEmail:         "secops@example.com",
		ctxResponseMode:       "enforce",
		ctxPolicy:             "infra/testdata/local.yaml",
		ctxConfigSetName:      "sesguard-local",
		ctxArchiveDays:        "90",
		ctxRespondConcurrency: 3,
		ctxAlertsFormat:       "chatbot",
	},
	// export: Security Hub import and forwarding to a central account's bus (infra/export.go).
	"export": {
		ctxSecurityHub:   "true",
		ctxCentralBusArn: "arn:aws:events:eu-west-1:999999999999:event-bus/sesguard-central",
		// A custom source as Security Lake answers CreateCustomLogSource (provider location, role).
		ctxSecurityLakeLocation: "s3://aws-security-data-lake-eu-west-1-abcdefghij0123/ext/sesguard/1.0/",
		ctxSecurityLakeRole:     "arn:aws:iam::111122223333:role/AmazonSecurityLake-Provider-sesguard-eu-west-1",
	},
	// securityaccount: the central security account (infra/central.go) with Security Hub on.
	"securityaccount": {
		ctxRole:           "central",
		ctxMemberAccounts: "111111111111,222222222222",
		ctxOrganizationID: "o-a1b2c3d4e5",
		ctxSecurityHub:    true,
	},
	// cloudtrail: sesguard's own trail with SES send data events, reconciliation every 5 minutes
	// (infra/cloudtrail.go, infra/reconcile.go).
	"cloudtrail": {
		ctxCreateTrail:    "true",
		ctxSendDataEvents: true,
		ctxReconcileMins:  "5",
	},
	// regions: Region sentinels in us-east-1 and eu-central-1 for a home stack in eu-west-1,
	// with sesguard's (then multi-Region) trail (infra/sentinel.go).
	"regions": {
		ctxRegions:     "us-east-1,eu-central-1",
		ctxHomeRegion:  "eu-west-1",
		ctxCreateTrail: true,
	},
	"central": {
		ctxEndpointMode:     "central",
		ctxVpcID:            "vpc-0a1b2c3d4e5f60718",
		ctxSubnetIDs:        []any{"subnet-0123456789abcdef0"},
		ctxMemberVpcs:       []any{"vpc-0aaaaaaaaaaaaaaa1", "eu-west-1:vpc-0bbbbbbbbbbbbbbb2"},
		ctxImportConfigSets: "prod-outbound,marketing",
		ctxEventTransport:   "sns",
	},
}

// synths is filled once by TestMain; read-only afterwards.
var synths map[string]*synthed

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("short: skipping the CDK tests (synthesis, cdk-nag, cfn-lint)")
		os.Exit(0)
	}
	code := func() int {
		defer jsii.Close()
		root, err := repoRoot()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		synths = make(map[string]*synthed, len(configurations))
		for _, name := range slices.Sorted(maps.Keys(configurations)) {
			synths[name] = synthConfig(root, name, configurations[name])
		}
		return m.Run()
	}()
	os.Exit(code)
}

// cdkJSONContext is the "context" of cdk.json, so tests synthesize with the same feature flags
// as `cdk synth`.
func cdkJSONContext(root string) (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err != nil {
		return nil, err
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	return doc.Context, nil
}

func newTestApp(root string, extra map[string]any) (awscdk.App, error) {
	ctx, err := cdkJSONContext(root)
	if err != nil {
		return nil, err
	}
	maps.Copy(ctx, extra)
	// The build folder never exists in tests, so the placeholder path is what CI exercises.
	ctx[ctxBuildDir] = filepath.Join(os.TempDir(), "sesguard-no-build")
	out, err := os.MkdirTemp("", "sesguard-cdk-out-")
	if err != nil {
		return nil, err
	}
	return awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(out)}), nil
}

func synthConfig(root, name string, extra map[string]any) *synthed {
	res := &synthed{name: name}
	app, err := newTestApp(root, extra)
	if err != nil {
		res.err = err
		return res
	}
	cfg, err := loadConfig(root, contextGetter(app))
	if err != nil {
		res.err = fmt.Errorf("config: %w", err)
		return res
	}
	res.s, err = NewSesguardStack(app, cfg)
	if err != nil {
		res.err = fmt.Errorf("stack: %w", err)
		return res
	}
	res.tmpl = assertions.Template_FromStack(res.s.Stack, nil)
	b, err := json.Marshal(res.tmpl.ToJSON())
	if err != nil {
		res.err = err
		return res
	}
	if err := json.Unmarshal(b, &res.json); err != nil {
		res.err = err
		return res
	}
	res.errors, res.warnings = annotations(res.s.Stack)
	for _, sn := range res.s.Sentinels {
		ss := &sentinelSynth{}
		b, err := json.Marshal(assertions.Template_FromStack(sn.Stack, nil).ToJSON())
		if err == nil {
			err = json.Unmarshal(b, &ss.json)
		}
		if err != nil {
			res.err = fmt.Errorf("sentinel %s: %w", sn.Region, err)
			return res
		}
		ss.errors, ss.warnings = annotations(sn.Stack)
		if res.sentinels == nil {
			res.sentinels = map[string]*sentinelSynth{}
		}
		res.sentinels[sn.Region] = ss
	}
	return res
}

// annotations are a stack's error and warning annotations (cdk-nag's among them).
func annotations(stack awscdk.Stack) (errs, warns []string) {
	ann := assertions.Annotations_FromStack(stack)
	for _, msg := range *ann.FindError(jsii.String("*"), assertions.Match_AnyValue()) {
		errs = append(errs, fmt.Sprintf("%s: %v", *msg.Id, msg.Entry.Data)) //nolint:staticcheck // the construct path; its replacement type is not in the Go CDK 2.270
	}
	for _, msg := range *ann.FindWarning(jsii.String("*"), assertions.Match_AnyValue()) {
		warns = append(warns, fmt.Sprintf("%s: %v", *msg.Id, msg.Entry.Data)) //nolint:staticcheck // as above
	}
	return errs, warns
}

// get returns the synthesized configuration or stops the test.
func get(t *testing.T, name string) *synthed {
	t.Helper()
	s := synths[name]
	if s == nil {
		t.Fatalf("configuration %q was not synthesized", name)
	}
	if s.err != nil {
		t.Fatalf("configuration %q: %v", name, s.err)
	}
	return s
}

// resources returns the template's resources of type typ, keyed by logical id.
func (s *synthed) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	res, _ := s.json["Resources"].(map[string]any)
	for id, r := range res {
		m, _ := r.(map[string]any)
		if m["Type"] == typ {
			out[id] = m
		}
	}
	return out
}

// props returns a resource's Properties.
func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// canon is a stable string form of any JSON value (map keys sorted by encoding/json).
func canon(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep <, > and & readable (Glue types, SQL)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// logicalID finds the one resource of typ whose logical id starts with prefix.
func (s *synthed) logicalID(t *testing.T, typ, prefix string) string {
	t.Helper()
	var hits []string
	for id := range s.resources(typ) {
		if strings.HasPrefix(id, prefix) {
			hits = append(hits, id)
		}
	}
	if len(hits) != 1 {
		t.Fatalf("%s: want one %s with logical id prefix %q, got %v", s.name, typ, prefix, hits)
	}
	return hits[0]
}
