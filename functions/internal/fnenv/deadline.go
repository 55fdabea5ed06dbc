package fnenv

import (
	"context"
	"time"
)

// DefaultReserve is the time a function keeps back from its invocation deadline to answer.
const DefaultReserve = 3 * time.Second

// WithReserve returns ctx with its deadline moved reserve earlier (DefaultReserve when reserve
// is 0), so calls made under it give up while the function still has time to record what
// failed and return its partial batch response; when the invocation times out instead, the
// whole batch goes back to the queue and nothing after the hung call is recorded. A context
// without a deadline, or with less than twice the reserve left, is only made cancellable.
func WithReserve(ctx context.Context, reserve time.Duration) (context.Context, context.CancelFunc) {
	if reserve <= 0 {
		reserve = DefaultReserve
	}
	dl, ok := ctx.Deadline()
	if !ok || time.Until(dl) <= 2*reserve {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, dl.Add(-reserve))
}
