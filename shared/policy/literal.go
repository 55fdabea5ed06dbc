package policy

import (
	"errors"
	"fmt"
	"strings"
)

// CheckLiteral reports whether value, seen in history, may be written as an entry of the list
// field ("senders.principals", "senders.from", "senders.identities",
// "senders.configuration_sets", "recipients.domains"): it must pass the check Load applies to
// that list, and it must hold no wildcard — IAM StringLike has no escape, so an observed
// "a*b@example.com" written back would approve every address it matches, not the one seen.
func CheckLiteral(field, value string) error {
	if strings.ContainsAny(value, "*?") {
		return errors.New("contains a wildcard character (* or ?): as a pattern it would approve more than was seen")
	}
	return CheckPattern(field, value)
}

// CheckPattern applies Load's check for the list field to one pattern.
func CheckPattern(field, value string) error {
	var check func(string) error
	switch field {
	case "senders.principals":
		check = checkSenderPrincipalPattern
	case "senders.from":
		check = checkAddressPattern
	case "senders.identities":
		check = checkIdentityPattern
	case "senders.configuration_sets":
		check = checkConfigSetPattern
	case "recipients.domains":
		check = checkDomainPattern
	default:
		return fmt.Errorf("no list %q", field)
	}
	return check(value)
}
