//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// mailServer is a real SMTP server (emersion/go-smtp) on a fixed 127.0.0.1 port that a test can
// take down (the port is closed: connection refused) and bring back up on the same port.
type mailServer struct {
	t    *testing.T
	addr string

	mu    sync.Mutex
	srv   *smtp.Server
	done  chan struct{} // closed when the running server's Serve returned
	mails []*receivedMail
	// hold, when set, makes DATA wait until it is closed (or the test ends), then refuse the
	// message: the client never sees it accepted, as when a connection drops at the end of DATA.
	hold    chan struct{}
	holding chan struct{} // receives once per DATA that waits on hold
}

// receivedMail is one accepted message, parsed.
type receivedMail struct {
	At      time.Time // when DATA ended
	From    string
	To      []string
	Header  mail.Header
	Subject string
	ID      string // Message-ID without angle brackets
	Queue   string // from the subject's "[queue]"
	Body    string // decoded, LF line ends
}

// startMailServer starts a server on a free port of 127.0.0.1 and stops it when the test ends.
func startMailServer(t *testing.T) *mailServer {
	t.Helper()
	s := &mailServer{t: t, addr: "127.0.0.1:0"}
	s.up()
	t.Cleanup(func() {
		s.mu.Lock()
		if s.hold != nil {
			close(s.hold)
			s.hold = nil
		}
		s.mu.Unlock()
		s.down()
	})
	return s
}

// up (re)starts the server on its port.
func (s *mailServer) up() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return
	}
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("smtp server: %v", err)
	}
	s.addr = l.Addr().String()
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{s: s}, nil
	}))
	srv.Domain = "mx.e2e.test"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.MaxMessageBytes = 64 << 20
	done := make(chan struct{})
	go func() {
		_ = srv.Serve(l)
		close(done)
	}()
	s.srv, s.done = srv, done
}

// down stops the server and closes its port; sessions under way are cut.
func (s *mailServer) down() {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close()
	<-done
}

// holdData makes the following DATA commands wait; the returned function lets them go on
// (and refuse their message).
func (s *mailServer) holdData() (holding <-chan struct{}, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hold, h := make(chan struct{}), make(chan struct{}, 16)
	s.hold, s.holding = hold, h
	return h, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.hold == hold {
			close(hold)
			s.hold = nil
		}
	}
}

// received returns the messages accepted so far, in order.
func (s *mailServer) received() []*receivedMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*receivedMail(nil), s.mails...)
}

// count returns how many messages were accepted so far.
func (s *mailServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mails)
}

type smtpSession struct {
	s    *mailServer
	from string
	to   []string
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	hold, holding := ss.s.hold, ss.s.holding
	ss.s.mu.Unlock()
	if hold != nil {
		holding <- struct{}{}
		<-hold
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "held by the test"}
	}
	m, err := parseMail(raw)
	if err != nil {
		ss.s.t.Errorf("smtp server: unreadable message: %v\n%s", err, raw)
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: err.Error()}
	}
	m.At, m.From, m.To = time.Now(), ss.from, ss.to
	ss.s.mu.Lock()
	ss.s.mails = append(ss.s.mails, m)
	ss.s.mu.Unlock()
	return nil
}

func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }

// parseMail reads a message as the mailer renders it: headers, a text/plain body in
// quoted-printable (or 7bit/8bit), CRLF line ends.
func parseMail(raw []byte) (*receivedMail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	var body io.Reader = msg.Body
	switch cte := strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")); cte {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "", "7bit", "8bit":
	default:
		return nil, fmt.Errorf("unexpected Content-Transfer-Encoding %q", cte)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return nil, fmt.Errorf("subject: %w", err)
	}
	m := &receivedMail{Header: msg.Header, Subject: subject,
		ID:   strings.TrimSuffix(strings.TrimPrefix(msg.Header.Get("Message-ID"), "<"), ">"),
		Body: strings.ReplaceAll(string(text), "\r\n", "\n")}
	if i := strings.LastIndex(subject, " ["); i >= 0 && strings.HasSuffix(subject, "]") {
		m.Queue = subject[i+2 : len(subject)-1]
	}
	if m.Queue == "" || m.ID == "" {
		return nil, fmt.Errorf("no [queue] in subject %q or no Message-ID", subject)
	}
	return m, nil
}
