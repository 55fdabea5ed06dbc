package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// cliSMTPServer starts a STARTTLS go-smtp server with a self-signed certificate that accepts one
// user/password over PLAIN; it counts MAIL commands, which must stay at zero.
func cliSMTPServer(t *testing.T, user, pass string) (port int, mails *atomic.Int32) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	mails = new(atomic.Int32)
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &cliSession{user: user, pass: pass, mails: mails}, nil
	}))
	srv.Domain = "test.local"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().(*net.TCPAddr).Port, mails
}

type cliSession struct {
	user, pass string
	mails      *atomic.Int32
}

func (s *cliSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *cliSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, u, p string) error {
		if u == s.user && p == s.pass {
			return nil
		}
		return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication Credentials Invalid"}
	}), nil
}
func (s *cliSession) Mail(string, *smtp.MailOptions) error { s.mails.Add(1); return errors.New("no") }
func (s *cliSession) Rcpt(string, *smtp.RcptOptions) error { return errors.New("no") }
func (s *cliSession) Data(io.Reader) error                 { return errors.New("no") }
func (s *cliSession) Reset()                               {}
func (s *cliSession) Logout() error                        { return nil }

func TestSMTPCheckCommand(t *testing.T) {
	port, mails := cliSMTPServer(t, "AKIAEXAMPLE", "s3cret-pass")
	p := strconv.Itoa(port)
	envWith := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	tests := []struct {
		name     string
		args     []string
		getenv   func(string) string
		wantCode int
		wantOut  []string
		wantErr  string
	}{
		{
			name:   "good credentials, self-signed cert accepted with --insecure (warning)",
			args:   []string{"--host", "127.0.0.1", "--port", p, "--user", "AKIAEXAMPLE", "--password-env", "PW", "--insecure", "--server-name", "localhost"},
			getenv: envWith("PW", "s3cret-pass"), wantCode: exitOK,
			wantOut: []string{"OK    tcp", "OK    starttls", "WARN  tls", "certificate NOT verified", "OK    auth      AUTH PLAIN as AKIAEXAMPLE accepted", "OK    quit", "verdict: WARN"},
		},
		{
			name:   "bad password: exit 2, auth step names the cause",
			args:   []string{"--host", "127.0.0.1", "--port", p, "--user", "AKIAEXAMPLE", "--insecure"},
			getenv: envWith("SMTP_PASSWORD", "wrong"), wantCode: exitInput,
			wantOut: []string{"FAIL  auth", "535 5.7.8", "verdict: FAIL: auth failed"},
		},
		{
			name:     "certificate verified by default: self-signed fails",
			args:     []string{"--host", "127.0.0.1", "--port", p},
			wantCode: exitInput,
			wantOut:  []string{"FAIL  tls", "certificate not trusted for 127.0.0.1"},
		},
		{
			name:     "json output",
			args:     []string{"--host", "127.0.0.1", "--port", p, "--insecure", "--format", "json"},
			wantCode: exitOK,
			wantOut:  []string{`"verdict": "warn"`, `"name": "ehlo-tls"`, `"tls_version": "TLS 1.3"`},
		},
		{
			name: "timeout flag on a silent port", wantCode: exitInput,
			args:    []string{"--host", "127.0.0.1", "--port", strconv.Itoa(silentPort(t)), "--timeout", "200ms"},
			wantOut: []string{"FAIL  greeting", "no answer within 200ms"},
		},
		{name: "user without password", args: []string{"--host", "h", "--user", "u"}, wantCode: exitUsage, wantErr: "$SMTP_PASSWORD is empty"},
		// The password typed where the variable's name belongs must not be echoed back.
		{name: "password given as --password-env", args: []string{"--host", "h", "--user", "u", "--password-env", "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk"}, wantCode: exitUsage, wantErr: "not an environment variable name"},
		{name: "--password-env with a space", args: []string{"--host", "h", "--user", "u", "--password-env", "s3cret-pass x"}, wantCode: exitUsage, wantErr: "not an environment variable name"},
		{name: "missing host", args: nil, wantCode: exitUsage, wantErr: "host is required"},
		{name: "bad tls mode", args: []string{"--host", "h", "--tls-mode", "ssl"}, wantCode: exitUsage, wantErr: "tls mode"},
		{name: "bad format", args: []string{"--host", "h", "--format", "xml"}, wantCode: exitUsage, wantErr: "want text or json"},
		{name: "help", args: []string{"--help"}, wantCode: exitOK, wantErr: "It never sends mail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", tt.getenv, append([]string{"smtp-check"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if tt.wantErr != "" && !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, errOut)
			}
			if strings.Contains(out+errOut, "s3cret-pass") || strings.Contains(out+errOut, "BMW5RDrX") {
				t.Error("output leaks the password")
			}
			if strings.Contains(strings.Join(tt.args, " "), "json") {
				var v map[string]any
				if err := json.Unmarshal([]byte(out), &v); err != nil {
					t.Errorf("json output does not parse: %v", err)
				}
			}
		})
	}
	if n := mails.Load(); n != 0 {
		t.Errorf("smtp-check sent MAIL %d times", n)
	}
}

// silentPort listens and accepts but never answers.
func silentPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				<-done
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() { l.Close(); close(done) })
	return l.Addr().(*net.TCPAddr).Port
}
