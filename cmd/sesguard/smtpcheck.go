package main

import "context"

// runSMTPCheck is a placeholder until its issue lands; it says so and fails.
func runSMTPCheck(ctx context.Context, e env, args []string) int {
	return notImplemented(e, "runSMTPCheck")
}
