package mailer

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"
)

func TestRenderGolden(t *testing.T) {
	raw, from, to, err := render(testMessage())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "report.eml", raw)
	if from != "tayori@example.org" {
		t.Errorf("envelope from = %q", from)
	}
	if got := strings.Join(to, " "); got != "root@example.org ops@example.net" {
		t.Errorf("envelope to = %q", got)
	}
}

func TestRenderIsParseableAndDecodesToBody(t *testing.T) {
	m := testMessage()
	raw, _, _, err := render(m)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"Subject":               "tayori report [critical]",
		"Message-Id":            "<20250102030405.4242@example.org>",
		"Date":                  "Thu, 02 Jan 2025 03:04:05 +0100",
		"From":                  `"tayori" <tayori@example.org>`,
		"X-Tayori-Version":      "0.1.0",
		"X-Tayori-Hostname":     "collector.example.org",
		"X-Tayori-Report-Start": "2025-01-02T02:00:00+01:00",
		"Content-Type":          "text/plain; charset=UTF-8",
		"Mime-Version":          "1.0",
	} {
		if got := pm.Header.Get(name); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	body, err := io.ReadAll(quotedprintable.NewReader(pm.Body))
	if err != nil {
		t.Fatal(err)
	}
	want := "loghost1 kernel: Out of memory: Killed process 4242 (java)\r\n" +
		"loghost2 sshd[77]: Invalid user \uFFFD\uFFFDadmin from 192.0.2.7 = bad\r\n"
	if string(body) != want {
		t.Errorf("decoded body:\n got %q\nwant %q", body, want)
	}
}

// TestRenderHostileInput feeds what log files really contain: megabyte
// lines, every byte value, NULs, header values with line breaks.
func TestRenderHostileInput(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	// Expected decoded bodies are spelled out independently of the code:
	// invalid bytes become U+FFFD, line ends CRLF (quoted-printable turns a
	// bare CR into a line break too), a final line break is added.
	every := func() string {
		var s strings.Builder
		for range 4 {
			for _, c := range all {
				switch {
				case c == '\n' || c == '\r':
					s.WriteString("\r\n")
				case c >= 0x80:
					s.WriteString("\uFFFD")
				default:
					s.WriteByte(c)
				}
			}
		}
		return s.String() + "\r\n"
	}()
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"1MB line", bytes.Repeat([]byte("0123456789abcdef"), 1<<16), strings.Repeat("0123456789abcdef", 1<<16) + "\r\n"},
		{"every byte", bytes.Repeat(all, 4), every},
		{"only invalid", []byte{0xff, 0xfe, 0xc3}, "\uFFFD\uFFFD\uFFFD\r\n"},
		{"truncated rune", []byte("caf\xc3"), "caf\uFFFD\r\n"},
		{"NUL and dots", []byte("a\x00b\n.\n..\n."), "a\x00b\r\n.\r\n..\r\n.\r\n"},
		{"CRLF kept", []byte("a\r\nb\r\n"), "a\r\nb\r\n"},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMessage()
			m.Body = tt.body
			m.Subject = "evil\r\nBcc: victim@example.com"
			m.Headers = []Header{{Name: "X-Tayori-Hostname", Value: "h\nX-Injected: 1\xff"}}
			raw, _, _, err := render(m)
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range bytes.Split(raw, []byte("\r\n")) {
				if len(line) > 78 {
					t.Fatalf("line %d is %d bytes long", i, len(line))
				}
				for _, c := range line {
					if c >= 0x80 || (c < ' ' && c != '\t') {
						t.Fatalf("line %d has byte %#x: not 7-bit clean", i, c)
					}
				}
			}
			pm, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if pm.Header.Get("Bcc") != "" || pm.Header.Get("X-Injected") != "" {
				t.Errorf("header injection: %v", pm.Header)
			}
			if got := pm.Header.Get("Subject"); got != "evil  Bcc: victim@example.com" {
				t.Errorf("subject %q", got)
			}
			if got, err := new(mime.WordDecoder).DecodeHeader(pm.Header.Get("X-Tayori-Hostname")); err != nil || got != "h X-Injected: 1\uFFFD" {
				t.Errorf("X-Tayori-Hostname %q, %v", got, err)
			}
			body, err := io.ReadAll(quotedprintable.NewReader(pm.Body))
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tt.want {
				t.Errorf("decoded body differs:\n got %q\nwant %q", trunc(body), trunc([]byte(tt.want)))
			}
		})
	}
}

func trunc(b []byte) []byte {
	if len(b) > 300 {
		return b[:300]
	}
	return b
}

func TestValidText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain ascii", "plain ascii"},
		{"grüß 日本", "grüß 日本"},
		{"\xff", "\uFFFD"},
		{"a\xff\xfeb", "a\uFFFD\uFFFDb"},
		{"caf\xc3", "caf\uFFFD"},
		{"\xe6\x97", "\uFFFD\uFFFD"},
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // surrogate half
		{"", ""},
	}
	for _, tt := range tests {
		if got := validText([]byte(tt.in)); got != tt.want {
			t.Errorf("validText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Message)
		want   string // substring of the error; "" for valid
	}{
		{"valid", func(*Message) {}, ""},
		{"bare from", func(m *Message) { m.From = "tayori@example.org" }, ""},
		{"id with brackets", func(m *Message) { m.ID = "<a.b@c>" }, ""},
		{"empty id", func(m *Message) { m.ID = "" }, ""},
		{"no from", func(m *Message) { m.From = "" }, `from ""`},
		{"local from", func(m *Message) { m.From = "root" }, `from "root"`},
		{"from injection", func(m *Message) { m.From = "a@b\r\nBcc: c@d" }, "line break"},
		{"no to", func(m *Message) { m.To = nil }, "no recipient"},
		{"bad to", func(m *Message) { m.To = []string{"ok@example.org", "not an address"} }, `to[1] "not an address"`},
		{"header with colon", func(m *Message) { m.Headers = []Header{{Name: "X-A:b"}} }, "not a valid field name"},
		{"header with space", func(m *Message) { m.Headers = []Header{{Name: "X A"}} }, "not a valid field name"},
		{"empty header name", func(m *Message) { m.Headers = []Header{{Name: ""}} }, "not a valid field name"},
		{"reserved header", func(m *Message) { m.Headers = []Header{{Name: "subject", Value: "x"}} }, "set by the mailer"},
		{"repeated header", func(m *Message) {
			m.Headers = []Header{{Name: "X-A", Value: "1"}, {Name: "x-a", Value: "2"}}
		}, "repeated"},
		{"id without @", func(m *Message) { m.ID = "abc" }, "no @"},
		{"id with space", func(m *Message) { m.ID = "a b@c" }, "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMessage()
			tt.modify(m)
			err := m.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("error %v does not wrap ErrInvalidMessage", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	m := &Message{From: "x", To: []string{"y"}, Headers: []Header{{Name: "Date"}}}
	err := m.Validate()
	for _, want := range []string{`from "x"`, `to[0] "y"`, `header[0] "Date"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	m := testMessage()
	if got := m.withDefaults(now); got != m {
		t.Error("a complete message was copied")
	}
	m.ID, m.Date = "", time.Time{}
	a, b := m.withDefaults(now), m.withDefaults(now)
	if m.ID != "" || !m.Date.IsZero() {
		t.Error("withDefaults modified its receiver")
	}
	if !a.Date.Equal(now) {
		t.Errorf("date %v, want %v", a.Date, now)
	}
	if a.ID == b.ID || !strings.HasSuffix(a.ID, "@example.org") || validID(a.ID) != nil {
		t.Errorf("generated IDs %q and %q", a.ID, b.ID)
	}
}
