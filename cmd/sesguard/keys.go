package main

import "context"

// runKeys is a placeholder until its issue lands; it says so and fails.
func runKeys(ctx context.Context, e env, args []string) int { return notImplemented(e, "runKeys") }
