package contain

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/sesguard/sesguard/shared/policy"
)

// denyActions returns the Action lists of the Deny statements of a policy document.
func denyActions(t *testing.T, doc []byte) [][]string {
	t.Helper()
	var d struct {
		Statement []struct {
			Effect string
			Action []string
		}
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("policy %s: %v", doc, err)
	}
	var out [][]string
	for _, s := range d.Statement {
		if s.Effect == "Deny" {
			out = append(out, s.Action)
		}
	}
	return out
}

// TestContainmentDeniesEverySendAction: deny_send_policy and tighten_identity_policy deny every
// send action of policy.SendActions, the one list (issue 23, part 8: the identity statement
// left out ses:SendBulkEmail).
func TestContainmentDeniesEverySendAction(t *testing.T) {
	check := func(what string, actions []string) {
		t.Helper()
		for _, a := range policy.SendActions() {
			if !slices.Contains(actions, a) {
				t.Errorf("%s does not deny %s: %v", what, a, actions)
			}
		}
	}
	for _, doc := range []string{DenySendDocument(nil, nil), DenySendDocument([]string{"vpc-0a1b2c"}, []string{"vpce-1234"})} {
		stmts := denyActions(t, []byte(doc))
		if len(stmts) != 1 {
			t.Fatalf("deny_send_policy %s: want one Deny", doc)
		}
		check("deny_send_policy", stmts[0])
	}

	e := newEnv(t)
	const id = "mail.example.com"
	e.m.SeedIdentity(t, id, "")
	for _, rule := range []string{"sender.from_unapproved", "network.outside_approved"} {
		f := testFinding()
		f.ID, f.Rule = "f-"+rule, rule
		a := &TightenIdentityPolicy{SES: e.ses}
		s, err := a.Plan(context.Background(), targetFor(t, f, &Config{}, ActionTightenIdentityPolicy))
		if err != nil {
			t.Fatal(err)
		}
		var st identityState
		if err := decodeState(s, &st); err != nil {
			t.Fatal(err)
		}
		var stmt struct{ Action []string }
		if err := json.Unmarshal(st.Statement, &stmt); err != nil {
			t.Fatal(err)
		}
		check("tighten_identity_policy for "+rule, stmt.Action)
	}
}
