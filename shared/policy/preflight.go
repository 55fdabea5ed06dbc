package policy

import (
	"fmt"
	"net/netip"
	"strings"
)

// Request is what an identity policy's Deny conditions see of one send.
type Request struct {
	// SourceVpc is aws:SourceVpc: set only for a request through a VPC endpoint.
	SourceVpc string
	// SourceIP is aws:SourceIp: set only for a request over the internet (a public address).
	SourceIP netip.Addr
	// FromAddress is ses:FromAddress ("" when unknown: the key is then absent).
	FromAddress string
	// Recipients are ses:Recipients.
	Recipients []string
}

// Denial names the statement that denies a request and why.
type Denial struct {
	Sid    string
	Reason string
}

// Denies evaluates doc's Deny statements against r with IAM's rules for the operators sesguard
// renders: conditions within a statement are ANDed; a negated operator (StringNotLike,
// NotIpAddress) on a key absent from the request is true; ForAnyValue:... on an absent or empty
// key is false. It returns the first Deny that applies. An operator or key it does not know is
// an error, never a silent "allowed".
func (doc *Document) Denies(r Request) (*Denial, error) {
	for _, st := range doc.Statement {
		if st.Effect != "Deny" {
			continue
		}
		all := true
		var why []string
		for op, keys := range st.Condition {
			for key, vals := range keys {
				ok, reason, err := evalCondition(op, key, vals, r)
				if err != nil {
					return nil, fmt.Errorf("statement %s: %w", st.Sid, err)
				}
				if !ok {
					all = false
				} else {
					why = append(why, reason)
				}
			}
		}
		if all {
			return &Denial{Sid: st.Sid, Reason: strings.Join(why, " and ")}, nil
		}
	}
	return nil, nil
}

func evalCondition(op, key string, vals []string, r Request) (bool, string, error) {
	switch key {
	case "aws:SourceVpc", "ses:FromAddress":
		v := r.SourceVpc
		if key == "ses:FromAddress" {
			v = r.FromAddress
		}
		switch op {
		case "StringNotLike":
			if v == "" {
				return true, key + " absent", nil
			}
			if LikeAny(vals, v) {
				return false, "", nil
			}
			return true, fmt.Sprintf("%s %q not in %v", key, v, vals), nil
		case "StringLike":
			return v != "" && LikeAny(vals, v), "", nil
		}
	case "aws:SourceIp":
		switch op {
		case "NotIpAddress", "IpAddress":
			in := false
			if r.SourceIP.IsValid() {
				for _, s := range vals {
					pf, err := netip.ParsePrefix(s)
					if err != nil {
						return false, "", fmt.Errorf("aws:SourceIp value %q: %w", s, err)
					}
					if pf.Contains(r.SourceIP.Unmap()) {
						in = true
					}
				}
			}
			if op == "IpAddress" {
				return in, "", nil
			}
			if !r.SourceIP.IsValid() {
				return true, key + " absent", nil
			}
			return !in, fmt.Sprintf("aws:SourceIp %s outside %v", r.SourceIP, vals), nil
		}
	case "ses:Recipients":
		if op == "ForAnyValue:StringNotLike" {
			for _, rc := range r.Recipients {
				if !LikeAny(vals, rc) { // case-sensitive, as IAM compares
					return true, fmt.Sprintf("recipient %q not in %v", rc, vals), nil
				}
			}
			return false, "", nil
		}
	}
	return false, "", fmt.Errorf("condition %s on %s: not evaluated by preflight", op, key)
}
