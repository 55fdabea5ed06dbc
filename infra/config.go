package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/sesguard/sesguard/shared/policy"
)

// Context keys read by the app (`cdk.json` "context", `-c key=value`, or tests). Each is
// documented in README "Deploying with CDK".
const (
	ctxPolicy               = "sesguardPolicy"
	ctxStackName            = "sesguardStackName"
	ctxEndpointMode         = "sesguardEndpointMode"
	ctxVpcID                = "sesguardVpcId"
	ctxSubnetIDs            = "sesguardSubnetIds"
	ctxMemberVpcs           = "sesguardMemberVpcs"
	ctxSESAPIEndpoint       = "sesguardSesApiEndpoint"
	ctxAlertEmail           = "sesguardAlertEmail"
	ctxImportConfigSets     = "sesguardImportConfigurationSets"
	ctxConfigSetName        = "sesguardConfigurationSetName"
	ctxEventTransport       = "sesguardEventTransport"
	ctxSenderUser           = "sesguardSenderUser"
	ctxIdentityPolicies     = "sesguardIdentityPolicies"
	ctxDefaultConfigSet     = "sesguardDefaultConfigurationSet"
	ctxArchiveDays          = "sesguardArchiveDays"
	ctxResponseMode         = "sesguardResponseMode"
	ctxRespondConcurrency   = "sesguardRespondConcurrency"
	ctxVpcCidrs             = "sesguardVpcCidrs"
	ctxBuildDir             = "sesguardBuildDir"
	ctxCoverageScheduleMins = "sesguardCoverageScheduleMinutes"
	ctxAlertsFormat         = "sesguardAlertsFormat"
	ctxPreventive           = "sesguardPreventive"
)

// defaultPolicyFile is the policy path when sesguardPolicy is not set; when it does not exist the
// embedded example policy is used (a different, missing path is an error).
const defaultPolicyFile = "sesguard.yaml"

// Endpoint modes.
const (
	endpointNone    = "none"    // no VPC endpoint (detection and prevention by policy only)
	endpointLocal   = "local"   // endpoint in this account's VPC, private DNS on (seed 000)
	endpointCentral = "central" // shared endpoint, private DNS off, private hosted zone (seed 002)
)

// Event transports from SES to the ingest queue.
const (
	transportEventBridge = "eventbridge"
	transportSNS         = "sns"
	transportBoth        = "both"
)

// functionNames are the four Lambdas, in the order they appear in the stack.
var functionNames = [...]string{"ingest", "respond", "notify", "coverage"}

// memberVPC is a VPC in another account allowed to associate with the central hosted zone.
type memberVPC struct {
	Region string // empty: the stack's region
	VpcID  string
}

// Config is everything the stack is built from: the policy plus the context values.
type Config struct {
	Root       string         // repository root; relative paths resolve against it
	PolicyPath string         // file the policy came from; "" means the embedded example
	PolicyYAML []byte         // the policy file as bundled into the Lambdas
	Policy     *policy.Policy // the loaded policy

	StackName          string
	EndpointMode       string
	VpcID              string
	SubnetIDs          []string
	MemberVPCs         []memberVPC
	SESAPIEndpoint     bool
	AlertEmail         string
	ImportConfigSets   []string
	ConfigSetName      string // created configuration set ("" when only importing)
	EventTransport     string
	SenderUser         bool
	IdentityPolicies   bool
	DefaultConfigSet   bool
	ArchiveDays        int
	ResponseMode       string
	RespondConcurrency int
	VpcCIDRs           map[string][]netip.Prefix // VPC id → CIDR blocks (deploy-time resolution, no lookups)
	BuildDir           string                    // absolute path of the build output (build/<fn>/bootstrap)
	CoverageEveryMins  int
	AlertsFormat       string // notify's format on the alerts topic: text or chatbot
	Preventive         string // policy.PreventiveOff or PreventiveEnforce: the policy's, unless the context overrides
}

// PreventiveEnforced reports whether identity policies are attached: only when preventive
// controls were chosen (policy `preventive: enforce` or the context) and not switched off by
// sesguardIdentityPolicies=false.
func (c *Config) PreventiveEnforced() bool {
	return c.Preventive == policy.PreventiveEnforce && c.IdentityPolicies
}

// MonitoredConfigSets are the configuration sets that get sesguard's event destinations.
func (c *Config) MonitoredConfigSets() []string {
	out := slices.Clone(c.ImportConfigSets)
	if c.ConfigSetName != "" {
		out = append(out, c.ConfigSetName)
	}
	return out
}

// maxStackName keeps "<stack>-preventive" (11 characters more) within SES's 64-character policy
// names.
const maxStackName = 64 - len("-preventive")

// IdentityPolicyName is the identity policy sesguard owns on each literal identity, per stack so two
// stacks in one account never overwrite (or, on deletion, remove) each other's policy; respond's
// containment policies use other names.
func (c *Config) IdentityPolicyName() string { return strings.ToLower(c.StackName) + "-preventive" }

// DefaultConfigSetName is the set identities get as their default: the created one, else the
// first imported one.
func (c *Config) DefaultConfigSetName() string {
	if c.ConfigSetName != "" {
		return c.ConfigSetName
	}
	if len(c.ImportConfigSets) > 0 {
		return c.ImportConfigSets[0]
	}
	return ""
}

// PausableConfigSets are the sets respond may pause: the policy's literal names plus the
// monitored ones, sorted and deduplicated.
func (c *Config) PausableConfigSets() []string {
	out := c.MonitoredConfigSets()
	for _, s := range c.Policy.Senders.ConfigurationSets {
		if !strings.ContainsAny(s, "*?") {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// LiteralIdentities are the policy's identities without wildcards: identity policies and the
// default configuration set can only be attached to named identities.
func (c *Config) LiteralIdentities() []string {
	var out []string
	for _, s := range c.Policy.Senders.Identities {
		if !strings.ContainsAny(s, "*?") {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// contextReader reads typed context values; it remembers the first error per key.
type contextReader struct {
	get  func(key string) any
	errs []error
}

func (r *contextReader) raw(key string) (any, bool) {
	v := r.get(key)
	if v == nil {
		return nil, false
	}
	if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
		return nil, false
	}
	return v, true
}

func (r *contextReader) str(key, def string) string {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	s, isStr := v.(string)
	if !isStr {
		r.errs = append(r.errs, fmt.Errorf("context %s: want a string, got %T", key, v))
		return def
	}
	return strings.TrimSpace(s)
}

func (r *contextReader) boolean(key string, def bool) bool {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	switch b := v.(type) {
	case bool:
		return b
	case string:
		p, err := strconv.ParseBool(strings.TrimSpace(b))
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("context %s: want true or false, got %q", key, b))
			return def
		}
		return p
	}
	r.errs = append(r.errs, fmt.Errorf("context %s: want a boolean, got %T", key, v))
	return def
}

func (r *contextReader) integer(key string, def, minimum int) int {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	var n int
	switch x := v.(type) {
	case float64:
		n = int(x)
		if float64(n) != x {
			r.errs = append(r.errs, fmt.Errorf("context %s: want an integer, got %v", key, x))
			return def
		}
	case string:
		p, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("context %s: want an integer, got %q", key, x))
			return def
		}
		n = p
	default:
		r.errs = append(r.errs, fmt.Errorf("context %s: want an integer, got %T", key, v))
		return def
	}
	if n < minimum {
		r.errs = append(r.errs, fmt.Errorf("context %s: %d is below the minimum %d", key, n, minimum))
		return def
	}
	return n
}

// list accepts a JSON array (cdk.json), a JSON array in a string, or a comma-separated string
// (`-c key=a,b`).
func (r *contextReader) list(key string) []string {
	v, ok := r.raw(key)
	if !ok {
		return nil
	}
	var out []string
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			s, isStr := e.(string)
			if !isStr {
				r.errs = append(r.errs, fmt.Errorf("context %s[%d]: want a string, got %T", key, i, e))
				continue
			}
			out = append(out, strings.TrimSpace(s))
		}
	case string:
		s := strings.TrimSpace(x)
		if strings.HasPrefix(s, "[") {
			if err := json.Unmarshal([]byte(s), &out); err != nil {
				r.errs = append(r.errs, fmt.Errorf("context %s: bad JSON list: %w", key, err))
				return nil
			}
			break
		}
		for _, part := range strings.Split(s, ",") {
			if p := strings.TrimSpace(part); p != "" {
				out = append(out, p)
			}
		}
	default:
		r.errs = append(r.errs, fmt.Errorf("context %s: want a list or comma-separated string, got %T", key, v))
	}
	return out
}

var (
	vpcIDRe    = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	subnetIDRe = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	regionRe   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	setNameRe  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// A CloudFormation stack name, at most maxStackName long: it prefixes names limited to 64
	// characters (the default configuration set "<stack>-monitored", the identity policy
	// "<stack>-preventive").
	stackNameRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*$`)
	emailRe     = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

// loadConfig reads the context through get (node.TryGetContext) and loads the policy. root is
// the repository root that relative paths resolve against.
func loadConfig(root string, get func(string) any) (*Config, error) {
	r := &contextReader{get: get}
	c := &Config{Root: root}

	asked := r.str(ctxPolicy, defaultPolicyFile)
	path := asked
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		c.PolicyPath = path
		c.PolicyYAML = data
		c.Policy, err = policy.Load(data, path)
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", path, err)
		}
	case errors.Is(err, os.ErrNotExist) && asked == defaultPolicyFile:
		// No ./sesguard.yaml and no other file asked for: the embedded example, as the CLI does.
		c.PolicyYAML = policy.Example()
		c.Policy, err = policy.LoadExample()
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("context %s: read policy: %w", ctxPolicy, err)
	}

	c.StackName = r.str(ctxStackName, "Sesguard")
	c.VpcID = r.str(ctxVpcID, "")
	c.SubnetIDs = r.list(ctxSubnetIDs)
	defMode := endpointNone
	if c.VpcID != "" {
		defMode = endpointLocal
	}
	c.EndpointMode = r.str(ctxEndpointMode, defMode)
	for _, m := range r.list(ctxMemberVpcs) {
		region, id, found := strings.Cut(m, ":")
		if !found {
			region, id = "", m
		}
		c.MemberVPCs = append(c.MemberVPCs, memberVPC{Region: region, VpcID: id})
	}
	c.SESAPIEndpoint = r.boolean(ctxSESAPIEndpoint, false)
	c.AlertEmail = r.str(ctxAlertEmail, "")
	c.ImportConfigSets = r.list(ctxImportConfigSets)
	// Configuration set names are unique per account and Region: derived from the stack name so a
	// second stack (another sesguardStackName) does not collide; "sesguard-monitored" by default.
	defSet := strings.ToLower(c.StackName) + "-monitored"
	if len(c.ImportConfigSets) > 0 {
		defSet = ""
	}
	c.ConfigSetName = r.str(ctxConfigSetName, defSet)
	c.EventTransport = r.str(ctxEventTransport, transportEventBridge)
	c.SenderUser = r.boolean(ctxSenderUser, false)
	c.IdentityPolicies = r.boolean(ctxIdentityPolicies, true)
	c.DefaultConfigSet = r.boolean(ctxDefaultConfigSet, true)
	c.ArchiveDays = r.integer(ctxArchiveDays, 400, 1)
	c.ResponseMode = r.str(ctxResponseMode, c.Policy.Response.Mode)
	c.Preventive = r.str(ctxPreventive, c.Policy.Preventive)
	if c.Preventive == "" {
		c.Preventive = policy.PreventiveOff // a policy built in code, not loaded
	}
	c.RespondConcurrency = r.integer(ctxRespondConcurrency, 2, 2) // the SQS event source needs at least 2
	c.CoverageEveryMins = r.integer(ctxCoverageScheduleMins, 360, 5)
	c.AlertsFormat = r.str(ctxAlertsFormat, "text")
	c.BuildDir = r.str(ctxBuildDir, "build")
	if !filepath.IsAbs(c.BuildDir) {
		c.BuildDir = filepath.Join(root, c.BuildDir)
	}
	if v, ok := r.raw(ctxVpcCidrs); ok {
		c.VpcCIDRs = parseVpcCIDRs(r, v)
		c.Policy.Resolve(c.VpcCIDRs)
	}
	r.errs = append(r.errs, c.validate()...)
	if len(r.errs) > 0 {
		return nil, errors.Join(r.errs...)
	}
	return c, nil
}

// parseVpcCIDRs accepts a JSON object {"vpc-…": ["10.0.0.0/16"]} (cdk.json or a JSON string) or
// the SESGUARD_VPC_CIDRS form "vpc-a=10.0.0.0/16,10.1.0.0/16;vpc-b=…".
func parseVpcCIDRs(r *contextReader, v any) map[string][]netip.Prefix {
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if !strings.HasPrefix(s, "{") {
			m, err := policy.ParseVPCCIDRs(s)
			if err != nil {
				r.errs = append(r.errs, fmt.Errorf("context %s: %w", ctxVpcCidrs, err))
			}
			return m
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			r.errs = append(r.errs, fmt.Errorf("context %s: want a JSON object {\"vpc-…\": [\"10.0.0.0/16\"]}: %w", ctxVpcCidrs, err))
			return nil
		}
		v = m
	}
	m, ok := v.(map[string]any)
	if !ok {
		r.errs = append(r.errs, fmt.Errorf("context %s: want an object of VPC id → CIDR list, got %T", ctxVpcCidrs, v))
		return nil
	}
	out := make(map[string][]netip.Prefix, len(m))
	for id, blocks := range m {
		sub := &contextReader{get: func(string) any { return blocks }}
		list := sub.list(ctxVpcCidrs + "." + id)
		r.errs = append(r.errs, sub.errs...)
		for _, b := range list {
			p, err := netip.ParsePrefix(b)
			if err != nil {
				r.errs = append(r.errs, fmt.Errorf("context %s.%s: %w", ctxVpcCidrs, id, err))
				continue
			}
			out[id] = append(out[id], p.Masked())
		}
	}
	return out
}

func (c *Config) validate() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("context "+key+": "+format, args...))
	}
	if !stackNameRe.MatchString(c.StackName) || len(c.StackName) > maxStackName {
		bad(ctxStackName, "%q: want a letter, then letters, digits and hyphens, at most %d characters (it prefixes SES names limited to 64)", c.StackName, maxStackName)
	}
	switch c.EndpointMode {
	case endpointNone:
		if c.SESAPIEndpoint {
			bad(ctxSESAPIEndpoint, "needs %s local or central", ctxEndpointMode)
		}
	case endpointLocal, endpointCentral:
		if !vpcIDRe.MatchString(c.VpcID) {
			bad(ctxVpcID, "endpoint mode %s needs a VPC id like vpc-0a1b2c3d, got %q", c.EndpointMode, c.VpcID)
		}
		if len(c.SubnetIDs) == 0 {
			bad(ctxSubnetIDs, "endpoint mode %s needs at least one subnet id", c.EndpointMode)
		}
		for _, s := range c.SubnetIDs {
			if !subnetIDRe.MatchString(s) {
				bad(ctxSubnetIDs, "%q is not a subnet id", s)
			}
		}
	default:
		bad(ctxEndpointMode, "want none, local or central, got %q", c.EndpointMode)
	}
	if len(c.MemberVPCs) > 0 && c.EndpointMode != endpointCentral {
		bad(ctxMemberVpcs, "member VPCs need %s central", ctxEndpointMode)
	}
	for _, m := range c.MemberVPCs {
		if !vpcIDRe.MatchString(m.VpcID) {
			bad(ctxMemberVpcs, "%q is not a VPC id (want vpc-… or <region>:vpc-…)", m.VpcID)
		}
		if m.Region != "" && !regionRe.MatchString(m.Region) {
			bad(ctxMemberVpcs, "%q is not a region", m.Region)
		}
	}
	if c.AlertEmail != "" && !emailRe.MatchString(c.AlertEmail) {
		bad(ctxAlertEmail, "%q is not an e-mail address", c.AlertEmail)
	}
	for _, s := range c.MonitoredConfigSets() {
		if !setNameRe.MatchString(s) {
			bad(ctxImportConfigSets, "%q is not a configuration set name", s)
		}
	}
	if len(c.MonitoredConfigSets()) == 0 {
		bad(ctxConfigSetName, "no configuration set to monitor: set %s or %s", ctxConfigSetName, ctxImportConfigSets)
	}
	switch c.EventTransport {
	case transportEventBridge, transportSNS, transportBoth:
	default:
		bad(ctxEventTransport, "want eventbridge, sns or both, got %q", c.EventTransport)
	}
	switch c.ResponseMode {
	case policy.ModeDryRun, policy.ModeEnforce:
	default:
		bad(ctxResponseMode, "want %s or %s, got %q", policy.ModeDryRun, policy.ModeEnforce, c.ResponseMode)
	}
	switch c.Preventive {
	case policy.PreventiveOff, policy.PreventiveEnforce:
	default:
		bad(ctxPreventive, "want %s or %s, got %q", policy.PreventiveOff, policy.PreventiveEnforce, c.Preventive)
	}
	switch c.AlertsFormat {
	case "text", "chatbot":
	default:
		bad(ctxAlertsFormat, "want text or chatbot, got %q", c.AlertsFormat)
	}
	for id := range c.VpcCIDRs {
		if !vpcIDRe.MatchString(id) {
			bad(ctxVpcCidrs, "%q is not a VPC id", id)
		}
	}
	return errs
}

// contextGetter adapts a construct node for loadConfig.
func contextGetter(app awscdk.App) func(string) any {
	return func(key string) any { return app.Node().TryGetContext(&key) }
}
