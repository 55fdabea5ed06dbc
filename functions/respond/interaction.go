package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/deliver/alert"
	"github.com/sesguard/sesguard/shared/engine/contain"
	"github.com/sesguard/sesguard/shared/slack/approval"
	"github.com/sesguard/sesguard/shared/slack/slackauth"
)

// ApprovalStore keeps the approvals behind Slack buttons (approval.Store).
type ApprovalStore interface {
	Put(ctx context.Context, a *approval.Approval) error
	Get(ctx context.Context, ref string) (*approval.Approval, error)
}

var _ ApprovalStore = (*approval.Store)(nil)

// Enforcer applies an approved plan or undoes one action, always in enforce mode
// (contain.Executor with Mode enforce; the ledger, protected principals and the hourly cap
// apply as in every run).
type Enforcer interface {
	ContainWith(ctx context.Context, f *finding.Finding, opts contain.ContainOptions) (*finding.Result, []finding.Finding, error)
	RestoreWith(ctx context.Context, actionID, actor string, approver *contain.Approver) (finding.ActionResult, error)
}

var _ Enforcer = (*contain.Executor)(nil)

// Responder posts to an interaction's response_url (alert.ResponsePoster).
type Responder interface {
	Post(ctx context.Context, responseURL string, msg alert.SlackMessage) error
}

var _ Responder = (*alert.ResponsePoster)(nil)

// Buttons is the Slack-approval side of respond; nil on Handler when response.approvers is
// empty (no buttons are offered and no click is carried out).
type Buttons struct {
	Store    ApprovalStore
	Enforcer Enforcer
	// Approver reports whether a Slack user id is in response.approvers (re-checked here:
	// interact checked it too, but respond is the function with write permissions).
	Approver func(slackUserID string) bool
	// TTL is response.approval_expiry.
	TTL time.Duration
	// MaxRequestAge refuses a click that waited longer in the queue (retries included).
	MaxRequestAge time.Duration
	Now           func() time.Time
}

// DefaultMaxRequestAge covers respond's queue retries (3 receives, 6 minute visibility timeout).
const DefaultMaxRequestAge = 30 * time.Minute

func (b *Buttons) now() time.Time {
	if b.Now != nil {
		return b.Now().UTC()
	}
	return time.Now().UTC()
}

// attach stores the approvals for a result's buttons: Contain now for a dry-run result's
// planned actions, Undo for each applied action. A store failure costs the buttons, not the
// alert: the result is still published (with its restore commands) and the error logged.
func (b *Buttons) attach(ctx context.Context, log *slog.Logger, f *finding.Finding, res *finding.Result) {
	now := b.now()
	if res.Mode != contain.ModeEnforce {
		var ids []string
		for _, a := range res.Actions {
			if a.ActionID != "" && (a.Outcome == finding.OutcomePlanned || a.Outcome == finding.OutcomeRateCapped) {
				ids = append(ids, a.ActionID)
			}
		}
		if len(ids) == 0 {
			return
		}
		a, err := approval.NewContain(f, ids, now, b.TTL)
		if err == nil {
			err = b.Store.Put(ctx, a)
		}
		if err != nil {
			log.Error("respond: Contain now button not offered", "error", err.Error())
			return
		}
		res.Approval = a.Button()
		return
	}
	for i := range res.Actions {
		ar := &res.Actions[i]
		if ar.Outcome != finding.OutcomeApplied || ar.ActionID == "" {
			continue
		}
		a, err := approval.NewUndo(res.FindingID, ar.ActionID, now, b.TTL)
		if err == nil {
			a.Rule = res.Rule
			err = b.Store.Put(ctx, a)
		}
		if err != nil {
			log.Error("respond: Undo button not offered", "action_id", ar.ActionID, "error", err.Error())
			continue
		}
		ar.Undo = a.Button()
	}
}

// interaction carries out one approved click from functions/interact. Every check interact made
// is made again (request shape, approver, approval kind and expiry) because this is the function
// that can write. A refusal is told to the clicking user (ephemeral) and logged as an audit line;
// it is not a failure of the record. Errors are for what a retry may fix.
func (h *Handler) interaction(ctx context.Context, log *slog.Logger, data []byte) error {
	b := h.Buttons
	req, err := approval.DecodeRequest(data)
	if err != nil {
		return fmt.Errorf("interaction request: %w", err)
	}
	log = log.With("slack_user", req.SlackUser, "slack_team", req.SlackTeam, "approval_ref", req.Ref, "kind", req.Kind,
		"clicked_at", req.ClickedAt.UTC().Format(time.RFC3339), "slack_request", req.RequestID)
	if b == nil {
		log.Warn("respond: audit: click refused", "reason", "Slack approvals are off (response.approvers is empty)")
		h.tell(ctx, log, req, "Slack approvals are not enabled for this sesguard deployment (response.approvers is empty); nothing was changed.", "")
		return nil
	}
	refuse := func(reason, tell, detail string) error {
		log.Warn("respond: audit: click refused", "reason", reason)
		h.tell(ctx, log, req, tell, detail)
		return nil
	}
	if !b.Approver(req.SlackUser) {
		return refuse("not in response.approvers", "You are not in response.approvers; nothing was changed. Slack user id:", req.SlackUser)
	}
	maxAge := b.MaxRequestAge
	if maxAge <= 0 {
		maxAge = DefaultMaxRequestAge
	}
	if ahead := req.ClickedAt.Sub(b.now()); req.ClickedAt.After(b.now().Add(slackauth.MaxSkew + time.Minute)) {
		// interact stamps the verified Slack time, at most MaxSkew ahead; a later one did not come
		// from it. (Compared as instants: a Duration saturates centuries away.)
		return refuse(fmt.Sprintf("request dated %s ahead", ahead.Round(time.Second)), "This click carries a time in the future; nothing was changed.", "")
	}
	if age := b.now().Sub(req.ClickedAt); age > maxAge {
		return refuse(fmt.Sprintf("request %s old (limit %s)", age.Round(time.Second), maxAge), "This click waited too long to be carried out; nothing was changed. Click again if it is still wanted.", "")
	}
	a, err := b.Store.Get(ctx, req.Ref)
	if errors.Is(err, approval.ErrNotFound) {
		return refuse("unknown approval reference", "This button is unknown or expired; nothing was changed.", "")
	}
	if err != nil {
		return err
	}
	if err := a.Usable(req.Kind, req.ClickedAt); err != nil {
		return refuse(err.Error(), "This button cannot be used; nothing was changed. Reason:", err.Error())
	}
	who := &contain.Approver{SlackUser: req.SlackUser, SlackTeam: req.SlackTeam, At: req.ClickedAt.UTC(), Ref: req.Ref}
	log = log.With(fnenv.LogFindingID, a.FindingID)
	if a.Kind == approval.KindUndo {
		return h.undo(ctx, log, req, a, who)
	}
	return h.containApproved(ctx, log, req, a, who)
}

func (h *Handler) containApproved(ctx context.Context, log *slog.Logger, req *approval.Request, a *approval.Approval, who *contain.Approver) error {
	b := h.Buttons
	res, extra, err := b.Enforcer.ContainWith(ctx, a.Finding, contain.ContainOptions{Only: a.ActionIDs, Approver: who})
	if err != nil {
		return fmt.Errorf("contain finding %s (approved by %s): %w", a.FindingID, who.Actor(), err)
	}
	for i := range extra {
		if _, err := h.Publisher.PublishFinding(ctx, &extra[i]); err != nil {
			return err
		}
	}
	b.attach(ctx, log, a.Finding, res)
	for _, ar := range res.Actions {
		log.Info("respond: audit: approved action", "action", ar.Action, "target", ar.Target, "outcome", ar.Outcome,
			"action_id", ar.ActionID, "changes", ar.Changes, "reason", ar.Reason, "error", ar.Error)
	}
	if err := h.Slack.Post(ctx, req.ResponseURL, alert.SlackContained(res, req.SlackUser, req.ClickedAt)); err != nil {
		// The change is made and recorded; the channel still gets the result from notify.
		log.Warn("respond: could not update the Slack message", "error", err.Error())
	}
	if _, err := h.Publisher.PublishResult(ctx, res); err != nil {
		return err
	}
	if res.Failed() {
		return fmt.Errorf("finding %s: %w (result published)", a.FindingID, errActionFailed)
	}
	return nil
}

func (h *Handler) undo(ctx context.Context, log *slog.Logger, req *approval.Request, a *approval.Approval, who *contain.Approver) error {
	b := h.Buttons
	ar, err := b.Enforcer.RestoreWith(ctx, a.ActionID, who.Actor(), who)
	log.Info("respond: audit: approved undo", "action_id", a.ActionID, "action", ar.Action, "target", ar.Target,
		"outcome", ar.Outcome, "changes", ar.Changes, "reason", ar.Reason, "error", ar.Error)
	if perr := h.Slack.Post(ctx, req.ResponseURL, alert.SlackUndone(ar, a.FindingID, req.SlackUser, req.ClickedAt)); perr != nil {
		log.Warn("respond: could not post the undo outcome to Slack", "error", perr.Error())
	}
	if err != nil {
		return fmt.Errorf("undo %s (approved by %s): %w", a.ActionID, who.Actor(), err)
	}
	// Announced like `sesguard restore --findings-topic`, so alerts and exports follow the undo.
	res := &finding.Result{
		Schema: finding.SchemaResult, FindingID: a.FindingID, Rule: a.Rule, Principal: finding.Principal{Kind: finding.KindUnknown},
		Mode: contain.ModeEnforce, Actor: who.Actor(), Time: b.now(), Actions: []finding.ActionResult{ar},
	}
	if _, err := h.Publisher.PublishResult(ctx, res); err != nil {
		return fmt.Errorf("undo %s done, announcing it failed: %w", a.ActionID, err)
	}
	return nil
}

// tell posts an ephemeral message to the clicking user; failing to is logged, never retried.
func (h *Handler) tell(ctx context.Context, log *slog.Logger, req *approval.Request, text, detail string) {
	if h.Slack == nil {
		return
	}
	if err := h.Slack.Post(ctx, req.ResponseURL, alert.SlackEphemeral(text, detail)); err != nil {
		log.Warn("respond: could not tell the Slack user", "error", err.Error())
	}
}
