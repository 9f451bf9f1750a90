//go:build linux

package e2e

import (
	"path/filepath"
	"testing"
	"time"
)

// The tests of this file take the SMTP server down (its port closed: connection refused) while
// reports are due, and bring it back: every report arrives once, late, and the later ones too.

// TestSMTPOutageAcrossFlush makes reports due while the server is down.
func TestSMTPOutageAcrossFlush(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string { return baseConfig(e, "now") })
	a := e.newLog("mx.log", "mx")
	e.start()
	e.waitOpen(a.path)
	a.digest(100, "before")
	e.waitCounted()

	e.mail.down()
	a.digest(100, "outage")
	a.line("critical", "kernel: Oops: during the outage", "")
	outbox := filepath.Join(e.state, "outbox")
	e.waitLog("delivery failed, will retry")
	e.waitUntil("the reports to wait in the outbox", waitLong, func() bool { return len(outboxFiles(t, outbox)) > 0 })
	if n := e.mail.count(); n != 1 {
		t.Fatalf("%d mails received during the outage, want the 1 from before", n)
	}

	up := time.Now()
	e.mail.up()
	e.waitCounted()
	t.Logf("reports delayed by the outage arrived %v after the server came back (backoff 10 s)", time.Since(up).Round(time.Millisecond))
	later := time.Now()
	a.digest(100, "after")
	e.waitCounted()
	t.Logf("a report made after the recovery arrived %v after its lines were written", time.Since(later).Round(time.Millisecond))
	if n := len(outboxFiles(t, outbox)); n != 0 {
		t.Errorf("%d reports still in the outbox after recovery", n)
	}
	e.stop()
	lines, mails := e.checkExact(false)
	t.Logf("%d lines written across an SMTP outage, counted exactly once in %d mails", lines, mails)
}

// TestSMTPOutageAcrossRestart stops the daemon while its reports wait for the server, writes
// lines while it is down, and starts it again while the server is still down; then the server
// comes back.
func TestSMTPOutageAcrossRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string { return baseConfig(e, "now") })
	a := e.newLog("relay.log", "relay")
	e.start()
	e.waitOpen(a.path)
	a.digest(100, "before")
	e.waitCounted()

	e.mail.down()
	a.digest(100, "outage")
	outbox := filepath.Join(e.state, "outbox")
	e.waitLog("delivery failed, will retry")
	e.stop() // tries to deliver once more, fails at once, exits 0 keeping the report
	if n := len(outboxFiles(t, outbox)); n == 0 {
		t.Fatal("the undelivered report is not in the outbox after the stop")
	}
	a.digest(100, "down")
	e.start()
	e.waitLog("delivery failed, will retry")
	a.digest(100, "restarted")
	e.waitUntil("the new lines to be reported into the outbox", waitLong, func() bool {
		return len(outboxFiles(t, outbox)) >= 2
	})

	e.mail.up()
	e.waitCounted()
	e.stop()
	lines, mails := e.checkExact(false)
	t.Logf("%d lines written across an SMTP outage and a restart, counted exactly once in %d mails", lines, mails)
}
