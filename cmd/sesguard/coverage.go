package main

import "context"

// runCoverage is a placeholder until its issue lands; it says so and fails.
func runCoverage(ctx context.Context, e env, args []string) int {
	return notImplemented(e, "runCoverage")
}
