package contain

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
)

// IAMAPI is the part of IAM containment uses.
type IAMAPI interface {
	GetUser(ctx context.Context, in *iam.GetUserInput, opts ...func(*iam.Options)) (*iam.GetUserOutput, error)
	GetRole(ctx context.Context, in *iam.GetRoleInput, opts ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, opts ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	GetAccessKeyLastUsed(ctx context.Context, in *iam.GetAccessKeyLastUsedInput, opts ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
	UpdateAccessKey(ctx context.Context, in *iam.UpdateAccessKeyInput, opts ...func(*iam.Options)) (*iam.UpdateAccessKeyOutput, error)
	GetUserPolicy(ctx context.Context, in *iam.GetUserPolicyInput, opts ...func(*iam.Options)) (*iam.GetUserPolicyOutput, error)
	PutUserPolicy(ctx context.Context, in *iam.PutUserPolicyInput, opts ...func(*iam.Options)) (*iam.PutUserPolicyOutput, error)
	DeleteUserPolicy(ctx context.Context, in *iam.DeleteUserPolicyInput, opts ...func(*iam.Options)) (*iam.DeleteUserPolicyOutput, error)
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, opts ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, opts ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	DeleteRolePolicy(ctx context.Context, in *iam.DeleteRolePolicyInput, opts ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
}

// SESAPI is the part of SESv2 containment uses.
type SESAPI interface {
	GetEmailIdentity(ctx context.Context, in *sesv2.GetEmailIdentityInput, opts ...func(*sesv2.Options)) (*sesv2.GetEmailIdentityOutput, error)
	GetEmailIdentityPolicies(ctx context.Context, in *sesv2.GetEmailIdentityPoliciesInput, opts ...func(*sesv2.Options)) (*sesv2.GetEmailIdentityPoliciesOutput, error)
	CreateEmailIdentityPolicy(ctx context.Context, in *sesv2.CreateEmailIdentityPolicyInput, opts ...func(*sesv2.Options)) (*sesv2.CreateEmailIdentityPolicyOutput, error)
	UpdateEmailIdentityPolicy(ctx context.Context, in *sesv2.UpdateEmailIdentityPolicyInput, opts ...func(*sesv2.Options)) (*sesv2.UpdateEmailIdentityPolicyOutput, error)
	DeleteEmailIdentityPolicy(ctx context.Context, in *sesv2.DeleteEmailIdentityPolicyInput, opts ...func(*sesv2.Options)) (*sesv2.DeleteEmailIdentityPolicyOutput, error)
	GetConfigurationSet(ctx context.Context, in *sesv2.GetConfigurationSetInput, opts ...func(*sesv2.Options)) (*sesv2.GetConfigurationSetOutput, error)
	PutConfigurationSetSendingOptions(ctx context.Context, in *sesv2.PutConfigurationSetSendingOptionsInput, opts ...func(*sesv2.Options)) (*sesv2.PutConfigurationSetSendingOptionsOutput, error)
	GetAccount(ctx context.Context, in *sesv2.GetAccountInput, opts ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error)
	PutAccountSendingAttributes(ctx context.Context, in *sesv2.PutAccountSendingAttributesInput, opts ...func(*sesv2.Options)) (*sesv2.PutAccountSendingAttributesOutput, error)
}

// DynamoAPI is the part of DynamoDB the ledger uses.
type DynamoAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var (
	_ IAMAPI    = (*iam.Client)(nil)
	_ SESAPI    = (*sesv2.Client)(nil)
	_ DynamoAPI = (*dynamodb.Client)(nil)
)

// Retry and timeout settings TuneConfig applies.
const (
	MaxAttempts    = 5                // SDK standard retryer: 1 call + 4 retries
	MaxBackoff     = 2 * time.Second  // cap of the jittered exponential backoff
	AttemptTimeout = 10 * time.Second // one HTTP attempt (a hung connection counts as retryable)
)

// TuneConfig returns cfg with containment's retry policy: the SDK's standard retryer (throttling,
// 5xx and transient network errors, including client timeouts, are retried) with MaxAttempts and
// MaxBackoff, and an HTTP client that gives up on one attempt after AttemptTimeout. Callers bound
// the whole call with their context.
func TuneConfig(cfg aws.Config) aws.Config {
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = MaxAttempts
			o.MaxBackoff = MaxBackoff
		})
	}
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTimeout(AttemptTimeout)
	return cfg
}
