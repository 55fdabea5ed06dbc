package main

import "context"

// runContain is a placeholder until its issue lands; it says so and fails.
func runContain(ctx context.Context, e env, args []string) int {
	return notImplemented(e, "runContain")
}

// runRestore is a placeholder until its issue lands; it says so and fails.
func runRestore(ctx context.Context, e env, args []string) int {
	return notImplemented(e, "runRestore")
}
