// Package emf writes CloudWatch Embedded Metric Format records: one JSON object per line on the
// function's stdout, which CloudWatch Logs turns into metrics without any PutMetricData call (so
// no IAM grant and no added latency). Pure apart from the writer it is given.
package emf

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every sesguard metric.
const Namespace = "sesguard"

// Metric names. The CDK dashboard and the lag alarm are built from Catalog, so a rename here
// moves both.
const (
	MetricSendsSeen    = "SendsSeen"          // ingest: send events seen, by Account and PrincipalClass
	MetricFindings     = "Findings"           // ingest: finding updates, by Rule
	MetricDecodeErrors = "DecodeErrors"       // ingest: records that could not be decoded
	MetricEventLag     = "EventLag"           // ingest: now − event time of the oldest event in the batch (ms)
	MetricActions      = "ContainmentActions" // respond: actions by Action and Outcome
	MetricAlerts       = "Alerts"             // notify: findings and results alerted
)

// Dimension names.
const (
	DimFunction       = "Function"
	DimAccount        = "Account"
	DimPrincipalClass = "PrincipalClass"
	DimRule           = "Rule"
	DimAction         = "Action"
	DimOutcome        = "Outcome"
)

// Units (CloudWatch StandardUnit).
const (
	UnitCount        = "Count"
	UnitMilliseconds = "Milliseconds"
)

// Definition is one metric a function emits, with the dimension set it is emitted under.
type Definition struct {
	Function   string
	Name       string
	Unit       string
	Dimensions []string // besides Function
}

// Catalog is every metric sesguard emits. Each function's tests check it emits exactly its
// entries; the CDK app graphs them.
var Catalog = []Definition{
	{"ingest", MetricSendsSeen, UnitCount, []string{DimAccount, DimPrincipalClass}},
	{"ingest", MetricFindings, UnitCount, []string{DimRule}},
	{"ingest", MetricDecodeErrors, UnitCount, nil},
	{"ingest", MetricEventLag, UnitMilliseconds, nil},
	{"respond", MetricActions, UnitCount, []string{DimAction, DimOutcome}},
	{"notify", MetricAlerts, UnitCount, nil},
}

// Lookup returns the definition of name.
func Lookup(name string) (Definition, bool) {
	for _, d := range Catalog {
		if d.Name == name {
			return d, true
		}
	}
	return Definition{}, false
}

// maxDimValue bounds a dimension value (CloudWatch allows 1024); longer or odd values are
// replaced so a hostile rule or account string cannot create unbounded metric series.
const maxDimValue = 128

// Replacement dimension values.
const (
	DimValueNone  = "none"  // empty or whitespace-only
	DimValueOther = "other" // not printable ASCII, or longer than maxDimValue bytes
)

// dimValue maps a value to one CloudWatch accepts. CloudWatch's Dimension.Value must be 1..1024
// characters of ASCII without control characters, with at least one non-whitespace character;
// a record whose value breaks that is not turned into a metric at all. The mapping:
//   - "" or only ASCII whitespace → "none";
//   - any byte outside printable ASCII (0x20–0x7E: non-ASCII letters, control characters,
//     invalid UTF-8) or more than 128 bytes → "other" (no partial transliteration: "usér" and
//     "user" must not collapse into one series);
//   - anything else unchanged.
func dimValue(s string) string {
	if strings.TrimLeft(s, " \t\n\v\f\r") == "" {
		return DimValueNone
	}
	if len(s) > maxDimValue || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
		return DimValueOther
	}
	return s
}

// Writer emits EMF records for one function. A nil *Writer emits nothing, so handlers take it
// optionally. Safe for concurrent use.
type Writer struct {
	Function string
	Out      io.Writer
	Now      func() time.Time
	mu       sync.Mutex
}

// Emit writes one record: value of metric name under dims (which must be the metric's
// Catalog dimensions). A name not in the Catalog or wrong dimensions is a programming error,
// reported and not written.
func (w *Writer) Emit(name string, value float64, dims map[string]string) error {
	if w == nil || w.Out == nil {
		return nil
	}
	def, ok := Lookup(name)
	if !ok {
		return fmt.Errorf("emf: metric %q is not in the catalog", name)
	}
	if def.Function != w.Function {
		return fmt.Errorf("emf: metric %s belongs to %s, not %s", name, def.Function, w.Function)
	}
	keys := make([]string, 0, len(dims))
	for k := range dims {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := slices.Sorted(slices.Values(def.Dimensions))
	if !slices.Equal(keys, want) {
		return fmt.Errorf("emf: metric %s wants dimensions %v, got %v", name, want, keys)
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	rec := map[string]any{
		"_aws": map[string]any{
			"Timestamp": now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  Namespace,
				"Dimensions": [][]string{append([]string{DimFunction}, def.Dimensions...)},
				"Metrics":    []any{map[string]string{"Name": name, "Unit": def.Unit}},
			}},
		},
		DimFunction: w.Function,
		name:        value,
	}
	for k, v := range dims {
		rec[k] = dimValue(v)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err = w.Out.Write(append(b, '\n'))
	return err
}

// Counter accumulates counts per dimension set within one invocation, emitted by Flush: one
// record per distinct series instead of one per event.
type Counter struct {
	name  string
	order []string
	vals  map[string]float64
	dims  map[string]map[string]string
}

// NewCounter counts metric name.
func NewCounter(name string) *Counter {
	return &Counter{name: name, vals: map[string]float64{}, dims: map[string]map[string]string{}}
}

// Add adds n to the series dims.
func (c *Counter) Add(n float64, dims map[string]string) {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range dims {
			if !yield(k) {
				return
			}
		}
	})
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + dims[k] + "\x00")
	}
	key := b.String()
	if _, ok := c.vals[key]; !ok {
		c.order = append(c.order, key)
		c.dims[key] = dims
	}
	c.vals[key] += n
}

// Flush emits every series in first-seen order.
func (c *Counter) Flush(w *Writer) error {
	var first error
	for _, k := range c.order {
		if err := w.Emit(c.name, c.vals[k], c.dims[k]); err != nil && first == nil {
			first = err
		}
	}
	return first
}
