package mailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// script writes an executable shell script that records its arguments (one
// per line) in dir/argv and its standard input in dir/stdin, then runs tail.
func script(t *testing.T, tail string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "prog")
	text := fmt.Sprintf("#!/bin/sh\nfor a in \"$@\"; do printf '%%s\\n' \"$a\"; done > '%s/argv'\ncat > '%s/stdin'\n%s\n",
		dir, dir, tail)
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSendmail(t *testing.T) {
	tests := []struct {
		name  string
		tail  string
		retry bool
		want  string // substring of the error; "" for success
	}{
		{"accepted", "exit 0", false, ""},
		{"EX_TEMPFAIL", "echo 'queue busy' >&2; exit 75", true, "exit status 75: queue busy"},
		{"EX_IOERR", "exit 74", true, "exit status 74"},
		{"EX_OSERR", "exit 71", true, "exit status 71"},
		{"EX_NOUSER", "echo 'root... User unknown' >&2; exit 67", false, "exit status 67: root... User unknown"},
		{"EX_USAGE", "exit 64", false, "exit status 64"},
		{"killed", "kill -KILL $$", true, "killed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, dir := script(t, tt.tail)
			retry, err := Sendmail{Path: path}.Deliver(context.Background(), testMessage())
			if tt.want == "" && err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if tt.want != "" && (err == nil || retry != tt.retry || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Deliver: retry=%v %v; want retry=%v and %q", retry, err, tt.retry, tt.want)
			}
			argv := "-i\n-oi\n-f\ntayori@example.org\n--\nroot@example.org\nops@example.net\n"
			if got := readFile(t, filepath.Join(dir, "argv")); string(got) != argv {
				t.Errorf("argv:\n%s\nwant:\n%s", got, argv)
			}
			want := bytes.ReplaceAll(readFile(t, filepath.Join("testdata", "report.eml")), []byte("\r\n"), []byte("\n"))
			if got := readFile(t, filepath.Join(dir, "stdin")); !bytes.Equal(got, want) {
				t.Errorf("stdin:\n%q\nwant:\n%q", got, want)
			}
		})
	}
	t.Run("missing program", func(t *testing.T) {
		retry, err := Sendmail{Path: filepath.Join(t.TempDir(), "no-sendmail")}.Deliver(context.Background(), testMessage())
		if !retry || err == nil || !strings.Contains(err.Error(), "no such file") {
			t.Errorf("Deliver: retry=%v %v", retry, err)
		}
	})
	t.Run("invalid message", func(t *testing.T) {
		path, dir := script(t, "exit 0")
		m := testMessage()
		m.From = "-oQ/tmp"
		retry, err := Sendmail{Path: path}.Deliver(context.Background(), m)
		if retry || !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("Deliver: retry=%v %v", retry, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "argv")); !os.IsNotExist(err) {
			t.Error("sendmail ran for an invalid message")
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		path, _ := script(t, "exec sleep 30")
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		retry, err := Sendmail{Path: path}.Deliver(ctx, testMessage())
		if !retry || err == nil {
			t.Errorf("Deliver: retry=%v %v", retry, err)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("cancelled Deliver took %v", el)
		}
	})
}

func TestProgramGetsTheBodyByteForByte(t *testing.T) {
	path, dir := script(t, "exit 0")
	m := testMessage()
	m.Body = append([]byte("host,log,hits\nweb1,\xff\x00,3\n"), bytes.Repeat([]byte("z"), 1<<20)...)
	p := Program{Path: path, Args: []string{"-t", "a b", ""}}
	if _, err := p.Deliver(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "argv")); string(got) != "-t\na b\n\n" {
		t.Errorf("argv %q", got)
	}
	if got := readFile(t, filepath.Join(dir, "stdin")); !bytes.Equal(got, m.Body) {
		t.Errorf("stdin differs from the body (%d vs %d bytes)", len(got), len(m.Body))
	}

	path, _ = script(t, "exit 75")
	if retry, err := (Program{Path: path}).Deliver(context.Background(), m); !retry || err == nil {
		t.Errorf("exit 75: retry=%v %v", retry, err)
	}
	if retry, err := (Program{}).Deliver(context.Background(), m); retry || err == nil {
		t.Errorf("no path: retry=%v %v", retry, err)
	}
}

func TestFilter(t *testing.T) {
	body := []byte("sshd: Failed password for root\nbad \xff byte\n")
	t.Run("output replaces the body", func(t *testing.T) {
		out, err := Filter(context.Background(), "/bin/sh", []string{"-c", "tr a-z A-Z; echo '-- signed'"}, body)
		if err != nil {
			t.Fatal(err)
		}
		if want := "SSHD: FAILED PASSWORD FOR ROOT\nBAD \xff BYTE\n-- signed\n"; string(out) != want {
			t.Errorf("output %q, want %q", out, want)
		}
	})
	t.Run("failure quotes stderr", func(t *testing.T) {
		out, err := Filter(context.Background(), "/bin/sh", []string{"-c", "cat >/dev/null; echo 'gpg: no secret key' >&2; exit 2"}, body)
		if out != nil || err == nil || !strings.Contains(err.Error(), "exit status 2: gpg: no secret key") {
			t.Errorf("Filter: %q, %v", out, err)
		}
	})
	t.Run("output too large", func(t *testing.T) {
		out, err := Filter(context.Background(), "/bin/sh",
			[]string{"-c", fmt.Sprintf("head -c %d /dev/zero", MaxFilterOutput+1)}, body)
		if out != nil || err == nil || !strings.Contains(err.Error(), "more than") {
			t.Errorf("Filter: %d bytes, %v", len(out), err)
		}
	})
	t.Run("missing program", func(t *testing.T) {
		if _, err := Filter(context.Background(), filepath.Join(t.TempDir(), "nope"), nil, body); err == nil {
			t.Error("Filter of a missing program succeeded")
		}
	})
}

// TestOutboxFeedsProgram: a csv report has no addresses; an outbox in front
// of a Program takes it all the same and delivers the body.
func TestOutboxFeedsProgram(t *testing.T) {
	path, dir := script(t, "exit 0")
	o := openOutbox(t, t.TempDir(), Program{Path: path, Args: []string{"-graph"}}, newFakeClock(t0))
	csv := []byte("web1,/var/log/syslog,3\nweb2,/var/log/auth.log,17\n")
	if err := o.Enqueue(&Message{Body: csv}); err != nil {
		t.Fatal(err)
	}
	if err := o.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "stdin")); !bytes.Equal(got, csv) {
		t.Errorf("program got %q", got)
	}
	if got := readFile(t, filepath.Join(dir, "argv")); string(got) != "-graph\n" {
		t.Errorf("argv %q", got)
	}
}
