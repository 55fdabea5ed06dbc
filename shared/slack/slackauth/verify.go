// Package slackauth authenticates and decodes the requests Slack sends to an app's interactivity
// Request URL: the X-Slack-Signature check (HMAC-SHA256 over "v0:<timestamp>:<raw body>" with the
// app's signing secret), the five-minute timestamp window, a replay check for the rest of that
// window, and the block_actions payload, with a response_url that can only point at Slack.
//
// The function behind the URL has no other authentication (a Lambda Function URL with auth NONE:
// Slack cannot sign SigV4), so everything here fails closed with a named error and never panics.
package slackauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names Slack sets on every request (case-insensitive in HTTP; Function URL events carry
// them lower-cased).
const (
	HeaderTimestamp = "X-Slack-Request-Timestamp"
	HeaderSignature = "X-Slack-Signature"
)

// MaxSkew is how far a request's timestamp may be from now, either way: Slack's documented
// replay window. A request outside it is refused even with a valid signature.
const MaxSkew = 5 * time.Minute

// signatureVersion is the only scheme Slack documents ("v0").
const signatureVersion = "v0"

// Errors Verify returns, wrapped with detail. Each is a reason to refuse the request.
var (
	ErrNoSecret          = errors.New("slackauth: no signing secret configured")
	ErrNoTimestamp       = errors.New("slackauth: X-Slack-Request-Timestamp header missing")
	ErrNoSignature       = errors.New("slackauth: X-Slack-Signature header missing")
	ErrBadTimestamp      = errors.New("slackauth: X-Slack-Request-Timestamp is not a unix time")
	ErrBadSignature      = errors.New("slackauth: X-Slack-Signature is not v0=<64 hex digits>")
	ErrStale             = errors.New("slackauth: request timestamp is too old")
	ErrFuture            = errors.New("slackauth: request timestamp is in the future")
	ErrSignatureMismatch = errors.New("slackauth: signature does not match the body")
	ErrReplay            = errors.New("slackauth: request already seen (replay)")
)

// Verifier checks request signatures with one signing secret.
type Verifier struct {
	Secret []byte
	// Now is the clock; default time.Now.
	Now func() time.Time
	// MaxSkew overrides the window (tests); 0 means MaxSkew.
	MaxSkew time.Duration
}

// Verified is what a successful check established.
type Verified struct {
	// Timestamp is the signed request time.
	Timestamp time.Time
	// Signature is the header value in canonical form (lower-case hex of the decoded MAC); it
	// identifies this exact request for the replay check whatever case the header used.
	Signature string
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) skew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return MaxSkew
}

// Sign returns the X-Slack-Signature value for body at ts, as Slack computes it. Tests and the
// end-to-end harness use it to produce genuine requests.
func Sign(secret []byte, ts int64, body []byte) string {
	return signatureVersion + "=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts, 10), body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(signatureVersion + ":" + ts + ":"))
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks the headers against the raw body: both present and well formed, the timestamp
// within MaxSkew of now (stale and future both refused), and the HMAC equal in constant time.
// The timestamp is checked before the HMAC is computed, so a flood of stale requests costs
// nothing, and the comparison is on decoded bytes with hmac.Equal.
func (v *Verifier) Verify(timestamp, signature string, body []byte) (Verified, error) {
	if len(v.Secret) == 0 {
		return Verified{}, ErrNoSecret
	}
	timestamp, signature = strings.TrimSpace(timestamp), strings.TrimSpace(signature)
	if timestamp == "" {
		return Verified{}, ErrNoTimestamp
	}
	if signature == "" {
		return Verified{}, ErrNoSignature
	}
	ts, err := parseTimestamp(timestamp)
	if err != nil {
		return Verified{}, err
	}
	want, err := parseSignature(signature)
	if err != nil {
		return Verified{}, err
	}
	at := time.Unix(ts, 0)
	now := v.now()
	// Compare instants, not now.Sub(at): a Duration saturates at ±292 years, and negating the
	// minimum one overflows back to it, which let a timestamp centuries ahead pass as "not ahead".
	switch {
	case at.Before(now.Add(-v.skew())):
		return Verified{}, fmt.Errorf("%w: %s, %s ago (limit %s)", ErrStale, at.UTC().Format(time.RFC3339), now.Sub(at).Round(time.Second), v.skew())
	case at.After(now.Add(v.skew())):
		return Verified{}, fmt.Errorf("%w: %s, %s ahead (limit %s)", ErrFuture, at.UTC().Format(time.RFC3339), at.Sub(now).Round(time.Second), v.skew())
	}
	if !hmac.Equal(mac(v.Secret, timestamp, body), want) {
		return Verified{}, ErrSignatureMismatch
	}
	// The canonical form of the decoded MAC, not the header text: hex decoding ignores case, so
	// "v0=ABC…" and "v0=abc…" are the same signed request and must be one replay key.
	return Verified{Timestamp: at, Signature: signatureVersion + "=" + hex.EncodeToString(want)}, nil
}

// parseTimestamp accepts 1 to 12 decimal digits (unix seconds; no sign, no fraction, no spaces),
// the form Slack sends. The exact text is what is signed, so it is not normalised.
func parseTimestamp(s string) (int64, error) {
	if len(s) > 12 {
		return 0, fmt.Errorf("%w: %d characters", ErrBadTimestamp, len(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: %q", ErrBadTimestamp, s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrBadTimestamp, s)
	}
	return n, nil
}

// parseSignature decodes "v0=<64 hex>"; upper-case hex is accepted (hex decoding is
// case-insensitive; Verified.Signature is re-encoded, so the replay key does not depend on case),
// anything else is malformed.
func parseSignature(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, signatureVersion+"=")
	if !ok || len(rest) != 2*sha256.Size {
		return nil, fmt.Errorf("%w (%d characters)", ErrBadSignature, len(s))
	}
	b, err := hex.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return b, nil
}

// ReplayCache remembers request signatures. Claim records key until the given time and reports
// whether it was new; a second Claim of the same key before then reports false. It must be
// atomic across concurrent callers (a conditional write).
type ReplayCache interface {
	Claim(ctx context.Context, key string, until time.Time) (fresh bool, err error)
}

// ReplayKey is the cache key of a verified request: a hash of its signature (a signature is an
// HMAC over timestamp and body, so it names exactly one signed request).
func ReplayKey(v Verified) string {
	h := sha256.Sum256([]byte(v.Signature))
	return hex.EncodeToString(h[:16])
}

// Check verifies the request and then claims it in cache for the rest of its validity window, so
// the same signed body is accepted once: a captured request re-sent inside the five minutes is
// refused with ErrReplay. A cache error refuses the request too (fail closed).
func (v *Verifier) Check(ctx context.Context, cache ReplayCache, timestamp, signature string, body []byte) (Verified, error) {
	ver, err := v.Verify(timestamp, signature, body)
	if err != nil {
		return Verified{}, err
	}
	if cache == nil {
		return Verified{}, errors.New("slackauth: no replay cache configured")
	}
	// Valid until ts+skew; a minute more covers clock differences between instances.
	fresh, err := cache.Claim(ctx, ReplayKey(ver), ver.Timestamp.Add(v.skew()+time.Minute))
	if err != nil {
		return Verified{}, fmt.Errorf("slackauth: replay check: %w", err)
	}
	if !fresh {
		return Verified{}, ErrReplay
	}
	return ver, nil
}
