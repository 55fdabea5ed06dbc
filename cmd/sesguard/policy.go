package main

import "context"

// runPolicy is a placeholder until its issue lands; it says so and fails.
func runPolicy(ctx context.Context, e env, args []string) int { return notImplemented(e, "runPolicy") }
