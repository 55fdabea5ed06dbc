package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/sesguard/sesguard/functions/internal/fnenv"
	"github.com/sesguard/sesguard/shared/decode/cloudtrail"
	"github.com/sesguard/sesguard/shared/decode/sesevent"
)

// KeyOwner says which IAM user of this account an access key belongs to. An AWS Health
// credentials-risk event names only the key; containment acts on the key's user, and
// deactivating a key without naming its user would act on the caller's own user.
type KeyOwner interface {
	// KeyUser returns the key's user; "" with a nil error when IAM does not know the key here.
	KeyUser(ctx context.Context, accessKeyID string) (string, error)
}

// KeyOwnerAPI is the IAM call IAMKeyOwner makes.
type KeyOwnerAPI interface {
	GetAccessKeyLastUsed(ctx context.Context, in *iam.GetAccessKeyLastUsedInput, opts ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
}

// IAMKeyOwner resolves keys with iam:GetAccessKeyLastUsed, which names the key's user.
type IAMKeyOwner struct{ API KeyOwnerAPI }

// KeyUser implements KeyOwner.
func (o IAMKeyOwner) KeyUser(ctx context.Context, accessKeyID string) (string, error) {
	out, err := o.API.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(accessKeyID)})
	if err != nil {
		var nse *iamtypes.NoSuchEntityException
		if errors.As(err, &nse) {
			return "", nil // deleted, or another account's key
		}
		return "", fmt.Errorf("look up the user of key %s: %w", accessKeyID, err)
	}
	return aws.ToString(out.UserName), nil
}

// resolveKeyUsers replaces the user a Health notice's description suggests with the one IAM
// names, for every key of every notice in results; a key IAM does not know here is left
// unresolved (nothing to contain by user). A lookup error fails that record (returned by index),
// to be retried.
func (h *Handler) resolveKeyUsers(ctx context.Context, log *slog.Logger, results []sesevent.Result) map[int]error {
	var errs map[int]error
	for i := range results {
		c := results[i].APICall
		if c == nil || c.Notice == nil || c.Notice.Source != cloudtrail.HealthSource {
			continue
		}
		if h.KeyOwner == nil {
			// No IAM client: a name read from AWS's text is never acted on as if IAM said so.
			for k := range c.Notice.Keys {
				c.Notice.Keys[k].User, c.Notice.Keys[k].UserFrom = "", ""
			}
			c.SetKeyPrincipal(0)
			continue
		}
		var failed error
		for k := range c.Notice.Keys {
			key := &c.Notice.Keys[k]
			if key.Account != "" && c.Account != "" && key.Account != c.Account {
				continue // another account's key: IAM here cannot say, and containment cannot act
			}
			user, err := h.KeyOwner.KeyUser(ctx, key.AccessKeyID)
			if err != nil {
				failed = err
				break
			}
			if user != key.User && key.User != "" {
				log.Warn("ingest: IAM names another user than the Health description", fnenv.LogRecord, results[i].Ref,
					"access_key_id", key.AccessKeyID, "iam_user", user, "description_user", key.User)
			}
			key.User, key.UserFrom = user, cloudtrail.UserFromIAM
			if user == "" {
				key.UserFrom = ""
			}
		}
		if failed != nil {
			if errs == nil {
				errs = map[int]error{}
			}
			errs[i] = fmt.Errorf("record %s: %w", results[i].Ref, failed)
			continue
		}
		c.SetKeyPrincipal(0)
	}
	return errs
}
