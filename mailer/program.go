package mailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// DefaultSendmailPath is the sendmail used when Sendmail.Path is empty.
const DefaultSendmailPath = "/usr/sbin/sendmail"

// Exit codes of sendmail and of programs (sysexits.h) that mean "try again
// later". Every other non-zero exit is final.
const (
	exOSErr    = 71 // EX_OSERR: fork failed, out of memory
	exIOErr    = 74 // EX_IOERR: I/O error, e.g. the queue disk
	exTempFail = 75 // EX_TEMPFAIL: the MTA's own "try again later"
)

// waitDelay bounds how long a finished or killed program may keep its
// output pipes open through a child of its own.
const waitDelay = 5 * time.Second

// diagLimit is how much of a program's output is kept for error messages.
const diagLimit = 2048

// Sendmail delivers messages by piping them to the local MTA as
// `sendmail -i -oi -f FROM -- TO...` (RFC 5322, LF line endings).
//
// Classification of failures:
//
//	exit 0                                          accepted
//	exit 75 EX_TEMPFAIL, 74 EX_IOERR, 71 EX_OSERR   retry
//	any other non-zero exit (67 EX_NOUSER, ...)     final
//	killed by a signal, timeout, ctx cancelled      retry
//	cannot start the program (missing, not exec)    retry  (fix the setup, the message is fine)
//	message invalid (bad address, header)           final
type Sendmail struct {
	Path string // DefaultSendmailPath if empty
}

// Deliver pipes m to sendmail.
func (s Sendmail) Deliver(ctx context.Context, m *Message) (retry bool, err error) {
	raw, from, to, err := render(m)
	if err != nil {
		return false, fmt.Errorf("sendmail: %w", err)
	}
	path := s.Path
	if path == "" {
		path = DefaultSendmailPath
	}
	args := append([]string{"-i", "-oi", "-f", from, "--"}, to...)
	raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	if retry, err := runProgram(ctx, path, args, raw, nil); err != nil {
		return retry, fmt.Errorf("sendmail: %w", err)
	}
	return false, nil
}

// Program delivers the body of each message, and nothing else, to the
// standard input of a program: tenshi's csv feature. Its exit status is
// classified like Sendmail's. From, To and headers are not used and not
// required (see Check).
type Program struct {
	Path string
	Args []string
}

// Check accepts every message: a program needs neither addresses nor
// headers, so an Outbox that feeds a Program does not ask for them.
func (p Program) Check(*Message) error { return nil }

// Deliver pipes m.Body, byte for byte, to the program.
func (p Program) Deliver(ctx context.Context, m *Message) (retry bool, err error) {
	if retry, err := runProgram(ctx, p.Path, p.Args, m.Body, nil); err != nil {
		return retry, fmt.Errorf("program: %w", err)
	}
	return false, nil
}

// MaxFilterOutput is the most a Filter program may write.
const MaxFilterOutput = 64 << 20

// Filter pipes body through the program path with args and returns what it
// wrote to standard output: tenshi's filter feature, whose output is mailed
// instead of the report. A non-zero exit, a signal, ctx ending or more than
// MaxFilterOutput bytes of output is an error that quotes the start of the
// program's standard error.
func Filter(ctx context.Context, path string, args []string, body []byte) ([]byte, error) {
	out := &limitedBuffer{max: MaxFilterOutput, strict: true}
	if _, err := runProgram(ctx, path, args, body, out); err != nil {
		return nil, fmt.Errorf("filter: %w", err)
	}
	return out.b.Bytes(), nil
}

// runProgram runs path with args and stdin. Its standard output goes to
// stdout, or, if nil, into the diagnostics along with standard error.
func runProgram(ctx context.Context, path string, args []string, stdin []byte, stdout *limitedBuffer) (retry bool, err error) {
	if path == "" {
		return false, errors.New("no program path")
	}
	diag := &limitedBuffer{max: diagLimit}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Stderr = diag
	cmd.Stdout = diag
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.WaitDelay = waitDelay
	err = cmd.Run()
	if err == nil {
		return false, nil
	}
	detail := strings.TrimSpace(validText(diag.b.Bytes()))
	if detail != "" {
		detail = ": " + detail
	}
	if stdout != nil && stdout.overflow {
		return false, fmt.Errorf("%s: more than %d bytes of output%s", path, stdout.max, detail)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return true, fmt.Errorf("%s: %w%s", path, err, detail)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return true, fmt.Errorf("%s: killed by %v%s", path, ws.Signal(), detail)
	}
	code := ee.ExitCode()
	switch code {
	case exOSErr, exIOErr, exTempFail:
		retry = true
	}
	return retry, fmt.Errorf("%s: exit status %d%s", path, code, detail)
}

// limitedBuffer keeps the first max bytes written to it and swallows the
// rest, or, if strict, fails the write that goes beyond max.
type limitedBuffer struct {
	b        bytes.Buffer
	max      int
	strict   bool
	overflow bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	room := l.max - l.b.Len()
	if len(p) > room {
		l.overflow = true
		l.b.Write(p[:max(room, 0)])
		if l.strict {
			return 0, errors.New("output too large")
		}
		return len(p), nil
	}
	return l.b.Write(p)
}
