package tenshiref

import (
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// maxMailBytes bounds one mail; a digest of a million distinct lines fits.
const maxMailBytes = 1 << 30

// mailbox is an in-process SMTP server that keeps every message it receives.
type mailbox struct {
	server *smtp.Server
	addr   string
	done   chan error

	mu    sync.Mutex
	mails [][]byte
}

// startMailbox listens on a free loopback port and serves until close.
func startMailbox() (*mailbox, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtp listen: %w", err)
	}
	mb := &mailbox{addr: l.Addr().String(), done: make(chan error, 1)}
	s := smtp.NewServer(mb)
	s.Domain = "localhost"
	s.MaxLineLength = 0 // log lines may be of any length
	s.MaxMessageBytes = maxMailBytes
	s.ReadTimeout = time.Minute
	s.WriteTimeout = time.Minute
	s.ErrorLog = log.New(io.Discard, "", 0)
	mb.server = s
	go func() { mb.done <- s.Serve(l) }()
	return mb, nil
}

// close stops the server and returns the messages received.
func (mb *mailbox) close() [][]byte {
	mb.server.Close()
	<-mb.done
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.mails
}

// NewSession implements smtp.Backend.
func (mb *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &session{mb: mb}, nil
}

type session struct{ mb *mailbox }

func (s *session) Reset()                               {}
func (s *session) Logout() error                        { return nil }
func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mb.mu.Lock()
	s.mb.mails = append(s.mb.mails, data)
	s.mb.mu.Unlock()
	return nil
}
