package smtpcheck

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestCheckAgainstServer(t *testing.T) {
	tests := []struct {
		name        string
		opts        serverOpts
		cfg         func(c *Config)
		wantVerdict Status
		wantSteps   string // comma-joined step names
		wantFail    string // step that fails
		wantDetail  map[string]string
		wantMechs   string // AUTH mechanisms the server saw started
		wantAuthOK  int
	}{
		{
			name:        "good credentials, PLAIN chosen",
			cfg:         func(c *Config) { c.Username, c.Password = goodUser, goodPass },
			wantVerdict: StatusOK,
			wantSteps:   "dns,tcp,greeting,ehlo,starttls,tls,ehlo-tls,auth,quit",
			wantDetail: map[string]string{
				"auth":     "AUTH PLAIN as " + goodUser + " accepted: 235",
				"tls":      "TLS 1.3",
				"ehlo":     "STARTTLS",
				"ehlo-tls": "AUTH PLAIN LOGIN",
				"greeting": "220 email-smtp.amazonaws.com",
			},
			wantMechs: "PLAIN", wantAuthOK: 1,
		},
		{
			name:        "good credentials, LOGIN with prompts worded unlike SES",
			opts:        serverOpts{loginPrompts: [2]string{"User Name\x00", "Secret, please"}},
			cfg:         func(c *Config) { c.Username, c.Password, c.AuthMech = goodUser, goodPass, "login" },
			wantVerdict: StatusOK,
			wantSteps:   "dns,tcp,greeting,ehlo,starttls,tls,ehlo-tls,auth,quit",
			wantDetail:  map[string]string{"auth": "AUTH LOGIN as " + goodUser + " accepted"},
			wantMechs:   "LOGIN", wantAuthOK: 1,
		},
		{
			name:        "LOGIN picked when it is all the server offers",
			opts:        serverOpts{mechs: []string{"LOGIN"}},
			cfg:         func(c *Config) { c.Username, c.Password = goodUser, goodPass },
			wantVerdict: StatusOK,
			wantSteps:   "dns,tcp,greeting,ehlo,starttls,tls,ehlo-tls,auth,quit",
			wantMechs:   "LOGIN", wantAuthOK: 1,
		},
		{
			name:        "bad credentials",
			cfg:         func(c *Config) { c.Username, c.Password = goodUser, "wrong" },
			wantVerdict: StatusFail, wantFail: "auth",
			wantSteps:  "dns,tcp,greeting,ehlo,starttls,tls,ehlo-tls,auth,quit",
			wantDetail: map[string]string{"auth": "rejected: 535 5.7.8 Authentication Credentials Invalid"},
			wantMechs:  "PLAIN",
		},
		{
			name:        "bad credentials over LOGIN",
			cfg:         func(c *Config) { c.Username, c.Password, c.AuthMech = "AKIAOTHER", goodPass, "LOGIN" },
			wantVerdict: StatusFail, wantFail: "auth",
			wantSteps: "dns,tcp,greeting,ehlo,starttls,tls,ehlo-tls,auth,quit",
			wantMechs: "LOGIN",
		},
		{
			name:        "no credentials: AUTH skipped, still OK",
			wantVerdict: StatusOK,
			wantSteps:   "dns,tcp,greeting,ehlo,starttls,tls,ehlo-tls,auth,quit",
			wantDetail:  map[string]string{"auth": "no user given"},
		},
		{
			name:        "no STARTTLS offered: stop before any credential is sent",
			opts:        serverOpts{noTLS: true},
			cfg:         func(c *Config) { c.Username, c.Password = goodUser, goodPass },
			wantVerdict: StatusFail, wantFail: "starttls",
			wantSteps:  "dns,tcp,greeting,ehlo,starttls",
			wantDetail: map[string]string{"starttls": "does not offer STARTTLS"},
		},
		{
			name:        "implicit TLS (SMTPS)",
			opts:        serverOpts{implicit: true},
			cfg:         func(c *Config) { c.Username, c.Password, c.TLSMode = goodUser, goodPass, TLSImplicit },
			wantVerdict: StatusOK,
			wantSteps:   "dns,tcp,tls,greeting,ehlo,auth,quit",
			wantMechs:   "PLAIN", wantAuthOK: 1,
		},
		{
			name:        "certificate not trusted",
			cfg:         func(c *Config) { c.TLSConfig = &tls.Config{} },
			wantVerdict: StatusFail, wantFail: "tls",
			wantSteps:  "dns,tcp,greeting,ehlo,starttls,tls",
			wantDetail: map[string]string{"tls": "certificate not trusted for " + testHost},
		},
		{
			name:        "certificate for another name",
			cfg:         func(c *Config) { c.ServerName = "email-smtp.us-east-1.amazonaws.com" },
			wantVerdict: StatusFail, wantFail: "tls",
			wantSteps:  "dns,tcp,greeting,ehlo,starttls,tls",
			wantDetail: map[string]string{"tls": "not email-smtp.us-east-1.amazonaws.com"},
		},
		{
			name: "expected a private DNS answer",
			cfg:  func(c *Config) { c.ExpectReach = ReachPrivate },
			// The other steps still run: whether the public path works is useful to know too.
			wantVerdict: StatusFail, wantFail: "dns",
			wantSteps:  "dns,tcp,greeting,ehlo,starttls,tls,ehlo-tls,auth,quit",
			wantDetail: map[string]string{"dns": "expected a private answer"},
		},
		{
			name:        "public answer for the SES name: warning with the reason",
			cfg:         func(c *Config) { c.Resolver = fakeResolver{testHost: {netip.MustParseAddr("52.31.0.10")}} },
			wantVerdict: StatusWarn,
			wantSteps:   "dns,tcp,greeting,ehlo,starttls,tls,ehlo-tls,auth,quit",
			wantDetail:  map[string]string{"dns": "not through the email-smtp VPC endpoint"},
		},
		{
			name: "private answer (VPC endpoint)",
			cfg: func(c *Config) {
				c.Resolver = fakeResolver{testHost: {netip.MustParseAddr("10.20.1.15"), netip.MustParseAddr("10.20.2.33")}}
				c.ExpectReach = ReachPrivate
			},
			wantVerdict: StatusOK,
			wantSteps:   "dns,tcp,greeting,ehlo,starttls,tls,ehlo-tls,auth,quit",
			wantDetail:  map[string]string{"dns": "10.20.1.15, 10.20.2.33 (private): private answer", "tcp": "connected to 10.20.1.15:"},
		},
		{
			name: "private answer plus its DNS64 twin (IPv6-only subnet) stays private",
			cfg: func(c *Config) {
				c.Resolver = fakeResolver{testHost: {netip.MustParseAddr("64:ff9b::a14:10f"), netip.MustParseAddr("10.20.1.15")}}
				c.ExpectReach = ReachPrivate
			},
			wantVerdict: StatusOK,
			wantSteps:   "dns,tcp,greeting,ehlo,starttls,tls,ehlo-tls,auth,quit",
			wantDetail:  map[string]string{"dns": "(private): private answer"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, tt.opts)
			cfg := Config{
				Host:      testHost,
				Port:      int(srv.addr.Port()),
				Timeout:   5 * time.Second,
				TLSConfig: &tls.Config{RootCAs: srv.pool},
				Resolver:  fakeResolver{testHost: {netip.MustParseAddr("127.0.0.1")}},
				Dialer:    &loopbackDialer{to: srv.addr},
			}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			rep := Check(context.Background(), cfg)
			text := reportText(rep)
			if rep.Verdict != tt.wantVerdict {
				t.Fatalf("verdict %s, want %s\n%s", rep.Verdict, tt.wantVerdict, text)
			}
			if got := strings.Join(stepNames(rep), ","); got != tt.wantSteps {
				t.Errorf("steps %s, want %s\n%s", got, tt.wantSteps, text)
			}
			if tt.wantFail != "" {
				if s, _ := stepByName(rep, tt.wantFail); s.Status != StatusFail {
					t.Errorf("step %s status %q, want fail\n%s", tt.wantFail, s.Status, text)
				}
				if !strings.Contains(text, "verdict: FAIL: "+tt.wantFail+" failed") {
					t.Errorf("verdict line does not name %s:\n%s", tt.wantFail, text)
				}
			}
			for step, sub := range tt.wantDetail {
				s, ok := stepByName(rep, step)
				if !ok || !strings.Contains(s.Detail, sub) {
					t.Errorf("step %s detail %q, want it to contain %q", step, s.Detail, sub)
				}
			}
			mechs, okUsers, mails := srv.snapshot()
			if got := strings.Join(mechs, ","); got != tt.wantMechs {
				t.Errorf("server saw AUTH %q, want %q", got, tt.wantMechs)
			}
			if len(okUsers) != tt.wantAuthOK {
				t.Errorf("server authenticated %d sessions, want %d", len(okUsers), tt.wantAuthOK)
			}
			if mails != 0 {
				t.Errorf("the check sent MAIL FROM %d times; it must never send mail", mails)
			}
			if strings.Contains(text, goodPass) {
				t.Errorf("report leaks the password:\n%s", text)
			}
		})
	}
}

func TestCheckTimeouts(t *testing.T) {
	silent := silentListener(t)
	tests := []struct {
		name     string
		cfg      Config
		wantFail string
		wantSub  string
	}{
		{
			name: "silent port: no greeting",
			cfg: Config{Host: "127.0.0.1", Port: int(silent.Port()),
				Dialer: &loopbackDialer{to: silent}},
			wantFail: "greeting", wantSub: "waiting for the 220 greeting: no answer within 300ms",
		},
		{
			name:     "dropped SYN (security group): TCP connect times out",
			cfg:      Config{Host: "10.20.1.15", Port: 587, Dialer: blackholeDialer{}},
			wantFail: "tcp", wantSub: "10.20.1.15:587: no answer within 300ms (packets dropped",
		},
		{
			name:     "implicit TLS against a silent port: handshake times out",
			cfg:      Config{Host: "127.0.0.1", Port: int(silent.Port()), TLSMode: TLSImplicit, Dialer: &loopbackDialer{to: silent}},
			wantFail: "tls", wantSub: "TLS handshake: no answer within 300ms",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Timeout = 300 * time.Millisecond
			start := time.Now()
			rep := Check(context.Background(), tt.cfg)
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("took %s; the timeout is 300ms", el)
			}
			s, ok := stepByName(rep, tt.wantFail)
			if rep.Verdict != StatusFail || !ok || s.Status != StatusFail || !strings.Contains(s.Detail, tt.wantSub) {
				t.Fatalf("want %s to fail with %q, got:\n%s", tt.wantFail, tt.wantSub, reportText(rep))
			}
		})
	}
}

func TestCheckConnectionRefusedAndCancel(t *testing.T) {
	srv := silentListener(t)
	// A port nobody listens on: take one and close it.
	refused := Check(context.Background(), Config{Host: "127.0.0.1", Port: 1, Timeout: time.Second})
	if s, _ := stepByName(refused, "tcp"); s.Status != StatusFail || !strings.Contains(s.Detail, "refused") {
		t.Errorf("port 1: want refused, got:\n%s", reportText(refused))
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	rep := Check(ctx, Config{Host: "127.0.0.1", Port: int(srv.Port()), Timeout: time.Minute})
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("cancel did not stop the check (took %s)", el)
	}
	if rep.Verdict != StatusFail {
		t.Errorf("cancelled check should fail:\n%s", reportText(rep))
	}
}

func TestCheckDNSFailure(t *testing.T) {
	rep := Check(context.Background(), Config{Host: "email-smtp.nowhere-1.amazonaws.com", Port: 587, Resolver: fakeResolver{}})
	s, _ := stepByName(rep, "dns")
	if rep.Verdict != StatusFail || s.Status != StatusFail || !strings.Contains(s.Detail, "no such host") || len(rep.Steps) != 1 {
		t.Fatalf("want dns failure only, got:\n%s", reportText(rep))
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"ok", Config{Host: "h", Port: 587}, ""},
		{"ipv6 literal ok", Config{Host: "::1", Port: 587}, ""},
		{"no host", Config{Port: 587}, "host is required"},
		{"host with port", Config{Host: "h:587", Port: 587}, "without port"},
		{"url", Config{Host: "smtp://h", Port: 587}, "without port"},
		{"port 0", Config{Host: "h"}, "port 0 out of range"},
		{"port too big", Config{Host: "h", Port: 70000}, "out of range"},
		{"bad tls mode", Config{Host: "h", Port: 587, TLSMode: "ssl"}, "tls mode"},
		{"bad mech", Config{Host: "h", Port: 587, AuthMech: "CRAM-MD5"}, "PLAIN or LOGIN"},
		{"bad reach", Config{Host: "h", Port: 587, ExpectReach: ReachMixed}, "private or public"},
		{"negative timeout", Config{Host: "h", Port: 587, Timeout: -1}, "negative"},
		{"password without user", Config{Host: "h", Port: 587, Password: "x"}, "without a user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
			rep := Check(context.Background(), tt.cfg)
			if s, _ := stepByName(rep, "config"); s.Status != StatusFail {
				t.Errorf("Check did not report the config error:\n%s", reportText(rep))
			}
		})
	}
}

func TestClassify(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		name  string
		addrs []netip.Addr
		want  Reach
	}{
		{"vpc endpoint", []netip.Addr{a("10.0.1.23"), a("10.0.2.45")}, ReachPrivate},
		{"172.16/12", []netip.Addr{a("172.31.0.9")}, ReachPrivate},
		{"cgnat", []netip.Addr{a("100.64.3.1")}, ReachPrivate},
		{"ipv6 ula", []netip.Addr{a("fd00::5")}, ReachPrivate},
		{"ipv4-mapped private", []netip.Addr{a("::ffff:192.168.1.2")}, ReachPrivate},
		{"public ses", []netip.Addr{a("52.31.0.10"), a("34.250.1.1")}, ReachPublic},
		{"mixed", []netip.Addr{a("10.0.1.23"), a("52.31.0.10")}, ReachMixed},
		{"loopback", []netip.Addr{a("127.0.0.1")}, ReachLocal},
		{"empty", nil, ReachPublic},
		{"ipv6 public", []netip.Addr{a("2600:1f18:4a3::10")}, ReachPublic},
		{"ipv6 link-local", []netip.Addr{a("fe80::1")}, ReachLocal},
		{"dual-stack public", []netip.Addr{a("52.31.0.10"), a("2a05:d018::5")}, ReachPublic},
		{"ula and public v4", []netip.Addr{a("fd12::8"), a("52.31.0.10")}, ReachMixed},
		// Route 53 Resolver DNS64 (IPv6-only subnets) adds 64:ff9b::/96 answers that embed the
		// IPv4 address: the VPC endpoint's 10.0.1.23 must stay private, not turn the answer mixed.
		{"dns64 of a private endpoint", []netip.Addr{a("10.0.1.23"), a("64:ff9b::a00:117")}, ReachPrivate},
		{"dns64 only, private", []netip.Addr{a("64:ff9b::a00:117")}, ReachPrivate},
		{"dns64 of public", []netip.Addr{a("52.31.0.10"), a("64:ff9b::341f:a")}, ReachPublic},
		// A DNS firewall or sinkhole answers 0.0.0.0 / ::: nothing reachable, certainly not SES.
		{"sinkhole v4", []netip.Addr{a("0.0.0.0")}, ReachLocal},
		{"sinkhole v6", []netip.Addr{a("::")}, ReachLocal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.addrs); got != tt.want {
				t.Errorf("Classify = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestIsSESSMTPHost(t *testing.T) {
	for host, want := range map[string]bool{
		"email-smtp.eu-west-1.amazonaws.com":                         true,
		"EMAIL-SMTP.us-east-1.amazonaws.com.":                        true,
		"email-smtp-fips.us-east-1.amazonaws.com":                    true,
		"vpce-0abc-12345678.email-smtp.eu-west-1.vpce.amazonaws.com": true,
		"email-smtp.cn-north-1.amazonaws.com.cn":                     true,
		"smtp.example.com":                                           false,
		"email-smtp.eu-west-1.amazonaws.com.evil.example":            false,
		"email.eu-west-1.amazonaws.com":                              false,
	} {
		if got := IsSESSMTPHost(host); got != want {
			t.Errorf("IsSESSMTPHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestClean(t *testing.T) {
	if got := clean("ok\x1b[31mred\r\nline"); got != "ok [31mred  line" {
		t.Errorf("clean = %q", got)
	}
	if got := clean(strings.Repeat("é", 300)); len([]rune(got)) != 201 {
		t.Errorf("clean did not cut at 200 runes: %d", len([]rune(got)))
	}
}

// --expect-dns also holds when --host is an address: nothing is resolved, but a public address
// where a private one was required is still the failure the operator asked to be told about.
func TestCheckExpectReachForAddressHost(t *testing.T) {
	for _, tt := range []struct {
		host   string
		expect Reach
		want   Status
	}{
		{"52.31.0.10", ReachPrivate, StatusFail},
		{"10.20.1.15", ReachPrivate, StatusSkip},
		{"10.20.1.15", ReachPublic, StatusFail},
		{"52.31.0.10", "", StatusSkip},
	} {
		rep := Check(context.Background(), Config{Host: tt.host, Port: 587, ExpectReach: tt.expect,
			Timeout: 50 * time.Millisecond, Dialer: blackholeDialer{}})
		s, ok := stepByName(rep, "dns")
		if !ok || s.Status != tt.want {
			t.Errorf("%s expecting %q: dns step %q, want %s\n%s", tt.host, tt.expect, s.Status, tt.want, reportText(rep))
		}
	}
}

// The TCP step as a whole is bounded by the timeout, however many addresses DNS returned: with
// a security group dropping SYNs every address hangs alike, and --timeout 10s must mean 10 s.
func TestCheckTCPStepBoundedAcrossAddresses(t *testing.T) {
	const host = "email-smtp.eu-west-1.amazonaws.com"
	res := fakeResolver{host: {netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")}}
	start := time.Now()
	rep := Check(context.Background(), Config{Host: host, Port: 587, Timeout: 400 * time.Millisecond, Resolver: res, Dialer: blackholeDialer{}})
	el := time.Since(start)
	s, _ := stepByName(rep, "tcp")
	if s.Status != StatusFail || !strings.Contains(s.Detail, "10.0.0.1:587: no answer") {
		t.Fatalf("tcp step:\n%s", reportText(rep))
	}
	if el > 700*time.Millisecond {
		t.Errorf("tcp step took %s with a 400ms timeout", el)
	}
}

// A server that accepts STARTTLS and then stalls in the handshake must time out, not hang.
func TestCheckSTARTTLSHandshakeStall(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				fmt.Fprint(c, "220 stall.example ESMTP\r\n")
				_, _ = r.ReadString('\n') // EHLO
				fmt.Fprint(c, "250-stall.example\r\n250 STARTTLS\r\n")
				_, _ = r.ReadString('\n') // STARTTLS
				fmt.Fprint(c, "220 go ahead\r\n")
				_, _ = io.Copy(io.Discard, r) // swallow the ClientHello, never answer
			}()
		}
	}()
	ap := netip.MustParseAddrPort(ln.Addr().String())
	start := time.Now()
	rep := Check(context.Background(), Config{Host: "127.0.0.1", Port: int(ap.Port()), Timeout: 300 * time.Millisecond})
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %s; the timeout is 300ms", el)
	}
	s, _ := stepByName(rep, "tls")
	if s.Status != StatusFail || !strings.Contains(s.Detail, "TLS handshake: no answer within 300ms") {
		t.Fatalf("want the tls step to time out:\n%s", reportText(rep))
	}
}

// A hostile or broken server that streams an endless reply line must not make the check
// buffer it all until the timeout: replies are capped.
func TestCheckEndlessReplyCapped(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	sent := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		var n int64
		_, _ = c.Write([]byte("220 "))
		for n < 64<<20 {
			w, err := c.Write(chunk)
			n += int64(w)
			if err != nil {
				break
			}
		}
		sent <- n
	}()
	ap := netip.MustParseAddrPort(ln.Addr().String())
	rep := Check(context.Background(), Config{Host: "127.0.0.1", Port: int(ap.Port()), Timeout: 5 * time.Second})
	s, _ := stepByName(rep, "greeting")
	if s.Status != StatusFail || !strings.Contains(s.Detail, "reply longer than") {
		t.Fatalf("want the greeting to fail as too long:\n%s", reportText(rep))
	}
	if n := <-sent; n >= 64<<20 {
		t.Errorf("the check read the whole %d-byte stream", n)
	}
}
