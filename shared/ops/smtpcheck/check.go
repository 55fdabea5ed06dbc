package smtpcheck

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/textproto"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-sasl"
)

// TLSMode says how TLS starts: STARTTLS after EHLO (ports 25, 587, 2587) or implicit TLS from
// the first byte (SMTPS, ports 465, 2465).
type TLSMode string

// TLS modes.
const (
	TLSStartTLS TLSMode = "starttls"
	TLSImplicit TLSMode = "implicit"
)

// DefaultTimeout bounds each network step. A security group that drops packets otherwise shows
// up as a TCP connect hanging for minutes.
const DefaultTimeout = 10 * time.Second

// maxDialAttempts caps how many resolved addresses are tried within the TCP step's timeout.
const maxDialAttempts = 3

// minDialAttempt is the least time one address gets while the step's timeout lasts.
const minDialAttempt = 2 * time.Second

// certWarnWindow is how close to expiry a certificate gets a warning.
const certWarnWindow = 14 * 24 * time.Hour

// Dialer opens TCP connections; *net.Dialer satisfies it.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Config describes one check. Only Host and Port are required.
type Config struct {
	Host    string
	Port    int
	TLSMode TLSMode       // empty: implicit for ports 465 and 2465, else STARTTLS
	Timeout time.Duration // per network step; 0 means DefaultTimeout

	// Username and Password, when Username is set, are tried with AUTH (PLAIN if offered, else
	// LOGIN, unless AuthMech says which). No mail is ever sent.
	Username, Password string
	AuthMech           string // "", "PLAIN" or "LOGIN"

	// ExpectReach, when set, turns a DNS answer of another kind into a failure (e.g. "private"
	// when the host must resolve to the SMTP VPC endpoint).
	ExpectReach Reach

	ServerName string      // TLS server name to verify; default Host
	TLSConfig  *tls.Config // base TLS settings (RootCAs for tests, InsecureSkipVerify); cloned
	LocalName  string      // EHLO name; default "sesguard-smtp-check"

	Resolver Resolver // default net.DefaultResolver
	Dialer   Dialer   // default &net.Dialer{}
	Now      func() time.Time
}

// Status is a step's verdict.
type Status string

// Step verdicts, in increasing severity.
const (
	StatusOK   Status = "ok"
	StatusSkip Status = "skip"
	StatusWarn Status = "warn"
	StatusFail Status = "fail"
)

func (s Status) rank() int {
	switch s {
	case StatusFail:
		return 3
	case StatusWarn:
		return 2
	case StatusSkip:
		return 1
	}
	return 0
}

// Step is one stage of the check with its verdict.
type Step struct {
	Name     string        `json:"name"` // config, dns, tcp, tls (first when implicit), greeting, ehlo, starttls, tls, ehlo-tls, auth, quit
	Status   Status        `json:"status"`
	Detail   string        `json:"detail"`
	Duration time.Duration `json:"duration_ns"`
}

// Report is the outcome of Check.
type Report struct {
	Host    string  `json:"host"`
	Port    int     `json:"port"`
	TLSMode TLSMode `json:"tls_mode"`
	Reach   Reach   `json:"dns_reach,omitempty"`
	Addr    string  `json:"connected_to,omitempty"`
	TLS     string  `json:"tls_version,omitempty"`
	Steps   []Step  `json:"steps"`
	Verdict Status  `json:"verdict"` // the worst step status (skip counts as ok)
}

// Failed reports whether any step failed.
func (r *Report) Failed() bool { return r.Verdict == StatusFail }

func (r *Report) add(name string, st Status, start time.Time, format string, args ...any) {
	r.Steps = append(r.Steps, Step{Name: name, Status: st, Detail: fmt.Sprintf(format, args...), Duration: time.Since(start)})
	if st != StatusSkip && st.rank() > r.Verdict.rank() {
		r.Verdict = st
	}
}

// Validate checks the configuration before any network use.
func (c *Config) Validate() error {
	if c.Host == "" {
		return errors.New("host is required")
	}
	if strings.ContainsAny(c.Host, " /:\r\n") && !isAddr(c.Host) {
		return fmt.Errorf("host %q: give a host name or address without port or scheme", c.Host)
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("port %d out of range 1-65535", c.Port)
	}
	switch c.TLSMode {
	case "", TLSStartTLS, TLSImplicit:
	default:
		return fmt.Errorf("tls mode %q: want starttls or implicit", c.TLSMode)
	}
	switch strings.ToUpper(c.AuthMech) {
	case "", sasl.Plain, sasl.Login:
	default:
		return fmt.Errorf("auth mechanism %q: want PLAIN or LOGIN", c.AuthMech)
	}
	switch c.ExpectReach {
	case "", ReachPrivate, ReachPublic:
	default:
		return fmt.Errorf("expected DNS answer %q: want private or public", c.ExpectReach)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("timeout %s is negative", c.Timeout)
	}
	if c.Username == "" && c.Password != "" {
		return errors.New("a password without a user name")
	}
	return nil
}

func isAddr(s string) bool { _, err := netip.ParseAddr(s); return err == nil }

// Check runs the steps in order and stops at the first failure that makes later steps
// meaningless (no connection, no TLS). It never sends MAIL, RCPT or DATA. An invalid Config gives
// a report with one failed "config" step.
func Check(ctx context.Context, cfg Config) Report {
	rep := Report{Host: cfg.Host, Port: cfg.Port, Verdict: StatusOK}
	if err := cfg.Validate(); err != nil {
		rep.add("config", StatusFail, time.Now(), "%v", err)
		return rep
	}
	if cfg.TLSMode == "" {
		cfg.TLSMode = TLSStartTLS
		if cfg.Port == 465 || cfg.Port == 2465 {
			cfg.TLSMode = TLSImplicit
		}
	}
	rep.TLSMode = cfg.TLSMode
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Dialer == nil {
		cfg.Dialer = &net.Dialer{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LocalName == "" {
		cfg.LocalName = "sesguard-smtp-check"
	}
	cfg.AuthMech = strings.ToUpper(cfg.AuthMech)

	addrs, ok := stepDNS(ctx, &cfg, &rep)
	if !ok {
		return rep
	}
	conn, ok := stepTCP(ctx, &cfg, &rep, addrs)
	if !ok {
		return rep
	}
	// Closing the connection is what unblocks a read when ctx is cancelled (Ctrl-C).
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	s := &session{cfg: &cfg, rep: &rep, conn: conn}
	defer func() { s.conn.Close() }()
	s.run()
	return rep
}

func stepDNS(ctx context.Context, cfg *Config, rep *Report) ([]netip.Addr, bool) {
	start := time.Now()
	if a, err := netip.ParseAddr(cfg.Host); err == nil {
		a = a.Unmap()
		rep.Reach = Classify([]netip.Addr{a})
		if cfg.ExpectReach != "" && rep.Reach != cfg.ExpectReach {
			rep.add("dns", StatusFail, start, "host is an address (%s, %s); expected a %s address", a, rep.Reach, cfg.ExpectReach)
			return []netip.Addr{a}, true
		}
		rep.add("dns", StatusSkip, start, "host is an address (%s, %s); nothing to resolve", a, rep.Reach)
		return []netip.Addr{a}, true
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	addrs, err := cfg.Resolver.LookupNetIP(dctx, "ip", cfg.Host)
	if err != nil {
		rep.add("dns", StatusFail, start, "resolve %s: %v", cfg.Host, err)
		return nil, false
	}
	if len(addrs) == 0 {
		rep.add("dns", StatusFail, start, "resolve %s: no addresses", cfg.Host)
		return nil, false
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap() // the resolver may answer IPv4 as ::ffff:a.b.c.d
	}
	reach := Classify(addrs)
	rep.Reach = reach
	answer := fmt.Sprintf("%s → %s (%s)", cfg.Host, joinAddrs(addrs), reach)
	switch {
	case cfg.ExpectReach != "" && reach != cfg.ExpectReach:
		rep.add("dns", StatusFail, start, "%s; expected a %s answer%s", answer, cfg.ExpectReach, reachHint(cfg.Host, reach))
	case reach == ReachMixed:
		rep.add("dns", StatusWarn, start, "%s; private and public addresses mixed: check the private hosted zone / endpoint private DNS", answer)
	case reach == ReachPublic && IsSESSMTPHost(cfg.Host):
		rep.add("dns", StatusWarn, start, "%s%s", answer, reachHint(cfg.Host, reach))
	case reach == ReachPrivate:
		rep.add("dns", StatusOK, start, "%s: private answer (VPC interface endpoint or private hosted zone)", answer)
	default:
		rep.add("dns", StatusOK, start, "%s", answer)
	}
	return addrs, true
}

func reachHint(host string, r Reach) string {
	if r == ReachPublic && IsSESSMTPHost(host) {
		return "; public answer: this client reaches SES over the internet, not through the email-smtp VPC endpoint (private DNS off, no private hosted zone, or not inside the VPC)"
	}
	return ""
}

func stepTCP(ctx context.Context, cfg *Config, rep *Report, addrs []netip.Addr) (net.Conn, bool) {
	start := time.Now()
	// The step as a whole gets cfg.Timeout, shared among the addresses tried like net.Dialer
	// does: each attempt gets an equal part of what is left, but at least minDialAttempt (or all
	// that is left), so a refused address hands its time on to the next one.
	deadline := start.Add(cfg.Timeout)
	tries := min(len(addrs), maxDialAttempts)
	var failures []string
	for i, a := range addrs {
		left := time.Until(deadline)
		if i == tries || left <= 0 {
			if n := len(addrs) - i; n > 0 && i < tries {
				failures = append(failures, fmt.Sprintf("%d more address(es) not tried: the %s timeout is spent", n, cfg.Timeout))
			}
			break
		}
		per := max(left/time.Duration(tries-i), min(left, minDialAttempt))
		target := net.JoinHostPort(a.String(), strconv.Itoa(cfg.Port))
		dctx, cancel := context.WithTimeout(ctx, per)
		t0 := time.Now()
		conn, err := cfg.Dialer.DialContext(dctx, "tcp", target)
		cancel()
		if err == nil {
			rep.Addr = target
			rep.add("tcp", StatusOK, start, "connected to %s in %s", target, roundDur(time.Since(t0)))
			return conn, true
		}
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			failures = append(failures, fmt.Sprintf("%s: no answer within %s (packets dropped: security group, NACL or firewall?)", target, roundDur(per)))
		} else {
			failures = append(failures, fmt.Sprintf("%s: %v", target, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	rep.add("tcp", StatusFail, start, "%s", strings.Join(failures, "; "))
	return nil, false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// maxReply caps the bytes read for one SMTP reply. SES's longest (the EHLO list) is a few
// hundred bytes; without a cap a broken or hostile server streaming one endless line would be
// buffered in memory until the step times out.
const maxReply = 64 << 10

var errReplyTooLong = fmt.Errorf("reply longer than %d KiB", maxReply>>10)

// session is the SMTP conversation after the TCP connect.
type session struct {
	cfg  *Config
	rep  *Report
	conn net.Conn
	text *textproto.Conn
	ext  map[string]string
	left int // bytes the current reply may still take
}

// replyConn is s.conn with reads counted against s.left.
type replyConn struct {
	net.Conn
	s *session
}

func (c replyConn) Read(b []byte) (int, error) {
	if c.s.left <= 0 {
		return 0, errReplyTooLong
	}
	if len(b) > c.s.left {
		b = b[:c.s.left]
	}
	n, err := c.Conn.Read(b)
	c.s.left -= n
	return n, err
}

func (s *session) newText() { s.text = textproto.NewConn(replyConn{Conn: s.conn, s: s}) }

func (s *session) run() {
	if s.cfg.TLSMode == TLSImplicit {
		if !s.handshake("tls") {
			return
		}
	}
	s.newText()
	if !s.greeting() || !s.ehlo() {
		return
	}
	if s.cfg.TLSMode == TLSStartTLS {
		if !s.starttls() || !s.handshake("tls") {
			return
		}
		s.newText()
		// RFC 3207: forget what was learnt before TLS and say EHLO again.
		if !s.ehlo() {
			return
		}
	}
	s.auth()
	s.quit()
}

// deadline starts a new step: a fresh timeout and a fresh reply budget.
func (s *session) deadline() {
	_ = s.conn.SetDeadline(time.Now().Add(s.cfg.Timeout))
	s.left = maxReply
}

// ioFail describes a network error, naming a timeout as such.
func (s *session) ioFail(what string, err error) string {
	if isTimeout(err) {
		return fmt.Sprintf("%s: no answer within %s", what, s.cfg.Timeout)
	}
	if errors.Is(err, errReplyTooLong) {
		return fmt.Sprintf("%s: %v (not an SMTP server, or a broken one)", what, err)
	}
	return fmt.Sprintf("%s: %v", what, err)
}

func (s *session) cmd(format string, args ...any) (int, string, error) {
	s.deadline()
	if err := s.text.PrintfLine(format, args...); err != nil {
		return 0, "", err
	}
	return s.read()
}

func (s *session) read() (int, string, error) {
	s.deadline()
	code, msg, err := s.text.ReadResponse(0)
	var perr textproto.ProtocolError
	if errors.As(err, &perr) {
		return 0, "", fmt.Errorf("not an SMTP reply: %s", clean(string(perr)))
	}
	return code, msg, err
}

func (s *session) greeting() bool {
	start := time.Now()
	code, msg, err := s.read()
	switch {
	case err != nil:
		s.rep.add("greeting", StatusFail, start, "%s", s.ioFail("waiting for the 220 greeting", err))
		return false
	case code != 220:
		s.rep.add("greeting", StatusFail, start, "server refused the session: %d %s", code, clean(msg))
		return false
	}
	s.rep.add("greeting", StatusOK, start, "220 %s", clean(msg))
	return true
}

func (s *session) ehlo() bool {
	start := time.Now()
	name := "ehlo"
	if s.text != nil && s.ext != nil {
		name = "ehlo-tls"
	}
	code, msg, err := s.cmd("EHLO %s", s.cfg.LocalName)
	if err != nil {
		s.rep.add(name, StatusFail, start, "%s", s.ioFail("EHLO", err))
		return false
	}
	if code != 250 {
		s.rep.add(name, StatusFail, start, "EHLO refused: %d %s", code, clean(msg))
		return false
	}
	s.ext = map[string]string{}
	lines := strings.Split(msg, "\n")
	var names []string
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(l), " ")
		k = strings.ToUpper(k)
		s.ext[k] = v
		names = append(names, strings.TrimSpace(k+" "+v))
	}
	s.rep.add(name, StatusOK, start, "extensions: %s", clean(strings.Join(names, ", ")))
	return true
}

func (s *session) starttls() bool {
	start := time.Now()
	if _, ok := s.ext["STARTTLS"]; !ok {
		s.rep.add("starttls", StatusFail, start, "server does not offer STARTTLS; SES requires TLS and credentials must not cross in clear text (use --tls-mode implicit for ports 465/2465)")
		return false
	}
	code, msg, err := s.cmd("STARTTLS")
	if err != nil {
		s.rep.add("starttls", StatusFail, start, "%s", s.ioFail("STARTTLS", err))
		return false
	}
	if code != 220 {
		s.rep.add("starttls", StatusFail, start, "STARTTLS refused: %d %s", code, clean(msg))
		return false
	}
	s.rep.add("starttls", StatusOK, start, "220 %s", clean(msg))
	return true
}

func (s *session) handshake(name string) bool {
	start := time.Now()
	tc := &tls.Config{}
	if s.cfg.TLSConfig != nil {
		tc = s.cfg.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = s.cfg.ServerName
		if tc.ServerName == "" {
			tc.ServerName = s.cfg.Host
		}
	}
	conn := tls.Client(s.conn, tc)
	s.deadline()
	if err := conn.Handshake(); err != nil {
		var verr *tls.CertificateVerificationError
		if errors.As(err, &verr) {
			s.rep.add(name, StatusFail, start, "certificate not trusted for %s: %v", tc.ServerName, verr.Err)
		} else {
			s.rep.add(name, StatusFail, start, "%s", s.ioFail("TLS handshake", err))
		}
		return false
	}
	s.conn = conn
	st := conn.ConnectionState()
	s.rep.TLS = tls.VersionName(st.Version)
	status := StatusOK
	var notes []string
	if st.Version < tls.VersionTLS12 {
		status = StatusWarn
		notes = append(notes, "TLS older than 1.2")
	}
	if tc.InsecureSkipVerify {
		status = StatusWarn
		notes = append(notes, "certificate NOT verified (--insecure)")
	}
	certInfo := "no certificate"
	if len(st.PeerCertificates) > 0 {
		leaf := st.PeerCertificates[0]
		left := leaf.NotAfter.Sub(s.cfg.Now())
		if left < certWarnWindow {
			status = StatusWarn
			notes = append(notes, fmt.Sprintf("certificate expires in %s", roundDur(left)))
		}
		certInfo = describeCert(leaf, left)
	}
	detail := fmt.Sprintf("%s, %s; %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), certInfo)
	if len(notes) > 0 {
		detail += "; " + strings.Join(notes, "; ")
	}
	s.rep.add(name, status, start, "%s", detail)
	return true
}

func describeCert(c *x509.Certificate, left time.Duration) string {
	names := c.DNSNames
	more := ""
	if len(names) > 3 {
		more = fmt.Sprintf(" +%d", len(names)-3)
		names = names[:3]
	}
	return fmt.Sprintf("certificate CN=%s SAN=[%s%s] issuer CN=%s, expires %s (%d days)",
		clean(c.Subject.CommonName), clean(strings.Join(names, " ")), more, clean(c.Issuer.CommonName),
		c.NotAfter.UTC().Format("2006-01-02"), int(left.Hours()/24))
}

func (s *session) auth() {
	start := time.Now()
	if s.cfg.Username == "" {
		s.rep.add("auth", StatusSkip, start, "no user given; AUTH not tried")
		return
	}
	offered, ok := s.ext["AUTH"]
	if !ok {
		s.rep.add("auth", StatusFail, start, "server offers no AUTH after TLS")
		return
	}
	mechs := strings.Fields(strings.ToUpper(offered))
	mech := s.cfg.AuthMech
	if mech == "" {
		switch {
		case contains(mechs, sasl.Plain):
			mech = sasl.Plain
		case contains(mechs, sasl.Login):
			mech = sasl.Login
		default:
			s.rep.add("auth", StatusFail, start, "server offers AUTH %s, neither PLAIN nor LOGIN", clean(offered))
			return
		}
	} else if !contains(mechs, mech) {
		s.rep.add("auth", StatusFail, start, "server does not offer AUTH %s (offers %s)", mech, clean(offered))
		return
	}
	code, msg, err := s.authExchange(newSASL(mech, s.cfg.Username, s.cfg.Password))
	switch {
	case err != nil:
		s.rep.add("auth", StatusFail, start, "AUTH %s as %s: %s", mech, clean(s.cfg.Username), s.ioFail("exchange", err))
	case code == 235:
		s.rep.add("auth", StatusOK, start, "AUTH %s as %s accepted: 235 %s", mech, clean(s.cfg.Username), clean(msg))
	case code == 535:
		s.rep.add("auth", StatusFail, start, "AUTH %s as %s rejected: 535 %s (wrong password, wrong Region's SMTP password, inactive key, or a key whose user may not ses:SendRawEmail)", mech, clean(s.cfg.Username), clean(msg))
	default:
		s.rep.add("auth", StatusFail, start, "AUTH %s as %s failed: %d %s", mech, clean(s.cfg.Username), code, clean(msg))
	}
}

// authExchange runs one SASL exchange and returns the server's final reply.
func (s *session) authExchange(c sasl.Client) (int, string, error) {
	mech, ir, err := c.Start()
	if err != nil {
		return 0, "", err
	}
	line := "AUTH " + mech
	if ir != nil {
		line += " " + encode64(ir)
	}
	code, msg, err := s.cmd("%s", line)
	for err == nil && code == 334 {
		challenge, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(msg))
		if derr != nil {
			_, _, _ = s.cmd("*")
			return 0, "", fmt.Errorf("server challenge is not base64: %q", clean(msg))
		}
		resp, nerr := c.Next(challenge)
		if nerr != nil {
			_, _, _ = s.cmd("*")
			return 0, "", nerr
		}
		code, msg, err = s.cmd("%s", encode64(resp))
	}
	return code, msg, err
}

func encode64(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

func (s *session) quit() {
	start := time.Now()
	code, msg, err := s.cmd("QUIT")
	switch {
	case err != nil:
		s.rep.add("quit", StatusWarn, start, "%s", s.ioFail("QUIT", err))
	case code != 221:
		s.rep.add("quit", StatusWarn, start, "QUIT answered %d %s", code, clean(msg))
	default:
		s.rep.add("quit", StatusOK, start, "221 %s", clean(msg))
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// clean makes server-supplied text safe for a terminal: control characters become spaces, and
// long text is cut.
func clean(s string) string {
	const max = 200
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return strings.TrimSpace(s)
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d > time.Hour:
		return d.Round(time.Hour)
	case d > time.Second:
		return d.Round(10 * time.Millisecond)
	default:
		return d.Round(time.Microsecond * 100)
	}
}
