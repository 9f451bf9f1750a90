package tenshiref

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Path is where the Debian package installs tenshi.
const Path = "/usr/sbin/tenshi"

// DefaultTimeout bounds Run when its context has no deadline.
const DefaultTimeout = 5 * time.Minute

// Check tells why tenshi cannot be run here, or returns nil: the script and
// perl must exist, the script must compile (so its Perl modules are
// installed), and the user and group "tenshi" must exist, since tenshi looks
// them up at start even in the foreground (the Debian package creates both).
func Check() error {
	if _, err := os.Stat(Path); err != nil {
		return fmt.Errorf("tenshi: %w", err)
	}
	perl, err := exec.LookPath("perl")
	if err != nil {
		return fmt.Errorf("tenshi needs perl: %w", err)
	}
	if _, err := user.Lookup("tenshi"); err != nil {
		return fmt.Errorf("tenshi dies without its user: %w", err)
	}
	if _, err := user.LookupGroup("tenshi"); err != nil {
		return fmt.Errorf("tenshi dies without its group: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, perl, "-c", Path).CombinedOutput(); err != nil {
		return fmt.Errorf("perl -c %s: %w: %s", Path, err, bytes.TrimSpace(out))
	}
	return nil
}

// Available reports whether Run can work here (see Check).
func Available() bool { return Check() == nil }

// Require skips the test when tenshi is not available, except in CI (the
// environment variable CI is "true"), which installs tenshi: there the test
// fails.
func Require(t testing.TB) {
	t.Helper()
	if err := Check(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tenshi is required in CI: %v", err)
		}
		t.Skipf("tenshi not available: %v", err)
	}
}

// tailCommand is the "set tail" Run uses: tenshi runs "$tail_file $tail_args
// $logfiles" through the shell, so the input file becomes $0; sleep keeps the
// pipe open, as a real tail would, because tenshi bails out when its tail dies.
const tailCommand = `/bin/sh -c 'cat "$0"; exec sleep 86400'`

// The shell and tenshi's "set logfile (\S+)" see the input file's path.
var reSafePath = regexp.MustCompile(`^[A-Za-z0-9/._+-]+$`)

// Run runs tenshi on conf, the text of a configuration made by Normalize, with
// input as its only log file, and returns what it mailed: the entries of every
// queue, merged (see Merge) and sorted by queue, host and line.
//
// tenshi runs in the foreground (-d 1) against an in-process SMTP server; once
// it reports that it got a sentinel line appended after input, every line has
// been classified, and SIGTERM makes it mail every queue and exit. A final
// line of input without a newline gets one. Run fails if conf sets what Run
// sets itself (logfile, fifo, tail, mailserver, listen, filter, csv), if
// tenshi reports an error or exits early, or if a mail cannot be parsed. When
// ctx has no deadline Run stops after DefaultTimeout. tenshi's process group
// is killed on every return.
func Run(ctx context.Context, conf string, input []byte) ([]Entry, error) {
	pager, err := checkRunnable(conf)
	if err != nil {
		return nil, fmt.Errorf("tenshi run: config: %w", err)
	}
	perl, err := exec.LookPath("perl")
	if err != nil {
		return nil, fmt.Errorf("tenshi run: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}

	dir, err := os.MkdirTemp("", "tenshiref")
	if err != nil {
		return nil, fmt.Errorf("tenshi run: %w", err)
	}
	defer os.RemoveAll(dir)
	if !reSafePath.MatchString(dir) {
		return nil, fmt.Errorf("tenshi run: temporary directory %q has characters the shell would interpret; set TMPDIR", dir)
	}

	sentinel := newSentinel(input)
	inputPath := filepath.Join(dir, "input.log")
	if err := os.WriteFile(inputPath, withSentinel(input, sentinel), 0o644); err != nil {
		return nil, fmt.Errorf("tenshi run: %w", err)
	}
	mb, err := startMailbox()
	if err != nil {
		return nil, fmt.Errorf("tenshi run: %w", err)
	}
	mailboxOpen := true
	defer func() {
		if mailboxOpen {
			mb.close()
		}
	}()
	// The mail server comes first: tenshi dies at the end of every file it
	// reads, included ones too, if none is set yet.
	full := fmt.Sprintf("set mailserver %s\nset logfile %s\nset tail %s\n%s", mb.addr, inputPath, tailCommand, conf)
	confPath := filepath.Join(dir, "tenshi.conf")
	if err := os.WriteFile(confPath, []byte(full), 0o644); err != nil {
		return nil, fmt.Errorf("tenshi run: %w", err)
	}
	// tenshi does not flush its standard output, a pipe here: this module,
	// loaded before the script, turns autoflush on.
	module := "package TenshirefAutoflush;\n$| = 1;\n1;\n"
	if err := os.WriteFile(filepath.Join(dir, "TenshirefAutoflush.pm"), []byte(module), 0o644); err != nil {
		return nil, fmt.Errorf("tenshi run: %w", err)
	}

	cmd := exec.Command(perl, "-I"+dir, "-MTenshirefAutoflush", Path, "-c", confPath, "-d", "1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr := &tailBuffer{max: 16 << 10}
	cmd.Stderr = stderr
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("tenshi run: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("tenshi run: %w", err)
	}
	pgid := cmd.Process.Pid
	// The tail's sleep outlives tenshi unless the group is killed.
	defer syscall.Kill(-pgid, syscall.SIGKILL)

	w := newWatcher([]byte("got message: " + sentinel + "\n"))
	exited := make(chan error, 1)
	go func() {
		w.run(stdout)
		exited <- cmd.Wait()
	}()
	failed := func(what string, err error) error {
		return fmt.Errorf("tenshi run: %s: %v\nstderr: %s\nstdout (end): %s", what, err, stderr.String(), w.tail())
	}

	select {
	case <-w.seen:
		if err := syscall.Kill(pgid, syscall.SIGTERM); err != nil {
			return nil, failed("signal", err)
		}
	case err := <-exited:
		return nil, failed("exited before reading its input", err)
	case <-ctx.Done():
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-exited
		return nil, failed("reading input", ctx.Err())
	}
	select {
	case err := <-exited:
		if err != nil {
			return nil, failed("exit", err)
		}
	case <-ctx.Done():
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-exited
		return nil, failed("flushing queues", ctx.Err())
	}

	mailboxOpen = false
	mails := mb.close()
	flushed, errs := flushReport(w.after.Bytes())
	if len(errs) > 0 {
		return nil, failed("reported", errors.New(string(bytes.Join(errs, []byte("; ")))))
	}
	if flushed != len(mails) {
		return nil, failed("mails", fmt.Errorf("flushed %d queues, received %d mails", flushed, len(mails)))
	}
	var entries []Entry
	for _, m := range mails {
		e, err := parseMail(m, pager)
		if err != nil {
			return nil, fmt.Errorf("tenshi run: %w", err)
		}
		entries = append(entries, e...)
	}
	kept := entries[:0]
	for _, e := range entries {
		if e.Line != sentinel {
			kept = append(kept, e)
		}
	}
	return Merge(kept), nil
}

// newSentinel returns a line that input does not contain and that has no
// syslog prefix.
func newSentinel(input []byte) string {
	for {
		var b [16]byte
		rand.Read(b[:])
		s := "tenshiref-sentinel-" + hex.EncodeToString(b[:])
		if !bytes.Contains(input, []byte(s)) {
			return s
		}
	}
}

func withSentinel(input []byte, sentinel string) []byte {
	out := make([]byte, 0, len(input)+len(sentinel)+2)
	out = append(out, input...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return append(append(out, sentinel...), '\n')
}

var (
	reANSI     = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	reFlushing = regexp.MustCompile(`(?m)^\[QUEUE\] flushing queue \S+$`)
	reError    = regexp.MustCompile(`(?m)^\[ERROR\].*$`)
)

// flushReport reads what tenshi printed after the sentinel: how many queues it
// mailed and the errors it reported (tenshi prints SMTP failures on standard
// output and carries on).
func flushReport(out []byte) (flushed int, errs [][]byte) {
	out = reANSI.ReplaceAll(out, nil)
	return len(reFlushing.FindAll(out, -1)), reError.FindAll(out, -1)
}

// watcher scans tenshi's standard output for the sentinel's debug line and
// keeps what follows it.
type watcher struct {
	marker []byte
	seen   chan struct{}

	mu    sync.Mutex
	last  tailBuffer   // end of the output, for errors
	after bytes.Buffer // output after the marker (bounded)
}

const maxAfter = 1 << 20

func newWatcher(marker []byte) *watcher {
	return &watcher{marker: marker, seen: make(chan struct{}), last: tailBuffer{max: 8 << 10}}
}

// run reads r to its end.
func (w *watcher) run(r io.Reader) {
	buf := make([]byte, 64<<10)
	var window []byte // end of the previous reads, to find a marker cut in two
	found := false
	for {
		n, err := r.Read(buf)
		chunk := buf[:n]
		w.mu.Lock()
		w.last.Write(chunk)
		if found {
			if w.after.Len() < maxAfter {
				w.after.Write(chunk)
			}
		} else {
			window = append(window, chunk...)
			if i := bytes.Index(window, w.marker); i >= 0 {
				found = true
				w.after.Write(window[i:])
				window = nil
				close(w.seen)
			} else if keep := len(w.marker) - 1; len(window) > keep {
				window = append(window[:0], window[len(window)-keep:]...)
			}
		}
		w.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (w *watcher) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return reANSI.ReplaceAllString(w.last.String(), "")
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
