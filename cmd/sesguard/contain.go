package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/engine/contain"
	"github.com/sesguard/sesguard/shared/policy"
)

// envTable names the ledger table (the sesguard state table) when --table is not given.
const envTable = "SESGUARD_TABLE"

const containUsage = `usage: sesguard contain --finding FILE|- [--enforce] [--policy FILE] [--table T] [flags]

Plan, and with --enforce apply, containment for findings (sesguard.finding/v1 JSON; one per
line, e.g. from 'sesguard replay --format json'). Without --enforce it is a dry run: it reads AWS
state and prints the exact changes it would make, and changes nothing. --enforce is needed even
when the policy says mode: enforce.

Response settings come from the policy (--policy, else ./sesguard.yaml when present): protected
principals, max_actions_per_hour, the rule -> actions map and the VPCs of deny_send_policy's
conditional form. Without a policy, each finding's own actions are used. --protected adds to the
policy's protected principals (a flag never un-protects anyone); the other flags given explicitly
override the policy.

Every applied action is recorded in the ledger table (--table or $SESGUARD_TABLE; required with
--enforce) with its prior state; 'sesguard restore ACTION_ID' puts that state back.

Exit status: 0 when no action failed, 2 when one failed (or an input was bad), 1 on usage errors.

flags:
`

const restoreUsage = `usage: sesguard restore ACTION_ID [--table T] [--actor A] [--force] [--format text|json] [--findings-topic ARN]

Roll back one containment action recorded in the ledger (--table or $SESGUARD_TABLE): reactivate
exactly the keys it deactivated, put back or remove its inline policy, remove only its statement
from the identity policy, resume only what it paused. Restoring twice changes nothing.
A change made after containment (an operator edited sesguard's statement or policy) is never
overwritten: the restore refuses, unless --force, which the ledger records with the actor.
While another finding still holds the same containment, the change is left in place (and said
so); the last holder's restore puts the prior state back. A target that no longer exists makes
the action "unrestorable", a final state: rerunning reports it and changes nothing.
With --findings-topic (or $SESGUARD_FINDINGS_TOPIC_ARN) the restore is announced there as a
containment result: the alert channel hears of it and Security Hub resolves the finding.

Exit status: 0 restored (or already restored), 2 when the restore failed, 1 on usage errors.

flags:
`

// listFlag is a comma-separated list flag.
type listFlag struct {
	vals []string
	set  bool
}

func (l *listFlag) String() string { return strings.Join(l.vals, ",") }

func (l *listFlag) Set(s string) error {
	l.set = true
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			l.vals = append(l.vals, v)
		}
	}
	return nil
}

func defaultActor(e env) string {
	if u := e.getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

// runContain plans or applies containment for findings read from --finding.
func runContain(ctx context.Context, e env, args []string) int {
	fs := opFlagSet(e, "contain", containUsage)
	findingPath := fs.String("finding", "", "finding JSON file, or - for stdin (required)")
	enforce := fs.Bool("enforce", false, "apply the changes (default: dry run)")
	policyPath := fs.String("policy", "", "policy file (default ./sesguard.yaml when present)")
	table := fs.String("table", "", "ledger (state) table (default $"+envTable+")")
	actor := fs.String("actor", "", "who is containing, recorded in the ledger (default cli:$USER)")
	format := fs.String("format", "text", "output format: text or json (one sesguard.result/v1 per line, then extra findings)")
	var protected, vpcs, vpces listFlag
	fs.Var(&protected, "protected", "more protected principal patterns, comma-separated (added to the policy's)")
	fs.Var(&vpcs, "approved-vpcs", "VPC ids for deny_send_policy's conditional form (overrides the policy)")
	fs.Var(&vpces, "approved-vpces", "VPC endpoint ids for deny_send_policy's conditional form")
	maxPerHour := fs.Int("max-actions-per-hour", 0, "hourly cap on applied actions (overrides the policy; default 20)")
	rest, code, ok := opParse(fs, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintf(e.stderr, "contain: unexpected argument %q\n", rest[0])
		return exitUsage
	}
	if *findingPath == "" {
		fmt.Fprintln(e.stderr, "contain: --finding is required (a file, or - for stdin)")
		return exitUsage
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(e.stderr, "contain: --format %q: want text or json\n", *format)
		return exitUsage
	}
	cfg := contain.Config{}
	pol, err := opLoadPolicy(e, *policyPath)
	if err != nil {
		printPolicyErr(e.stderr, "contain", err)
		return exitUsage
	}
	if pol != nil {
		cfg = contain.ConfigFromPolicy(pol)
	}
	cfg.Mode = contain.ModeDryRun
	if *enforce {
		cfg.Mode = contain.ModeEnforce
	}
	// The flag follows the policy file's rule: a pattern it rejects (an IAM path such as
	// /team/break-glass-ops) matches no principal, so accepting it would protect nobody.
	for _, p := range protected.vals {
		if err := policy.CheckPrincipalPattern(p); err != nil {
			fmt.Fprintf(e.stderr, "contain: --protected %q: %v\n", p, err)
			return exitUsage
		}
	}
	// Protection only ever grows here: a flag meant to add one principal must not silently drop
	// the policy's break-glass patterns.
	cfg.Protected = append(cfg.Protected, protected.vals...)
	if vpcs.set {
		cfg.ApprovedVPCs = vpcs.vals
	}
	if vpces.set {
		cfg.ApprovedVPCEs = vpces.vals
	}
	if isFlagSet(fs, "max-actions-per-hour") {
		cfg.MaxActionsPerHour = *maxPerHour
		if *maxPerHour == 0 {
			cfg.MaxActionsPerHour = -1 // an explicit 0 means no action at all
		}
	}
	cfg.Actor = *actor
	if cfg.Actor == "" {
		cfg.Actor = defaultActor(e)
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(e.stderr, "contain: %v\n", err)
		return exitUsage
	}
	tableName := *table
	if tableName == "" {
		tableName = e.getenv(envTable)
	}
	if *enforce && tableName == "" {
		fmt.Fprintf(e.stderr, "contain: --enforce needs the ledger table: give --table or set $%s\n", envTable)
		return exitUsage
	}
	findings, err := readFindings(e, *findingPath)
	if err != nil {
		fmt.Fprintf(e.stderr, "contain: %v\n", err)
		if len(findings) == 0 {
			return exitInput
		}
	}
	exitCode := exitOK
	if err != nil {
		exitCode = exitInput
	}
	ex, err := newExecutor(ctx, e, cfg, tableName)
	if err != nil {
		fmt.Fprintf(e.stderr, "contain: %v\n", err)
		return exitUsage
	}
	for i := range findings {
		f := &findings[i]
		res, extra, err := ex.Contain(ctx, f)
		if err != nil {
			fmt.Fprintf(e.stderr, "contain: finding %d (%s): %v\n", i+1, f.ID, err)
			exitCode = exitInput
			continue
		}
		if res.Failed() {
			exitCode = exitInput
		}
		if err := printResult(e.stdout, *format, res, extra); err != nil {
			fmt.Fprintf(e.stderr, "contain: write output: %v\n", err)
			return exitUsage
		}
	}
	return exitCode
}

// runRestore rolls back one ledger action.
func runRestore(ctx context.Context, e env, args []string) int {
	fs := opFlagSet(e, "restore", restoreUsage)
	table := fs.String("table", "", "ledger (state) table (default $"+envTable+")")
	actor := fs.String("actor", "", "who is restoring, recorded in the ledger (default cli:$USER)")
	format := fs.String("format", "text", "output format: text or json")
	force := fs.Bool("force", false, "put the prior state back even over a change made after containment (recorded in the ledger)")
	announce := fs.String("findings-topic", "", "announce the restore on this findings topic, so alerts and Security Hub follow (default $"+envFindingsTopic+"; none when unset)")
	rest, code, ok := opParse(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		fmt.Fprintln(e.stderr, "restore: want exactly one ACTION_ID (see the action_id of a containment result)")
		return exitUsage
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(e.stderr, "restore: --format %q: want text or json\n", *format)
		return exitUsage
	}
	tableName := *table
	if tableName == "" {
		tableName = e.getenv(envTable)
	}
	if tableName == "" {
		fmt.Fprintf(e.stderr, "restore: the ledger table is needed: give --table or set $%s\n", envTable)
		return exitUsage
	}
	who := *actor
	if who == "" {
		who = defaultActor(e)
	}
	ex, err := newExecutor(ctx, e, contain.Config{Actor: who}, tableName)
	if err != nil {
		fmt.Fprintf(e.stderr, "restore: %v\n", err)
		return exitUsage
	}
	ar, rerr := ex.RestoreWithOptions(ctx, rest[0], who, contain.RestoreOptions{Force: *force})
	if *format == "json" {
		if err := json.NewEncoder(e.stdout).Encode(ar); err != nil {
			fmt.Fprintf(e.stderr, "restore: write output: %v\n", err)
			return exitUsage
		}
	} else {
		printActionText(e.stdout, ar)
	}
	if rerr != nil {
		fmt.Fprintf(e.stderr, "restore: %v\n", rerr)
		if errors.Is(rerr, contain.ErrNotFound) {
			return exitUsage
		}
		return exitInput
	}
	topicARN := *announce
	if topicARN == "" {
		topicARN = e.getenv(envFindingsTopic)
	}
	if topicARN != "" {
		if err := announceRestore(ctx, topicARN, tableName, rest[0], who, ar); err != nil {
			fmt.Fprintf(e.stderr, "restore: %s is restored, but announcing it failed (rerun the restore to announce again): %v\n", rest[0], err)
			return exitInput
		}
	}
	return exitOK
}

func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

func newExecutor(ctx context.Context, e env, cfg contain.Config, table string) (*contain.Executor, error) {
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS config: %w", err)
	}
	awsCfg = contain.TuneConfig(awsCfg)
	var ledger *contain.Ledger
	if table != "" {
		ledger = contain.NewLedger(dynamodb.NewFromConfig(awsCfg), table)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if e.getenv("SESGUARD_DEBUG") != "" {
		log = slog.New(slog.NewJSONHandler(e.stderr, nil))
	}
	return contain.NewExecutor(cfg, iam.NewFromConfig(awsCfg), sesv2.NewFromConfig(awsCfg), ledger, log), nil
}

// readFindings decodes a stream of findings (JSON objects, one or more). A bad object is
// reported with its position; the good ones are still returned.
func readFindings(e env, path string) ([]finding.Finding, error) {
	var r io.Reader
	if path == "-" {
		r = e.stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read findings: %w", err)
		}
		defer f.Close()
		r = f
	}
	dec := json.NewDecoder(r)
	var out []finding.Finding
	var errs []error
	for n := 1; ; n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			errs = append(errs, fmt.Errorf("%s: object %d: %w", path, n, err))
			break // the stream cannot be resynchronised after a syntax error
		}
		f, res, err := finding.Decode(raw)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: object %d: %w", path, n, err))
		case res != nil:
			errs = append(errs, fmt.Errorf("%s: object %d is a containment result, not a finding", path, n))
		default:
			out = append(out, *f)
		}
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: no finding", path))
	}
	return out, errors.Join(errs...)
}

func printResult(w io.Writer, format string, res *finding.Result, extra []finding.Finding) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		if err := enc.Encode(res); err != nil {
			return err
		}
		for _, f := range extra {
			if err := enc.Encode(f); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(w, "finding %s  rule %s  severity %s  principal %s (%s)  mode %s\n",
		res.FindingID, res.Rule, res.Severity, orDash(res.Principal.Name), res.Principal.Kind, res.Mode)
	if len(res.Actions) == 0 {
		fmt.Fprintln(w, "  no containment action mapped to this rule")
	}
	for _, a := range res.Actions {
		printActionText(w, a)
	}
	for _, f := range extra {
		fmt.Fprintf(w, "  ALERT %s: %s\n", f.Rule, f.Evidence.Detail)
	}
	_, err := fmt.Fprintln(w)
	return err
}

func printActionText(w io.Writer, a finding.ActionResult) {
	fmt.Fprintf(w, "  %-24s %-18s %s", a.Action, a.Outcome, orDash(a.Target))
	if a.ActionID != "" {
		fmt.Fprintf(w, "  [%s]", a.ActionID)
	}
	fmt.Fprintln(w)
	for _, c := range a.Changes {
		fmt.Fprintf(w, "      - %s\n", c)
	}
	if a.Reason != "" {
		fmt.Fprintf(w, "      why: %s\n", a.Reason)
	}
	if a.Error != "" {
		fmt.Fprintf(w, "      error: %s\n", a.Error)
	}
	if a.Restore != "" && a.Outcome != finding.OutcomeRestored {
		fmt.Fprintf(w, "      undo: %s\n", a.Restore)
	}
}
