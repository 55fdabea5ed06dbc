// Package fnenv is the configuration every sesguard Lambda reads from its environment at init,
// validated up front so a misconfigured function fails its first (cold) start with one clear
// message instead of failing records later. It also builds the JSON logger the functions share.
package fnenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sesguard/sesguard/shared/policy"
)

// Environment variable names, shared with the CDK app.
const (
	EnvPolicy           = "SESGUARD_POLICY"
	EnvTable            = "SESGUARD_TABLE"
	EnvFindingsTopicARN = "SESGUARD_FINDINGS_TOPIC_ARN"
	EnvAlertsTopicARN   = "SESGUARD_ALERTS_TOPIC_ARN"
	EnvSlackSecretARN   = "SESGUARD_SLACK_SECRET_ARN"
	EnvMode             = "SESGUARD_MODE"
)

// BundledPolicyName is the policy file looked for beside the bootstrap when SESGUARD_POLICY is
// unset (the build command's -policy flag puts it there).
const BundledPolicyName = "policy.yaml"

// descriptions say what each variable holds, for the error message.
var descriptions = map[string]string{
	EnvTable:            "the DynamoDB state table name",
	EnvFindingsTopicARN: "the ARN of the findings SNS topic",
	EnvAlertsTopicARN:   "the ARN of the alerts SNS topic",
	EnvSlackSecretARN:   "the ARN (or name) of the Secrets Manager secret holding the Slack webhook URL",
}

// Config is a function's validated configuration.
type Config struct {
	Policy *policy.Policy
	// PolicySource says where the policy came from: a path, or policy.ExampleName.
	PolicySource     string
	Table            string
	FindingsTopicARN string
	AlertsTopicARN   string
	SlackSecretARN   string
	// Mode is the effective response mode (SESGUARD_MODE, else the policy's).
	Mode string
}

// Load reads the configuration through getenv. required lists the variables (Env* constants)
// this function cannot run without; every missing one is reported, not just the first. taskRoot
// is the directory of the bootstrap (Lambda's LAMBDA_TASK_ROOT), where a bundled policy.yaml is
// looked for.
func Load(getenv func(string) string, taskRoot string, required ...string) (*Config, error) {
	var errs []error
	for _, k := range required {
		if strings.TrimSpace(getenv(k)) == "" {
			errs = append(errs, fmt.Errorf("%s is not set (%s)", k, descriptions[k]))
		}
	}
	c := &Config{
		Table:            strings.TrimSpace(getenv(EnvTable)),
		FindingsTopicARN: strings.TrimSpace(getenv(EnvFindingsTopicARN)),
		AlertsTopicARN:   strings.TrimSpace(getenv(EnvAlertsTopicARN)),
		SlackSecretARN:   strings.TrimSpace(getenv(EnvSlackSecretARN)),
	}
	for _, k := range []struct{ name, val string }{{EnvFindingsTopicARN, c.FindingsTopicARN}, {EnvAlertsTopicARN, c.AlertsTopicARN}} {
		if k.val != "" && !strings.HasPrefix(k.val, "arn:") {
			errs = append(errs, fmt.Errorf("%s=%q is not an ARN", k.name, k.val))
		}
	}
	p, src, err := loadPolicy(getenv, taskRoot)
	if err != nil {
		errs = append(errs, err)
	} else {
		c.Policy, c.PolicySource = p, src
		if v := getenv(policy.EnvVPCCIDRs); v != "" {
			m, err := policy.ParseVPCCIDRs(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", policy.EnvVPCCIDRs, err))
			} else {
				p.Resolve(m)
			}
		}
		c.Mode = p.Response.Mode
		if m := strings.TrimSpace(getenv(EnvMode)); m != "" {
			if m != policy.ModeDryRun && m != policy.ModeEnforce {
				errs = append(errs, fmt.Errorf("%s=%q: want %s or %s", EnvMode, m, policy.ModeDryRun, policy.ModeEnforce))
			} else {
				c.Mode = m
				p.Response.Mode = m
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("sesguard configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

// loadPolicy finds the policy: SESGUARD_POLICY if set (it must load), else policy.yaml in
// taskRoot if present, else the embedded example.
func loadPolicy(getenv func(string) string, taskRoot string) (*policy.Policy, string, error) {
	path := strings.TrimSpace(getenv(EnvPolicy))
	if path == "" && taskRoot != "" {
		cand := filepath.Join(taskRoot, BundledPolicyName)
		if _, err := os.Stat(cand); err == nil {
			path = cand
		}
	}
	if path == "" {
		p, err := policy.LoadExample()
		if err != nil {
			return nil, "", fmt.Errorf("embedded example policy: %w", err)
		}
		return p, policy.ExampleName, nil
	}
	if !filepath.IsAbs(path) && taskRoot != "" {
		path = filepath.Join(taskRoot, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", EnvPolicy, err)
	}
	p, err := policy.Load(data, path)
	if err != nil {
		return nil, "", fmt.Errorf("policy %s: %w", path, err)
	}
	return p, path, nil
}

// TaskRoot is the directory holding the bootstrap: LAMBDA_TASK_ROOT, else the executable's
// directory, else the working directory.
func TaskRoot(getenv func(string) string) string {
	if d := getenv("LAMBDA_TASK_ROOT"); d != "" {
		return d
	}
	if exe, err := os.Executable(); err == nil {
		return filepath.Dir(exe)
	}
	return "."
}
