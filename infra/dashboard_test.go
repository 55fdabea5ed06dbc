package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/render/emf"
)

// dashboardBody is the literal text of the dashboard body (CDK joins strings and tokens).
func dashboardBody(t *testing.T, s *synthed) string {
	t.Helper()
	dbs := s.resources("AWS::CloudWatch::Dashboard")
	if len(dbs) != 1 {
		t.Fatalf("%s: %d dashboards", s.name, len(dbs))
	}
	var body strings.Builder
	for _, db := range dbs {
		join := props(db)["DashboardBody"].(map[string]any)["Fn::Join"].([]any)
		for _, part := range join[1].([]any) {
			if str, ok := part.(string); ok {
				body.WriteString(str)
			} else {
				body.WriteString("<token>")
			}
		}
	}
	return body.String()
}

var (
	searchMetric = regexp.MustCompile(`MetricName=\\"(\w+)\\"`)
	plainMetric  = regexp.MustCompile(`\["` + emf.Namespace + `","(\w+)"`)
)

// TestDashboardGraphsWhatFunctionsEmit: the dashboard's sesguard metrics are exactly emf.Catalog,
// the list the functions' own tests check they emit (functions/{ingest,respond,notify}
// TestMetrics), plus every DLQ and every function's errors.
func TestDashboardGraphsWhatFunctionsEmit(t *testing.T) {
	var want []string
	for _, d := range emf.Catalog {
		want = append(want, d.Name)
	}
	slices.Sort(want)
	for _, name := range sortedKeys(configurations) {
		s := get(t, name)
		body := dashboardBody(t, s)
		var got []string
		for _, re := range []*regexp.Regexp{searchMetric, plainMetric} {
			for _, m := range re.FindAllStringSubmatch(body, -1) {
				got = append(got, m[1])
			}
		}
		slices.Sort(got)
		if got = slices.Compact(got); !slices.Equal(got, want) {
			t.Errorf("%s: dashboard graphs %v, the functions emit %v", name, got, want)
		}
		dlqs, fns := 4, len(functionNames)
		if s.s.Export != nil {
			dlqs, fns = dlqs+1, fns+1
		}
		if s.s.Interact != nil {
			dlqs, fns = dlqs+1, fns+1
		}
		if n := strings.Count(body, "ApproximateNumberOfMessagesVisible"); n != dlqs {
			t.Errorf("%s: %d DLQ depth metrics, want %d", name, n, dlqs)
		}
		if n := strings.Count(body, `"AWS/Lambda","Errors"`); n != fns {
			t.Errorf("%s: %d function error metrics, want %d", name, n, fns)
		}
	}
}

// TestLagAlarm: the alarm watches the EventLag metric exactly as ingest emits it (namespace,
// Function dimension, maximum) against the configured minutes.
func TestLagAlarm(t *testing.T) {
	s := get(t, "default")
	def, _ := emf.Lookup(emf.MetricEventLag)
	var found int
	for _, a := range s.resources("AWS::CloudWatch::Alarm") {
		p := props(a)
		if p["MetricName"] != emf.MetricEventLag {
			continue
		}
		found++
		if p["Namespace"] != emf.Namespace || p["Statistic"] != "Maximum" || p["Threshold"] != 15.0*60000 ||
			canon(p["Dimensions"]) != canon([]any{map[string]any{"Name": emf.DimFunction, "Value": def.Function}}) || p["AlarmActions"] == nil {
			t.Errorf("lag alarm %s", canon(p))
		}
	}
	if found != 1 {
		t.Fatalf("%d lag alarms", found)
	}
	for _, tc := range []struct {
		v    any
		want int
		err  bool
	}{{nil, 15, false}, {"30", 30, false}, {float64(5), 5, false}, {"0", 0, true}, {"soon", 0, true}} {
		n, err := loadLagMinutes(func(k string) any {
			if k == ctxLagAlarmMinutes {
				return tc.v
			}
			return nil
		})
		if (err != nil) != tc.err || !tc.err && n != tc.want {
			t.Errorf("%v: %d, %v", tc.v, n, err)
		}
	}
}
