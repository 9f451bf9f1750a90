package tailer

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// pollTimeout bounds how long a test waits for one poll; a poll of the small
// files here takes microseconds, so reaching it means the tailer is stuck.
const pollTimeout = 10 * time.Second

// harness runs a Tailer driven by a ManualWaker. Its out channel is
// unbuffered, so when the waker reports the tailer parked, every line of
// that poll has been received.
type harness struct {
	t      *testing.T
	w      *ManualWaker
	out    chan Line
	ctx    context.Context
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
	once   sync.Once
	last   map[string]Position // the last position seen per source
}

// startTailer starts a Tailer for cfg and returns once its first poll is
// over, with the lines of that poll.
func startTailer(t *testing.T, cfg Config, saved []Position) (*harness, []Line) {
	t.Helper()
	h := &harness{t: t, w: NewManualWaker(), out: make(chan Line), done: make(chan error, 1), logs: &syncBuffer{}, last: map[string]Position{}}
	cfg.Waker = h.w
	if cfg.Rescan == 0 {
		cfg.Rescan = time.Second
	}
	cfg.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tl, err := New(cfg, saved)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	go func() { h.done <- tl.Run(h.ctx, h.out) }()
	t.Cleanup(h.stop)
	return h, h.collect()
}

// step wakes the tailer for one poll and returns the lines it sent.
func (h *harness) step() []Line {
	h.t.Helper()
	if err := h.w.Wake(h.ctx); err != nil {
		h.t.Fatalf("wake: %v", err)
	}
	return h.collect()
}

// steps runs n polls and returns all their lines.
func (h *harness) steps(n int) []Line {
	h.t.Helper()
	var lines []Line
	for range n {
		lines = append(lines, h.step()...)
	}
	return lines
}

func (h *harness) collect() []Line {
	h.t.Helper()
	timeout := time.NewTimer(pollTimeout)
	defer timeout.Stop()
	var lines []Line
	for {
		select {
		case l := <-h.out:
			h.last[l.Source] = l.Pos
			lines = append(lines, l)
		case <-h.w.Parked():
			return lines
		case err := <-h.done:
			h.t.Fatalf("Run returned during a poll: %v", err)
		case <-timeout.C:
			h.t.Fatalf("no poll finished within %v; logs:\n%s", pollTimeout, h.logs)
		}
	}
}

// waitLines receives n lines sent outside of polls (FIFOs, stdin).
func (h *harness) waitLines(n int) []Line {
	h.t.Helper()
	timeout := time.NewTimer(pollTimeout)
	defer timeout.Stop()
	var lines []Line
	for len(lines) < n {
		select {
		case l := <-h.out:
			h.last[l.Source] = l.Pos
			lines = append(lines, l)
		case <-timeout.C:
			h.t.Fatalf("got %d of %d lines within %v: %q", len(lines), n, pollTimeout, texts(lines))
		}
	}
	return lines
}

// stop cancels Run and checks that it returns nil promptly.
func (h *harness) stop() {
	h.once.Do(func() {
		h.cancel()
		select {
		case err := <-h.done:
			if err != nil {
				h.t.Errorf("Run: %v", err)
			}
		case <-time.After(pollTimeout):
			h.t.Errorf("Run did not return within %v of cancel", pollTimeout)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func texts(lines []Line) []string {
	s := make([]string, len(lines))
	for i, l := range lines {
		s[i] = string(l.Text)
	}
	return s
}

// sourced renders lines as "base(source): text", to check which file each
// line came from.
func sourced(lines []Line) []string {
	s := make([]string, len(lines))
	for i, l := range lines {
		s[i] = filepath.Base(l.Source) + ": " + string(l.Text)
	}
	return s
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func checkTexts(t *testing.T, what string, got []Line, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if g := texts(got); !equal(g, want) {
		t.Errorf("%s: got lines %q, want %q", what, g, want)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f := openAppend(t, path)
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// openAppend opens path the way a logger does.
func openAppend(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mustWrite(t *testing.T, f *os.File, s string) {
	t.Helper()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, path string) {
	t.Helper()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
}

// copyFile copies from to a new file to, as logrotate's copytruncate does.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	_, ino := fileID(fi)
	return ino
}

func size(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// checkLogged checks that the log has one of the messages want.
func checkLogged(t *testing.T, h *harness, want ...string) {
	t.Helper()
	logs := h.logs.String()
	for _, w := range want {
		if strings.Contains(logs, w) {
			return
		}
	}
	t.Errorf("log lacks %q:\n%s", want, logs)
}
