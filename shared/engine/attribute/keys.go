package attribute

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// SES service names as GetAccessKeyLastUsed reports them: API sends and SMTP sends.
const (
	ServiceSES     = "ses"
	ServiceSESSMTP = "ses-smtp"
)

// KeyUse is one access key of a user and its last recorded use.
type KeyUse struct {
	UserName    string
	AccessKeyID string
	Status      string // Active | Inactive
	Created     time.Time
	LastUsed    time.Time // zero when never used
	Service     string    // last service used ("ses", "ses-smtp", "s3", "N/A", ...)
	Region      string
}

// SES reports whether the key was last used for SES (API or SMTP).
func (k KeyUse) SES() bool { return k.Service == ServiceSES || k.Service == ServiceSESSMTP }

// Keys lists a user's access keys ranked for attribution: keys last used for ses or ses-smtp
// first, most recent first; then the others, most recent first (never-used last). Results are
// cached for the Attributor's TTL. Note IAM keeps only the last service a key was used for.
func (a *Attributor) Keys(ctx context.Context, user string) ([]KeyUse, error) {
	now := a.now()
	a.mu.Lock()
	c, ok := a.keys[user]
	a.mu.Unlock()
	if ok && now.Before(c.expires) {
		return slices.Clone(c.keys), nil
	}
	keys, err := ListKeys(ctx, a.iam, user)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.keys[user] = cachedKeys{keys: keys, expires: now.Add(a.ttl)}
	a.mu.Unlock()
	return slices.Clone(keys), nil
}

// KeysAPI is what ListKeys needs from IAM.
type KeysAPI interface {
	ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, opts ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	GetAccessKeyLastUsed(ctx context.Context, in *iam.GetAccessKeyLastUsedInput, opts ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
}

// ListKeys is Keys without a cache: ListAccessKeys then GetAccessKeyLastUsed per key, ranked by
// RankKeys. The CLI `keys` command and containment use it directly.
func ListKeys(ctx context.Context, api KeysAPI, user string) ([]KeyUse, error) {
	var out []KeyUse
	pages := iam.NewListAccessKeysPaginator(api, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list access keys of %s: %w", user, err)
		}
		for _, md := range page.AccessKeyMetadata {
			k := KeyUse{
				UserName:    user,
				AccessKeyID: aws.ToString(md.AccessKeyId),
				Status:      string(md.Status),
				Created:     aws.ToTime(md.CreateDate),
			}
			lu, err := api.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: md.AccessKeyId})
			if err != nil {
				return nil, fmt.Errorf("last use of access key %s of %s: %w", k.AccessKeyID, user, err)
			}
			if u := lu.AccessKeyLastUsed; u != nil {
				k.LastUsed = aws.ToTime(u.LastUsedDate)
				k.Service = aws.ToString(u.ServiceName)
				k.Region = aws.ToString(u.Region)
			}
			out = append(out, k)
		}
	}
	RankKeys(out)
	return out, nil
}

// RankKeys sorts keys in place: SES-used first, then by last use (most recent first), then by
// creation (newest first), then by id for a stable order.
func RankKeys(keys []KeyUse) {
	slices.SortStableFunc(keys, func(x, y KeyUse) int {
		if x.SES() != y.SES() {
			if x.SES() {
				return -1
			}
			return 1
		}
		if c := y.LastUsed.Compare(x.LastUsed); c != 0 {
			return c
		}
		if c := y.Created.Compare(x.Created); c != 0 {
			return c
		}
		switch {
		case x.AccessKeyID < y.AccessKeyID:
			return -1
		case x.AccessKeyID > y.AccessKeyID:
			return 1
		}
		return 0
	})
}
