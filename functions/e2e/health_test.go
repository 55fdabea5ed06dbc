package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/sesguard/sesguard/shared/core/finding"
	"github.com/sesguard/sesguard/shared/core/rules"
	"github.com/sesguard/sesguard/shared/engine/contain"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// Issue 19 item 4 end to end with the real binaries against moto: AWS Health says one of a
// user's keys is exposed. The event names only the key, and its description names another user
// (AWS's text is no authority): ingest asks IAM whose key it is, and respond deactivates exactly
// that key and puts the deny-send policy on its user (enforce), or plans both and changes
// nothing (dry-run). The user's other key stays Active, and the user the description named is
// untouched.

const (
	exposedUser = "exposed-user"
	decoyUser   = "mailer-app" // the fixture's description names this user
)

// healthPolicy is e2ePolicy with the Health rule contained at once.
func healthPolicy(t testing.TB) string {
	t.Helper()
	const old = "    network.outside_approved: [deactivate_keys, deny_send_policy]\n"
	p := strings.Replace(e2ePolicy, old, old+"    "+rules.HealthCredentialsRisk+": [deactivate_keys, deny_send_policy]\n", 1)
	if p == e2ePolicy {
		t.Fatalf("e2ePolicy has no %q to extend", old)
	}
	return p
}

// healthBody is the Health exposure fixture re-pointed at the world's account and at key.
func healthBody(t testing.TB, key string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "notice", "health-credentials-exposed.json"))
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	d, ok := env["detail"].(map[string]any)
	ents, ok2 := d["affectedEntities"].([]any)
	if !ok || !ok2 || len(ents) != 1 {
		t.Fatalf("fixture is not a one-key Health event: %v", env)
	}
	ents[0].(map[string]any)["entityValue"] = key
	d["affectedAccount"], env["account"] = awstest.Account, awstest.Account
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEndToEndHealthExposedKey(t *testing.T) {
	for _, mode := range []string{contain.ModeEnforce, contain.ModeDryRun} {
		t.Run(mode, func(t *testing.T) { healthExposedKey(t, mode) })
	}
}

func healthExposedKey(t *testing.T, mode string) {
	w := newWorld(t)
	w.policy = filepath.Join(t.TempDir(), "health.yaml")
	if err := os.WriteFile(w.policy, []byte(healthPolicy(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	u := seedTwoKeyUser(t, w, exposedUser)
	decoy := seedTwoKeyUser(t, w, decoyUser)
	ingest := w.function("ingest", mode)
	respond := w.function("respond", mode)

	ingestAll(t, ingest, "health", []string{healthBody(t, u.key)})
	toRespond := w.drain(w.findings)
	fs, rs := decodeAll(t, toRespond)
	if len(fs) != 1 || len(rs) != 0 {
		t.Fatalf("ingest published %d findings and %d results, want one finding: %+v", len(fs), len(rs), fs)
	}
	f := fs[0]
	if f.Rule != rules.HealthCredentialsRisk || f.Severity != finding.SeverityHigh || f.Account != awstest.Account ||
		f.Principal.Name != exposedUser || f.Principal.Kind != finding.KindUser || f.Principal.AccessKeyID != u.key ||
		f.Principal.ARN != "arn:aws:iam::"+awstest.Account+":user/"+exposedUser ||
		strings.Join(f.Actions, ",") != "deactivate_keys,deny_send_policy" || f.Mode != mode {
		t.Fatalf("finding %+v, want %s's key %s", f, exposedUser, u.key)
	}
	if !strings.Contains(f.Evidence.Detail, "resolved in IAM") || !strings.Contains(f.Evidence.Detail, u.key) {
		t.Errorf("detail %q", f.Evidence.Detail)
	}
	_ = w.drain(w.notifyQ)

	if got := failureIDs(invoke[events.SQSEventResponse](t, respond, toRespond)); len(got) != 0 {
		t.Fatalf("respond batchItemFailures = %v", got)
	}
	wantKey, wantOutcome, wantPolicy := iamtypes.StatusTypeInactive, finding.OutcomeApplied, true
	if mode == contain.ModeDryRun {
		wantKey, wantOutcome, wantPolicy = iamtypes.StatusTypeActive, finding.OutcomePlanned, false
	}
	keys := w.userKeys(exposedUser)
	if keys[u.key] != wantKey || keys[u.other] != iamtypes.StatusTypeActive {
		t.Errorf("%s: keys of %s = %v; want %s %s, %s Active", mode, exposedUser, keys, u.key, wantKey, u.other)
	}
	if got := w.userHasPolicy(exposedUser, contain.DenySendPolicyName); got != wantPolicy {
		t.Errorf("%s: %s on %s = %t, want %t", mode, contain.DenySendPolicyName, exposedUser, got, wantPolicy)
	}
	if dk := w.userKeys(decoyUser); dk[decoy.key] != iamtypes.StatusTypeActive || dk[decoy.other] != iamtypes.StatusTypeActive || w.userHasPolicy(decoyUser, contain.DenySendPolicyName) {
		t.Errorf("the user the description named was touched: keys %v", dk)
	}
	_, nrs := decodeAll(t, w.drain(w.notifyQ))
	if len(nrs) != 1 || nrs[0].FindingID != f.ID {
		t.Fatalf("respond published %d results: %+v", len(nrs), nrs)
	}
	for _, a := range []string{contain.ActionDeactivateKeys, contain.ActionDenySendPolicy} {
		if r := findAction(nrs[0], a); r.Outcome != wantOutcome || r.Target != exposedUser {
			t.Errorf("%s: %+v, want %s on %s", a, r, wantOutcome, exposedUser)
		}
	}
	if dk := findAction(nrs[0], contain.ActionDeactivateKeys); !strings.Contains(strings.Join(dk.Changes, " "), u.key) || strings.Contains(strings.Join(dk.Changes, " "), u.other) {
		t.Errorf("deactivate_keys changes %v: want %s only", dk.Changes, u.key)
	}
}
