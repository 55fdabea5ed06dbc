package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// SecretsAPI is the Secrets Manager call SigningSecret makes.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretsAPI = (*secretsmanager.Client)(nil)

// secretTTL is how long the signing secret is reused before it is read again; after a rotation,
// a signature that does not match makes an older copy be re-read at once (see Secret).
const (
	secretTTL     = 5 * time.Minute
	secretRecheck = 30 * time.Second
)

// ErrNoSigningSecret: the secret exists but has no value yet (the CDK app creates it empty).
var ErrNoSigningSecret = errors.New("the Slack signing secret has no value yet (aws secretsmanager put-secret-value --secret-id SECRET --secret-string <Signing Secret from the Slack app's Basic Information page>)")

// SigningSecret reads and caches the Slack app's signing secret (functions/interact).
type SigningSecret struct {
	API      SecretsAPI
	SecretID string
	Now      func() time.Time

	mu      sync.Mutex
	value   []byte
	fetched time.Time
}

func (s *SigningSecret) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Get returns the secret, read again when older than secretTTL, or (refresh) older than
// secretRecheck: a mismatch right after `put-secret-value` must not wait five minutes.
func (s *SigningSecret) Get(ctx context.Context, refresh bool) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	age := s.now().Sub(s.fetched)
	if s.value != nil && age < secretTTL && (!refresh || age < secretRecheck) {
		return s.value, false, nil
	}
	out, err := s.API.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.SecretID)})
	if err != nil {
		if strings.Contains(err.Error(), "secret value") {
			return nil, false, ErrNoSigningSecret
		}
		return nil, false, fmt.Errorf("read the Slack signing secret: %w", err)
	}
	v := strings.TrimSpace(aws.ToString(out.SecretString))
	if v == "" {
		return nil, false, ErrNoSigningSecret
	}
	s.value, s.fetched = []byte(v), s.now()
	return s.value, true, nil
}

// QueueAPI is the SQS call Queue makes.
type QueueAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

var _ QueueAPI = (*sqs.Client)(nil)

// Queue hands approved clicks to respond (interact → respond queue).
type Queue struct {
	API QueueAPI
	URL string
}

// Send validates and enqueues one request.
func (q *Queue) Send(ctx context.Context, r *Request) error {
	if err := r.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", r.Ref, err)
	}
	if _, err := q.API.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(string(b))}); err != nil {
		return fmt.Errorf("enqueue %s: %w", r.Ref, err)
	}
	return nil
}
