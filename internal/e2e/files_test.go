//go:build linux

package e2e

import (
	"strings"
	"testing"
)

// The tests of this file follow files that logrotate (or a person) moves, copies, truncates and
// deletes while lines are written, and check that every line written is counted exactly once in
// the digests received.

// TestRenameRotationUnderLoad rotates a file five times the way logrotate's default "create" does
// while a writer appends about 2500 lines a second and keeps writing to the renamed file for a
// while after each rotation; a second file is written all along. The end of every rotated file must
// be read before its successor, and nothing twice.
func TestRenameRotationUnderLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string { return baseConfig(e, "now") })
	a := e.newLog("alpha.log", "alpha")
	b := e.newLog("beta.log", "beta")
	e.start()
	e.waitOpen(a.path, b.path)

	stopA, stopB := a.steady("load"), b.steady("load")
	for range 5 {
		a.waitWritten(500)
		a.rotateCreate(100)
	}
	a.waitWritten(500)
	stopA()
	stopB()

	e.waitCounted()
	e.stop()
	lines, mails := e.checkExact(false)
	rotations := strings.Count(e.log.String(), "file rotated; reading the old one to its end first") +
		strings.Count(e.log.String(), "file moved away or deleted; reading it to its end")
	if rotations < 5 {
		t.Errorf("the daemon noticed %d rotations, want 5", rotations)
	}
	t.Logf("%d lines written (5 rename rotations under load), counted exactly once in %d mails", lines, mails)
}

// TestCopyTruncate rotates a file four times the way logrotate's "copytruncate" does while a
// writer appends to it: what was not read yet when the file was truncated must be read from the
// copy.
func TestCopyTruncate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string { return baseConfig(e, "now") })
	a := e.newLog("gamma.log", "gamma")
	e.start()
	e.waitOpen(a.path)

	stop := a.steady("load")
	for range 4 {
		a.waitWritten(500)
		a.copyTruncate()
	}
	a.waitWritten(500)
	stop()

	e.waitCounted()
	e.stop()
	lines, mails := e.checkExact(false)
	if n := strings.Count(e.log.String(), "file truncated; reading the rest from its copy"); n == 0 {
		t.Errorf("the daemon never read the rest of a truncated file from its copy")
	}
	t.Logf("%d lines written (4 copytruncate rotations under load), counted exactly once in %d mails", lines, mails)
}

// TestTruncate empties a file in place twice, once writing back less than was read before and once
// more (in one burst, so that the file is longer than before when the daemon looks again): the
// lines written after each truncation must be read from the start of the file.
func TestTruncate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string { return baseConfig(e, "now") })
	a := e.newLog("delta.log", "delta")
	e.start()
	e.waitOpen(a.path)

	a.digest(300, "before")
	e.waitCounted()
	a.truncate()
	a.digest(20, "shorter")
	e.waitCounted()
	a.truncate()
	a.digest(1000, "longer")
	e.waitCounted()

	e.stop()
	lines, mails := e.checkExact(false)
	t.Logf("%d lines written around 2 truncations, counted exactly once in %d mails", lines, mails)
}

// TestDeleteAndRecreate deletes a file three times while its writer keeps writing to the deleted
// file for a while before it creates the file again.
func TestDeleteAndRecreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string { return baseConfig(e, "now") })
	a := e.newLog("epsilon.log", "epsilon")
	e.start()
	e.waitOpen(a.path)

	stop := a.steady("load")
	for range 3 {
		a.waitWritten(500)
		a.deleteRecreate(100)
	}
	a.waitWritten(500)
	stop()

	e.waitCounted()
	e.stop()
	lines, mails := e.checkExact(false)
	t.Logf("%d lines written around 3 deletions, counted exactly once in %d mails", lines, mails)
}

// TestFileAppearsAfterStart creates files for new hosts after the daemon started: they are read
// from their first line, including the lines written before the daemon noticed them.
func TestFileAppearsAfterStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env) string { return baseConfig(e, "now") })
	old := e.newLog("old.log", "old")
	e.start()
	e.waitOpen(old.path)
	old.digest(10, "known")

	fresh := e.newLog("fresh.log", "fresh") // created and written at once, before any rescan
	fresh.digest(200, "first")
	fresh.line("critical", "kernel: Oops: fresh host", "")
	e.waitCounted()
	fresh.digest(100, "later")
	late := e.newLog("late.log", "late")
	late.digest(100, "first")
	e.waitCounted()

	e.stop()
	lines, mails := e.checkExact(false)
	t.Logf("%d lines written, to 2 files created after start, counted exactly once in %d mails", lines, mails)
}
