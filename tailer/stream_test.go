package tailer

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
}

// openWriter opens a FIFO for writing; that does not block while the
// tailer holds it open.
func openWriter(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestFIFO: writers come and go; the FIFO goes on. A FIFO that appears
// later is read too, and one replaced by another is read to its end.
func TestFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo, late := filepath.Join(dir, "fifo"), filepath.Join(dir, "late")
	mkfifo(t, fifo)
	h, _ := startTailer(t, Config{Patterns: []string{fifo, late}}, nil)

	w := openWriter(t, fifo)
	mustWrite(t, w, "f1\nf2\n")
	w.Close() // a writer closing does not end the source
	w = openWriter(t, fifo)
	mustWrite(t, w, "f3\nf")
	mustWrite(t, w, "4\n")
	w.Close()
	got := h.waitLines(4)
	checkTexts(t, "fifo", got, "f1", "f2", "f3", "f4")
	for i, l := range got {
		if want := int64(3 * (i + 1)); l.Pos.Offset != want || l.Source != fifo {
			t.Errorf("line %q: source %s offset %d, want %s %d", l.Text, l.Source, l.Pos.Offset, fifo, want)
		}
	}

	mkfifo(t, late)
	h.step()
	w = openWriter(t, late)
	defer w.Close()
	mustWrite(t, w, "late1\n")
	checkTexts(t, "late fifo", h.waitLines(1), "late1")

	// Replace the first FIFO while its old writer still has data in it.
	old := openWriter(t, fifo)
	defer old.Close()
	remove(t, fifo)
	mkfifo(t, fifo)
	mustWrite(t, old, "old1\nold2 incomplete")
	got = h.step() // notices the new FIFO, retires the old one
	got = append(got, h.waitLines(2-len(got))...)
	checkTexts(t, "replaced fifo", got, "old1", "old2 incomplete")
	checkLogged(t, h, "stopped reading replaced FIFO")
	w2 := openWriter(t, fifo)
	defer w2.Close()
	mustWrite(t, w2, "new1\n")
	checkTexts(t, "new fifo", h.waitLines(1), "new1")
	// Run returns although the FIFO readers are blocked in read.
	h.stop()
}

// TestStdin reads "-" from a pipe: lines arrive as written, the final
// incomplete line when the writer closes, and Run can stop while a read is
// blocked.
func TestStdin(t *testing.T) {
	t.Run("to end", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		h, _ := startTailer(t, Config{Patterns: []string{"-"}, Stdin: r}, nil)
		mustWrite(t, w, "s1\ns2\nlast")
		got := h.waitLines(2)
		checkTexts(t, "stdin", got, "s1", "s2")
		if got[1].Source != "-" || got[1].Pos.Path != "-" || got[1].Pos.Offset != 6 {
			t.Errorf("line %q: source %q position %+v", got[1].Text, got[1].Source, got[1].Pos)
		}
		w.Close()
		checkTexts(t, "stdin closed", h.waitLines(1), "last")
		checkLogged(t, h, "source ended")
	})
	t.Run("stopped while reading", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close()
		h, _ := startTailer(t, Config{Patterns: []string{"-"}, Stdin: r}, nil)
		mustWrite(t, w, "s1\n")
		checkTexts(t, "stdin", h.waitLines(1), "s1")
		h.stop() // fails the test if Run does not return
		// The caller's descriptor still works.
		mustWrite(t, w, "after\n")
		buf := make([]byte, 16)
		n, err := r.Read(buf)
		if err != nil || string(buf[:n]) != "after\n" {
			t.Errorf("reading stdin after Run: %q, %v", buf[:n], err)
		}
	})
}

// TestFIFOSavedPosition: a position saved for a FIFO (as a caller saves
// every line's) is ignored without complaint at the next start.
func TestFIFOSavedPosition(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	mkfifo(t, fifo)
	cfg := Config{Patterns: []string{fifo}}
	h, _ := startTailer(t, cfg, nil)
	w := openWriter(t, fifo)
	defer w.Close()
	mustWrite(t, w, "f1\n")
	h.waitLines(1)
	h.stop()
	h2, _ := startTailer(t, cfg, []Position{h.last[fifo]})
	mustWrite(t, w, "f2\n")
	checkTexts(t, "after restart", h2.waitLines(1), "f2")
	if logs := h2.logs.String(); strings.Contains(logs, "WARN") {
		t.Errorf("warnings at restart:\n%s", logs)
	}
}
