package contain

import (
	"testing"

	"github.com/sesguard/sesguard/shared/policy"
)

func TestConfigFromPolicy(t *testing.T) {
	p, err := policy.LoadExample()
	if err != nil {
		t.Fatal(err)
	}
	c := ConfigFromPolicy(p)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Mode != p.Response.Mode || c.MaxActionsPerHour != p.Response.MaxActionsPerHour ||
		len(c.Protected) != len(p.Response.ProtectedPrincipals) || len(c.On) != len(p.Response.On) ||
		len(c.ApprovedVPCs) != len(p.Network.VPCs) {
		t.Fatalf("config = %+v from %+v", c, p.Response)
	}
	// The policy's names and this package's agree.
	for _, a := range policy.ActionNames() {
		if !KnownAction(a) {
			t.Errorf("policy action %q not implemented", a)
		}
	}
	c.On["x"] = append(c.On["x"], "y")
	if _, ok := p.Response.On["x"]; ok {
		t.Fatal("config aliases the policy's map")
	}
}
