//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests of this file crash the daemon with SIGKILL and start it again: lines written while it
// was down are read, lines it had read but not saved are read again, and no line is counted
// twice, whatever point of a flush the crash interrupted.

// TestKillAndRestart kills the daemon while lines arrive, writes more lines and rotates a file
// while it is down, and starts it again.
func TestKillAndRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string { return baseConfig(e, "now") })
	a := e.newLog("one.log", "one")
	b := e.newLog("two.log", "two")
	e.start()
	e.waitOpen(a.path, b.path)

	a.digest(500, "saved")
	b.digest(500, "saved")
	e.waitCounted() // mailed, so their positions are in the saved state
	stop := a.steady("unsaved")
	a.waitWritten(300)
	b.digest(300, "unsaved")
	e.kill() // while lines are read and reports batched, none of it saved yet
	stop()

	a.digest(400, "down")
	b.digest(200, "down")
	b.rotateCreate(0) // rotated while down: the rest of two.log.1 first, then the new two.log
	b.digest(200, "down-rotated")

	e.start()
	e.waitCounted()
	a.digest(100, "after")
	e.waitCounted()
	e.stop()
	lines, mails := e.checkExact(true)
	if !strings.Contains(e.log.String(), "file rotated while stopped") {
		t.Errorf("the daemon did not notice the rotation made while it was down")
	}
	t.Logf("%d lines written across a SIGKILL (1300 of them while down), counted exactly once in %d mails", lines, mails)
}

// TestKillAroundFlush kills the daemon at successive points of a flush forced by USR2: at once, as
// soon as the report is in the outbox, while the SMTP server holds its DATA (delivery under way,
// not acknowledged), and just after the report was accepted.
func TestKillAroundFlush(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string { return baseConfig(e, "0 0 1 1 *") }) // digest only on USR2
	a := e.newLog("three.log", "three")
	e.start()
	e.waitOpen(a.path)
	outbox := filepath.Join(e.state, "outbox")

	points := []struct {
		name string
		kill func(mailsBefore int)
	}{
		{"at once", func(int) {}},
		{"report in the outbox", func(before int) {
			// A tight poll: the report stays in the outbox for a few milliseconds only.
			deadline := time.Now().Add(waitLong)
			for len(outboxFiles(t, outbox)) == 0 && e.mail.count() == before && time.Now().Before(deadline) {
			}
		}},
		{"delivery under way", nil}, // see below
		{"report accepted", func(before int) {
			e.waitUntil("the digest to arrive", waitLong, func() bool { return e.mail.count() > before })
		}},
	}
	for i, p := range points {
		a.digest(200, "flush"+string(rune('a'+i)))
		a.line("critical", "kernel: Oops: canary "+p.name, "")
		e.waitCounted("critical") // the canary was read, so every digest line before it was too
		before := e.mail.count()
		var release func()
		if p.kill == nil {
			holding, rel := e.mail.holdData()
			release = rel
			e.signal(syscall.SIGUSR2)
			select {
			case <-holding:
			case <-time.After(waitLong):
				t.Fatal("the digest was never sent")
			}
		} else {
			e.signal(syscall.SIGUSR2)
			p.kill(before)
		}
		e.kill()
		if release != nil {
			release() // the server refuses the message of the dead connection
		}
		t.Logf("killed %s: %d report(s) left in the outbox", p.name, len(outboxFiles(t, outbox)))
		e.start()
	}
	e.signal(syscall.SIGUSR2)
	e.waitCounted()
	e.stop()
	lines, mails := e.checkExact(true)
	t.Logf("%d lines written across 4 SIGKILLs around flushes, counted exactly once in %d mails", lines, mails)
}

// TestCrashBetweenEnqueueAndSave makes the daemon crash after its reports are in the outbox but
// before the state that clears their queues is saved. The state file is replaced by a directory, so
// that saving fails (the reports are then held, not delivered), and put back as it was before the
// SIGKILL: the disk is exactly as after a crash between the two writes. At restart the reports the
// state does not know of are dropped and their lines read again, once.
func TestCrashBetweenEnqueueAndSave(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string { return baseConfig(e, "0 0 1 1 *") })
	a := e.newLog("four.log", "four")
	e.start()
	e.waitOpen(a.path)
	a.digest(100, "saved")
	a.line("critical", "kernel: Oops: first canary", "")
	e.waitCounted("critical") // this flush saved the state; nothing is written after it

	statePath := filepath.Join(e.state, "state.json")
	saved, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		FlushSeq uint64 `json:"flush_seq"`
	}
	if err := json.Unmarshal(saved, &st); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(statePath); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(statePath, 0o700); err != nil {
		t.Fatal(err)
	}

	a.digest(100, "lost-flush")
	a.line("critical", "kernel: Oops: second canary", "")
	e.waitLog("cannot save state: reports wait until it is saved") // the critical flush
	e.signal(syscall.SIGUSR2)
	outbox := filepath.Join(e.state, "outbox")
	e.waitUntil("two reports in the outbox", waitLong, func() bool {
		return len(outboxFiles(t, outbox)) == 2 || e.mail.count() > 1 // the second: failed below
	})
	mailsBefore := e.mail.count()
	e.kill()
	if e.mail.count() != mailsBefore || mailsBefore != 1 {
		t.Fatalf("%d mails arrived, want only the first critical one: reports were delivered before their state was saved", e.mail.count())
	}
	if err := os.Remove(statePath); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(statePath, saved, 0o600); err != nil {
		t.Fatal(err)
	}

	a.digest(50, "down")
	e.start()
	e.waitLog("dropped reports enqueued after the last saved state")
	a.line("critical", "kernel: Oops: third canary", "")
	e.waitCounted("critical")
	e.signal(syscall.SIGUSR2)
	e.waitCounted()
	e.stop()
	lines, mails := e.checkExact(false)
	t.Logf("flush_seq %d at the crash; %d lines written, counted exactly once in %d mails", st.FlushSeq, lines, mails)
}

// TestStateSaveFailure makes saving the state fail for a while (the state file is replaced by a
// directory) as a full disk would: the daemon logs the failure every few seconds, not in a loop,
// holds the reports made meanwhile, and delivers them, exactly once, when it can save again.
func TestStateSaveFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string { return baseConfig(e, "now") })
	a := e.newLog("disk.log", "disk")
	e.start()
	e.waitOpen(a.path)
	a.digest(50, "before")
	e.waitCounted()

	statePath := filepath.Join(e.state, "state.json")
	if err := os.Rename(statePath, statePath+".aside"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(statePath, 0o700); err != nil {
		t.Fatal(err)
	}
	a.digest(50, "unsaved")
	e.waitLog("cannot save state: reports wait until it is saved")
	mails := e.mail.count()
	e.waitLog(`msg="cannot save state"`) // the periodic save, 3 s after the last good one
	// Watch the retries for two seconds: one every 3 s is right, hundreds are a busy loop.
	failures := func() int { return strings.Count(e.runLog(), "cannot save state") }
	first := failures()
	watch := time.Now().Add(2 * time.Second)
	for time.Now().Before(watch) && failures() < first+10 {
		time.Sleep(pollEvery)
	}
	if n := failures() - first; n > 1 {
		t.Errorf("%d failed saves logged within 2 s: the daemon retries in a loop", n)
	}
	if e.mail.count() != mails {
		t.Errorf("a report was delivered while the state that clears its queue could not be saved")
	}

	if err := os.Remove(statePath); err != nil {
		t.Fatal(err)
	}
	e.waitCounted() // saved at the next try; the held report is released
	a.digest(50, "after")
	e.waitCounted()
	e.stop()
	lines, mailsIn := e.checkExact(false)
	t.Logf("%d lines written across failing state saves, counted exactly once in %d mails", lines, mailsIn)
}

// outboxFiles lists the reports waiting in an outbox directory.
func outboxFiles(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		if de.Type().IsRegular() && strings.HasSuffix(de.Name(), ".json") && !strings.HasPrefix(de.Name(), ".") {
			names = append(names, de.Name())
		}
	}
	return names
}

// TestRestartResumesQuietFile stops the daemon (SIGKILL, then SIGTERM) while a followed file has
// had no line yet, writes to that file while the daemon is down, and starts it again: the file
// resumes where it was, so those lines are read (they were skipped when only files a line was read
// from had a saved position).
func TestRestartResumesQuietFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string { return baseConfig(e, "now") })
	busy := e.newLog("busy.log", "busy")
	quiet := e.newLog("quiet.log", "quiet")
	quiet.preexisting(5)
	e.start()
	e.waitOpen(busy.path, quiet.path)
	busy.digest(10, "first")
	e.waitCounted() // a flush: the state is saved, with both files' positions

	e.kill()
	quiet.digest(10, "while-killed")
	e.start()
	busy.digest(10, "second")
	e.waitCounted()

	e.stop()
	quiet.digest(10, "while-stopped")
	e.start()
	busy.digest(10, "third")
	e.waitCounted()
	e.stop()
	lines, mails := e.checkExact(false)
	t.Logf("%d lines written, 20 of them to a quiet file while the daemon was down, counted exactly once in %d mails", lines, mails)
}

// TestRestartReadsFileCreatedWhileDown creates a new host's file while the daemon is down (after a
// SIGKILL, then after a SIGTERM): it is read from its first line at the next start, while a file
// that existed before the daemon first started still starts at its end.
func TestRestartReadsFileCreatedWhileDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string { return baseConfig(e, "now") })
	a := e.newLog("old.log", "old")
	a.preexisting(5)
	e.start()
	e.waitOpen(a.path)
	a.digest(10, "first")
	e.waitCounted()

	e.kill()
	k := e.newLog("born-while-killed.log", "bornkilled")
	k.digest(20, "down")
	e.start()
	e.waitCounted()

	e.stop()
	s := e.newLog("born-while-stopped.log", "bornstopped")
	s.digest(20, "down")
	e.start()
	k.digest(5, "up")
	e.waitCounted()
	e.stop()
	lines, mails := e.checkExact(false)
	t.Logf("%d lines written, 40 of them to 2 files created while the daemon was down, counted exactly once in %d mails", lines, mails)
}
