package mailer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
)

// TLSMode says how the SMTP deliverer protects the connection.
type TLSMode string

// TLS modes of SMTPConfig.
const (
	// TLSOpportunistic uses STARTTLS when the server offers it (the default).
	// A server that offers it but fails the handshake or presents an
	// untrusted certificate is an error, not a fallback to plain text.
	TLSOpportunistic TLSMode = "opportunistic"
	// TLSRequired insists on STARTTLS.
	TLSRequired TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS, usually port 465).
	TLSImplicit TLSMode = "implicit"
	// TLSNone never uses TLS.
	TLSNone TLSMode = "none"
)

// SMTP authentication mechanisms of SMTPConfig.
const (
	AuthPlain = "PLAIN"
	AuthLogin = "LOGIN"
)

// DefaultSMTPTimeout is the SMTPConfig.Timeout used when it is zero.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPConfig configures the SMTP deliverer.
type SMTPConfig struct {
	Addr    string        // host:port of the server
	HELO    string        // name sent in EHLO/HELO; the host name if empty
	Timeout time.Duration // for connecting and for each SMTP exchange; DefaultSMTPTimeout if zero

	TLS TLSMode // TLSOpportunistic if empty
	// CAFile, if set, is a PEM file of the certificate authorities trusted
	// for the server's certificate instead of the system ones.
	CAFile string
	// TLSConfig, if set, is used as the base TLS configuration (CAFile is
	// added to it); its ServerName defaults to the host of Addr.
	TLSConfig *tls.Config

	// Username enables SMTP AUTH. The password is read once, by NewSMTP, from
	// PasswordFile, without its trailing line break. Credentials are only
	// sent over TLS or to a server on localhost.
	Username     string
	PasswordFile string
	Auth         string // AuthPlain (default) or AuthLogin
}

// SMTP delivers messages to an SMTP server, one connection per message.
//
// Classification of failures (retry = the outbox tries again later):
//
//	connect: refused, unreachable, DNS, timeout            retry
//	TLS: handshake, untrusted certificate, no STARTTLS      retry
//	greeting, EHLO, STARTTLS, AUTH: any reply (4xx, 5xx)    retry  (a fault of the session or the
//	                                                               configuration, not of the message)
//	MAIL FROM, end of DATA: 4xx                             retry
//	MAIL FROM, end of DATA: 5xx                             final
//	RCPT TO: any recipient 4xx                              retry  (nothing is sent until all are accepted)
//	RCPT TO: every refused recipient 5xx                    final
//	connection lost or timeout during the transaction       retry
//	message invalid (bad address, header)                   final
type SMTP struct {
	cfg      SMTPConfig
	host     string
	port     int
	password string
	tls      *tls.Config
}

// NewSMTP checks cfg and reads the password file.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("smtp: addr %q: %w", cfg.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("smtp: addr %q: bad port", cfg.Addr)
	}
	if host == "" {
		return nil, fmt.Errorf("smtp: addr %q: no host", cfg.Addr)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultSMTPTimeout
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = TLSOpportunistic
	case TLSOpportunistic, TLSRequired, TLSImplicit, TLSNone:
	default:
		return nil, fmt.Errorf("smtp: unknown TLS mode %q (want %s, %s, %s or %s)",
			cfg.TLS, TLSOpportunistic, TLSRequired, TLSImplicit, TLSNone)
	}
	s := &SMTP{cfg: cfg, host: host, port: port}

	s.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		s.tls = cfg.TLSConfig.Clone()
	}
	if s.tls.ServerName == "" {
		s.tls.ServerName = host
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("smtp: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("smtp: CA file %s: no PEM certificate", cfg.CAFile)
		}
		s.tls.RootCAs = pool
	}

	switch strings.ToUpper(cfg.Auth) {
	case "", AuthPlain:
		s.cfg.Auth = AuthPlain
	case AuthLogin:
		s.cfg.Auth = AuthLogin
	default:
		return nil, fmt.Errorf("smtp: unknown AUTH mechanism %q (want %s or %s)", cfg.Auth, AuthPlain, AuthLogin)
	}
	if cfg.Username == "" && cfg.PasswordFile != "" {
		return nil, errors.New("smtp: password file without user name")
	}
	if cfg.Username != "" {
		if cfg.TLS == TLSNone && !isLoopback(host) {
			return nil, fmt.Errorf("smtp: AUTH with TLS %q would send the password in clear to %s", TLSNone, host)
		}
		if cfg.PasswordFile == "" {
			return nil, errors.New("smtp: user name without password file")
		}
		b, err := os.ReadFile(cfg.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("smtp: password file: %w", err)
		}
		s.password = strings.TrimRight(string(b), "\r\n")
		if s.password == "" {
			return nil, fmt.Errorf("smtp: password file %s is empty", cfg.PasswordFile)
		}
	}
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Deliver sends m in one SMTP session. See SMTP for the retry table.
func (s *SMTP) Deliver(ctx context.Context, m *Message) (retry bool, err error) {
	raw, from, to, err := render(m)
	if err != nil {
		return false, fmt.Errorf("smtp: %w", err)
	}

	// go-mail dials through this function, so that the connection can be
	// closed on every error path and when ctx is cancelled mid-session.
	var conn net.Conn
	stop := func() bool { return false }
	dial := func(dctx context.Context, network, _ string) (net.Conn, error) {
		var err error
		nd := &net.Dialer{}
		if s.cfg.TLS == TLSImplicit {
			conn, err = (&tls.Dialer{NetDialer: nd, Config: s.tls}).DialContext(dctx, network, s.cfg.Addr)
		} else {
			conn, err = nd.DialContext(dctx, network, s.cfg.Addr)
		}
		if err == nil {
			c := conn
			stop = context.AfterFunc(ctx, func() { _ = c.Close() })
		}
		return conn, err
	}
	defer func() {
		stop()
		if conn != nil {
			_ = conn.Close()
		}
	}()

	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(s.tls),
	}
	switch s.cfg.TLS {
	case TLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case TLSRequired:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default: // TLSImplicit (done by dial) or TLSNone
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(s.cfg.HELO))
	}
	if s.cfg.Username != "" {
		auth := gomail.SMTPAuthPlain
		if s.cfg.Auth == AuthLogin {
			auth = gomail.SMTPAuthLogin
		}
		opts = append(opts, gomail.WithSMTPAuth(auth),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.password))
	}
	client, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return true, fmt.Errorf("smtp %s: %w", s.cfg.Addr, err)
	}

	sc, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return true, fmt.Errorf("smtp %s: session: %w", s.cfg.Addr, err)
	}
	if err := s.transaction(sc, from, to, raw); err != nil {
		return transactionRetry(err), fmt.Errorf("smtp %s: %w", s.cfg.Addr, err)
	}
	_ = sc.Quit() // the message is accepted; a failing QUIT changes nothing
	return false, nil
}

// transaction sends one message on an established session.
func (s *SMTP) transaction(sc *gosmtp.Client, from string, to []string, raw []byte) error {
	if err := sc.UpdateDeadline(s.cfg.Timeout); err != nil {
		return err
	}
	if err := sc.Mail("<" + from + ">"); err != nil {
		return fmt.Errorf("MAIL FROM:<%s>: %w", from, err)
	}
	var errs []error
	for _, rcpt := range to {
		if err := sc.Rcpt("<" + rcpt + ">"); err != nil {
			errs = append(errs, fmt.Errorf("RCPT TO:<%s>: %w", rcpt, err))
		}
	}
	if len(errs) > 0 {
		return &rcptError{errs}
	}
	w, err := sc.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := sc.UpdateDeadline(s.cfg.Timeout); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of DATA: %w", err)
	}
	return nil
}

// rcptError holds the refusals of one or more recipients.
type rcptError struct{ errs []error }

func (e *rcptError) Error() string {
	msgs := make([]string, len(e.errs))
	for i, err := range e.errs {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e *rcptError) Unwrap() []error { return e.errs }

// transactionRetry classifies a failure after the session was established:
// a permanent (5xx) reply is final, anything else (4xx, lost connection,
// timeout) is worth retrying. For recipients, a single temporary refusal
// makes the whole message worth retrying.
func transactionRetry(err error) bool {
	var re *rcptError
	if errors.As(err, &re) {
		for _, e := range re.errs {
			if !isPermanent(e) {
				return true
			}
		}
		return false
	}
	return !isPermanent(err)
}

// isPermanent reports whether err carries a 5xx SMTP reply.
func isPermanent(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te) && te.Code >= 500 && te.Code < 600
}
