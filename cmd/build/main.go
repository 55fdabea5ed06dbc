// Command build cross-compiles each Lambda function under functions/ into a `bootstrap` for the
// provided.al2023 runtime and zips it for deployment:
//
//	go run ./cmd/build [-out build] [-arch arm64] [-policy sesguard.yaml] [fn...]
//
// Each functions/<fn> becomes <out>/<fn>/bootstrap (what the CDK app points at) and <out>/<fn>.zip,
// built with GOOS=linux, CGO_ENABLED=0, `-tags lambda.norpc -trimpath -ldflags="-s -w"`. With
// -policy the file is bundled beside the binary as policy.yaml (the functions' default
// SESGUARD_POLICY). Raw and zipped sizes are printed per function.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.out, "out", "build", "output `dir`ectory")
	fs.StringVar(&o.arch, "arch", "arm64", "GOARCH of the Lambda (arm64 or amd64)")
	fs.StringVar(&o.src, "src", "functions", "`dir`ectory holding one main package per function")
	fs.StringVar(&o.policy, "policy", "", "policy `file` to bundle beside each bootstrap as policy.yaml")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./cmd/build [-out build] [-arch arm64] [-policy F] [fn...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 1
	}
	if o.arch != "arm64" && o.arch != "amd64" {
		fmt.Fprintf(stderr, "build: -arch %q: want arm64 or amd64\n", o.arch)
		return 1
	}
	fns := fs.Args()
	if len(fns) == 0 {
		var err error
		if fns, err = discover(o.src); err != nil {
			fmt.Fprintf(stderr, "build: %v\n", err)
			return 1
		}
	}
	arts, err := buildAll(ctx, o, fns, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "build: %v\n", err)
		return 1
	}
	printSizes(stdout, arts)
	return 0
}
