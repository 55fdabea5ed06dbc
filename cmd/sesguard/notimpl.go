package main

import "fmt"

// notImplemented is used by subcommands not built yet; it never pretends to succeed.
func notImplemented(e env, name string) int {
	fmt.Fprintf(e.stderr, "sesguard: %s is not implemented yet\n", name)
	return exitUsage
}
