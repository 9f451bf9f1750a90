//go:build linux

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// The tests of this file drive the daemon with its signals: HUP (reload), TERM (flush and exit),
// USR2 (flush), and check what systemd is told.

// newQueueConfig is baseConfig with one more queue, "db" (mailed at once), and a rule sending
// "db: " lines to it.
func newQueueConfig(e *env, digest string) string {
	return baseConfig(e, digest) + `
[queues.db]
from = "tayori@e2e.test"
to = "dba@e2e.test"
schedule = "now"

[[rules]]
queue = "db"
match = '^db: slow query on (\S+)'
`
}

// TestReloadWithBrokenConfig reloads a configuration with errors, which is refused: the daemon
// goes on with the old one and still mails. Then it reloads a good configuration with a new queue
// and rule, which take effect; the lines queued before both reloads are all in the next digest.
func TestReloadWithBrokenConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string { return baseConfig(e, "0 0 1 1 *") }) // digest only on USR2
	a := e.newLog("web.log", "web")
	e.start()
	e.waitOpen(a.path)
	a.digest(100, "before-reloads")
	a.line("critical", "kernel: Oops: canary 1", "")
	e.waitCounted("critical")

	good := newQueueConfig(e, "0 0 1 1 *")
	e.writeConfig(strings.Replace(good, `'^db: slow query on (\S+)'`, `'^db: slow query on (\S+'`, 1))
	e.signal(syscall.SIGHUP)
	e.waitLog("still running with the previous configuration")
	if !strings.Contains(e.runLog(), "reload refused") {
		t.Error("the refused reload does not say why")
	}
	a.digest(100, "after-bad-reload")
	a.line("", "db: slow query on orders", "") // no rule for it yet: dropped
	a.line("critical", "kernel: Oops: canary 2", "")
	e.waitCounted("critical") // the old configuration still mails

	e.writeConfig(good)
	e.signal(syscall.SIGHUP)
	e.waitLog("configuration reloaded")
	a.digest(100, "after-good-reload")
	a.line("db", "db: slow query on users", "db: slow query on ___")
	a.line("db", "db: slow query on items", "db: slow query on ___")
	e.waitCounted("db")

	mailsBefore := e.mail.count()
	e.signal(syscall.SIGUSR2)
	e.waitCounted()
	for _, m := range e.mail.received()[mailsBefore:] {
		if m.Queue != "digest" {
			continue
		}
		if r, err := parseReport(m.Body); err != nil || r.Status != "flushing" {
			t.Errorf("the digest flushed by USR2 has status %q, want \"flushing\" (%v)", r.Status, err)
		}
	}
	e.stop()
	lines, mails := e.checkExact(false)
	t.Logf("%d lines written across a refused and an accepted reload, counted exactly once in %d mails", lines, mails)
}

// TestReloadKeepsUnreadLines reloads right after lines were written to a file no line had been
// read from yet and to a file just created: the daemon must read them all (a restarted tailer
// started those files at their end).
func TestReloadKeepsUnreadLines(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string { return baseConfig(e, "now") })
	busy := e.newLog("busy.log", "busy")
	quiet := e.newLog("quiet.log", "quiet")
	e.start()
	e.waitOpen(busy.path, quiet.path)
	busy.digest(10, "first")
	e.waitCounted()

	e.writeConfig(newQueueConfig(e, "now"))
	quiet.digest(10, "just-before-hup")
	fresh := e.newLog("fresh.log", "fresh")
	fresh.digest(10, "just-before-hup")
	e.signal(syscall.SIGHUP)
	e.waitLog("configuration reloaded")
	busy.digest(10, "after")
	fresh.line("db", "db: slow query on t1", "db: slow query on ___")
	e.waitCounted()
	e.stop()
	lines, mails := e.checkExact(false)
	t.Logf("%d lines written around a reload, counted exactly once in %d mails", lines, mails)
}

// TestTerminateFlushes sends SIGTERM while digests hold lines that are not due: they are mailed
// before the daemon exits, with the status line "*** Status: terminating ***".
func TestTerminateFlushes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string { return baseConfig(e, "0 0 1 1 *") })
	a := e.newLog("db1.log", "db1")
	b := e.newLog("db2.log", "db2")
	e.start()
	e.waitOpen(a.path, b.path)
	a.digest(150, "pending")
	b.digest(50, "pending")
	b.line("critical", "kernel: Oops: canary", "")
	a.line("critical", "kernel: Oops: canary", "")
	e.waitCounted("critical") // both canaries read: so is every digest line before them
	if n := e.mail.count(); n != 1 {
		t.Fatalf("%d mails before SIGTERM, want the critical one only", n)
	}

	e.stop()
	var digests []*receivedMail
	for _, m := range e.mail.received() {
		if m.Queue == "digest" {
			digests = append(digests, m)
		}
	}
	if len(digests) != 1 {
		t.Fatalf("%d digests after SIGTERM, want 1", len(digests))
	}
	if !strings.HasPrefix(digests[0].Body, "*** Status: terminating ***\n") {
		t.Errorf("the digest mailed at SIGTERM does not start with the terminating status:\n%s", tail(digests[0].Body, 5))
	}
	if s := digests[0].Subject; s != "tayori e2e [digest]" {
		t.Errorf("subject %q, want \"tayori e2e [digest]\"", s)
	}
	for _, h := range []string{"X-Tayori-Version", "X-Tayori-Hostname", "X-Tayori-Report-Start"} {
		if digests[0].Header.Get(h) == "" {
			t.Errorf("the digest has no %s header", h)
		}
	}
	if to := digests[0].To; !slices.Equal(to, []string{"root@e2e.test", "noc@e2e.test"}) {
		t.Errorf("digest sent to %v", to)
	}
	lines, mails := e.checkExact(false)
	t.Logf("%d lines written, mailed at SIGTERM with the terminating status, counted exactly once in %d mails", lines, mails)
}

// TestSystemdNotify runs the daemon as systemd runs a Type=notify service: NOTIFY_SOCKET names a
// datagram socket, which receives READY=1 at start, RELOADING=1 (with MONOTONIC_USEC) then
// READY=1 on HUP, and STOPPING=1 on TERM.
func TestSystemdNotify(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string { return baseConfig(e, "now") })
	a := e.newLog("sd.log", "sd")
	e.start() // waits for READY=1
	e.waitOpen(a.path)
	e.notify.mu.Lock()
	first := e.notify.msgs[0]
	e.notify.mu.Unlock()
	if !strings.Contains(first, "READY=1") || !strings.Contains(first, "STATUS=following ") {
		t.Errorf("first notification %q, want READY=1 and a STATUS", first)
	}

	e.signal(syscall.SIGHUP)
	reload := e.notify.waitFor(t, "READY=1", e.proc.done)
	if len(reload) != 2 || !strings.Contains(reload[0], "RELOADING=1") || !strings.Contains(reload[0], "MONOTONIC_USEC=") {
		t.Errorf("notifications on HUP: %q, want RELOADING=1 with MONOTONIC_USEC, then READY=1", reload)
	}
	a.digest(10, "after-reload")
	e.waitCounted()

	e.signal(syscall.SIGTERM)
	stopping := e.notify.waitFor(t, "STOPPING=1", e.proc.done)
	e.waitExit()
	e.notify.mu.Lock()
	all := slices.Clone(e.notify.msgs)
	e.notify.mu.Unlock()
	if len(stopping) != 1 {
		t.Errorf("notifications on TERM: %q, want STOPPING=1 only", stopping)
	}
	e.checkExact(false)
	t.Logf("notifications: %s", strings.ReplaceAll(fmt.Sprintf("%q", all), `\n`, " "))
}

// TestTerminateReadsLastLines: lines written just before SIGTERM, after the tailer's last poll, are
// read before the terminating flush, not left for the next start. The rescan is an hour, so only the
// last read at stopping can see them.
func TestTerminateReadsLastLines(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string {
		return strings.Replace(baseConfig(e, "0 0 1 1 *"), `rescan = "100ms"`, `rescan = "1h"`, 1)
	})
	a := e.newLog("late.log", "late")
	e.start()
	e.waitOpen(a.path)
	a.digest(40, "written just before SIGTERM")
	e.stop()
	lines, mails := e.checkExact(false)
	t.Logf("%d lines written after the last poll, counted exactly once in %d mails at SIGTERM", lines, mails)
}
