package main

import "context"

// runSMTPPassword is a placeholder until its issue lands; it says so and fails.
func runSMTPPassword(ctx context.Context, e env, args []string) int {
	return notImplemented(e, "runSMTPPassword")
}
