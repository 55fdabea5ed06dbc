// Command benchcorpus writes the realistic benchmark corpus of shared/testsupport/sescorpus: SES
// event-publishing records as NDJSON (Send + Delivery per message, some Bounces and Complaints,
// mail.headers, commonHeaders and the SES tags, 1–10 KB a record), the same bytes for the same
// seed. With -policy it also writes the policy the corpus is shaped for.
//
//	go run ./cmd/benchcorpus -records 100000 -o /tmp/corpus.ndjson -policy /tmp/corpus-policy.yaml
//	go run ./cmd/benchcorpus -shape independent -seed 2 -o /tmp/independent.ndjson
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sesguard/sesguard/shared/testsupport/sescorpus"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchcorpus", flag.ContinueOnError)
	fs.SetOutput(stderr)
	records := fs.Int("records", 100_000, "records to write")
	seed := fs.Uint64("seed", 1, "seed (same seed, same corpus)")
	out := fs.String("o", "-", "output file (- for stdout)")
	pol := fs.String("policy", "", "also write the matching sesguard policy to this file")
	shapeName := fs.String("shape", "realistic", "corpus shape: "+strings.Join(sescorpus.ShapeNames(), ", "))
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *records <= 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "benchcorpus: -records must be positive; no arguments")
		return 2
	}
	shape, err := sescorpus.LookupShape(*shapeName)
	if err != nil {
		fmt.Fprintf(stderr, "benchcorpus: -shape: %v\n", err)
		return 2
	}
	w, closeFn := stdout, func() error { return nil }
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "benchcorpus: %v\n", err)
			return 1
		}
		w, closeFn = f, f.Close
	}
	st, err := sescorpus.Write(w, sescorpus.Options{Seed: *seed, Records: *records, Shape: shape})
	if cerr := closeFn(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stderr, "benchcorpus: write: %v\n", err)
		return 1
	}
	if *pol != "" {
		if err := os.WriteFile(*pol, []byte(sescorpus.Policy), 0o644); err != nil {
			fmt.Fprintf(stderr, "benchcorpus: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "benchcorpus: %d records, %d messages, %d bytes (%d..%d B a record) %v\n",
		st.Records, st.Messages, st.Bytes, st.MinSize, st.MaxSize, st.ByType)
	return 0
}
