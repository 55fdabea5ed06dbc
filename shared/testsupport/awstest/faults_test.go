package awstest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/smithy-go"
)

func TestFaults(t *testing.T) {
	m := Start(t)
	ctx := context.Background()
	cfg := m.Config(t)
	ic := iam.NewFromConfig(cfg)
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u")}); err != nil {
		t.Fatal(err)
	}
	m.SeedStateTable(t, "state")

	code := func(err error) string {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			return ae.ErrorCode()
		}
		return ""
	}

	t.Run("throttle twice then succeed (retried)", func(t *testing.T) {
		r := m.Fault(Fault{Service: "iam", Operation: "GetUser", Kind: FaultThrottle, Times: 2})
		ic := iam.NewFromConfig(m.ConfigFastRetry(t, 3))
		defer m.ClearFaults()
		if _, err := ic.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("u")}); err != nil {
			t.Fatalf("GetUser after 2 throttles: %v", err)
		}
		if r.Hits() != 2 || r.Matched() != 3 {
			t.Fatalf("hits=%d matched=%d, want 2/3", r.Hits(), r.Matched())
		}
	})
	t.Run("access denied is not retried", func(t *testing.T) {
		r := m.Fault(Fault{Service: "iam", Operation: "UpdateAccessKey", Kind: FaultAccessDenied})
		defer m.ClearFaults()
		_, err := ic.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("u"), AccessKeyId: aws.String("AKIAX"), Status: "Inactive"})
		if code(err) != "AccessDenied" || r.Hits() != 1 {
			t.Fatalf("err=%v hits=%d", err, r.Hits())
		}
	})
	t.Run("sesv2 5xx always: standard retryer gives up after 3 attempts", func(t *testing.T) {
		r := m.Fault(Fault{Service: "ses", Operation: "PUT /v2/email/account/sending", Kind: FaultServerError})
		defer m.ClearFaults()
		_, err := sesv2.NewFromConfig(cfg).PutAccountSendingAttributes(ctx, &sesv2.PutAccountSendingAttributesInput{})
		if code(err) != "InternalFailure" || r.Hits() != 3 {
			t.Fatalf("err=%v hits=%d", err, r.Hits())
		}
		if m.AccountSendingPaused() {
			t.Fatal("faulted call changed state")
		}
	})
	t.Run("sesv2 throttle is 429", func(t *testing.T) {
		r := m.Fault(Fault{Service: "ses", Operation: "GET /v2/email/account", Kind: FaultThrottle, Times: 1})
		defer m.ClearFaults()
		if _, err := sesv2.NewFromConfig(cfg).GetAccount(ctx, &sesv2.GetAccountInput{}); err != nil || r.Hits() != 1 {
			t.Fatalf("err=%v hits=%d", err, r.Hits())
		}
	})
	t.Run("dynamodb throttle json", func(t *testing.T) {
		r := m.Fault(Fault{Service: "dynamodb", Operation: "GetItem", Kind: FaultThrottle})
		defer m.ClearFaults()
		ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.RetryMaxAttempts = 2 })
		_, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("state"), Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "b"}}})
		if code(err) != "ThrottlingException" || r.Hits() != 2 {
			t.Fatalf("err=%v hits=%d", err, r.Hits())
		}
	})
	t.Run("delay longer than the client timeout", func(t *testing.T) {
		r := m.Fault(Fault{Service: "iam", Operation: "GetUser", Kind: FaultDelay, Delay: 5 * time.Second})
		defer m.ClearFaults()
		c := iam.NewFromConfig(m.ConfigFastRetry(t, 2), func(o *iam.Options) {
			o.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond}
			o.RetryMaxAttempts = 2
		})
		start := time.Now()
		_, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("u")})
		if err == nil || r.Hits() != 2 {
			t.Fatalf("err=%v hits=%d", err, r.Hits())
		}
		// Two attempts that waited out the delay would take 10 s.
		if time.Since(start) > 5*time.Second {
			t.Fatalf("timeout took %s", time.Since(start))
		}
	})
	t.Run("non-matching operations pass", func(t *testing.T) {
		r := m.Fault(Fault{Service: "iam", Operation: "DeleteUser", Kind: FaultServerError})
		defer m.ClearFaults()
		if _, err := ic.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("u")}); err != nil || r.Matched() != 0 {
			t.Fatalf("err=%v matched=%d", err, r.Matched())
		}
	})
}

func TestFaultMatch(t *testing.T) {
	m := Start(t)
	ctx := context.Background()
	u := m.SeedSMTPUser(t, "ses-smtp-user.match")
	r := m.Fault(Fault{Service: "iam", Operation: "UpdateAccessKey", Kind: FaultAccessDenied,
		Match: func(r *http.Request) bool { return FormValue(r, "AccessKeyId") == u.KeyIDs[1] }})
	c := iam.NewFromConfig(m.Config(t))
	for i, id := range u.KeyIDs {
		_, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(u.UserName), AccessKeyId: aws.String(id), Status: "Inactive"})
		if (err != nil) != (i == 1) {
			t.Fatalf("key %d: err = %v", i, err)
		}
	}
	if r.Hits() != 1 {
		t.Fatalf("hits = %d", r.Hits())
	}
}
