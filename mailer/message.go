// Package mailer delivers finished reports and never loses one: a report is
// written to a durable on-disk Outbox first, and the outbox loop hands it to a
// Deliverer (SMTP, sendmail, a directory, a writer, a program), retrying with
// backoff until the deliverer accepts it or rejects it for good.
package mailer

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
)

// Message is one report ready to be mailed. It carries no knowledge of where it
// came from: the subject and the extra headers are formed upstream.
type Message struct {
	From    string   // sender, "addr@host" or "Name <addr@host>"; also the envelope sender
	To      []string // recipients, same forms as From; also the envelope recipients
	Subject string   // e.g. "tayori report [critical]"
	Body    []byte   // plain text; invalid UTF-8 (log lines) is mailed with each bad byte as U+FFFD
	Headers []Header // extra headers, e.g. X-Tayori-Version; names must not repeat the standard ones
	// Date is the Date header. Outbox.Enqueue fills it when zero.
	Date time.Time
	// ID is the Message-ID without angle brackets. Outbox.Enqueue fills it
	// when empty, so that every retry of a message carries the same ID.
	ID string
}

// Header is one extra header field of a Message.
type Header struct {
	Name  string
	Value string
}

// ErrInvalidMessage is wrapped by every error that says a Message cannot be
// mailed as it is (bad address, bad header name, ...). Retrying does not help.
var ErrInvalidMessage = errors.New("invalid message")

// Validate reports whether m can be mailed: From and every To must be an
// address with a domain (RFC 5322, optionally with a display name), there must
// be at least one recipient, header names must be RFC 5322 field names that
// neither repeat each other nor a header the mailer writes, and ID, when set,
// must look like a Message-ID. Every error wraps ErrInvalidMessage.
func (m *Message) Validate() error {
	var errs []error
	if _, err := parseAddress(m.From); err != nil {
		errs = append(errs, fmt.Errorf("from %q: %w", m.From, err))
	}
	if len(m.To) == 0 {
		errs = append(errs, errors.New("no recipient"))
	}
	for i, to := range m.To {
		if _, err := parseAddress(to); err != nil {
			errs = append(errs, fmt.Errorf("to[%d] %q: %w", i, to, err))
		}
	}
	seen := make(map[string]bool, len(m.Headers))
	for i, h := range m.Headers {
		key := strings.ToLower(h.Name)
		switch {
		case !validFieldName(h.Name):
			errs = append(errs, fmt.Errorf("header[%d] %q: not a valid field name", i, h.Name))
		case isReserved(h.Name):
			errs = append(errs, fmt.Errorf("header[%d] %q: set by the mailer, not by the caller", i, h.Name))
		case seen[key]:
			errs = append(errs, fmt.Errorf("header[%d] %q: repeated", i, h.Name))
		}
		seen[key] = true
	}
	if m.ID != "" {
		if err := validID(trimID(m.ID)); err != nil {
			errs = append(errs, fmt.Errorf("id %q: %w", m.ID, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	return nil
}

func parseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("contains a line break")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, err
	}
	return a, nil
}

func validFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// isReserved reports whether the mailer writes the header name itself, so
// that it may not appear in Message.Headers.
func isReserved(name string) bool {
	switch strings.ToLower(name) {
	case "bcc", "cc", "content-transfer-encoding", "content-type", "date", "from",
		"mime-version", "message-id", "sender", "subject", "to":
		return true
	}
	return false
}

func trimID(id string) string {
	return strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
}

func validID(id string) error {
	if !strings.Contains(id, "@") {
		return errors.New("no @")
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 127 || c == '<' || c == '>' {
			return fmt.Errorf("byte %#x not allowed", c)
		}
	}
	return nil
}

// withDefaults returns m itself when Date and ID are set, else a copy with
// them filled in from now.
func (m *Message) withDefaults(now time.Time) *Message {
	if !m.Date.IsZero() && m.ID != "" {
		return m
	}
	c := *m
	if c.Date.IsZero() {
		c.Date = now
	}
	if c.ID == "" {
		c.ID = newMessageID(now, c.From)
	}
	return &c
}

// newMessageID returns a globally unique Message-ID whose right part is the
// domain of the sender.
func newMessageID(now time.Time, from string) string {
	domain := "tayori.invalid"
	if a, err := mail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 && i+1 < len(a.Address) {
			domain = a.Address[i+1:]
		}
	}
	return strconv.FormatInt(now.UnixNano(), 36) + "." + strings.ToLower(rand.Text()) + "@" + domain
}

// validText returns b as a string with every byte that is not part of valid
// UTF-8 replaced by U+FFFD, one replacement per bad byte. Report bodies are
// made of log lines, and a log line may be Latin-1 or binary junk; the mail
// says charset=UTF-8, so it must be UTF-8.
func validText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var s strings.Builder
	s.Grow(len(b) + 16)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			s.WriteRune(utf8.RuneError)
		} else {
			s.Write(b[:n])
		}
		b = b[n:]
	}
	return s.String()
}

// headerText makes s safe and readable as an unstructured header value:
// valid UTF-8, control characters (line breaks included) replaced by spaces.
func headerText(s string) string {
	s = validText([]byte(s))
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// bodyText is the text that is mailed for body: valid UTF-8, ending with a
// line break unless empty.
func bodyText(body []byte) string {
	s := validText(body)
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

// newMsg builds the go-mail message for m, which must be valid and have Date
// and ID set. The body is text/plain; charset=UTF-8 in quoted-printable, so
// the mail is 7-bit clean and no line is longer than 76 characters however
// long the log lines are.
func newMsg(m *Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("%w: from %q: %w", ErrInvalidMessage, m.From, err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("%w: to %q: %w", ErrInvalidMessage, m.To, err)
	}
	msg.Subject(headerText(m.Subject))
	msg.SetDateWithValue(m.Date)
	msg.SetMessageIDWithValue(trimID(m.ID))
	for _, h := range m.Headers {
		msg.SetGenHeader(gomail.Header(h.Name), headerText(h.Value))
	}
	msg.SetBodyString(gomail.TypeTextPlain, bodyText(m.Body))
	return msg, nil
}

// render returns m as an RFC 5322 message with CRLF line endings, together
// with the envelope sender and recipients (bare addresses).
func render(m *Message) (raw []byte, from string, to []string, err error) {
	if err := m.Validate(); err != nil {
		return nil, "", nil, err
	}
	msg, err := newMsg(m.withDefaults(time.Now()))
	if err != nil {
		return nil, "", nil, err
	}
	var b bytes.Buffer
	if _, err := msg.WriteTo(&b); err != nil {
		return nil, "", nil, fmt.Errorf("render message: %w", err)
	}
	if from, err = msg.GetSender(false); err != nil {
		return nil, "", nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if to, err = msg.GetRecipients(); err != nil {
		return nil, "", nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	return b.Bytes(), stripBrackets(from), stripAll(to), nil
}

func stripBrackets(a string) string {
	return strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
}

func stripAll(as []string) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = stripBrackets(a)
	}
	return out
}
