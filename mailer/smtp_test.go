package mailer

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is what the test SMTP server saw of one accepted message.
type received struct {
	helo string
	from string
	to   []string
	data []byte
	tls  bool
	user string
}

// smtpServer is a real SMTP server (emersion/go-smtp) on 127.0.0.1.
type smtpServer struct {
	t       *testing.T
	addr    string
	srv     *smtp.Server
	arrived chan received

	// Behaviour, set before the first connection.
	user, pass string // if set, AUTH is required
	// reject, if set, may refuse a command: cmd is "MAIL", "RCPT" or "DATA",
	// arg the address (MAIL, RCPT), n the number of the session from 1.
	reject func(cmd, arg string, n int) error
	// hold, if set, blocks DATA, after telling holding, until it is closed.
	hold    chan struct{}
	holding chan struct{}
	mode    serverMode

	mu       sync.Mutex
	sessions int
	authSeen []string // "user:pass" of every AUTH attempt
}

type serverMode int

const (
	plainServer    serverMode = iota
	startTLSServer            // offers STARTTLS
	implicitServer            // TLS from the first byte
)

// newSMTPServer configures a server; start it with serve.
func newSMTPServer(t *testing.T, mode serverMode, cert *tls.Certificate) *smtpServer {
	s := &smtpServer{t: t, arrived: make(chan received, 16)}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		s.sessions++
		n := s.sessions
		s.mu.Unlock()
		return &session{s: s, c: c, n: n}, nil
	}))
	s.srv.Domain = "mx.test"
	s.srv.ReadTimeout = waitLimit
	s.srv.WriteTimeout = waitLimit
	if mode != plainServer {
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	s.mode = mode
	return s
}

// serve listens on addr ("127.0.0.1:0" for any port) until the test ends.
func (s *smtpServer) serve(addr string) *smtpServer {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Fatal(err)
	}
	if s.mode == implicitServer {
		l = tls.NewListener(l, s.srv.TLSConfig)
	}
	s.addr = l.Addr().String()
	done := make(chan struct{})
	go func() {
		_ = s.srv.Serve(l)
		close(done)
	}()
	s.t.Cleanup(func() {
		_ = s.srv.Close()
		<-done
	})
	return s
}

// next returns the next accepted message.
func (s *smtpServer) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-s.arrived:
		return r
	case <-time.After(waitLimit):
		t.Fatal("no message arrived")
		return received{}
	}
}

// none checks that no message was accepted.
func (s *smtpServer) none(t *testing.T) {
	t.Helper()
	select {
	case r := <-s.arrived:
		t.Fatalf("unexpected message from %s to %v", r.from, r.to)
	default:
	}
}

type session struct {
	s    *smtpServer
	c    *smtp.Conn
	n    int
	r    received
	auth bool
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.user == "" {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (ss *session) check(user, pass string) error {
	ss.s.mu.Lock()
	ss.s.authSeen = append(ss.s.authSeen, user+":"+pass)
	ss.s.mu.Unlock()
	if user != ss.s.user || pass != ss.s.pass {
		return smtp.ErrAuthFailed
	}
	ss.auth = true
	ss.r.user = user
	return nil
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return ss.check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: ss.check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.user != "" && !ss.auth {
		return smtp.ErrAuthRequired
	}
	if err := ss.refuse("MAIL", from); err != nil {
		return err
	}
	ss.r.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.refuse("RCPT", to); err != nil {
		return err
	}
	ss.r.to = append(ss.r.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if ss.s.hold != nil {
		ss.s.holding <- struct{}{}
		<-ss.s.hold
	}
	if err := ss.refuse("DATA", ""); err != nil {
		return err
	}
	ss.r.data = data
	ss.r.helo = ss.c.Hostname()
	_, ss.r.tls = ss.c.TLSConnectionState()
	ss.s.arrived <- ss.r
	return nil
}

func (ss *session) refuse(cmd, arg string) error {
	if ss.s.reject == nil {
		return nil
	}
	return ss.s.reject(cmd, arg, ss.n)
}

func (ss *session) Reset()        { ss.r = received{user: ss.r.user} }
func (ss *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks.
type loginServer struct {
	check      func(user, pass string) error
	step       int
	user, pass string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(response)
		return []byte("Password:"), false, nil
	default:
		l.pass = string(response)
		return nil, true, l.check(l.user, l.pass)
	}
}

// smtpError is a reply the test server sends.
func smtpError(code int, msg string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: msg}
}

// selfSigned makes a certificate for 127.0.0.1 and writes it as a CA file.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tayori test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caFile
}

func newSMTP(t *testing.T, cfg SMTPConfig) *SMTP {
	t.Helper()
	if cfg.HELO == "" {
		cfg.HELO = "tayori.test"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = waitLimit
	}
	s, err := NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func passwordFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// wantReceived checks envelope, HELO, TLS and the exact bytes of a delivery
// of testMessage (the golden file, as the server stores DATA with CRLF).
func wantReceived(t *testing.T, r received, tls bool, user string) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join("testdata", "report.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.data, want) {
		t.Errorf("DATA differs from testdata/report.eml:\n got %q\nwant %q", r.data, want)
	}
	if r.from != "tayori@example.org" || strings.Join(r.to, " ") != "root@example.org ops@example.net" {
		t.Errorf("envelope: from %q to %q", r.from, r.to)
	}
	if r.helo != "tayori.test" {
		t.Errorf("HELO %q", r.helo)
	}
	if r.tls != tls {
		t.Errorf("TLS %v, want %v", r.tls, tls)
	}
	if r.user != user {
		t.Errorf("authenticated as %q, want %q", r.user, user)
	}
}

func TestSMTPDelivers(t *testing.T) {
	cert, caFile := selfSigned(t)
	tests := []struct {
		name   string
		server serverMode
		mode   TLSMode
		tls    bool
	}{
		{"plain, TLS none", plainServer, TLSNone, false},
		{"plain, opportunistic", plainServer, TLSOpportunistic, false},
		{"STARTTLS offered, opportunistic", startTLSServer, "", true},
		{"STARTTLS required", startTLSServer, TLSRequired, true},
		{"STARTTLS offered, TLS none", startTLSServer, TLSNone, false},
		{"implicit TLS", implicitServer, TLSImplicit, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSMTPServer(t, tt.server, &cert).serve("127.0.0.1:0")
			d := newSMTP(t, SMTPConfig{Addr: srv.addr, TLS: tt.mode, CAFile: caFile})
			retry, err := d.Deliver(context.Background(), testMessage())
			if err != nil {
				t.Fatalf("Deliver: retry=%v %v", retry, err)
			}
			wantReceived(t, srv.next(t), tt.tls, "")
			srv.none(t)
		})
	}
}

func TestSMTPAuth(t *testing.T) {
	cert, caFile := selfSigned(t)
	for _, mech := range []string{AuthPlain, AuthLogin} {
		t.Run(mech, func(t *testing.T) {
			srv := newSMTPServer(t, startTLSServer, &cert)
			srv.user, srv.pass = "reports", "s3cret pass"
			srv.serve("127.0.0.1:0")
			d := newSMTP(t, SMTPConfig{Addr: srv.addr, TLS: TLSRequired, CAFile: caFile,
				Username: "reports", Auth: mech, PasswordFile: passwordFile(t, "s3cret pass\n")})
			if retry, err := d.Deliver(context.Background(), testMessage()); err != nil {
				t.Fatalf("Deliver: retry=%v %v", retry, err)
			}
			wantReceived(t, srv.next(t), true, "reports")
			if got := strings.Join(srv.authSeen, ","); got != "reports:s3cret pass" {
				t.Errorf("server saw credentials %q", got)
			}
		})
	}
	t.Run("wrong password is retried", func(t *testing.T) {
		srv := newSMTPServer(t, startTLSServer, &cert)
		srv.user, srv.pass = "reports", "right"
		srv.serve("127.0.0.1:0")
		d := newSMTP(t, SMTPConfig{Addr: srv.addr, TLS: TLSRequired, CAFile: caFile,
			Username: "reports", PasswordFile: passwordFile(t, "wrong\r\n")})
		retry, err := d.Deliver(context.Background(), testMessage())
		if !retry || err == nil || !strings.Contains(err.Error(), "535") {
			t.Errorf("Deliver: retry=%v %v; want a retryable 535", retry, err)
		}
		srv.none(t)
	})
	t.Run("no AUTH without TLS to a remote host", func(t *testing.T) {
		_, err := NewSMTP(SMTPConfig{Addr: "mail.example.org:25", TLS: TLSNone,
			Username: "u", PasswordFile: passwordFile(t, "p")})
		if err == nil || !strings.Contains(err.Error(), "in clear") {
			t.Errorf("NewSMTP: %v", err)
		}
	})
}

func TestSMTPConfigErrors(t *testing.T) {
	pw := passwordFile(t, "pw\n")
	empty := passwordFile(t, "\n")
	tests := []struct {
		name string
		cfg  SMTPConfig
		want string
	}{
		{"no port", SMTPConfig{Addr: "localhost"}, "missing port"},
		{"bad port", SMTPConfig{Addr: "localhost:smtp"}, "bad port"},
		{"no host", SMTPConfig{Addr: ":25"}, "no host"},
		{"bad TLS mode", SMTPConfig{Addr: "localhost:25", TLS: "sometimes"}, `unknown TLS mode "sometimes"`},
		{"bad auth", SMTPConfig{Addr: "localhost:25", Username: "u", PasswordFile: pw, Auth: "CRAM-MD5"}, "unknown AUTH"},
		{"user without password", SMTPConfig{Addr: "localhost:25", Username: "u"}, "without password file"},
		{"password without user", SMTPConfig{Addr: "localhost:25", PasswordFile: pw}, "without user name"},
		{"missing password file", SMTPConfig{Addr: "localhost:25", Username: "u", PasswordFile: pw + ".missing"}, "no such file"},
		{"empty password", SMTPConfig{Addr: "localhost:25", Username: "u", PasswordFile: empty}, "is empty"},
		{"missing CA file", SMTPConfig{Addr: "localhost:25", CAFile: pw + ".missing"}, "CA file"},
		{"CA file without PEM", SMTPConfig{Addr: "localhost:25", CAFile: pw}, "no PEM certificate"},
	}
	for _, tt := range tests {
		if _, err := NewSMTP(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

// TestSMTPClassification checks retry or final for each kind of failure,
// each against the real server (or a real closed port).
func TestSMTPClassification(t *testing.T) {
	cert, caFile := selfSigned(t)
	refuseOn := func(cmd, arg string, err error) func(string, string, int) error {
		return func(c, a string, _ int) error {
			if c == cmd && (arg == "" || a == arg) {
				return err
			}
			return nil
		}
	}
	tests := []struct {
		name   string
		server serverMode // -1: nothing listens
		mode   TLSMode
		ca     string
		reject func(cmd, arg string, n int) error
		retry  bool
		want   string
	}{
		{"connection refused", -1, TLSNone, "", nil, true, "refused"},
		{"STARTTLS required, not offered", plainServer, TLSRequired, "", nil, true, "STARTTLS"},
		{"untrusted certificate", startTLSServer, TLSOpportunistic, "", nil, true, "x509: certificate signed by unknown authority"},
		{"implicit TLS to a plain server", plainServer, TLSImplicit, caFile, nil, true, "tls: "},
		{"MAIL 451", plainServer, TLSNone, "", refuseOn("MAIL", "", smtpError(451, "greylisted")), true, "451"},
		{"MAIL 553", plainServer, TLSNone, "", refuseOn("MAIL", "", smtpError(553, "sender rejected")), false, "553"},
		{"RCPT 550 for one of two", plainServer, TLSNone, "",
			refuseOn("RCPT", "ops@example.net", smtpError(550, "no such user")), false, "RCPT TO:<ops@example.net>: 550"},
		{"RCPT 450 and 550", plainServer, TLSNone, "", func(c, a string, _ int) error {
			switch {
			case c == "RCPT" && a == "root@example.org":
				return smtpError(450, "mailbox busy")
			case c == "RCPT":
				return smtpError(550, "no such user")
			}
			return nil
		}, true, "450"},
		{"DATA 452", plainServer, TLSNone, "", refuseOn("DATA", "", smtpError(452, "disk full")), true, "452"},
		{"DATA 554", plainServer, TLSNone, "", refuseOn("DATA", "", smtpError(554, "spam")), false, "554"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := closedPort(t)
			var srv *smtpServer
			if tt.server >= 0 {
				srv = newSMTPServer(t, tt.server, &cert)
				srv.reject = tt.reject
				srv.serve("127.0.0.1:0")
				addr = srv.addr
			}
			d := newSMTP(t, SMTPConfig{Addr: addr, TLS: tt.mode, CAFile: tt.ca, Timeout: 2 * time.Second})
			retry, err := d.Deliver(context.Background(), testMessage())
			if err == nil || retry != tt.retry || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Deliver: retry=%v %v; want retry=%v and %q", retry, err, tt.retry, tt.want)
			}
			if srv != nil {
				srv.none(t)
			}
		})
	}
	t.Run("invalid message", func(t *testing.T) {
		d := newSMTP(t, SMTPConfig{Addr: closedPort(t)})
		m := testMessage()
		m.To = nil
		if retry, err := d.Deliver(context.Background(), m); retry || !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("Deliver: retry=%v %v", retry, err)
		}
	})
}

// closedPort returns an address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestSMTPTimeouts(t *testing.T) {
	t.Run("server never greets", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close() // held open, silent, until the test ends
			}
		}()
		d := newSMTP(t, SMTPConfig{Addr: l.Addr().String(), Timeout: 200 * time.Millisecond})
		start := time.Now()
		retry, err := d.Deliver(context.Background(), testMessage())
		if !retry || err == nil {
			t.Errorf("Deliver: retry=%v %v", retry, err)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("Deliver took %v with a 200ms timeout", el)
		}
	})
	t.Run("cancelled mid-DATA", func(t *testing.T) {
		srv := newSMTPServer(t, plainServer, nil)
		srv.hold, srv.holding = make(chan struct{}), make(chan struct{}, 1)
		defer close(srv.hold)
		srv.serve("127.0.0.1:0")
		d := newSMTP(t, SMTPConfig{Addr: srv.addr, TLS: TLSNone})
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			// The whole message is on the wire, its reply held back.
			<-srv.holding
			cancel()
		}()
		start := time.Now()
		retry, err := d.Deliver(ctx, testMessage())
		if !retry || err == nil {
			t.Errorf("Deliver: retry=%v %v", retry, err)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("cancelled Deliver took %v", el)
		}
	})
}

// TestSMTPHostileBody sends a megabyte line and invalid UTF-8 through a
// real server that refuses lines over 2000 bytes.
func TestSMTPHostileBody(t *testing.T) {
	srv := newSMTPServer(t, plainServer, nil).serve("127.0.0.1:0")
	d := newSMTP(t, SMTPConfig{Addr: srv.addr, TLS: TLSNone})
	m := testMessage()
	m.Body = append(bytes.Repeat([]byte("x"), 1<<20), "\n\xff\x00\x1b[31mred\n.\n"...)
	if retry, err := d.Deliver(context.Background(), m); err != nil {
		t.Fatalf("Deliver: retry=%v %v", retry, err)
	}
	r := srv.next(t)
	want, _, _, err := render(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.data, want) {
		t.Errorf("server got %d bytes, want the %d rendered", len(r.data), len(want))
	}
}

// TestOutboxOverSMTPOutage: the server is down for several attempts, then
// comes up on the same port; the report arrives exactly once, including
// across a restart of the outbox.
func TestOutboxOverSMTPOutage(t *testing.T) {
	dir := t.TempDir()
	addr := closedPort(t)
	clk := newFakeClock(t0)
	tap := &tapDeliverer{d: newSMTP(t, SMTPConfig{Addr: addr, TLS: TLSNone}), done: make(chan error, 16)}
	o := openOutbox(t, dir, tap, clk)
	runOutbox(t, o)

	if err := o.Enqueue(testMessage()); err != nil {
		t.Fatal(err)
	}
	for _, wait := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second} {
		if err := tap.result(t); err == nil || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("attempt while down: %v", err)
		}
		if d := clk.nextWait(t); d != wait {
			t.Fatalf("wait %v, want %v", d, wait)
		}
		clk.Advance(wait)
	}
	if err := tap.result(t); err == nil {
		t.Fatal("delivered while down")
	}
	if d := clk.nextWait(t); d != 80*time.Second {
		t.Fatalf("wait %v", d)
	}
	srv := newSMTPServer(t, plainServer, nil).serve(addr)
	clk.Advance(80 * time.Second)
	if err := tap.result(t); err != nil {
		t.Fatalf("attempt after the server came up: %v", err)
	}
	wantReceived(t, srv.next(t), false, "")
	if err := o.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := o.Stats(); st.Pending != 0 || st.Delivered != 1 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
	// A restarted process finds nothing to send again.
	if err := openOutbox(t, dir, tap.d, clk).Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.none(t)
}

// tapDeliverer passes deliveries through and reports each outcome.
type tapDeliverer struct {
	d    Deliverer
	done chan error
}

func (tp *tapDeliverer) Deliver(ctx context.Context, m *Message) (bool, error) {
	retry, err := tp.d.Deliver(ctx, m)
	tp.done <- err
	return retry, err
}

func (tp *tapDeliverer) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-tp.done:
		return err
	case <-time.After(waitLimit):
		t.Fatal("no delivery attempt")
		return nil
	}
}

func TestOutboxOverSMTPTemporaryThenAccepted(t *testing.T) {
	srv := newSMTPServer(t, plainServer, nil)
	srv.reject = func(cmd, _ string, n int) error {
		if cmd == "DATA" && n == 1 {
			return smtpError(451, "try again later")
		}
		return nil
	}
	srv.serve("127.0.0.1:0")
	clk := newFakeClock(t0)
	o := openOutbox(t, t.TempDir(), newSMTP(t, SMTPConfig{Addr: srv.addr, TLS: TLSNone}), clk)
	if err := o.Enqueue(testMessage()); err != nil {
		t.Fatal(err)
	}
	if err := o.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), "451") {
		t.Fatalf("first flush: %v", err)
	}
	srv.none(t)
	if st := o.Stats(); !st.NextAttempt.Equal(t0.Add(10 * time.Second)) {
		t.Errorf("next attempt %v", st.NextAttempt)
	}
	if err := o.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantReceived(t, srv.next(t), false, "")
	srv.none(t)
}

func TestOutboxOverSMTPPermanentGoesToFailed(t *testing.T) {
	srv := newSMTPServer(t, plainServer, nil)
	srv.reject = func(cmd, _ string, _ int) error {
		if cmd == "RCPT" {
			return smtpError(550, "mailbox unavailable")
		}
		return nil
	}
	srv.serve("127.0.0.1:0")
	dir := t.TempDir()
	o := openOutbox(t, dir, newSMTP(t, SMTPConfig{Addr: srv.addr, TLS: TLSNone}), newFakeClock(t0))
	if err := o.Enqueue(testMessage()); err != nil {
		t.Fatal(err)
	}
	if err := o.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	failed := pendingFiles(t, filepath.Join(dir, FailedDir))
	if len(failed) != 1 {
		t.Fatalf("failed/ holds %v", failed)
	}
	rec, _, err := readRecord(filepath.Join(dir, FailedDir, failed[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rec.Error, "550") || rec.Attempts != 1 {
		t.Errorf("failed record: %d attempts, error %q", rec.Attempts, rec.Error)
	}
	if st := o.Stats(); st.Failed != 1 || st.Pending != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestOutboxRestartDeliversOverSMTP(t *testing.T) {
	dir := t.TempDir()
	addr := closedPort(t)
	clk := newFakeClock(t0)
	down := openOutbox(t, dir, newSMTP(t, SMTPConfig{Addr: addr, TLS: TLSNone}), clk)
	for i := 1; i <= 3; i++ {
		if err := down.Enqueue(numbered(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := down.Flush(context.Background()); err == nil {
		t.Fatal("flush succeeded with the server down")
	}
	srv := newSMTPServer(t, plainServer, nil).serve(addr)
	up := openOutbox(t, dir, newSMTP(t, SMTPConfig{Addr: addr, TLS: TLSNone}), clk)
	if err := up.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		r := srv.next(t)
		if !bytes.Contains(r.data, []byte(fmt.Sprintf("Subject: report %d\r\n", i))) {
			t.Errorf("message %d: %s", i, r.data[:200])
		}
	}
	srv.none(t)
}
