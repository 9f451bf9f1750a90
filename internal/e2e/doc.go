// Package e2e holds the integration tests of the tayori daemon: they build the real binary and run
// `tayori run` on real files, with a real SMTP server, real signals and Debian's rsyslogd fed by
// logger(1), and check that the digests received add up exactly to the lines written.
//
// The package has no code of its own. Its tests run on Linux only (they look at /proc); -short
// skips the rsyslogd test; TAYORI_E2E_RACE=1 builds the daemon with the race detector.
package e2e
