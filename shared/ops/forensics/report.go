package forensics

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// Format is an output format of the report.
type Format string

// Output formats.
const (
	FormatTable Format = "table"
	FormatJSON  Format = "json"
	FormatCSV   Format = "csv"
)

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatTable, FormatJSON, FormatCSV:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q: want table, json or csv", s)
}

// Write prints the report in format f. withPolicy adds the outside-network and
// unapproved-principal columns.
func (r *Report) Write(w io.Writer, f Format, withPolicy bool) error {
	switch f {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case FormatCSV:
		return r.writeCSV(w, withPolicy)
	}
	return r.writeTable(w, withPolicy)
}

// samples picks the two most telling other dimensions for a grouping.
func (r *Report) samples(g *Group) (string, string, string, string) {
	switch r.By {
	case ByPrincipal:
		return "IPS", g.IPs.String(), "FROM", g.From.String()
	case ByIP:
		return "PRINCIPALS", g.Principals.String(), "FROM", g.From.String()
	case ByAccessKey:
		return "PRINCIPALS", g.Principals.String(), "API CALLS", g.Operations.String()
	}
	return "PRINCIPALS", g.Principals.String(), "IPS", g.IPs.String()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func pct(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + "%" }

func (r *Report) writeTable(w io.Writer, withPolicy bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	h1, _, h2, _ := r.samples(&Group{})
	head := []string{strings.ToUpper(string(r.By)), "SENDS", "RCPTS", "DELIVERED", "BOUNCED", "PERM", "COMPLAINTS", "REJECTS", "BOUNCE%", "FIRST (UTC)", "LAST (UTC)"}
	if withPolicy {
		head = append(head, "OUTSIDE-NET", "UNAPPROVED")
	}
	calls := r.Summary.APICalls > 0
	if calls {
		head = append(head, "API-CALLS", "REFUSED", "KEYS")
	}
	head = append(head, h1, h2)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for i := range r.Groups {
		g := &r.Groups[i]
		_, s1, _, s2 := r.samples(g)
		row := []string{cell(g.Key), n(g.Sends), n(g.Recipients), n(g.Delivered), n(g.Bounced), n(g.PermanentBounces),
			n(g.Complaints), n(g.Rejects), pct(g.BounceRate()), stamp(g.First), stamp(g.Last)}
		if withPolicy {
			row = append(row, n(g.OutsideNetwork), n(g.UnapprovedPrincipal))
		}
		if calls {
			row = append(row, n(g.APICalls), n(g.APIRefused), cell(g.AccessKeys.String()))
		}
		row = append(row, cell(s1), cell(s2))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := r.Summary
	_, err := fmt.Fprintf(w, "\n%d group(s); %d event(s): %d send(s), %d duplicate send(s), %d outcome(s) (%d joined to their Send, %d grouped by their own tags), %d filtered out\n",
		s.Groups, s.Events, s.Sends, s.DuplicateSends, s.Outcomes, s.JoinedOutcomes, s.UnjoinedOutcomes, s.Filtered)
	if err == nil && s.APICalls > 0 {
		_, err = fmt.Fprintf(w, "%d CloudTrail SES API call(s) (counted apart from sends)\n", s.APICalls)
	}
	if err == nil && (s.JoinEvictions > 0 || s.FoldedIntoOther > 0) {
		_, err = fmt.Fprintf(w, "bounds: %d message id(s) left the join window (max %d); %d event(s) folded into %s (max %d groups)\n",
			s.JoinEvictions, s.MaxJoin, s.FoldedIntoOther, Other, s.MaxGroups)
	}
	return err
}

func n(v int64) string { return strconv.FormatInt(v, 10) }

// cell makes attacker-controlled text (From addresses, caller names) safe for a terminal table:
// control characters become spaces, tabs cannot break columns, long values are cut.
func cell(s string) string {
	const max = 64
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar || r == '\u202e' || r == '\u202d' {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

func (r *Report) writeCSV(w io.Writer, withPolicy bool) error {
	cw := csv.NewWriter(w)
	head := []string{string(r.By), "sends", "recipients", "delivered", "bounced", "permanent_bounces", "complaints", "rejects",
		"delivery_delays", "rendering_failures", "opens", "clicks", "unjoined_outcomes", "bounce_rate", "complaint_rate", "first", "last"}
	if withPolicy {
		head = append(head, "outside_network", "unapproved_principal")
	}
	head = append(head, "principals", "ips", "from", "identities", "configuration_sets")
	calls := r.Summary.APICalls > 0
	if calls {
		head = append(head, "api_calls", "api_refused", "access_keys", "operations")
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	join := func(s Sample) string { return strings.Join(s.Values, " ") }
	for i := range r.Groups {
		g := &r.Groups[i]
		row := []string{g.Key, n(g.Sends), n(g.Recipients), n(g.Delivered), n(g.Bounced), n(g.PermanentBounces), n(g.Complaints),
			n(g.Rejects), n(g.DeliveryDelays), n(g.RenderingFailures), n(g.Opens), n(g.Clicks), n(g.Unjoined),
			strconv.FormatFloat(g.BounceRate(), 'f', 4, 64), strconv.FormatFloat(g.ComplaintRate(), 'f', 4, 64), ts(g.First), ts(g.Last)}
		if withPolicy {
			row = append(row, n(g.OutsideNetwork), n(g.UnapprovedPrincipal))
		}
		row = append(row, join(g.Principals), join(g.IPs), join(g.From), join(g.Identities), join(g.ConfigurationSets))
		if calls {
			row = append(row, n(g.APICalls), n(g.APIRefused), join(g.AccessKeys), join(g.Operations))
		}
		if err := cw.Write(CSVSafe(row)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// CSVSafe defuses spreadsheet formulas in attacker-controlled cells (a From address like
// "=cmd|..."@x, an IAM user name with '+' or '@'): a cell starting with = + - @ tab or CR gets a
// leading apostrophe, which spreadsheets show as text. It rewrites row in place and returns it.
func CSVSafe(row []string) []string {
	for i, c := range row {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			row[i] = "'" + c
		}
	}
	return row
}
