package smtpcheck

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// testHost is the name the fake resolver answers and the test certificate covers.
const testHost = "email-smtp.eu-west-1.amazonaws.com"

// serverOpts shapes the in-process go-smtp server.
type serverOpts struct {
	noTLS        bool      // offer no STARTTLS (and allow AUTH in clear, like a misconfigured relay)
	implicit     bool      // TLS from the first byte (SMTPS)
	loginPrompts [2]string // LOGIN challenges; SES uses "Username:" / "Password:"
	mechs        []string  // AUTH mechanisms offered; default PLAIN, LOGIN
}

// testServer records what clients did so tests can assert no mail was attempted.
type testServer struct {
	addr    netip.AddrPort
	certDER []byte
	pool    *x509.CertPool

	mu        sync.Mutex
	authMechs []string // mechanisms clients started
	authOK    []string // user names that authenticated
	mailCalls int      // MAIL FROM commands seen (must stay 0)
}

func (s *testServer) snapshot() (mechs, ok []string, mails int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.authMechs...), append([]string(nil), s.authOK...), s.mailCalls
}

const (
	goodUser = "AKIAIOSFODNN7EXAMPLE"
	goodPass = "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"
)

func (s *testServer) check(user, pass string) error {
	if user == goodUser && pass == goodPass {
		s.mu.Lock()
		s.authOK = append(s.authOK, user)
		s.mu.Unlock()
		return nil
	}
	// What SES answers for bad credentials.
	return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication Credentials Invalid"}
}

func startServer(t *testing.T, o serverOpts) *testServer {
	t.Helper()
	cert, der := selfSigned(t)
	ts := &testServer{certDER: der, pool: x509.NewCertPool()}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ts.pool.AddCert(leaf)
	if o.loginPrompts == ([2]string{}) {
		o.loginPrompts = [2]string{"Username:", "Password:"}
	}
	if o.mechs == nil {
		o.mechs = []string{sasl.Plain, sasl.Login}
	}
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &testSession{srv: ts, opts: o}, nil
	})
	srv := smtp.NewServer(be)
	srv.Domain = "email-smtp.amazonaws.com"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout = 5 * time.Second
	srv.WriteTimeout = 5 * time.Second
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case o.implicit:
		l = tls.NewListener(l, tlsCfg)
	case o.noTLS:
		srv.AllowInsecureAuth = true
	default:
		srv.TLSConfig = tlsCfg
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	ts.addr = netip.MustParseAddrPort(l.Addr().String())
	return ts
}

type testSession struct {
	srv  *testServer
	opts serverOpts
}

var _ smtp.AuthSession = (*testSession)(nil)

func (s *testSession) AuthMechanisms() []string { return s.opts.mechs }

func (s *testSession) Auth(mech string) (sasl.Server, error) {
	s.srv.mu.Lock()
	s.srv.authMechs = append(s.srv.authMechs, mech)
	s.srv.mu.Unlock()
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return s.srv.check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{prompts: s.opts.loginPrompts, check: s.srv.check}, nil
	}
	return nil, errors.New("unsupported mechanism")
}

func (s *testSession) Mail(string, *smtp.MailOptions) error {
	s.srv.mu.Lock()
	s.srv.mailCalls++
	s.srv.mu.Unlock()
	return errors.New("test server accepts no mail")
}
func (s *testSession) Rcpt(string, *smtp.RcptOptions) error { return errors.New("no mail") }
func (s *testSession) Data(io.Reader) error                 { return errors.New("no mail") }
func (s *testSession) Reset()                               {}
func (s *testSession) Logout() error                        { return nil }

// loginServer is the LOGIN sasl.Server go-sasl lacks. The prompts are configurable so the tests
// prove the client answers by step, not by prompt text.
type loginServer struct {
	prompts    [2]string
	check      func(user, pass string) error
	step       int
	user       string
	gotInitial bool
}

var _ sasl.Server = (*loginServer)(nil)

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if resp == nil { // no initial response: ask for the user name
			return []byte(l.prompts[0]), false, nil
		}
		l.user, l.step, l.gotInitial = string(resp), 2, true
		return []byte(l.prompts[1]), false, nil
	case 1:
		l.user, l.step = string(resp), 2
		return []byte(l.prompts[1]), false, nil
	default:
		return nil, true, l.check(l.user, string(resp))
	}
}

// selfSigned makes a certificate for testHost, localhost and 127.0.0.1, valid for a year.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: testHost},
		Issuer:                pkix.Name{CommonName: testHost},
		DNSNames:              []string{testHost, "localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, der
}

// fakeResolver answers from a table.
type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// loopbackDialer sends every dial to the test server, whatever address DNS gave, so a
// "private" or "public" answer can still reach the loopback server.
type loopbackDialer struct {
	to     netip.AddrPort
	dialed []string
}

func (d *loopbackDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.dialed = append(d.dialed, addr)
	var nd net.Dialer
	return nd.DialContext(ctx, network, d.to.String())
}

// blackholeDialer behaves like a security group dropping SYNs: it blocks until the context ends.
type blackholeDialer struct{}

func (blackholeDialer) DialContext(ctx context.Context, _, addr string) (net.Conn, error) {
	<-ctx.Done()
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: ctx.Err()}
}

// silentListener accepts connections and never says a word (a port forwarded to nothing).
func silentListener(t *testing.T) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return netip.MustParseAddrPort(l.Addr().String())
}

func stepNames(r Report) []string {
	var n []string
	for _, s := range r.Steps {
		n = append(n, s.Name)
	}
	return n
}

func stepByName(r Report, name string) (Step, bool) {
	for _, s := range r.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return Step{}, false
}

func reportText(r Report) string {
	var b bytes.Buffer
	_ = r.WriteText(&b)
	return b.String()
}
