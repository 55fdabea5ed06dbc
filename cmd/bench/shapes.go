package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/sesguard/sesguard/shared/testsupport/sescorpus"
)

// The targets of issue 21, checked on every corpus the run generates.
const (
	targetPython = 5.0 // replay records per CPU-second against the Python peer
	targetSimd   = 0.5 // ... against simdjson On-Demand
	targetFlood  = 1.3 // replay CPU with FloodPolicy against Policy, same corpus
)

// summary is one corpus's headline figures.
type summary struct {
	shape         sescorpus.Shape
	seed          uint64
	records       int64
	meanBytes     int64
	replay, flood measurement
	python, simd  measurement
	haveSimd      bool
}

func (s summary) rate(m measurement) float64 { return float64(s.records) / m.cpu.Seconds() }

// benchShape generates one corpus of the shape and measures replay (the realistic policy and the
// flood policy), the peers and, when investigate is set, investigate on one and two cores.
func benchShape(ctx context.Context, c config, dir, bin, pol, flood, py, simd string, shape sescorpus.Shape, seed uint64, investigate bool, stdout, stderr io.Writer) (summary, error) {
	corpus := filepath.Join(dir, "corpus-"+shape.Name+".ndjson")
	fmt.Fprintf(stderr, "bench: generating the %s corpus (seed %d)\n", shape.Name, seed)
	st, err := writeCorpus(corpus, sescorpus.Options{Seed: seed, Records: c.records, Shape: shape})
	if err != nil {
		return summary{}, err
	}
	fmt.Fprintf(stdout, "\ncorpus %s: %d records (%d messages: %s), %.1f MB, %d B mean record (%d..%d B), seed %d\n",
		shape.Name, st.Records, st.Messages, typeCounts(st.ByType), float64(st.Bytes)/1e6, st.Bytes/st.Records, st.MinSize, st.MaxSize, seed)
	fmt.Fprintf(stdout, "shape: SES event publishing NDJSON, commonHeaders, %s\n", shape.Describe())

	cidrs, pats := strings.Join(sescorpus.ApprovedCIDRs, ","), strings.Join(sescorpus.ApprovedPrincipals, ",")
	procs := fmt.Sprintf("GOMAXPROCS=%d", c.procs)
	progs := []program{
		{name: fmt.Sprintf("sesguard replay --format json (%s)", procs), argv: []string{bin, "replay", "--format", "json", "--policy", pol, corpus}, env: []string{procs}, check: replayCheck, bytes: st.Bytes},
		{name: fmt.Sprintf("sesguard replay, flood policy (%s)", procs), argv: []string{bin, "replay", "--format", "json", "--policy", flood, corpus}, env: []string{procs}, check: replayCheck, bytes: st.Bytes},
		{name: "python3 json.loads peer", argv: []string{"python3", py, corpus, cidrs, pats}, check: peerCheck, bytes: st.Bytes},
	}
	if simd != "" {
		progs = append(progs, program{name: "simdjson On-Demand peer (C++)", argv: []string{simd, corpus, cidrs, pats}, check: peerCheck, bytes: st.Bytes})
	}
	if investigate {
		inv := []string{bin, "investigate", corpus, "--by", "principal", "--format", "json", "--quiet"}
		progs = append(progs,
			program{name: "sesguard investigate --by principal (GOMAXPROCS=1)", argv: inv, env: []string{"GOMAXPROCS=1"}, check: investigateCheck, bytes: st.Bytes},
			program{name: "sesguard investigate --by principal (GOMAXPROCS=2)", argv: inv, env: []string{"GOMAXPROCS=2"}, check: investigateCheck, bytes: st.Bytes},
		)
	}
	results, err := interleaved(ctx, progs, c.runs, st.Records, func(round int) {
		fmt.Fprintf(stderr, "bench: %s: round %d of %d\n", shape.Name, round, c.runs)
	})
	if err != nil {
		return summary{}, err
	}
	printTable(stdout, progs, results, st.Records, c.runs)
	s := summary{shape: shape, seed: seed, records: st.Records, meanBytes: st.Bytes / st.Records,
		replay: results[0], flood: results[1], python: results[2]}
	if simd != "" {
		s.simd, s.haveSimd = results[3], true
	}
	return s, nil
}

// printSummary prints one line per corpus against the targets and a last line saying how many
// corpora met all of them.
func printSummary(w io.Writer, sums []summary) {
	fmt.Fprintf(w, "\ntargets: replay ≥ %.0fx the Python peer, ≥ %.0f %% of simdjson, flood ≤ %.1fx the realistic policy's CPU\n", targetPython, 100*targetSimd, targetFlood)
	fmt.Fprintln(w, "| corpus | seed | mean record | replay records per CPU-s | x python | % of simdjson | flood / realistic | targets |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	met := 0
	for _, s := range sums {
		xpy := s.rate(s.replay) / s.rate(s.python)
		pct, simd := "—", true
		if s.haveSimd {
			r := s.rate(s.replay) / s.rate(s.simd)
			pct, simd = fmt.Sprintf("%.0f %%", 100*r), r >= targetSimd
		}
		fl := s.flood.cpu.Seconds() / s.replay.cpu.Seconds()
		ok := xpy >= targetPython && simd && fl <= targetFlood
		verdict := "met"
		if !ok {
			verdict = "MISSED"
		} else {
			met++
		}
		fmt.Fprintf(w, "| %s | %d | %d B | %.0f | %.2fx | %s | %.2fx | %s |\n", s.shape.Name, s.seed, s.meanBytes, s.rate(s.replay), xpy, pct, fl, verdict)
	}
	note := ""
	if len(sums) > 0 && !sums[0].haveSimd {
		note = " (simdjson peer skipped: not checked against it)"
	}
	fmt.Fprintf(w, "targets met on %d of %d corpora%s\n", met, len(sums), note)
}

// interleaved runs every program once per round (in rotated order), runs rounds, and keeps each
// program's run with the least CPU time. Taking turns matters on a shared machine whose speed
// drifts by tens of per cent over minutes: run one after another, a program measured in a slow
// minute would be compared with one measured in a fast one. Every run's output is checked.
func interleaved(ctx context.Context, progs []program, runs int, records int64, progress func(round int)) ([]measurement, error) {
	best := make([]measurement, len(progs))
	for round := range runs {
		progress(round + 1)
		// Each round starts one program later, so that no program always follows the same one.
		for k := range progs {
			i := (round + k) % len(progs)
			p := progs[i]
			m, err := p.once(ctx)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			if err := p.check(m.output, records); err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			if round == 0 || m.cpu < best[i].cpu {
				best[i] = m
			}
		}
	}
	return best, nil
}
