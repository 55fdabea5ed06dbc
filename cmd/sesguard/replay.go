package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
	"github.com/sesguard/sesguard/shared/engine/attribute"
	"github.com/sesguard/sesguard/shared/engine/contain"
	"github.com/sesguard/sesguard/shared/engine/detect"
	"github.com/sesguard/sesguard/shared/ops/forensics"
	"github.com/sesguard/sesguard/shared/policy"
)

const replayUsage = `usage: sesguard replay [--policy FILE] [--format text|json] [--vpc-cidrs SPEC] [--attribute] PATH...|-

Decode SES events and CloudTrail SES API-call records (EventBridge "AWS API Call via CloudTrail",
bare, CloudTrail log files) from files, directories (recursively), s3://bucket/prefix/ (objects in
key order, SDK standard credentials) or stdin (-) in any envelope
sesguard knows (SNS, SQS, EventBridge, Firehose, Kinesis, Lambda events, bare records, NDJSON,
gzip), run
detection under the policy and print the aggregated findings with their containment plan. The
plan is always a dry run: replay never changes anything.

Policy: --policy FILE, else ./sesguard.yaml when present, else the embedded example policy.
Output: text (default), or --format json: one sesguard.finding/v1 object per line.
Exit status: 0 ran (with or without findings), 1 usage or policy error, 2 some input could not
be read or decoded (each bad record is reported on stderr; the rest is still processed).
`

// defaultReplayChunk is how many events go through the detector at once: the ingest function's
// largest batch (infra ingestBatchSize), so replay judges an archive in the batches the pipeline
// would have. Rate findings are evaluated per batch, as in the pipeline, so their samples and
// running counts depend on it; per-send findings do not. Detection pays a group, a finding id
// and an aggregate per rule and principal once per batch: at 512 a flood where every send breaks
// six rules cost 1.22x the instructions of the realistic case, at 1,000 1.13x.
const defaultReplayChunk = 1000

// replayStats counts what a replay read.
type replayStats struct {
	files, records, events, apiCalls, duplicates, skipped, bad, unjoined int
	byType                                                               map[sesevent.Type]int
}

func runReplay(ctx context.Context, e env, args []string) int {
	fs := opFlagSet(e, "replay", replayUsage+"\nflags:\n")
	policyPath := fs.String("policy", "", "policy file (default ./sesguard.yaml, else the embedded example)")
	format := fs.String("format", "text", "output format: text or json")
	vpcCIDRs := fs.String("vpc-cidrs", "", "CIDR blocks of the policy's VPCs, \"vpc-a=10.0.0.0/16,...;vpc-b=...\" (default $"+policy.EnvVPCCIDRs+")")
	useIAM := fs.Bool("attribute", false, "look principals up in IAM with the default AWS credentials (default: offline)")
	paths, code, ok := opParse(fs, args)
	if !ok {
		return code
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(e.stderr, "replay: --format %q: want text or json\n", *format)
		return exitUsage
	}
	if len(paths) == 0 {
		fmt.Fprint(e.stderr, "replay: give at least one PATH (file, directory, or - for stdin)\n\n", replayUsage)
		return exitUsage
	}
	p, err := replayPolicy(e, *policyPath)
	if err != nil {
		printPolicyErr(e.stderr, "replay", err)
		return exitUsage
	}
	if err := opResolveVPCs(e, "replay", p, *vpcCIDRs); err != nil {
		fmt.Fprintf(e.stderr, "replay: --vpc-cidrs: %v\n", err)
		return exitUsage
	}
	var attr detect.Attributor = offlineAttributor{}
	if *useIAM {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			fmt.Fprintf(e.stderr, "replay: --attribute: load AWS config: %v\n", err)
			return exitUsage
		}
		attr = attribute.New(iam.NewFromConfig(cfg))
	}
	det, err := detect.New(p, detect.NewMemoryState(), detect.WithAttributor(attr))
	if err != nil {
		fmt.Fprintf(e.stderr, "replay: %v\n", err)
		return exitUsage
	}

	tuneBulkGC(e.getenv, replayMemoryLimit)
	// Records are decoded on every core; detection reads them in input order, so the findings
	// are those of a sequential run.
	// Transient: each event is copied into batch before the next record is decoded.
	dec := sesevent.Options{NoRaw: true, NoTags: true, NoRef: true, Transient: true, Workers: runtime.GOMAXPROCS(0)}
	st := replayStats{byType: map[sesevent.Type]int{}}
	col := detect.NewCollector()
	replayChunk := defaultReplayChunk
	if e.replayChunk > 0 {
		replayChunk = e.replayChunk
	}
	batch := make([]sesevent.Event, 0, replayChunk)
	var calls []cloudtrail.Event
	flush := func() error {
		if len(calls) > 0 {
			b, err := det.ProcessCalls(ctx, calls)
			if err != nil {
				return err
			}
			st.duplicates += b.Duplicates
			col.Add(b.Updates)
			calls = calls[:0]
		}
		if len(batch) == 0 {
			return nil
		}
		b, err := det.Process(ctx, batch)
		if err != nil {
			return err
		}
		st.duplicates += b.Duplicates
		st.unjoined += b.Unjoined
		col.Add(b.Updates)
		batch = batch[:0]
		return nil
	}
	stopped := func() int {
		// Reads return ctx's error as soon as it is done: what was read is summarised; findings
		// of a partial input are not reported.
		code, ok := interruptedExit(ctx)
		if !ok {
			code = exitUsage
		}
		fmt.Fprintf(e.stderr, "replay: %v: stopped after %s; findings of a partial input are not reported\n", context.Cause(ctx), strings.TrimSuffix(st.summary(0), "; 0 finding(s)"))
		return code
	}
	for _, path := range paths {
		for src := range replayInputs(ctx, e, path, dec) {
			if ctx.Err() != nil {
				return stopped()
			}
			if src.skip != "" {
				fmt.Fprintf(e.stderr, "replay: skipped %s: %s, not read\n", src.name, src.skip)
				continue
			}
			if src.err != nil {
				st.bad++
				fmt.Fprintf(e.stderr, "replay: %s: %v\n", src.name, src.err)
				continue
			}
			st.files++
			for res := range src.results {
				// Once ctx is done every read fails at once: what was already read (buffered) is
				// still decoded and counted, without detection, up to that read error.
				cancelled := ctx.Err() != nil
				if cancelled && res.Err != nil {
					return stopped()
				}
				st.records++
				switch {
				case res.Err != nil:
					st.bad++
					fmt.Fprintf(e.stderr, "replay: %s\n", recordError(src.name, res))
				case res.Skip != "":
					st.skipped++
				case res.APICall != nil:
					st.apiCalls++
					if cancelled {
						continue
					}
					calls = append(calls, *res.APICall)
					if len(calls) >= replayChunk {
						if err := flush(); err != nil {
							if ctx.Err() != nil {
								return stopped()
							}
							fmt.Fprintf(e.stderr, "replay: %v\n", err)
							return exitUsage
						}
					}
				default:
					for _, ev := range res.Events {
						st.events++
						st.byType[ev.Type]++
						if !cancelled {
							batch = append(batch, ev)
						}
					}
					if len(batch) >= replayChunk {
						if err := flush(); err != nil {
							if ctx.Err() != nil {
								return stopped()
							}
							fmt.Fprintf(e.stderr, "replay: %v\n", err)
							return exitUsage
						}
					}
				}
			}
			if ctx.Err() != nil {
				return stopped()
			}
		}
	}
	if err := flush(); err != nil {
		if ctx.Err() != nil {
			return stopped()
		}
		fmt.Fprintf(e.stderr, "replay: %v\n", err)
		return exitUsage
	}

	findings := col.Findings()
	cfg := replayContainConfig(p)
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		for i := range findings {
			// The plan rides along so automation reads outcomes and reasons, not the text.
			if plan, err := contain.PlanResults(&findings[i], cfg); err == nil {
				findings[i].Plan = plan
			}
			if err := enc.Encode(&findings[i]); err != nil {
				fmt.Fprintf(e.stderr, "replay: write: %v\n", err)
				return exitUsage
			}
		}
		fmt.Fprintln(e.stderr, "replay: "+st.summary(len(findings)))
	} else {
		printReplayText(e.stdout, p, &st, findings, cfg, *useIAM)
	}
	if st.bad > 0 {
		return exitInput
	}
	return exitOK
}

// replayPolicy picks the policy: --policy, else ./sesguard.yaml, else the embedded example.
func replayPolicy(e env, path string) (*policy.Policy, error) {
	p, err := opLoadPolicy(e, path)
	if err != nil || p != nil {
		return p, err
	}
	return policy.LoadExample()
}

// replayContainConfig is the containment configuration replay plans with: the policy's, but
// always dry-run.
func replayContainConfig(p *policy.Policy) *contain.Config {
	return &contain.Config{
		Mode:              contain.ModeDryRun,
		Protected:         p.Response.ProtectedPrincipals,
		MaxActionsPerHour: p.Response.MaxActionsPerHour,
		On:                p.Response.On,
		ApprovedVPCs:      p.Network.VPCs,
	}
}

// offlineAttributor infers what needs no AWS call: root, and SES console SMTP users by name.
type offlineAttributor struct{}

func (offlineAttributor) Attribute(_ context.Context, account, name string) finding.Principal {
	switch {
	case name == "root":
		p := finding.Principal{Name: name, Kind: finding.KindRoot}
		if account != "" {
			p.ARN = "arn:aws:iam::" + account + ":root"
		}
		return p
	case strings.HasPrefix(name, attribute.SMTPUserPrefix):
		// The SES console creates SMTP credentials as IAM users with this prefix.
		return finding.Principal{Name: name, Kind: finding.KindUser}
	}
	return finding.Principal{Name: name, Kind: finding.KindUnknown}
}

var _ detect.Attributor = offlineAttributor{}

// replaySource is one input file (or stdin) and its decoded records, or an entry of a walk that
// is not read (skip says what it is).
type replaySource struct {
	name    string
	results iter.Seq[sesevent.Result]
	err     error
	skip    string
}

// decodeInput decodes the file at path; opening and reading it stop when ctx is done (a FIFO
// without a writer, /dev/zero).
func decodeInput(ctx context.Context, path string, dec sesevent.Options) iter.Seq[sesevent.Result] {
	return func(yield func(sesevent.Result) bool) {
		f, err := forensics.OpenInput(ctx, path)
		if err != nil {
			ref := path + ":0"
			yield(sesevent.Result{Ref: ref, Err: &sesevent.DecodeError{Ref: ref, Err: fmt.Errorf("read: %w", err)}})
			return
		}
		defer f.Close()
		for res := range sesevent.DecodeReaderWith(f, path, dec) {
			if !yield(res) {
				return
			}
		}
	}
}

// replaySources expands a PATH argument: "-" is stdin, a directory is walked recursively in
// lexical order (hidden entries and documentation files are skipped; symbolic links to files and
// directories are followed, each directory once), a file is itself.
func replaySources(ctx context.Context, e env, path string, dec sesevent.Options) iter.Seq[replaySource] {
	return func(yield func(replaySource) bool) {
		if path == "-" {
			yield(replaySource{name: "<stdin>", results: sesevent.DecodeReaderWith(forensics.Interruptible(ctx, e.stdin), "<stdin>", dec)})
			return
		}
		info, err := os.Stat(path)
		if err != nil {
			yield(replaySource{name: path, err: err})
			return
		}
		if !info.IsDir() {
			yield(replaySource{name: path, results: decodeInput(ctx, path, dec)})
			return
		}
		replayWalk(ctx, path, dec, map[string]bool{}, yield)
	}
}

// replayWalk yields the input files under dir. visited holds the real paths of the directories
// walked so far, so a symbolic link cycle ends. It reports false when yield asked to stop.
func replayWalk(ctx context.Context, dir string, dec sesevent.Options, visited map[string]bool, yield func(replaySource) bool) bool {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		if visited[real] {
			return true
		}
		visited[real] = true
	}
	stopped := false
	// A trailing separator makes WalkDir follow dir itself when it is a symbolic link.
	root := strings.TrimSuffix(dir, string(filepath.Separator)) + string(filepath.Separator)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if !yield(replaySource{name: p, err: err}) {
				stopped = true
				return fs.SkipAll
			}
			return nil
		}
		name := d.Name()
		if p != root && strings.HasPrefix(name, ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		typ := d.Type()
		if typ&fs.ModeSymlink != 0 {
			// WalkDir does not follow links; an archive folder of links must not read as empty.
			info, err := os.Stat(p)
			switch {
			case err != nil:
				if !yield(replaySource{name: p, err: err}) {
					stopped = true
					return fs.SkipAll
				}
				return nil
			case info.IsDir():
				if !replayWalk(ctx, p, dec, visited, yield) {
					stopped = true
					return fs.SkipAll
				}
				return nil
			}
			typ = info.Mode().Type()
		}
		if d.IsDir() {
			return nil
		}
		if kind := forensics.SkippedKind(typ); kind != "" {
			// A FIFO or a device in an archive folder would block or never end.
			if !yield(replaySource{name: p, skip: kind}) {
				stopped = true
				return fs.SkipAll
			}
			return nil
		}
		if !replayInputFile(name) {
			return nil
		}
		if !yield(replaySource{name: p, results: decodeInput(ctx, p, dec)}) {
			stopped = true
			return fs.SkipAll
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.SkipAll) {
		return yield(replaySource{name: dir, err: err})
	}
	return !stopped
}

// replayInputFile reports whether a file found in a directory walk may hold events: anything
// but documentation, policies, goldens and sources (Firehose archive objects have no extension).
func replayInputFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".md", ".txt", ".yaml", ".yml", ".golden", ".go", ".sh":
		return false
	}
	return true
}

// recordError names the file of a bad record when its Ref does not already (Lambda-event Refs
// such as "sqs:<id>" name only the record).
func recordError(file string, res sesevent.Result) string {
	msg := res.Err.Error()
	if strings.HasPrefix(res.Ref, file+":") {
		return msg
	}
	return file + ": " + msg
}

func (st *replayStats) summary(findings int) string {
	s := fmt.Sprintf("%d file(s), %d record(s): %d event(s)", st.files, st.records, st.events)
	if n := st.byType[sesevent.TypeSend]; n > 0 || st.events > 0 {
		s += fmt.Sprintf(" (%d Send)", n)
	}
	if st.apiCalls > 0 {
		s += fmt.Sprintf(", %d CloudTrail SES API call(s)", st.apiCalls)
	}
	s += fmt.Sprintf(", %d duplicate(s), %d skipped, %d bad; %d finding(s)", st.duplicates, st.skipped, st.bad, findings)
	return s
}

func printReplayText(w io.Writer, p *policy.Policy, st *replayStats, findings []finding.Finding, cfg *contain.Config, online bool) {
	fmt.Fprintf(w, "sesguard replay — policy %s (response mode %s; replay plans are always dry-run)\n", p.Name, p.Response.Mode)
	fmt.Fprintf(w, "read %s\n", st.summary(len(findings)))
	if st.unjoined > 0 {
		fmt.Fprintf(w, "note: %d bounce/complaint event(s) had no Send in the input; attributed from their own tags\n", st.unjoined)
	}
	if len(findings) == 0 {
		if st.events == 0 && st.apiCalls == 0 {
			// Nothing read is not the same as nothing wrong: never claim the sends were clean.
			fmt.Fprintln(w, "\nno findings: no events were read")
			return
		}
		if st.apiCalls > 0 {
			fmt.Fprintln(w, "\nno findings: every send and SES API call matched the policy")
			return
		}
		fmt.Fprintln(w, "\nno findings: every send matched the policy")
		return
	}
	if !online {
		fmt.Fprintln(w, "note: offline attribution (root and ses-smtp-user.* inferred by name); --attribute looks principals up in IAM")
	}
	for i := range findings {
		f := &findings[i]
		fmt.Fprintf(w, "\n[%s] %s — %d event(s)\n", strings.ToUpper(string(f.Severity)), f.Rule, f.Evidence.Count)
		fmt.Fprintf(w, "  id          %s\n", f.ID)
		fmt.Fprintf(w, "  window      %s .. %s\n", f.WindowStart.Format(time.RFC3339), f.WindowEnd.Format(time.RFC3339))
		fmt.Fprintf(w, "  principal   %s\n", describePrincipal(f))
		if f.SourceIP != "" {
			fmt.Fprintf(w, "  source ip   %s\n", f.SourceIP)
		}
		fmt.Fprintf(w, "  detail      %s\n", f.Evidence.Detail)
		ev := &f.Evidence
		fmt.Fprintf(w, "  seen        %s .. %s\n", ev.FirstSeen.Format(time.RFC3339Nano), ev.LastSeen.Format(time.RFC3339Nano))
		if len(ev.From) > 0 {
			fmt.Fprintf(w, "  from        %s\n", strings.Join(ev.From, ", "))
		}
		if ev.Identity != "" || ev.ConfigurationSet != "" {
			fmt.Fprintf(w, "  identity    %s   configuration set %s\n", orDash(ev.Identity), orDash(ev.ConfigurationSet))
		}
		if len(ev.RecipientsSample) > 0 {
			fmt.Fprintf(w, "  recipients  %s\n", strings.Join(ev.RecipientsSample, ", "))
		}
		if len(ev.EventNames) > 0 {
			fmt.Fprintf(w, "  api calls   %s   (CloudTrail events %s)\n", strings.Join(ev.EventNames, ", "), sampleList(ev.EventIDs, ev.Count, 3))
		}
		if ev.VPCEndpointID != "" {
			fmt.Fprintf(w, "  vpc endpt   %s\n", ev.VPCEndpointID)
		}
		switch {
		case len(ev.EventNames) == 0:
			fmt.Fprintf(w, "  messages    %s\n", sampleList(ev.MessageIDs, ev.Count, 3))
		case len(ev.MessageIDs) > 0:
			// API calls: only the sends among them have message ids.
			fmt.Fprintf(w, "  messages    %s\n", sampleList(ev.MessageIDs, int64(len(ev.MessageIDs)), 3))
		}
		printPlan(w, f, cfg)
	}
}

// printPlan prints the containment plan for a finding from the pure planner (dry-run).
func printPlan(w io.Writer, f *finding.Finding, cfg *contain.Config) {
	plan, err := contain.PlanResults(f, cfg)
	switch {
	case err != nil:
		fmt.Fprintf(w, "  plan        error: %v\n", err)
		return
	case len(plan) == 0:
		fmt.Fprintln(w, "  plan        none (no response.on actions for this rule)")
		return
	}
	fmt.Fprintln(w, "  plan (dry-run):")
	for _, a := range plan {
		target := a.Target
		if target == "" {
			target = "-"
		}
		outcome := string(a.Outcome)
		if a.Reason != "" {
			outcome += ": " + a.Reason
		}
		fmt.Fprintf(w, "    %-24s %-32s %s\n", a.Action, target, outcome)
	}
}

func describePrincipal(f *finding.Finding) string {
	p := f.Principal
	name := p.Name
	if name == "" {
		name = "(none recorded)"
	}
	s := fmt.Sprintf("%s [%s]", name, p.Kind)
	if p.ARN != "" {
		s += " " + p.ARN
	}
	if p.AccessKeyID != "" {
		s += " key " + p.AccessKeyID
	}
	s += "   account " + orDash(f.Account)
	if f.Region != "" {
		s += " " + f.Region
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// sampleList shows the first n of a sample and how many of total are not shown.
func sampleList(sample []string, total int64, n int) string {
	shown := sample
	if len(shown) > n {
		shown = shown[:n]
	}
	s := strings.Join(shown, ", ")
	if rest := total - int64(len(shown)); rest > 0 {
		s += fmt.Sprintf(" (+%d more)", rest)
	}
	return s
}
