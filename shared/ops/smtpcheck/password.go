package smtpcheck

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"unicode"
)

// SMTPPasswordVersion is the version byte SES expects in front of a SigV4-derived SMTP password.
// The older 0x02 (Signature Version 2) form is rejected by SES since March 2021.
const SMTPPasswordVersion = 0x04

// SMTPPassword derives the Amazon SES SMTP password for one Region from an IAM secret access key:
// Base64(0x04 ‖ HMAC chain over "11111111", region, "ses", "aws4_request", "SendRawEmail"), seeded
// with "AWS4"+secret. The password is Region-specific; the SMTP user name is the access key id.
func SMTPPassword(secretAccessKey, region string) (string, error) {
	if secretAccessKey == "" {
		return "", errors.New("smtp password: empty secret access key")
	}
	// Secret access keys are printable ASCII. Anything else (inner whitespace of any kind, a
	// byte-order mark, a control character) is a copy-paste accident that would otherwise yield
	// a well-formed but wrong password, so it is refused, never silently dropped.
	for i, r := range secretAccessKey {
		switch {
		case unicode.IsSpace(r):
			return "", fmt.Errorf("smtp password: secret access key contains whitespace (%U at byte %d)", r, i)
		case r < 0x21 || r > 0x7e:
			return "", fmt.Errorf("smtp password: secret access key has a character that is not printable ASCII (%U at byte %d)", r, i)
		}
	}
	if !validRegion(region) {
		return "", fmt.Errorf("smtp password: region %q is not an AWS Region name (e.g. eu-west-1)", region)
	}
	k := hmacSHA256([]byte("AWS4"+secretAccessKey), "11111111")
	for _, msg := range []string{region, "ses", "aws4_request", "SendRawEmail"} {
		k = hmacSHA256(k, msg)
	}
	return base64.StdEncoding.EncodeToString(append([]byte{SMTPPasswordVersion}, k...)), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// validRegion accepts lower-case names like "us-east-1" or "us-gov-west-1": letters, digits and
// dashes, starting with a letter and ending with a digit. A typo here silently yields a wrong
// password, so anything else is refused.
func validRegion(r string) bool {
	if len(r) < 4 || len(r) > 32 || r[0] < 'a' || r[0] > 'z' || r[len(r)-1] < '0' || r[len(r)-1] > '9' {
		return false
	}
	dashes := 0
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			dashes++
		default:
			return false
		}
	}
	return dashes >= 2
}
