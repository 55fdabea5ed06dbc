package smtpcheck

import (
	"fmt"
	"io"
	"strings"
)

// WriteText prints the report for a terminal: one line per step, then the verdict.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "smtp-check %s:%d (%s)\n", r.Host, r.Port, r.TLSMode)
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "  %-4s  %-9s %s\n", strings.ToUpper(string(s.Status)), s.Name, s.Detail)
	}
	verdict := strings.ToUpper(string(r.Verdict))
	switch r.Verdict {
	case StatusOK:
		verdict += ": every step passed (no mail was sent)"
	case StatusWarn:
		verdict += ": reachable, see the warnings above (no mail was sent)"
	case StatusFail:
		verdict += ": " + r.failedStep() + " failed"
	}
	fmt.Fprintf(&b, "verdict: %s\n", verdict)
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) failedStep() string {
	for _, s := range r.Steps {
		if s.Status == StatusFail {
			return s.Name
		}
	}
	return "a step"
}
