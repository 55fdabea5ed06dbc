package contain

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

const testTable = "sesguard-state"

// testEnv is moto with real SDK clients (fast retries), the state table and a write counter.
type testEnv struct {
	m      *awstest.Moto
	iam    *iam.Client
	ses    *sesv2.Client
	ddb    *dynamodb.Client
	ledger *Ledger

	mu     sync.Mutex
	writes []string // IAM and SES write operations seen by the proxy
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	m := awstest.Start(t)
	cfg := m.ConfigFastRetry(t, 3)
	e := &testEnv{m: m, iam: iam.NewFromConfig(cfg), ses: sesv2.NewFromConfig(cfg), ddb: dynamodb.NewFromConfig(cfg)}
	e.ledger = NewLedger(e.ddb, testTable)
	m.SeedStateTable(t, testTable)
	m.Handle(func(w http.ResponseWriter, r *http.Request) bool {
		svc, op := awstest.SigningService(r), awstest.Operation(r)
		write := false
		switch svc {
		case "iam":
			write = !strings.HasPrefix(op, "Get") && !strings.HasPrefix(op, "List")
		case "ses":
			write = r.Method != http.MethodGet
		}
		if write {
			e.mu.Lock()
			e.writes = append(e.writes, svc+" "+op)
			e.mu.Unlock()
		}
		return false
	})
	return e
}

func (e *testEnv) resetWrites() {
	e.mu.Lock()
	e.writes = nil
	e.mu.Unlock()
}

func (e *testEnv) writeOps() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.writes...)
}

func (e *testEnv) executor(cfg Config) *Executor {
	ex := NewExecutor(cfg, e.iam, e.ses, e.ledger, nil)
	ex.Now = func() time.Time { return time.Date(2026, 11, 23, 19, 30, 0, 0, time.UTC) }
	return ex
}

func (e *testEnv) keyStatus(t *testing.T, user string) map[string]string {
	t.Helper()
	out, err := e.iam.ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String(user)})
	if err != nil {
		t.Fatalf("ListAccessKeys: %v", err)
	}
	m := map[string]string{}
	for _, k := range out.AccessKeyMetadata {
		m[aws.ToString(k.AccessKeyId)] = string(k.Status)
	}
	return m
}

func (e *testEnv) setKey(t *testing.T, user, key string, st iamtypes.StatusType) {
	t.Helper()
	if _, err := e.iam.UpdateAccessKey(context.Background(), &iam.UpdateAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(key), Status: st}); err != nil {
		t.Fatalf("UpdateAccessKey: %v", err)
	}
}

// smtpFinding is a finding about a seeded SMTP user.
func smtpFinding(u awstest.SMTPUser, actions ...string) *finding.Finding {
	f := testFinding()
	f.Principal.Name, f.Principal.ARN = u.UserName, u.ARN
	f.Actions = actions
	return f
}
