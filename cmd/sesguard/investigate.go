package main

import "context"

// runInvestigate is a placeholder until its issue lands; it says so and fails.
func runInvestigate(ctx context.Context, e env, args []string) int {
	return notImplemented(e, "runInvestigate")
}
