package mailer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail") // created on first delivery
	d := Dir{Path: dir}
	for i := 0; i < 2; i++ { // the same message twice is one file
		if retry, err := d.Deliver(context.Background(), testMessage()); err != nil {
			t.Fatalf("Deliver: retry=%v %v", retry, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "20250102T020405Z-20250102030405.4242@example.org.eml" {
		t.Fatalf("directory holds %v", entries)
	}
	got := readFile(t, filepath.Join(dir, entries[0].Name()))
	if want := readFile(t, filepath.Join("testdata", "report.eml")); !bytes.Equal(got, want) {
		t.Errorf(".eml differs from testdata/report.eml:\n%q", got)
	}

	m := testMessage()
	m.ID = "../../etc/passwd@x"
	if got := EMLName(m); got != "20250102T020405Z-.._.._etc_passwd@x.eml" {
		t.Errorf("EMLName = %q", got)
	}

	m = testMessage()
	m.From = ""
	if retry, err := d.Deliver(context.Background(), m); retry || !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("invalid message: retry=%v %v", retry, err)
	}

	blocked := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if retry, err := (Dir{Path: blocked}).Deliver(context.Background(), testMessage()); !retry || err == nil {
		t.Errorf("directory is a file: retry=%v %v", retry, err)
	}
}

func TestWriter(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	m := testMessage()
	m.Body = append(m.Body, "loghost3 evil: \x1b]0;owned\x07\x1b[2J\r\nend\r"...)
	if retry, err := w.Deliver(context.Background(), m); err != nil {
		t.Fatalf("Deliver: retry=%v %v", retry, err)
	}
	golden(t, "report.txt", b.Bytes())
	if bytes.ContainsAny(b.Bytes(), "\x1b\x07\r") {
		t.Error("control characters reached the writer")
	}

	m.To = []string{"nobody"}
	if retry, err := w.Deliver(context.Background(), m); retry || !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("invalid message: retry=%v %v", retry, err)
	}
	broken := NewWriter(errWriter{})
	if retry, err := broken.Deliver(context.Background(), testMessage()); !retry || err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Errorf("write error: retry=%v %v", retry, err)
	}
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("write /dev/stdout: broken pipe") }
