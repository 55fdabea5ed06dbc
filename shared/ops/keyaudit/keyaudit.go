// Package keyaudit inventories IAM users' access keys for SES: status, creation, last use
// (service and Region, from GetAccessKeyLastUsed), whether the user is an SES SMTP credentials
// user, and whether the policy approves the principals that send with them.
package keyaudit

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/sesguard/sesguard/shared/engine/attribute"
)

// IAMAPI is the part of the IAM client the audit uses (all read-only).
type IAMAPI interface {
	iam.ListUsersAPIClient
	iam.ListAccessKeysAPIClient
	iam.ListUserPoliciesAPIClient
	iam.ListAttachedUserPoliciesAPIClient
	GetAccessKeyLastUsed(ctx context.Context, in *iam.GetAccessKeyLastUsedInput, optFns ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
}

var _ IAMAPI = (*iam.Client)(nil)

// Approver says whether a principal name (ses:caller-identity) is an approved sender;
// *policy.Policy satisfies it.
type Approver interface {
	PrincipalApproved(name string) bool
}

// Names shared with attribution: the SES services GetAccessKeyLastUsed reports, and how SES
// console SMTP users are recognised.
const (
	ServiceSES     = attribute.ServiceSES
	ServiceSESSMTP = attribute.ServiceSESSMTP
	SMTPPolicyName = attribute.SMTPPolicyName
	SMTPUserPrefix = attribute.SMTPUserPrefix
)

// Flag marks a key that needs a human's attention.
type Flag string

// Flags.
const (
	// FlagUnapprovedSender: the key was last used for ses or ses-smtp by a user the policy does
	// not list in senders.principals.
	FlagUnapprovedSender Flag = "unapproved-sender"
	// FlagSMTPUser: the key belongs to an SES SMTP credentials user (by name or policy).
	FlagSMTPUser Flag = "smtp-user"
	// FlagUnapprovedSMTPUser: an SMTP credentials user the policy does not approve; its active
	// keys can send mail whether or not they have yet.
	FlagUnapprovedSMTPUser Flag = "unapproved-smtp-user"
)

// Key is one access key with what IAM knows about its use.
type Key struct {
	User        string    `json:"user"`
	UserARN     string    `json:"user_arn"`
	AccessKeyID string    `json:"access_key_id"`
	Status      string    `json:"status"` // Active | Inactive
	Created     time.Time `json:"created"`
	LastUsed    time.Time `json:"last_used,omitzero"` // zero: never used (IAM keeps no date)
	Service     string    `json:"service,omitempty"`  // last service, e.g. ses, ses-smtp, s3; empty if never used
	Region      string    `json:"region,omitempty"`   // Region of that last use
	SMTPUser    bool      `json:"smtp_user"`
	SMTPReason  string    `json:"smtp_reason,omitempty"` // why the user counts as an SMTP user
	Flags       []Flag    `json:"flags,omitempty"`
}

// UsedForSES reports whether the key's last recorded use was SES (API or SMTP).
func (k *Key) UsedForSES() bool { return k.Service == ServiceSES || k.Service == ServiceSESSMTP }

// Options tunes Audit.
type Options struct {
	// Approver, when set, adds the unapproved-* flags.
	Approver Approver
	// PathPrefix restricts ListUsers (default "/": every user).
	PathPrefix string
	// Concurrency is how many users are inspected at once (default 4; IAM throttles hard).
	Concurrency int
	// PageSize sets MaxItems on ListUsers (0: the service default, 100).
	PageSize int32
	// Progress, when set, is called after each user is inspected.
	Progress func(done, total int)
}

// Audit lists every IAM user (paginated), then each user's access keys with their last use
// (attribute.ListKeys) and, for users with keys, whether they are SMTP users. Users without
// access keys are left out: nothing to audit. Keys come back sorted by user name, each user's
// keys in attribute.RankKeys order (last used for SES first, then most recent).
func Audit(ctx context.Context, api IAMAPI, opt Options) ([]Key, error) {
	var users []iamUser
	in := &iam.ListUsersInput{}
	if opt.PathPrefix != "" {
		in.PathPrefix = aws.String(opt.PathPrefix)
	}
	if opt.PageSize > 0 {
		in.MaxItems = aws.Int32(opt.PageSize)
	}
	for p := iam.NewListUsersPaginator(api, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		for _, u := range page.Users {
			users = append(users, iamUser{name: aws.ToString(u.UserName), arn: aws.ToString(u.Arn)})
		}
	}
	n := opt.Concurrency
	if n <= 0 {
		n = 4
	}
	results := make([][]Key, len(users))
	errs := make([]error, len(users))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i, u := range users {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], errs[i] = inspectUser(ctx, api, u, opt)
			if opt.Progress != nil {
				mu.Lock()
				done++
				opt.Progress(done, len(users))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var keys []Key
	for i := range users {
		if errs[i] != nil {
			return nil, errs[i]
		}
		keys = append(keys, results[i]...)
	}
	sort.SliceStable(keys, func(a, b int) bool { return keys[a].User < keys[b].User })
	return keys, nil
}

type iamUser struct{ name, arn string }

func inspectUser(ctx context.Context, api IAMAPI, u iamUser, opt Options) ([]Key, error) {
	uses, err := attribute.ListKeys(ctx, api, u.name)
	if err != nil {
		return nil, err
	}
	if len(uses) == 0 {
		return nil, nil
	}
	smtp, reason, err := attribute.SMTPUser(ctx, api, u.name)
	if err != nil {
		return nil, err
	}
	approved := opt.Approver == nil || opt.Approver.PrincipalApproved(u.name)
	keys := make([]Key, 0, len(uses))
	for _, ku := range uses {
		k := Key{
			User: u.name, UserARN: u.arn, AccessKeyID: ku.AccessKeyID, Status: ku.Status,
			Created: ku.Created.UTC(), LastUsed: ku.LastUsed.UTC(),
			// IAM answers "N/A" for a key never used.
			Service: naToEmpty(ku.Service), Region: naToEmpty(ku.Region),
			SMTPUser: smtp, SMTPReason: reason,
		}
		if smtp {
			k.Flags = append(k.Flags, FlagSMTPUser)
		}
		if !approved && k.UsedForSES() {
			k.Flags = append(k.Flags, FlagUnapprovedSender)
		}
		if !approved && smtp {
			k.Flags = append(k.Flags, FlagUnapprovedSMTPUser)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func naToEmpty(s string) string {
	if s == "N/A" {
		return ""
	}
	return s
}

// Flagged reports whether k carries any unapproved-* flag.
func (k *Key) Flagged() bool {
	for _, f := range k.Flags {
		if f == FlagUnapprovedSender || f == FlagUnapprovedSMTPUser {
			return true
		}
	}
	return false
}
