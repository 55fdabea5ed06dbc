package main

import "context"

// runReplay is a placeholder until its issue lands; it says so and fails.
func runReplay(ctx context.Context, e env, args []string) int { return notImplemented(e, "runReplay") }
