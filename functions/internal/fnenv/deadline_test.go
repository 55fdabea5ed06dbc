package fnenv

import (
	"context"
	"testing"
	"time"
)

func TestWithReserve(t *testing.T) {
	bg, cancel := WithReserve(context.Background(), 0)
	defer cancel()
	if _, ok := bg.Deadline(); ok {
		t.Error("a context without a deadline got one")
	}
	tests := []struct {
		name    string
		left    time.Duration
		reserve time.Duration
		want    time.Duration // expected time left, ± 100 ms
	}{
		{"default reserve", 30 * time.Second, 0, 27 * time.Second},
		{"own reserve", 10 * time.Second, time.Second, 9 * time.Second},
		{"too little left to reserve", 4 * time.Second, 0, 4 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent, pc := context.WithTimeout(context.Background(), tc.left)
			defer pc()
			ctx, cancel := WithReserve(parent, tc.reserve)
			defer cancel()
			dl, ok := ctx.Deadline()
			if got := time.Until(dl); !ok || got > tc.want+100*time.Millisecond || got < tc.want-100*time.Millisecond {
				t.Errorf("time left %v, want %v", got, tc.want)
			}
		})
	}
}
