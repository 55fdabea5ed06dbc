package finding

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDecode(t *testing.T) {
	f := Finding{Schema: SchemaFinding, ID: "sgf-1", Rule: "network.outside_approved", Severity: SeverityHigh,
		Account: "111122223333", Principal: Principal{Name: "ci-deploy-role", Kind: KindRole},
		Evidence: Evidence{Count: 3, FirstSeen: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)}, Actions: []string{"deny_send_policy"}}
	r := Result{Schema: SchemaResult, FindingID: "sgf-1", Mode: "enforce",
		Actions: []ActionResult{{ActionID: "sga-1", Action: "deny_send_policy", Outcome: OutcomeApplied}}}
	fb, _ := json.Marshal(f)
	rb, _ := json.Marshal(r)

	tests := []struct {
		name       string
		in         string
		wantF      bool
		wantR      bool
		wantErrSub string
	}{
		{name: "finding", in: string(fb), wantF: true},
		{name: "result", in: string(rb), wantR: true},
		{name: "unknown schema", in: `{"schema":"sesguard.finding/v9"}`, wantErrSub: `unknown schema "sesguard.finding/v9"`},
		{name: "no schema", in: `{"id":"x"}`, wantErrSub: `unknown schema ""`},
		{name: "not json", in: `nope`, wantErrSub: "decode findings message"},
		{name: "wrong type in finding", in: `{"schema":"sesguard.finding/v1","evidence":{"count":"many"}}`, wantErrSub: "decode finding"},
		{name: "wrong type in result", in: `{"schema":"sesguard.result/v1","actions":{}}`, wantErrSub: "decode containment result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gf, gr, err := Decode([]byte(tt.in))
			if tt.wantErrSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSub) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErrSub)
				}
				if gf != nil || gr != nil {
					t.Fatalf("got values with an error: %v %v", gf, gr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if (gf != nil) != tt.wantF || (gr != nil) != tt.wantR {
				t.Fatalf("finding=%v result=%v, want finding=%v result=%v", gf != nil, gr != nil, tt.wantF, tt.wantR)
			}
			if gf != nil && (gf.ID != f.ID || gf.Evidence.Count != 3 || !gf.Actionable() || !gf.Evidence.FirstSeen.Equal(f.Evidence.FirstSeen)) {
				t.Fatalf("finding round trip = %+v", gf)
			}
			if gr != nil && (gr.FindingID != "sgf-1" || gr.Failed() || gr.Actions[0].Outcome != OutcomeApplied) {
				t.Fatalf("result round trip = %+v", gr)
			}
		})
	}
}

func TestResultFailed(t *testing.T) {
	r := Result{Actions: []ActionResult{{Outcome: OutcomeApplied}, {Outcome: OutcomeFailed}}}
	if !r.Failed() {
		t.Fatal("a result with a failed action must report Failed")
	}
	r.Actions[1].Outcome = OutcomeAlreadyContained
	if r.Failed() {
		t.Fatal("no failed action, but Failed() is true")
	}
}

func TestSeverityRank(t *testing.T) {
	order := []Severity{"", SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}
	for i := 1; i < len(order); i++ {
		if order[i-1].Rank() >= order[i].Rank() {
			t.Fatalf("%q should rank below %q", order[i-1], order[i])
		}
	}
}
