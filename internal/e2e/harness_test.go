//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bounds of every wait. Each wait polls a condition and fails the test when its bound passes; no
// test sleeps for a fixed time to "let things happen" (TestStateSaveFailure watches a rate over a
// fixed window, which is not waiting for a condition).
const (
	pollEvery   = 20 * time.Millisecond
	waitLong    = 30 * time.Second // a condition that needs the daemon to read, batch and mail
	waitStart   = 10 * time.Second // READY=1 after start
	waitStopped = 30 * time.Second // exit after SIGTERM: the daemon tries to deliver for 15 s
)

// env is one test's world: a directory with the logs, the state and the configuration, a real SMTP
// server, the daemon (started, signalled, killed and restarted by the test) and the lines the test
// wrote, per queue, host and line.
type env struct {
	t      *testing.T
	dir    string
	logDir string
	state  string
	conf   string
	mail   *mailServer
	notify *notifyListener
	log    *syncBuffer // standard error of every run, each after a "=== run N" line
	stdout *syncBuffer

	proc     *proc
	runs     int
	runStart int // offset in log where the current run's output starts

	mu   sync.Mutex
	want tally
}

// proc is one run of the daemon.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // Wait's result, once done is closed
}

// newEnv prepares a test's directories and mail server. conf returns the configuration text; it is
// called with the env so that it can name e.logDir and e.mail.addr.
func newEnv(t *testing.T, conf func(e *env) string) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, dir: dir, logDir: filepath.Join(dir, "log"), state: filepath.Join(dir, "state"),
		conf: filepath.Join(dir, "tayori.toml"), log: &syncBuffer{}, stdout: &syncBuffer{}, want: tally{}}
	if err := os.Mkdir(e.logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	e.mail = startMailServer(t)
	e.notify = listenNotify(t)
	e.writeConfig(conf(e))
	t.Cleanup(func() {
		if e.proc != nil {
			_ = e.proc.cmd.Process.Kill()
			<-e.proc.done
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", tail(e.log.String(), 150))
			t.Logf("mails received: %d", e.mail.count())
		}
	})
	return e
}

func (e *env) writeConfig(text string) {
	e.t.Helper()
	if err := os.WriteFile(e.conf, []byte(text), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// baseConfig is the configuration of most tests: every *.log of logDir, rescanned every 100 ms;
// "kernel: Oops" lines to the critical queue (mailed at once, batched over 300 ms), "app: " lines
// to the digest queue on the given schedule; no limit on report lines; SMTP to the test's server.
func baseConfig(e *env, digest string) string {
	return fmt.Sprintf(`[settings]
hide_pid = true
limit = 0
max_lines_per_host = 0 # no "other lines" entry: every line is counted under its own text
subject = "tayori e2e"

[sources]
files = [%q]
rescan = "100ms"

[mail]
server = %q
tls = "none"
timeout = "5s"
batch = "300ms"

[queues.critical]
from = "tayori@e2e.test"
to = "root@e2e.test"
schedule = "now"

[queues.digest]
from = "tayori@e2e.test"
to = ["root@e2e.test", "noc@e2e.test"]
schedule = %q

[[rules]]
queue = "critical"
match = '^kernel: Oops'

[[rules]]
queue = "digest"
match = '^app: '
`, filepath.Join(e.logDir, "*.log"), e.mail.addr, digest)
}

// start starts the daemon and waits for its READY=1.
func (e *env) start() {
	e.t.Helper()
	if e.proc != nil {
		e.t.Fatal("start: the daemon is running")
	}
	e.runs++
	e.runStart = e.log.Len()
	fmt.Fprintf(e.log, "=== run %d\n", e.runs)
	cmd := exec.Command(tayoriBin, "run", "-c", e.conf, "--state-dir", e.state, "--debug")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+e.notify.path)
	cmd.Stdout, cmd.Stderr = e.stdout, e.log
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	e.proc = p
	e.notify.waitFor(e.t, "READY=1", p.done)
}

// signal sends sig to the running daemon.
func (e *env) signal(sig syscall.Signal) {
	e.t.Helper()
	if e.proc == nil {
		e.t.Fatalf("signal %v: the daemon is not running", sig)
	}
	if err := e.proc.cmd.Process.Signal(sig); err != nil {
		e.t.Fatalf("signal %v: %v", sig, err)
	}
}

// stop sends SIGTERM and waits for the daemon to exit with status 0.
func (e *env) stop() {
	e.t.Helper()
	e.signal(syscall.SIGTERM)
	e.waitExit()
}

// waitExit waits for the daemon, told to stop, to exit with status 0.
func (e *env) waitExit() {
	e.t.Helper()
	p := e.proc
	select {
	case <-p.done:
	case <-time.After(waitStopped):
		e.t.Fatalf("the daemon did not exit within %v", waitStopped)
	}
	e.proc = nil
	if p.err != nil {
		e.t.Fatalf("the daemon exited with %v, want status 0", p.err)
	}
}

// kill sends SIGKILL and waits for the daemon to be gone.
func (e *env) kill() {
	e.t.Helper()
	e.signal(syscall.SIGKILL)
	<-e.proc.done
	e.proc = nil
}

// runLog returns what the current (or last) run wrote to standard error.
func (e *env) runLog() string { return e.log.String()[e.runStart:] }

// waitLog waits until the current run has logged text.
func (e *env) waitLog(text string) {
	e.t.Helper()
	e.waitUntil("the daemon to log "+text, waitLong, func() bool { return strings.Contains(e.runLog(), text) })
}

// waitOpen waits until the daemon has every path open: the first poll of the tailer has seen the
// files (lines written from now on are read, whatever the daemon's start position rules are).
func (e *env) waitOpen(paths ...string) {
	e.t.Helper()
	fdDir := fmt.Sprintf("/proc/%d/fd", e.proc.cmd.Process.Pid)
	e.waitUntil(fmt.Sprintf("the daemon to open %v", paths), waitLong, func() bool {
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			return false
		}
		open := map[string]bool{}
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil {
				open[target] = true
			}
		}
		for _, p := range paths {
			if !open[p] {
				return false
			}
		}
		return true
	})
}

// waitUntil polls cond until it holds, failing the test after limit.
func (e *env) waitUntil(what string, limit time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if e.proc != nil {
			select {
			case <-e.proc.done:
				e.t.Fatalf("the daemon exited (%v) while waiting for %s", e.proc.err, what)
			default:
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(pollEvery)
	}
}

// expect records that n lines (host, line) were written that must be counted in queue.
func (e *env) expect(queue, host, line string, n int) {
	e.mu.Lock()
	e.want[key{queue, host, line}] += n
	e.mu.Unlock()
}

// wanted returns a copy of what the test wrote so far, restricted to the given queues (all if none).
func (e *env) wanted(queues ...string) tally {
	e.mu.Lock()
	defer e.mu.Unlock()
	w := tally{}
	for k, n := range e.want {
		if len(queues) == 0 || slices.Contains(queues, k.queue) {
			w[k] = n
		}
	}
	return w
}

// waitCounted waits until the reports received for the given queues (all if none) count as many
// lines as were written to them, which means every line written so far was read. On timeout it
// shows what is missing.
func (e *env) waitCounted(queues ...string) {
	e.t.Helper()
	want := e.wanted(queues...)
	deadline := time.Now().Add(waitLong)
	for {
		got, _, _ := tallyMails(e.mail.received(), queues...)
		if got.total() >= want.total() {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("after %v, the reports of %v count %d lines of the %d written:\n%s", waitLong, queues,
				got.total(), want.total(), strings.Join(want.diff(got, 30), "\n"))
		}
		if e.proc != nil {
			select {
			case <-e.proc.done:
				e.t.Fatalf("the daemon exited (%v) while %d lines were not counted yet", e.proc.err, want.total()-got.total())
			default:
			}
		}
		time.Sleep(pollEvery)
	}
}

// checkExact compares the reports received with the lines written: every line counted exactly
// once, per queue, host and masked line. dupsOK allows a message to be received twice (see
// tallyMails), which a SIGKILL between the server's acceptance and the outbox's removal causes.
func (e *env) checkExact(dupsOK bool) (lines, mails int) {
	e.t.Helper()
	mailsIn := e.mail.received()
	got, dups, err := tallyMails(mailsIn)
	if err != nil {
		e.t.Error(err)
	}
	if len(dups) > 0 {
		if !dupsOK {
			e.t.Errorf("messages received twice: %v", dups)
		} else {
			e.t.Logf("messages received twice (redelivered after SIGKILL): %v", dups)
		}
	}
	want := e.wanted()
	if d := want.diff(got, 30); len(d) > 0 {
		e.t.Errorf("reports differ from the lines written (%d written, %d counted):\n%s",
			want.total(), got.total(), strings.Join(d, "\n"))
	}
	return want.total(), len(mailsIn)
}

// syncBuffer is a bytes.Buffer safe for the daemon's output and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines]\n", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "")
}

// notifyListener is the systemd side of NOTIFY_SOCKET: a unixgram socket that records every
// notification the daemon sends.
type notifyListener struct {
	path string
	conn *net.UnixConn

	mu   sync.Mutex
	msgs []string
	next int // first message not yet consumed by waitFor
	got  chan struct{}
}

func listenNotify(t *testing.T) *notifyListener {
	t.Helper()
	// Socket paths are limited to 108 bytes: a short directory of its own.
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	n := &notifyListener{path: filepath.Join(dir, "notify"), got: make(chan struct{}, 1)}
	n.conn, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			k, err := n.conn.Read(buf)
			if err != nil {
				return // closed by the cleanup
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, string(buf[:k]))
			n.mu.Unlock()
			select {
			case n.got <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		n.conn.Close()
		<-done
		os.RemoveAll(dir)
	})
	return n
}

// waitFor consumes notifications until one has the line state ("READY=1"); it fails if exited
// is closed first or after waitStart.
func (n *notifyListener) waitFor(t *testing.T, state string, exited <-chan struct{}) []string {
	t.Helper()
	deadline := time.After(waitStart)
	var seen []string
	for {
		n.mu.Lock()
		for n.next < len(n.msgs) {
			m := n.msgs[n.next]
			n.next++
			seen = append(seen, m)
			if slices.Contains(strings.Split(m, "\n"), state) {
				n.mu.Unlock()
				return seen
			}
		}
		n.mu.Unlock()
		select {
		case <-n.got:
		case <-exited:
			// A notification sent just before exiting may still be on its way to the reader.
			exited, deadline = nil, time.After(time.Second)
		case <-deadline:
			t.Fatalf("no %s notification (notified: %q)", state, seen)
		}
	}
}
