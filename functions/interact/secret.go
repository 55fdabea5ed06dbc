package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretsAPI is the Secrets Manager call interact makes (its signing secret only).
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

// errNoSigningSecret: the secret exists but has no value yet (the CDK app creates it empty).
var errNoSigningSecret = errors.New("the Slack signing secret has no value yet (aws secretsmanager put-secret-value --secret-id SECRET --secret-string <Signing Secret from the Slack app's Basic Information page>)")

// signingSecret caches the Slack app's signing secret.
type signingSecret struct {
	API      SecretsAPI
	SecretID string
	Now      func() time.Time

	mu      sync.Mutex
	value   []byte
	fetched time.Time
}

func (s *signingSecret) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Get returns the secret, read again when older than secretTTL, or (refresh) older than
// secretRecheck: a mismatch right after `put-secret-value` must not wait five minutes.
func (s *signingSecret) Get(ctx context.Context, refresh bool) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	age := s.now().Sub(s.fetched)
	if s.value != nil && age < secretTTL && (!refresh || age < secretRecheck) {
		return s.value, false, nil
	}
	out, err := s.API.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.SecretID)})
	if err != nil {
		if strings.Contains(err.Error(), "secret value") {
			return nil, false, errNoSigningSecret
		}
		return nil, false, fmt.Errorf("read the Slack signing secret: %w", err)
	}
	v := strings.TrimSpace(aws.ToString(out.SecretString))
	if v == "" {
		return nil, false, errNoSigningSecret
	}
	s.value, s.fetched = []byte(v), s.now()
	return s.value, true, nil
}
