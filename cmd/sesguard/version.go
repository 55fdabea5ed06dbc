package main

import (
	"context"
	"fmt"

	"github.com/sesguard/sesguard/shared/core/finding"
)

// runVersion prints what the binary was built from: the module version, the VCS revision and
// its time, and the toolchain. Findings and containment results carry the same build in
// producer_version.
func runVersion(_ context.Context, e env, args []string) int {
	if len(args) > 0 {
		fmt.Fprintln(e.stderr, "usage: sesguard version (or sesguard --version)\n\nPrint the module version, VCS revision and toolchain this binary was built from.")
		if args[0] == "-h" || args[0] == "--help" {
			return exitOK
		}
		return exitUsage
	}
	b := finding.BuildInfo()
	fmt.Fprintf(e.stdout, "sesguard %s %s\n", orDash(b.Module), orDash(b.Version))
	rev := b.Revision
	if rev == "" {
		rev = "unknown (not stamped: built with go run/test or -buildvcs=false)"
	} else {
		if b.Time != "" {
			rev += " (" + b.Time + ")"
		}
		if b.Modified {
			rev += ", with uncommitted changes"
		}
	}
	fmt.Fprintf(e.stdout, "revision %s\n", rev)
	fmt.Fprintf(e.stdout, "go %s\n", orDash(b.Go))
	if v := finding.ProducerVersion(); v != "" {
		fmt.Fprintf(e.stdout, "findings carry producer_version %q\n", v)
	}
	return exitOK
}
