package main

import "context"

func runPolicyPreflight(ctx context.Context, e env, args []string) int { return exitUsage }
