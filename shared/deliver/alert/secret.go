package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/sesguard/sesguard/shared/deliver/httppost"
)

// URLSource supplies the Slack webhook URL (httppost.URLSource). The URL is a credential:
// implementations never log it or put it in an error.
type URLSource = httppost.URLSource

// invalidator is implemented by sources that cache (httppost.Invalidator).
type invalidator = httppost.Invalidator

// secretsAPI is the one Secrets Manager call the notifier needs.
type secretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// DefaultSecretTTL bounds how long a rotated webhook URL can go unnoticed.
const DefaultSecretTTL = 5 * time.Minute

// SecretURL reads the webhook URL from Secrets Manager and caches it for TTL. The secret's
// SecretString is either the URL itself or a JSON object with a "webhook_url" (or "url") key.
type SecretURL struct {
	Client   secretsAPI
	SecretID string
	TTL      time.Duration    // default DefaultSecretTTL
	Now      func() time.Time // default time.Now

	mu      sync.Mutex
	url     string
	fetched time.Time
}

var (
	_ URLSource   = (*SecretURL)(nil)
	_ invalidator = (*SecretURL)(nil)
)

// NewSecretURL returns a cached source for secretID.
func NewSecretURL(client secretsAPI, secretID string) *SecretURL {
	return &SecretURL{Client: client, SecretID: secretID}
}

// URL returns the cached URL, fetching it when the cache is empty or older than TTL.
func (s *SecretURL) URL(ctx context.Context) (string, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ttl := s.TTL
	if ttl <= 0 {
		ttl = DefaultSecretTTL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.url != "" && now().Sub(s.fetched) < ttl {
		return s.url, nil
	}
	out, err := s.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &s.SecretID})
	if err != nil {
		return "", fmt.Errorf("read slack webhook secret %s: %w", s.SecretID, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("read slack webhook secret %s: SecretString is empty (binary secrets are not supported)", s.SecretID)
	}
	u, err := parseWebhookSecret(*out.SecretString)
	if err != nil {
		return "", fmt.Errorf("read slack webhook secret %s: %w", s.SecretID, err)
	}
	s.url, s.fetched = u, now()
	return u, nil
}

// Invalidate drops the cached URL.
func (s *SecretURL) Invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.url = ""
}

// parseWebhookSecret accepts a bare URL or {"webhook_url": "..."} / {"url": "..."}. Errors never
// quote the secret.
func parseWebhookSecret(v string) (string, error) {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "{") {
		var obj struct {
			WebhookURL string `json:"webhook_url"`
			URL        string `json:"url"`
		}
		if err := json.Unmarshal([]byte(v), &obj); err != nil {
			return "", errors.New("secret looks like JSON but does not parse (value not shown)")
		}
		v = obj.WebhookURL
		if v == "" {
			v = obj.URL
		}
		if v == "" {
			return "", errors.New(`secret JSON has no "webhook_url" or "url" key`)
		}
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", errors.New("secret is not an https URL (value not shown)")
	}
	return v, nil
}
