package smtpcheck

import (
	"os/exec"
	"strings"
	"testing"
)

// The vectors below use the AWS documentation's example secret key. They were derived from the
// documented algorithm (reference §3.7) and are re-checked against an independent implementation:
//
//	python3 -c 'import hmac,hashlib,base64,sys
//	s,r=sys.argv[1:3];k=("AWS4"+s).encode()
//	for m in ("11111111",r,"ses","aws4_request","SendRawEmail"): k=hmac.new(k,m.encode(),hashlib.sha256).digest()
//	print(base64.b64encode(b"\x04"+k).decode())' wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY us-east-1
//
// TestSMTPPasswordMatchesPython runs exactly that when python3 is on PATH.
const docSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

var passwordVectors = []struct {
	secret, region, want string
}{
	{docSecret, "us-east-1", "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"},
	{docSecret, "us-west-2", "BF2PynzbSCAjX08zhZZnP/kW+T9P5zs/1Er0pi5vTEmd"},
	{docSecret, "eu-west-1", "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk"},
}

func TestSMTPPassword(t *testing.T) {
	for _, v := range passwordVectors {
		t.Run(v.region, func(t *testing.T) {
			got, err := SMTPPassword(v.secret, v.region)
			if err != nil {
				t.Fatal(err)
			}
			if got != v.want {
				t.Errorf("SMTPPassword(%q) = %q, want %q", v.region, got, v.want)
			}
			if len(got) != 44 || got[0] != 'B' {
				t.Errorf("password %q: want 44 base64 chars starting with B (version 0x04)", got)
			}
		})
	}
}

func TestSMTPPasswordBadInput(t *testing.T) {
	tests := []struct {
		name, secret, region, wantErr string
	}{
		{"empty secret", "", "us-east-1", "empty secret"},
		{"whitespace in secret", "abc def", "us-east-1", "whitespace"},
		{"no-break space in secret", "abc\u00a0def", "us-east-1", "whitespace"},
		{"vertical tab in secret", "abc\vdef", "us-east-1", "whitespace"},
		// A byte-order mark from a Windows editor would otherwise give a wrong password silently.
		{"byte-order mark", "\ufeff" + docSecret, "us-east-1", "not printable ASCII"},
		{"NUL", docSecret + "\x00", "us-east-1", "not printable ASCII"},
		{"non-ASCII letter", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKÉY", "us-east-1", "not printable ASCII"},
		{"empty region", docSecret, "", "not an AWS Region"},
		{"upper-case region", docSecret, "US-EAST-1", "not an AWS Region"},
		{"no number", docSecret, "us-east", "not an AWS Region"},
		{"endpoint instead of region", docSecret, "email-smtp.us-east-1.amazonaws.com", "not an AWS Region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SMTPPassword(tt.secret, tt.region)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestSMTPPasswordMatchesPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not on PATH; the fixed vectors in TestSMTPPassword still apply")
	}
	const script = `import hmac,hashlib,base64,sys
s,r=sys.argv[1:3];k=("AWS4"+s).encode()
for m in ("11111111",r,"ses","aws4_request","SendRawEmail"): k=hmac.new(k,m.encode(),hashlib.sha256).digest()
print(base64.b64encode(b"\x04"+k).decode())`
	cases := []struct{ secret, region string }{
		{docSecret, "us-east-1"},
		{docSecret, "ap-northeast-1"},
		{"AnotherSecret+With/Slashes0123456789abcd", "eu-central-1"},
		{"x", "us-gov-west-1"},
	}
	for _, c := range cases {
		out, err := exec.Command(py, "-c", script, c.secret, c.region).Output()
		if err != nil {
			t.Fatalf("python3: %v", err)
		}
		want := strings.TrimSpace(string(out))
		got, err := SMTPPassword(c.secret, c.region)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s/%s: Go %q, python %q", c.secret, c.region, got, want)
		}
	}
}
