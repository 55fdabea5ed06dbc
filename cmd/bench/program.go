package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"time"
)

// program is one command of the benchmark; check validates its output against the corpus so a
// fast but wrong program cannot win.
type program struct {
	name  string
	argv  []string
	env   []string
	check func(output []byte, records int64) error
	bytes int64 // input size, for MB per CPU-second (0: not reported)
}

type measurement struct {
	cpu, wall time.Duration
	maxRSS    int64 // bytes
	output    []byte
}

func (p program) once(ctx context.Context) (measurement, error) {
	cmd := exec.CommandContext(ctx, p.argv[0], p.argv[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil && cmd.ProcessState == nil {
		return measurement{}, err
	}
	m := measurement{
		cpu:    cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(),
		wall:   wall,
		maxRSS: maxRSS(cmd.ProcessState),
		output: out.Bytes(),
	}
	if err != nil {
		return m, fmt.Errorf("%v\n%s", err, tail(out.Bytes(), 2000))
	}
	return m, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

var (
	replaySummary = regexp.MustCompile(`replay: (\d+) file\(s\), (\d+) record\(s\): (\d+) event\(s\).*, (\d+) bad; (\d+) finding\(s\)`)
	peerSummary   = regexp.MustCompile(`records=(\d+) sends=(\d+) outside=(\d+) unapproved=(\d+)`)
)

// replayCheck wants every record read and none bad, and at least one finding (the corpus has
// violations).
func replayCheck(out []byte, records int64) error {
	m := replaySummary.FindSubmatch(out)
	if m == nil {
		return fmt.Errorf("no replay summary in output:\n%s", tail(out, 2000))
	}
	got, _ := strconv.ParseInt(string(m[2]), 10, 64)
	if got != records || string(m[4]) != "0" || string(m[5]) == "0" {
		return fmt.Errorf("replay read %s records (want %d), %s bad, %s findings", m[2], records, m[4], m[5])
	}
	return nil
}

func peerCheck(out []byte, records int64) error {
	m := peerSummary.FindSubmatch(out)
	if m == nil {
		return fmt.Errorf("no peer summary in output:\n%s", tail(out, 2000))
	}
	got, _ := strconv.ParseInt(string(m[1]), 10, 64)
	if got != records || string(m[3]) == "0" || string(m[4]) == "0" {
		return fmt.Errorf("peer counted %s records (want %d), %s outside, %s unapproved", m[1], records, m[3], m[4])
	}
	return nil
}

// investigateCheck reads the report's summary (--format json).
func investigateCheck(out []byte, records int64) error {
	i := bytes.IndexByte(out, '{')
	if i < 0 {
		return fmt.Errorf("no JSON report in output:\n%s", tail(out, 2000))
	}
	var rep struct {
		Summary struct {
			Events int64 `json:"events"`
			Sends  int64 `json:"sends"`
		} `json:"summary"`
	}
	if err := json.NewDecoder(bytes.NewReader(out[i:])).Decode(&rep); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if rep.Summary.Events != records || rep.Summary.Sends == 0 {
		return fmt.Errorf("investigate saw %d events (want %d), %d sends", rep.Summary.Events, records, rep.Summary.Sends)
	}
	return nil
}
