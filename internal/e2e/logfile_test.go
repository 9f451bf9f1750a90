//go:build linux

package e2e

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// stamp is the syslog time stamp of every line the tests write; tayori reads the host after it.
const stamp = "Jan  2 15:04:05"

// logFile is a log written the way syslogd writes one: an open descriptor in append mode, whole
// lines, reopened when told (logrotate's postrotate). Every line written is recorded in the env's
// expectations.
type logFile struct {
	e    *env
	path string
	host string
	tag  string // makes this file's lines unique among the test's

	mu      sync.Mutex // held while writing; rotations that must be atomic hold it too
	f       *os.File
	seq     int
	written atomic.Int64
}

// newLog creates (or opens) logDir/name, whose lines come from host.
func (e *env) newLog(name, host string) *logFile {
	e.t.Helper()
	l := &logFile{e: e, path: e.logDir + "/" + name, host: host, tag: strings.TrimSuffix(name, ".log")}
	l.reopen()
	e.t.Cleanup(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.f != nil {
			l.f.Close()
		}
	})
	return l
}

// reopen closes the descriptor and opens the path again, creating the file if needed.
func (l *logFile) reopen() {
	l.e.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
	}
	var err error
	if l.f, err = os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
		l.e.t.Fatal(err)
	}
}

// digest writes n unique lines that go to the digest queue: "app: TAG WORD 000042". Unique lines
// make a line counted twice show as a count of 2. It is safe to call from any goroutine (it
// reports write errors with Errorf).
func (l *logFile) digest(n int, word string) { l.write(n, word, true) }

// preexisting writes n digest lines that must not be reported: they are in the file before the
// daemon first starts, and a first start begins at the end of the files.
func (l *logFile) preexisting(n int) { l.write(n, "preexisting", false) }

func (l *logFile) write(n int, word string, counted bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	texts := make([]string, 0, n)
	for range n {
		l.seq++
		text := fmt.Sprintf("app: %s %s %06d", l.tag, word, l.seq)
		texts = append(texts, text)
		fmt.Fprintf(&b, "%s %s %s\n", stamp, l.host, text)
	}
	if _, err := l.f.WriteString(b.String()); err != nil {
		l.e.t.Errorf("write %s: %v", l.path, err)
		return
	}
	for _, text := range texts {
		if counted {
			l.e.expect("digest", l.host, text, 1)
		}
	}
	l.written.Add(int64(n))
}

// line writes one line with the given text; queue is where it must be counted ("" for nowhere),
// as masked it must read masked ("" when it is text itself).
func (l *logFile) line(queue, text, masked string) {
	l.e.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := fmt.Fprintf(l.f, "%s %s %s\n", stamp, l.host, text); err != nil {
		l.e.t.Fatalf("write %s: %v", l.path, err)
	}
	if masked == "" {
		masked = text
	}
	if queue != "" {
		l.e.expect(queue, l.host, masked, 1)
	}
	l.written.Add(1)
}

// steady writes digest lines in small bursts, about 2500 a second, until the returned function is
// called; that function returns once the writer has stopped.
func (l *logFile) steady(word string) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			default:
			}
			l.digest(5, word)
			time.Sleep(2 * time.Millisecond) // pacing of the load, not a wait for a condition
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// waitWritten waits until at least n more lines were written (by a steady writer) than before.
func (l *logFile) waitWritten(n int) {
	l.e.t.Helper()
	target := l.written.Load() + int64(n)
	l.e.waitUntil(fmt.Sprintf("%d more lines in %s", n, l.path), waitLong, func() bool {
		return l.written.Load() >= target
	})
}

// shift renames path.N to path.N+1, from the oldest down, as logrotate does before rotating.
func (l *logFile) shift() {
	l.e.t.Helper()
	n := 1
	for exists(fmt.Sprintf("%s.%d", l.path, n)) {
		n++
	}
	for ; n > 1; n-- {
		mustRename(l.e, fmt.Sprintf("%s.%d", l.path, n-1), fmt.Sprintf("%s.%d", l.path, n))
	}
}

// rotateCreate rotates as logrotate's default "create" does while the writer keeps writing: the
// file is renamed to path.1, an empty file is created at path, and the writer goes on writing to
// the renamed file until postrotate makes it reopen the path (after gap more lines, when a steady
// writer runs; at once when gap is 0).
func (l *logFile) rotateCreate(gap int) {
	l.e.t.Helper()
	l.shift()
	mustRename(l.e, l.path, l.path+".1")
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		l.e.t.Fatal(err)
	}
	f.Close()
	if gap > 0 {
		l.waitWritten(gap)
	}
	l.reopen()
}

// copyTruncate rotates as logrotate's "copytruncate" does, except that no line is written between
// the copy and the truncation (logrotate loses those; tayori cannot read what is not anywhere).
func (l *logFile) copyTruncate() {
	l.e.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.shift()
	data, err := os.ReadFile(l.path)
	if err != nil {
		l.e.t.Fatal(err)
	}
	if err := os.WriteFile(l.path+".1", data, 0o644); err != nil {
		l.e.t.Fatal(err)
	}
	if err := l.f.Truncate(0); err != nil {
		l.e.t.Fatal(err)
	}
}

// truncate empties the file in place (": > file"); lines not read yet are lost, so callers make
// sure every line was counted first.
func (l *logFile) truncate() {
	l.e.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.f.Truncate(0); err != nil {
		l.e.t.Fatal(err)
	}
}

// deleteRecreate removes the file while the writer keeps writing to it, then, gap lines later (for
// a steady writer), makes the writer create it again.
func (l *logFile) deleteRecreate(gap int) {
	l.e.t.Helper()
	if err := os.Remove(l.path); err != nil {
		l.e.t.Fatal(err)
	}
	if gap > 0 {
		l.waitWritten(gap)
	}
	l.reopen()
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func mustRename(e *env, from, to string) {
	e.t.Helper()
	if err := os.Rename(from, to); err != nil {
		e.t.Fatal(err)
	}
}
