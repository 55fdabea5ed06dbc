package policy

import (
	"strings"
	"testing"
)

// TestLoadPreventive: preventive controls are off unless the file chooses enforce (issue 25 item
// 3: a first deploy must not be able to block mail).
func TestLoadPreventive(t *testing.T) {
	for _, c := range []struct {
		name, extra string
		want        string // "" = a load error
		errWant     string
	}{
		{"absent", "", PreventiveOff, ""},
		{"off unquoted (a YAML 1.1 boolean)", "preventive: off\n", PreventiveOff, ""},
		{"off quoted", "preventive: \"off\"\n", PreventiveOff, ""},
		{"enforce", "preventive: enforce\n", PreventiveEnforce, ""},
		{"on is not a choice", "preventive: on\n", "", `preventive: "on" is not off or enforce`},
		{"true is not a choice", "preventive: true\n", "", `preventive: "true" is not off or enforce`},
		{"dry-run is the response mode, not this", "preventive: dry-run\n", "", `preventive: "dry-run" is not off or enforce`},
		{"a list", "preventive: [enforce]\n", "", "preventive: expected a string"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := Load([]byte("version: 1\n"+c.extra), "p.yaml")
			if c.want == "" {
				if err == nil || !strings.Contains(err.Error(), c.errWant) || !strings.Contains(err.Error(), "p.yaml:2") {
					t.Fatalf("err = %v, want %q at line 2", err, c.errWant)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Preventive != c.want {
				t.Errorf("Preventive = %q, want %q", p.Preventive, c.want)
			}
		})
	}
	p, err := LoadExample()
	if err != nil {
		t.Fatal(err)
	}
	if p.Preventive != PreventiveOff {
		t.Errorf("the example policy enables preventive controls (%q): a default deploy could block mail", p.Preventive)
	}
}
