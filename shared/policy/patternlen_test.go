package policy

import (
	"strings"
	"testing"
)

// The value patterns match their character class with + and check their length apart; the
// limits are those of the names they describe (IAM 128, configuration set 64, domain 253, local
// part 64, ARN path and name 512).
func TestPatternLengthLimits(t *testing.T) {
	x := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name  string
		check func(string) error
		ok    string
		long  string
	}{
		{"principal", checkPrincipalPattern, x(128), x(129)},
		{"configuration set", checkConfigSetPattern, x(64), x(65)},
		{"domain", checkDomainPattern, x(253), x(254)},
		{"address local part", checkAddressPattern, x(64) + "@mail.example.com", x(65) + "@mail.example.com"},
		{"IAM ARN", checkSenderPrincipalPattern, "arn:aws:iam::111122223333:user/" + x(512), "arn:aws:iam::111122223333:user/" + x(513)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check(tt.ok); err != nil {
				t.Errorf("at the limit: %v", err)
			}
			if err := tt.check(tt.long); err == nil {
				t.Error("one over the limit was accepted")
			}
			if err := tt.check(""); err == nil {
				t.Error("empty was accepted")
			}
		})
	}
	if err := checkSenderPrincipalPattern("arn:aws:iam::111122223333:role/"); err == nil {
		t.Error("an ARN with no name was accepted")
	}
}
