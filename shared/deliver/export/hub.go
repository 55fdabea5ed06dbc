package export

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/sesguard/sesguard/shared/render/asff"
)

// HubAPI is the part of the Security Hub client Hub uses.
type HubAPI interface {
	BatchImportFindings(ctx context.Context, in *securityhub.BatchImportFindingsInput, opts ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error)
	BatchUpdateFindings(ctx context.Context, in *securityhub.BatchUpdateFindingsInput, opts ...func(*securityhub.Options)) (*securityhub.BatchUpdateFindingsOutput, error)
}

var _ HubAPI = (*securityhub.Client)(nil)

// DisabledRecheck is how long Hub treats Security Hub as not enabled after the service said so,
// before trying again (so enabling it later needs no redeploy).
const DisabledRecheck = 10 * time.Minute

// Hub imports findings as ASFF and applies containment results as Note + Workflow updates.
// Throttling and 5xx are retried by the SDK's retryer; what is left is reported per item.
type Hub struct {
	Client  HubAPI
	Product asff.Product
	Log     *slog.Logger
	Now     func() time.Time

	mu            sync.Mutex
	disabledUntil time.Time
}

// ErrHubNotEnabled is returned (wrapped) by Enabled callers when the account has no Security Hub.
var ErrHubNotEnabled = errors.New("security hub is not enabled in this account and region")

func (h *Hub) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Hub) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

// skipping reports whether Security Hub said recently that it is not enabled.
func (h *Hub) skipping() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now().Before(h.disabledUntil)
}

// notEnabled handles InvalidAccessException ("account is not subscribed to AWS Security Hub"):
// one warning per recheck period, and the items count as delivered. Failing them would only
// cycle every finding through the queue into the DLQ; Slack, SNS and EventBridge still get them.
func (h *Hub) notEnabled(err error) bool {
	var ia *types.InvalidAccessException
	if !errors.As(err, &ia) {
		return false
	}
	h.mu.Lock()
	first := !h.now().Before(h.disabledUntil)
	h.disabledUntil = h.now().Add(DisabledRecheck)
	h.mu.Unlock()
	if first {
		h.log().Warn("export: Security Hub is not enabled in this account/region; findings are not imported there (enable Security Hub CSPM, or deploy without -c sesguardSecurityHub=true). Retrying in "+DisabledRecheck.String(),
			"product_arn", h.Product.ARN(), "error", err.Error())
	}
	return true
}

// foreign reports (and logs) a finding of another account: Security Hub accepts a finding only
// from the account in its AwsAccountId, so a central account never imports a member's finding
// (the member imports its own; Security Hub's administrator account aggregates them). Skipped,
// not failed: failing would send every member finding to the DLQ.
func (h *Hub) foreign(account, id string) bool {
	if account == "" || account == h.Product.Account {
		return false
	}
	h.log().Info("export: not importing another account's finding into this Security Hub (the member imports its own)", "finding_id", id, "account", account)
	return true
}

// Export imports the findings (≤ asff.MaxBatch per call) and applies the results (one
// BatchUpdateFindings each: a note is per result). Results go after findings, so a finding and its
// result in one batch land in that order.
func (h *Hub) Export(ctx context.Context, items []Item) Failures {
	fail := Failures{}
	if h.skipping() {
		return fail
	}
	type rendered struct {
		key string
		f   types.AwsSecurityFinding
	}
	var fs []rendered
	for _, it := range items {
		if it.Finding == nil {
			continue
		}
		if h.foreign(it.Finding.Account, it.Finding.ID) {
			continue
		}
		a, err := asff.Finding(it.Finding, h.Product)
		if err != nil {
			fail.add(it.Key, fmt.Errorf("security hub: %w", err))
			continue
		}
		fs = append(fs, rendered{it.Key, a})
	}
	for _, batch := range chunks(fs, asff.MaxBatch) {
		in := &securityhub.BatchImportFindingsInput{Findings: make([]types.AwsSecurityFinding, len(batch))}
		byID := map[string][]string{}
		for i, r := range batch {
			in.Findings[i] = r.f
			byID[aws.ToString(r.f.Id)] = append(byID[aws.ToString(r.f.Id)], r.key)
		}
		out, err := h.Client.BatchImportFindings(ctx, in)
		if err != nil {
			if h.notEnabled(err) {
				return fail
			}
			for _, r := range batch {
				fail.add(r.key, fmt.Errorf("security hub BatchImportFindings: %w", err))
			}
			continue
		}
		for _, ff := range out.FailedFindings {
			id := aws.ToString(ff.Id)
			keys := byID[id]
			if len(keys) == 0 {
				h.log().Error("export: Security Hub reported a failure for a finding not in the batch", "finding_id", id, "code", aws.ToString(ff.ErrorCode))
				continue
			}
			for _, k := range keys {
				fail.add(k, fmt.Errorf("security hub rejected finding %s: %s: %s", id, aws.ToString(ff.ErrorCode), aws.ToString(ff.ErrorMessage)))
			}
		}
	}
	for _, it := range items {
		if it.Result == nil {
			continue
		}
		if _, failed := fail[it.Key]; failed {
			continue
		}
		if h.foreign(it.Result.Account, it.Result.FindingID) {
			continue
		}
		u, err := asff.Result(it.Result, h.Product)
		if err != nil {
			fail.add(it.Key, fmt.Errorf("security hub: %w", err))
			continue
		}
		out, err := h.Client.BatchUpdateFindings(ctx, UpdateInput(u))
		if err != nil {
			if h.notEnabled(err) {
				return fail
			}
			fail.add(it.Key, fmt.Errorf("security hub BatchUpdateFindings %s: %w", it.Result.FindingID, err))
			continue
		}
		for _, uf := range out.UnprocessedFindings {
			// FindingNotFound: the result overtook its finding (or the finding was never imported);
			// the SQS redelivery applies it once the import landed.
			fail.add(it.Key, fmt.Errorf("security hub did not update finding %s: %s: %s", it.Result.FindingID, aws.ToString(uf.ErrorCode), aws.ToString(uf.ErrorMessage)))
		}
	}
	return fail
}

// UpdateInput is the BatchUpdateFindings request for u. It lives with the client so the ASFF
// renderer links no AWS service client.
func UpdateInput(u asff.Update) *securityhub.BatchUpdateFindingsInput {
	in := &securityhub.BatchUpdateFindingsInput{FindingIdentifiers: []types.AwsSecurityFindingIdentifier{u.Identifier}, Note: &u.Note}
	if u.Workflow != "" {
		in.Workflow = &types.WorkflowUpdate{Status: u.Workflow}
	}
	return in
}
