package slackauth

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"
)

// memCache is an in-memory ReplayCache with the same contract as the DynamoDB one.
type memCache struct {
	mu   sync.Mutex
	keys map[string]time.Time
	now  func() time.Time
	err  error
}

var _ ReplayCache = (*memCache)(nil)

func (c *memCache) Claim(_ context.Context, key string, until time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return false, c.err
	}
	if c.keys == nil {
		c.keys = map[string]time.Time{}
	}
	if exp, ok := c.keys[key]; ok && c.now().Before(exp) {
		return false, nil
	}
	c.keys[key] = until
	return true, nil
}

var (
	secret = []byte("8f742231b10e8888abcd99yyyzzz85a5")
	now    = time.Unix(1_780_000_000, 0)
	body   = []byte(`payload=%7B%22type%22%3A%22block_actions%22%7D`)
)

func ts(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func TestVerify(t *testing.T) {
	sign := func(key []byte, at time.Time, b []byte) string { return Sign(key, at.Unix(), b) }
	tests := []struct {
		name      string
		timestamp string
		signature string
		body      []byte
		want      error
	}{
		{"valid", ts(now), sign(secret, now, body), body, nil},
		{"valid at the edge of the window (5 min old)", ts(now.Add(-MaxSkew)), sign(secret, now.Add(-MaxSkew), body), body, nil},
		{"valid with upper-case hex", ts(now), "v0=" + upperHex(sign(secret, now, body)[3:]), body, nil},
		{"wrong secret", ts(now), sign([]byte("another-secret"), now, body), body, ErrSignatureMismatch},
		{"stale timestamp (5 min 1 s)", ts(now.Add(-MaxSkew - time.Second)), sign(secret, now.Add(-MaxSkew-time.Second), body), body, ErrStale},
		{"stale timestamp (a day)", ts(now.Add(-24 * time.Hour)), sign(secret, now.Add(-24*time.Hour), body), body, ErrStale},
		{"future timestamp (5 min 1 s)", ts(now.Add(MaxSkew + time.Second)), sign(secret, now.Add(MaxSkew+time.Second), body), body, ErrFuture},
		{"body modified", ts(now), sign(secret, now, body), append([]byte(nil), append(body, '1')...), ErrSignatureMismatch},
		{"body truncated", ts(now), sign(secret, now, body), body[:len(body)-1], ErrSignatureMismatch},
		{"timestamp changed after signing", ts(now.Add(-time.Second)), sign(secret, now, body), body, ErrSignatureMismatch},
		{"timestamp header missing", "", sign(secret, now, body), body, ErrNoTimestamp},
		{"signature header missing", ts(now), "", body, ErrNoSignature},
		{"timestamp garbled", "17800000x0", sign(secret, now, body), body, ErrBadTimestamp},
		{"timestamp negative", "-1", sign(secret, now, body), body, ErrBadTimestamp},
		{"timestamp with fraction", ts(now) + ".5", sign(secret, now, body), body, ErrBadTimestamp},
		{"timestamp too long", "1234567890123", sign(secret, now, body), body, ErrBadTimestamp},
		{"signature without v0=", ts(now), sign(secret, now, body)[3:], body, ErrBadSignature},
		{"signature v1", ts(now), "v1=" + sign(secret, now, body)[3:], body, ErrBadSignature},
		{"signature not hex", ts(now), "v0=" + string(make([]byte, 64)), body, ErrBadSignature},
		{"signature short", ts(now), sign(secret, now, body)[:60], body, ErrBadSignature},
	}
	v := &Verifier{Secret: secret, Now: func() time.Time { return now }}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Verify(tc.timestamp, tc.signature, tc.body)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			if err == nil && (got.Signature == "" || got.Timestamp.IsZero()) {
				t.Errorf("verified request lacks its signature or time: %+v", got)
			}
		})
	}
	if _, err := (&Verifier{}).Verify(ts(now), sign(secret, now, body), body); !errors.Is(err, ErrNoSecret) {
		t.Errorf("no secret: %v", err)
	}
}

func upperHex(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// mixedHex upper-cases every other hex letter of a signature.
func mixedHex(s string) string {
	b := []byte(s)
	for i := 3; i < len(b); i += 2 {
		if b[i] >= 'a' && b[i] <= 'f' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

// TestVerifyFarTimestamps: timestamps centuries away are refused. now.Sub(at) saturates at
// -292 years and its negation overflows, so a check on the Duration let them through.
func TestVerifyFarTimestamps(t *testing.T) {
	v := &Verifier{Secret: secret, Now: func() time.Time { return now }}
	for _, tc := range []struct {
		ts   int64
		want error
	}{
		{now.Unix() + 300*365*24*3600, ErrFuture},
		{now.Unix() + 293*365*24*3600, ErrFuture},
		{999999999999, ErrFuture},
		{now.Unix() + 301, ErrFuture},
		{now.Unix() + 300, nil},
		{now.Unix() - 300, nil},
		{now.Unix() - 301, ErrStale},
		{0, ErrStale},
	} {
		stamp := strconv.FormatInt(tc.ts, 10)
		_, err := v.Verify(stamp, Sign(secret, tc.ts, body), body)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("timestamp %s: Verify = %v, want %v", stamp, err, tc.want)
		}
	}
}

// TestCheckReplay: the same signed body is accepted once; a new signature (Slack re-sends with a
// new timestamp on a genuine retry) is accepted; a cache failure refuses.
func TestCheckReplay(t *testing.T) {
	clock := now
	v := &Verifier{Secret: secret, Now: func() time.Time { return clock }}
	cache := &memCache{now: func() time.Time { return clock }}
	ctx := context.Background()
	sig := Sign(secret, now.Unix(), body)
	tests := []struct {
		name      string
		advance   time.Duration
		timestamp string
		signature string
		want      error
	}{
		{"first delivery", 0, ts(now), sig, nil},
		{"replayed body", 0, ts(now), sig, ErrReplay},
		{"replayed body 4 min later", 4 * time.Minute, ts(now), sig, ErrReplay},
		{"replayed body after the window is stale, not new", 2 * time.Minute, ts(now), sig, ErrStale},
		{"a new click (new timestamp) is accepted", 0, ts(now.Add(6 * time.Minute)), Sign(secret, now.Add(6*time.Minute).Unix(), body), nil},
		// The same MAC in other spellings is the same request: the key is the decoded bytes.
		{"replayed in upper-case hex", 0, ts(now.Add(6 * time.Minute)), upperHex(Sign(secret, now.Add(6*time.Minute).Unix(), body)), ErrReplay},
		{"replayed in mixed-case hex", 0, ts(now.Add(6 * time.Minute)), mixedHex(Sign(secret, now.Add(6*time.Minute).Unix(), body)), ErrReplay},
		{"replayed with surrounding space", 0, ts(now.Add(6 * time.Minute)), " " + Sign(secret, now.Add(6*time.Minute).Unix(), body) + "\t", ErrReplay},
		{"first delivery in upper case", 0, ts(now.Add(7 * time.Minute)), upperHex(Sign(secret, now.Add(7*time.Minute).Unix(), body)), nil},
		{"then in lower case", 0, ts(now.Add(7 * time.Minute)), Sign(secret, now.Add(7*time.Minute).Unix(), body), ErrReplay},
	}
	for _, tc := range tests {
		clock = clock.Add(tc.advance)
		_, err := v.Check(ctx, cache, tc.timestamp, tc.signature, body)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Fatalf("%s: Check = %v, want %v", tc.name, err, tc.want)
		}
	}
	broken := &memCache{now: func() time.Time { return clock }, err: errors.New("dynamodb: throttled")}
	if _, err := v.Check(ctx, broken, ts(clock), Sign(secret, clock.Unix(), body), body); err == nil {
		t.Error("a replay-cache failure let the request through")
	}
	if _, err := v.Check(ctx, nil, ts(clock), Sign(secret, clock.Unix(), body), body); err == nil {
		t.Error("no replay cache let the request through")
	}
	// A request that fails verification never reaches (or fills) the cache.
	n := len(cache.keys)
	if _, err := v.Check(ctx, cache, ts(clock), Sign([]byte("x"), clock.Unix(), body), body); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatal(err)
	}
	if len(cache.keys) != n {
		t.Error("an unsigned request was recorded in the replay cache")
	}
}

// BenchmarkVerify is the cost of authenticating one typical (4 KiB) interaction.
func BenchmarkVerify(b *testing.B) {
	payload := make([]byte, 4096)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	v := &Verifier{Secret: secret, Now: func() time.Time { return now }}
	sig := Sign(secret, now.Unix(), payload)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ts(now), sig, payload); err != nil {
			b.Fatal(err)
		}
	}
}
