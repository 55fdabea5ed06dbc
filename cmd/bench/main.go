// Command bench is the side-by-side throughput benchmark of README's "Benchmarks" section. In one
// run it builds sesguard and, for each corpus shape (-shapes; shared/testsupport/sescorpus, one
// seed each), generates a corpus and runs `sesguard replay --format json` with the corpus's policy
// and with the flood policy that every send breaks, the Python json.loads peer and — when
// libsimdjson-dev and g++ are installed — the simdjson On-Demand peer on it, best of -runs,
// measured in CPU seconds (user+sys from the child's rusage) because the machine is shared; then
// `sesguard investigate --by principal` on one and two cores on the first corpus. It prints
// records per CPU-second, the ratios, and each corpus against the targets.
//
//	go run ./cmd/bench                    # 3 corpora of 100,000 records, best of 3
//	go run ./cmd/bench -records 20000 -runs 1 -shapes independent
//	go run ./cmd/bench -archive-mb 1024   # also peak RSS of investigate and replay on 1 GB
//	go run ./cmd/bench -cost              # the bill per million sends (cost.go)
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sesguard/sesguard/shared/testsupport/sescorpus"
)

//go:embed peers/peer.py
var peerPy []byte

//go:embed peers/peer_simdjson.cpp
var peerCpp []byte

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	records   int
	seed      uint64
	runs      int
	dir       string
	archiveMB int
	procs     int
	cost      bool
	costCfg   costConfig
	shapes    []sescorpus.Shape // one corpus each, seeds seed, seed+1, …
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.IntVar(&c.records, "records", 100_000, "records in the corpus")
	fs.Uint64Var(&c.seed, "seed", 1, "corpus seed")
	fs.IntVar(&c.runs, "runs", 5, "rounds: each program runs once per round, the best run is reported")
	fs.StringVar(&c.dir, "dir", "", "work directory (default: a temporary one, removed afterwards)")
	fs.IntVar(&c.archiveMB, "archive-mb", 0, "also generate an archive of this many MiB and report investigate/replay peak RSS on it")
	fs.IntVar(&c.procs, "procs", 1, "GOMAXPROCS for sesguard replay (the per-core figure)")
	fs.BoolVar(&c.cost, "cost", false, "instead: run the ingest and respond binaries against moto on a realistic stream and a flood and print the bill per million sends")
	fs.IntVar(&c.costCfg.messages, "cost-messages", 3000, "-cost: messages (sends) per scenario")
	fs.IntVar(&c.costCfg.batch, "batch", defaultBatch, "-cost: ingest queue batch size (infra/pipeline.go)")
	fs.DurationVar(&c.costCfg.window, "window", defaultWindow, "-cost: ingest queue batching window (infra/pipeline.go)")
	shapes := fs.String("shapes", "realistic,independent,marketing", "corpus shapes to run, one corpus each with seeds -seed, -seed+1, …: "+strings.Join(sescorpus.ShapeNames(), ", "))
	types := fs.String("ingest-types", strings.Join(defaultIngestTypes(), ","), "-cost: SES event types routed to ingest (\"all\": every type)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c.costCfg.types = strings.Split(*types, ",")
	c.costCfg.seed = c.seed
	if c.cost {
		dir, err := os.MkdirTemp("", "sesguard-cost-")
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		defer os.RemoveAll(dir)
		c.costCfg.dir = dir
		if err := costRun(ctx, c.costCfg, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "bench: cost: %v\n", err)
			return 1
		}
		return 0
	}
	for _, name := range strings.Split(*shapes, ",") {
		shape, err := sescorpus.LookupShape(strings.TrimSpace(name))
		if err != nil {
			fmt.Fprintf(stderr, "bench: -shapes: %v\n", err)
			return 2
		}
		c.shapes = append(c.shapes, shape)
	}
	if c.records <= 0 || c.runs <= 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "bench: -records and -runs must be positive; no arguments")
		return 2
	}
	if err := bench(ctx, c, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	return 0
}

func bench(ctx context.Context, c config, stdout, stderr io.Writer) error {
	dir := c.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "sesguard-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	bin := filepath.Join(dir, "sesguard")
	fmt.Fprintf(stderr, "bench: building sesguard\n")
	if out, err := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, filepath.Join(root, "cmd", "sesguard")).CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte(sescorpus.Policy), 0o644); err != nil {
		return err
	}
	flood := filepath.Join(dir, "flood-policy.yaml")
	if err := os.WriteFile(flood, []byte(sescorpus.FloodPolicy), 0o644); err != nil {
		return err
	}
	py := filepath.Join(dir, "peer.py")
	if err := os.WriteFile(py, peerPy, 0o644); err != nil {
		return err
	}
	simd, why := buildSimdjson(ctx, dir)
	if simd == "" {
		fmt.Fprintf(stderr, "bench: skipping the simdjson peer: %s\n", why)
	}
	var sums []summary
	for i, shape := range c.shapes {
		seed := c.seed + uint64(i) //nolint:gosec // a handful of shapes
		s, err := benchShape(ctx, c, dir, bin, pol, flood, py, simd, shape, seed, i == 0, stdout, stderr)
		if err != nil {
			return fmt.Errorf("corpus %s: %w", shape.Name, err)
		}
		sums = append(sums, s)
	}
	printSummary(stdout, sums)

	if c.archiveMB > 0 {
		return bigArchive(ctx, c, dir, bin, pol, stdout, stderr)
	}
	return nil
}

// bigArchive reports peak RSS and throughput on a large archive, one run each (they are long).
func bigArchive(ctx context.Context, c config, dir, bin, pol string, stdout, stderr io.Writer) error {
	path := filepath.Join(dir, "archive.ndjson")
	// ~1.9 KB a record.
	records := int(int64(c.archiveMB) << 20 / 1915)
	fmt.Fprintf(stderr, "bench: generating %d MiB archive\n", c.archiveMB)
	st, err := writeCorpus(path, sescorpus.Options{Seed: c.seed + 1, Records: records})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\narchive: %d records, %d bytes (%.0f MiB)\n", st.Records, st.Bytes, float64(st.Bytes)/(1<<20))
	fmt.Fprintln(stdout, "| program | CPU s | wall s | MB per CPU-s | MB/s wall | peak RSS |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|")
	for _, p := range []program{
		{name: "investigate --by principal, GOMAXPROCS=1", argv: []string{bin, "investigate", path, "--by", "principal", "--format", "json", "--quiet"}, env: []string{"GOMAXPROCS=1"}, check: investigateCheck},
		{name: "investigate --by principal, GOMAXPROCS=2", argv: []string{bin, "investigate", path, "--by", "principal", "--format", "json", "--quiet"}, env: []string{"GOMAXPROCS=2"}, check: investigateCheck},
		{name: "replay --format json, GOMAXPROCS=2", argv: []string{bin, "replay", "--format", "json", "--policy", pol, path}, env: []string{"GOMAXPROCS=2"}, check: replayCheck},
	} {
		fmt.Fprintf(stderr, "bench: %s\n", p.name)
		m, err := p.once(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		if err := p.check(m.output, st.Records); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		mb := float64(st.Bytes) / 1e6
		fmt.Fprintf(stdout, "| %s | %.2f | %.2f | %.0f | %.0f | %.0f MiB |\n", p.name, m.cpu.Seconds(), m.wall.Seconds(), mb/m.cpu.Seconds(), mb/m.wall.Seconds(), float64(m.maxRSS)/(1<<20))
	}
	return nil
}

func printTable(w io.Writer, progs []program, ms []measurement, records int64, runs int) {
	py, simd := -1, -1
	for i, p := range progs {
		switch {
		case strings.HasPrefix(p.name, "python3"):
			py = i
		case strings.HasPrefix(p.name, "simdjson"):
			simd = i
		}
	}
	fmt.Fprintf(w, "\nbest of %d, CPU seconds = user+sys of the process (rusage)\n", runs)
	fmt.Fprintln(w, "| program | CPU s | wall s | records per CPU-s | MB per CPU-s | x python | % of simdjson | peak RSS |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for i, p := range progs {
		m := ms[i]
		rate := float64(records) / m.cpu.Seconds()
		ratio := func(j int, pct bool) string {
			if j < 0 {
				return "—"
			}
			r := rate / (float64(records) / ms[j].cpu.Seconds())
			if pct {
				return fmt.Sprintf("%.0f %%", 100*r)
			}
			return fmt.Sprintf("%.2fx", r)
		}
		mbs := "—"
		if p.bytes > 0 {
			mbs = fmt.Sprintf("%.0f", float64(p.bytes)/1e6/m.cpu.Seconds())
		}
		fmt.Fprintf(w, "| %s | %.3f | %.3f | %.0f | %s | %s | %s | %.0f MiB |\n", p.name, m.cpu.Seconds(), m.wall.Seconds(), rate, mbs, ratio(py, false), ratio(simd, true), float64(m.maxRSS)/(1<<20))
	}
}

func typeCounts(m map[string]int64) string {
	var parts []string
	for _, t := range []string{"Send", "Delivery", "Bounce", "Complaint"} {
		parts = append(parts, fmt.Sprintf("%d %s", m[t], t))
	}
	return strings.Join(parts, ", ")
}

func writeCorpus(path string, opt sescorpus.Options) (sescorpus.Stats, error) {
	f, err := os.Create(path)
	if err != nil {
		return sescorpus.Stats{}, err
	}
	st, err := sescorpus.Write(f, opt)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return st, err
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run from inside the sesguard module")
	}
	return filepath.Dir(mod), nil
}

// buildSimdjson compiles the C++ peer; "" and the reason when the toolchain or library is missing.
func buildSimdjson(ctx context.Context, dir string) (string, string) {
	if _, err := exec.LookPath("g++"); err != nil {
		return "", "g++ not found"
	}
	src := filepath.Join(dir, "peer_simdjson.cpp")
	if err := os.WriteFile(src, peerCpp, 0o644); err != nil {
		return "", err.Error()
	}
	bin := filepath.Join(dir, "peer_simdjson")
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(cctx, "g++", "-O3", "-march=native", "-std=c++17", "-o", bin, src, "-lsimdjson").CombinedOutput()
	if err != nil {
		return "", fmt.Sprintf("g++ -lsimdjson failed (apt-get install -y libsimdjson-dev): %s", firstLine(string(out)))
	}
	return bin, ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
