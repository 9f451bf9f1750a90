package mailer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Dir delivers each message as an .eml file into a directory, for demos and
// tests. The file holds exactly the bytes the SMTP deliverer would send; it is
// written atomically and named after the message's date and Message-ID, so a
// message delivered twice is one file.
//
// Classification: invalid message → final; any file system error → retry.
type Dir struct {
	Path string // created (0755) if missing
}

// Deliver writes m to Path/<date>-<Message-ID>.eml.
func (d Dir) Deliver(_ context.Context, m *Message) (retry bool, err error) {
	if err := m.Validate(); err != nil {
		return false, fmt.Errorf("dir: %w", err)
	}
	m = m.withDefaults(time.Now())
	raw, _, _, err := render(m)
	if err != nil {
		return false, fmt.Errorf("dir: %w", err)
	}
	if err := os.MkdirAll(d.Path, 0o755); err != nil {
		return true, fmt.Errorf("dir: %w", err)
	}
	if err := writeFileAtomic(d.Path, EMLName(m), raw); err != nil {
		return true, fmt.Errorf("dir: %w", err)
	}
	return false, nil
}

// EMLName is the name of the file Dir writes for m, whose Date and ID are set:
// UTC date, a dash, the Message-ID with unusual characters replaced by "_",
// ".eml".
func EMLName(m *Message) string {
	id := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '.', r == '-', r == '_', r == '+', r == '@':
			return r
		}
		return '_'
	}, trimID(m.ID))
	return m.Date.UTC().Format("20060102T150405Z") + "-" + id + ".eml"
}

// Writer delivers messages to an io.Writer, typically standard output, in a
// readable form: Date, From, To, Subject, Message-ID and the extra headers, a
// blank line, the body as UTF-8 text with control characters other than tab
// and line feed shown as U+FFFD (so that log lines cannot send escape
// sequences to a terminal), and a blank line.
//
// Classification: invalid message → final; write error → retry.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter returns a Writer deliverer that writes to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w}
}

// Deliver writes m to the writer in one Write call.
func (w *Writer) Deliver(_ context.Context, m *Message) (retry bool, err error) {
	if err := m.Validate(); err != nil {
		return false, fmt.Errorf("writer: %w", err)
	}
	m = m.withDefaults(time.Now())
	var b bytes.Buffer
	fmt.Fprintf(&b, "Date: %s\n", m.Date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: %s\n", headerText(m.From))
	fmt.Fprintf(&b, "To: %s\n", headerText(strings.Join(m.To, ", ")))
	fmt.Fprintf(&b, "Subject: %s\n", headerText(m.Subject))
	fmt.Fprintf(&b, "Message-ID: <%s>\n", trimID(m.ID))
	for _, h := range m.Headers {
		fmt.Fprintf(&b, "%s: %s\n", h.Name, headerText(h.Value))
	}
	b.WriteString("\n")
	b.WriteString(terminalText(bodyText(m.Body)))
	b.WriteString("\n")

	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.w.Write(b.Bytes()); err != nil {
		return true, fmt.Errorf("writer: %w", err)
	}
	return false, nil
}

// terminalText drops the CR of CRLF line ends and replaces every other
// control character except tab and line feed with U+FFFD.
func terminalText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return unicode.ReplacementChar
		}
		return r
	}, s)
}
