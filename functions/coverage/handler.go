package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/engine/coverage"
	"github.com/sesguard/sesguard/shared/engine/reconcile"
)

// Checker runs the coverage check (coverage.Check over the SESv2 client).
type Checker func(ctx context.Context) (*coverage.Report, error)

// RegionChecker lists the enabled SES Regions without a Region sentinel
// (coverage.CheckRegions from the function's Region).
type RegionChecker func(ctx context.Context) ([]coverage.RegionStatus, []coverage.Gap, error)

// Publisher publishes a finding to the findings topic.
type Publisher interface {
	PublishFinding(ctx context.Context, f *finding.Finding) (string, error)
}

// SeverityOf gives a coverage rule its severity (the policy's override, else the default).
type SeverityOf func(rule string, def finding.Severity) finding.Severity

// Reconciler compares SES's CloudWatch counts with what ingest saw (reconcile.Reconciler).
type Reconciler interface {
	Run(ctx context.Context, now time.Time) (*reconcile.Result, error)
	Unalert(ctx context.Context, f *finding.Finding) error
}

var _ Reconciler = (*reconcile.Reconciler)(nil)

// ReconcileEvent is the input of the reconciliation schedule: such a tick only reconciles
// (every 5–15 minutes); any other event (the coverage schedule, an SES configuration change)
// runs the configuration check and then reconciles.
const ReconcileEvent = "reconcile"

// Handler is the coverage function: on a schedule or an SES configuration change, list identities
// and configuration sets and publish one finding per gap; and reconcile SES's CloudWatch send
// counts with the Send events ingest saw.
type Handler struct {
	Check Checker
	// Regions reports enabled SES Regions without a sentinel; nil: not checked.
	Regions RegionChecker
	// Reconciler builds the reconciliation for the invocation's account and Region; nil: off
	// (no state table configured).
	Reconciler func(account, region string) Reconciler
	Publisher  Publisher
	Severity   SeverityOf // nil: defaults
	Mode       string
	Account    string // fallback when the invocation carries no function ARN
	Region     string
	Now        func() time.Time
	Log        *slog.Logger
}

// Summary is the function's response, handy when invoked by hand.
type Summary struct {
	Identities        int      `json:"identities"`
	ConfigurationSets int      `json:"configuration_sets"`
	Gaps              int      `json:"gaps"`
	Findings          []string `json:"findings"`
	// Regions counts the enabled SES Regions checked for a sentinel; RegionCheckError says why
	// they could not be (the configuration gaps are still published).
	Regions          int    `json:"regions,omitempty"`
	RegionCheckError string `json:"region_check_error,omitempty"`
	// Reconciled are the periods the reconciliation judged (nil when it did not run).
	Reconciled []reconcile.PeriodCheck `json:"reconciled,omitempty"`
	// ReconciledAPISends are the periods whose API sends (CloudTrail data events) were checked
	// message by message.
	ReconciledAPISends []reconcile.APISendCheck `json:"reconciled_api_sends,omitempty"`
}

// defaultSeverity: an identity whose sends go unseen is as bad as an unmonitored set; a set
// whose destination lacks some event types only weakens the rate rules.
func defaultSeverity(kind string) finding.Severity {
	switch kind {
	case coverage.GapSetMissingTypes, coverage.GapSetNotLive:
		return finding.SeverityLow
	case coverage.GapIdentityDefaultMissing:
		return finding.SeverityHigh
	}
	return finding.SeverityMedium
}

// Handle ignores the triggering event's content: a schedule tick and a CloudTrail change event
// both mean "check now".
func (h *Handler) Handle(ctx context.Context, payload json.RawMessage) (*Summary, error) {
	log := fnenv.ForInvocation(ctx, h.Log)
	var in struct {
		Sesguard string `json:"sesguard"`
	}
	_ = json.Unmarshal(payload, &in) // schedule and CloudTrail events have no such member
	account, region := h.Account, h.Region
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		if a, r := arnAccountRegion(lc.InvokedFunctionArn); a != "" {
			account, region = a, r
		}
	}
	now := time.Now().UTC()
	if h.Now != nil {
		now = h.Now().UTC()
	}
	if in.Sesguard == ReconcileEvent {
		sum := &Summary{Findings: []string{}}
		return sum, h.reconcile(ctx, log, account, region, now, sum)
	}
	rep, err := h.Check(ctx)
	if err != nil {
		log.Error("coverage: check failed", "error", err.Error())
		return nil, fmt.Errorf("coverage check: %w", err)
	}
	sum := &Summary{Identities: len(rep.Identities), ConfigurationSets: len(rep.ConfigurationSets), Findings: []string{}}
	if h.Regions != nil {
		regions, gaps, err := h.Regions(ctx)
		if err != nil {
			// Not fatal: the configuration gaps below still matter. Logged at ERROR and in the
			// summary, never dropped quietly.
			log.Error("coverage: Region sentinel check failed", "error", err.Error())
			sum.RegionCheckError = err.Error()
		}
		sum.Regions = len(regions)
		rep.Gaps = append(rep.Gaps, gaps...)
	}
	sum.Gaps = len(rep.Gaps)
	var errs []error
	if err := h.reconcile(ctx, log, account, region, now, sum); err != nil {
		errs = append(errs, err)
	}
	for _, g := range rep.Gaps {
		f := h.gapFinding(g, account, region, now)
		glog := log.With(fnenv.LogFindingID, f.ID, "rule", f.Rule, "identity", g.Identity, "configuration_set", g.ConfigurationSet, "region", f.Region)
		if _, err := h.Publisher.PublishFinding(ctx, f); err != nil {
			glog.Error("coverage: publish failed", "error", err.Error())
			errs = append(errs, err)
			continue
		}
		glog.Warn("coverage: gap", "detail", g.Detail)
		sum.Findings = append(sum.Findings, f.ID)
	}
	log.Info("coverage: check done", "identities", sum.Identities, "configuration_sets", sum.ConfigurationSets, "gaps", sum.Gaps)
	if len(errs) > 0 {
		return sum, errors.Join(errs...)
	}
	return sum, nil
}

// reconcile runs the reconciliation and publishes its findings; an unobserved-sends finding whose
// publish fails is un-alerted, so the next run raises it again.
func (h *Handler) reconcile(ctx context.Context, log *slog.Logger, account, region string, now time.Time, sum *Summary) error {
	if h.Reconciler == nil {
		return nil
	}
	r := h.Reconciler(account, region)
	res, err := r.Run(ctx, now)
	if err != nil {
		log.Error("coverage: reconciliation failed", "error", err.Error())
		return fmt.Errorf("reconcile: %w", err)
	}
	sum.Reconciled = res.Periods
	sum.ReconciledAPISends = res.APISends
	if sum.Reconciled == nil {
		sum.Reconciled = []reconcile.PeriodCheck{}
	}
	var errs []error
	for i := range res.Findings {
		f := &res.Findings[i]
		flog := log.With(fnenv.LogFindingID, f.ID, "rule", f.Rule)
		if _, err := h.Publisher.PublishFinding(ctx, f); err != nil {
			flog.Error("coverage: publish failed", "error", err.Error())
			errs = append(errs, err)
			if f.Rule == rules.CoverageUnobservedSends {
				if uerr := r.Unalert(ctx, f); uerr != nil {
					flog.Error("coverage: period stays marked alerted; its finding is lost", "error", uerr.Error(), "finding", f.Evidence.Detail)
				}
			}
			continue
		}
		flog.Warn("coverage: reconciliation finding", "detail", f.Evidence.Detail)
		sum.Findings = append(sum.Findings, f.ID)
	}
	for _, p := range res.Periods {
		if p.Status != reconcile.StatusOK {
			log.Info("coverage: period", "start", p.Start, "cloudwatch_sends", p.CloudWatch, "seen_sends", p.Seen, "status", p.Status)
		}
	}
	for _, p := range res.APISends {
		if p.Status != reconcile.StatusOK {
			log.Info("coverage: API sends", "start", p.Start, "api_sends", p.APISends, "unobserved", p.Unobserved, "status", p.Status, "truncated", p.Truncated)
		}
	}
	log.Info("coverage: reconciliation done", "periods", len(res.Periods), "api_send_periods", len(res.APISends), "findings", len(res.Findings))
	return errors.Join(errs...)
}

// gapFinding turns a gap into a finding. The id is stable per (rule, account, identity, set), so
// a gap that persists across runs stays one finding and is alerted once.
func (h *Handler) gapFinding(g coverage.Gap, account, region string, now time.Time) *finding.Finding {
	if g.Region != "" {
		region = g.Region // a Region without a sentinel is that Region's gap
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{g.Kind, account, region, g.Identity, g.ConfigurationSet}, "\x00")))
	sev := defaultSeverity(g.Kind)
	if h.Severity != nil {
		sev = h.Severity(g.Kind, sev)
	}
	return &finding.Finding{
		Schema: finding.SchemaFinding, ID: "cov-" + hex.EncodeToString(sum[:10]), Rule: g.Kind, Severity: sev,
		Account: account, Region: region, Principal: finding.Principal{Kind: finding.KindUnknown},
		WindowStart: now, WindowEnd: now,
		Evidence: finding.Evidence{
			MessageIDs: []string{}, Count: 1, FirstSeen: now, LastSeen: now,
			Identity: g.Identity, ConfigurationSet: g.ConfigurationSet, Detail: g.Detail,
		},
		Actions: []string{}, Mode: h.Mode,
	}
}

// arnAccountRegion extracts account and region from an ARN.
func arnAccountRegion(arn string) (account, region string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return "", ""
	}
	return parts[4], parts[3]
}
