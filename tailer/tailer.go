// Package tailer follows log files, FIFOs and stdin and turns them into one
// stream of complete lines, losing and repeating none across rotation,
// truncation and restarts.
package tailer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Line is one complete line, without its newline, from a source.
type Line struct {
	// Source is the path the line was read from as the patterns name it
	// (a file at a glob's match, never its rotated name), or "-" for stdin.
	Source string
	// Text is the line's bytes; it belongs to the receiver. It is nil only
	// in the position-only Lines of Config.OpenPositions.
	Text []byte
	// Pos is the position just after this line: giving it back to New
	// resumes the source with the next line.
	Pos Position
}

// Position is where a source was read up to. For a regular file it names the
// exact file (device and inode) even after that file has been rotated away
// from Path; for FIFOs and stdin Offset only counts the bytes read and
// resuming is meaningless.
type Position struct {
	Path     string // the source's path, as in Line.Source
	Dev, Ino uint64 // the file actually read
	Offset   int64  // bytes of the file consumed
	// Fingerprint is a hash of the file's first min(Offset, 1024) bytes. It
	// tells a reused inode number or a truncated and rewritten file from the
	// file that was read.
	Fingerprint uint64
}

// Config says what a Tailer follows and how.
type Config struct {
	// Patterns are file paths, glob patterns (filepath.Match syntax), FIFOs
	// and "-" for stdin. A path that does not exist yet is watched until it
	// appears.
	Patterns []string
	// Rescan is how often globs are expanded again and files polled when
	// Waker is nil. Default 1s.
	Rescan time.Duration
	// RotateWait is how long a file that was rotated or deleted is kept open
	// while its successor is empty, in case its writer still appends to it,
	// and how long its successor is held back while it keeps growing.
	// Counted in rescans. Default 5s.
	RotateWait time.Duration
	// MaxLine is the length above which lines are cut and marked. Default
	// DefaultMaxLine.
	MaxLine int
	// Waker decides when to poll again. Default Interval(Rescan).
	Waker Waker
	// Stdin is read for the pattern "-". Default os.Stdin.
	Stdin *os.File
	// Logger receives what the tailer notices (rotations, truncations,
	// unreadable files). Default: discard.
	Logger *slog.Logger
	// OpenPositions makes Run also send, when it starts following a regular
	// file at a path (at startup or when the file appears), a Line with nil
	// Text whose Pos is where reading starts. A caller that saves positions
	// then knows every followed file, including those no line was read from
	// yet, and a restart resumes them instead of starting at their end.
	OpenPositions bool
	// FinalPoll makes Run read the files once more after ctx is done, before it returns, so that a
	// stopping daemon counts the lines written since the last poll; the receiver must keep taking
	// lines until Run returns.
	FinalPoll bool
	// Since, when set, is when the saved positions were taken. At startup, a
	// file without a saved position that was created after Since (it appeared
	// while the caller was stopped) is read from its beginning, not its end.
	// Creation is the file's birth time where the file system records it, its
	// modification time elsewhere.
	Since time.Time
}

// Tailer follows the sources of a Config. Create it with New and start it
// with Run, once.
type Tailer struct {
	patterns      []string
	stdin         *os.File // nil unless "-" is a pattern
	maxLine       int
	rotateWait    int64 // in ticks
	openPositions bool
	finalPollOn   bool
	since         time.Time
	waker         Waker
	log           *slog.Logger
	saved         map[string]Position // used by the first poll only

	running atomic.Bool

	// Owned by Run's goroutine.
	tick       int64 // number of wake-ups so far
	startup    bool  // the first poll is under way: new files start at their end
	followers  map[string]*follower
	order      []*follower        // followers in order of discovery
	streams    map[string]*stream // the FIFO now read for each path
	allStreams []*stream          // every stream started, retired ones too
	buf        []byte
	out        chan<- Line
}

// New checks cfg and returns a Tailer for it. saved are positions from an
// earlier run (Line.Pos values); a file with a saved position resumes from
// it, even if it was rotated or truncated meanwhile; a file seen for the
// first time at startup starts at its end (unless created after
// Config.Since); a file that appears later is read from its beginning.
func New(cfg Config, saved []Position) (*Tailer, error) {
	if len(cfg.Patterns) == 0 {
		return nil, errors.New("tailer: no patterns")
	}
	t := &Tailer{
		maxLine:       cfg.MaxLine,
		openPositions: cfg.OpenPositions,
		finalPollOn:   cfg.FinalPoll,
		since:         cfg.Since,
		waker:         cfg.Waker,
		log:           cfg.Logger,
		saved:         make(map[string]Position, len(saved)),
		startup:       true,
		followers:     make(map[string]*follower),
		streams:       make(map[string]*stream),
	}
	seen := make(map[string]bool)
	for i, p := range cfg.Patterns {
		switch {
		case p == "":
			return nil, fmt.Errorf("tailer: pattern %d is empty", i)
		case p == "-":
			t.stdin = cfg.Stdin
			if t.stdin == nil {
				t.stdin = os.Stdin
			}
		default:
			if _, err := filepath.Match(p, ""); err != nil {
				return nil, fmt.Errorf("tailer: pattern %d %q: %w", i, p, err)
			}
			p = filepath.Clean(p)
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		if p != "-" {
			t.patterns = append(t.patterns, p)
		}
	}
	if t.maxLine < 0 {
		return nil, fmt.Errorf("tailer: MaxLine %d is negative", t.maxLine)
	}
	if t.maxLine == 0 {
		t.maxLine = DefaultMaxLine
	}
	rescan := cfg.Rescan
	if rescan < 0 || cfg.RotateWait < 0 {
		return nil, fmt.Errorf("tailer: negative Rescan %v or RotateWait %v", rescan, cfg.RotateWait)
	}
	if rescan == 0 {
		rescan = time.Second
	}
	wait := cfg.RotateWait
	if wait == 0 {
		wait = 5 * time.Second
	}
	t.rotateWait = max(1, int64((wait+rescan-1)/rescan))
	if t.waker == nil {
		t.waker = Interval(rescan)
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	for _, p := range saved {
		if p.Path != "" && p.Path != "-" {
			t.saved[filepath.Clean(p.Path)] = p
		}
	}
	return t, nil
}

// Run follows the sources and sends their lines to out until ctx is done,
// then closes every file and returns nil. Lines of one source arrive in
// order; lines of different sources interleave. Problems with single files
// (unreadable, vanished) are logged and retried, never fatal. Run may be
// called only once.
func (t *Tailer) Run(ctx context.Context, out chan<- Line) error {
	if !t.running.CompareAndSwap(false, true) {
		return errors.New("tailer: Run called twice")
	}
	t.out = out
	t.buf = make([]byte, readSize)
	defer t.closeAll()
	if t.stdin != nil {
		s, err := openStdin(t.stdin)
		if err != nil {
			t.log.Warn("cannot read stdin", "err", err)
		} else {
			t.startStream(ctx, s)
		}
	}
	for {
		more, err := t.poll(ctx)
		if ctx.Err() != nil {
			t.finalPoll()
			return nil
		}
		if err != nil {
			return err
		}
		if more {
			continue
		}
		if err := t.waker.Wait(ctx); err != nil {
			t.finalPoll()
			return nil
		}
		t.tick++
	}
}

// finalPollTimeout bounds the last read of a stopping Tailer.
const finalPollTimeout = 5 * time.Second

// finalPoll reads, once more, what the files hold now, when Config.FinalPoll asks for it: a daemon
// that stops or reloads then counts the lines written since the last poll. The receiver must keep
// taking lines until Run returns; the poll gives up after finalPollTimeout.
func (t *Tailer) finalPoll() {
	if !t.finalPollOn {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), finalPollTimeout)
	defer cancel()
	if _, err := t.poll(ctx); err != nil && ctx.Err() == nil {
		t.log.Warn("last read before stopping failed", "err", err)
	}
}

// poll looks at every path once: it expands the patterns, notices new,
// rotated, truncated and vanished files, and reads what is new. more reports
// that some file has more to read than one poll takes, so the caller should
// poll again without waiting.
func (t *Tailer) poll(ctx context.Context) (more bool, err error) {
	matched := make(map[string]bool)
	for _, p := range t.patterns {
		if !hasMeta(p) {
			matched[p] = true
			continue
		}
		paths, err := filepath.Glob(p)
		if err != nil {
			return false, fmt.Errorf("tailer: pattern %q: %w", p, err) // New checked the syntax
		}
		for _, path := range paths {
			matched[path] = true
		}
	}
	if t.startup {
		// A saved file may have been rotated away from a path a glob no
		// longer matches; look for it all the same.
		for path := range t.saved {
			if t.matches(path) {
				matched[path] = true
			}
		}
	}
	paths := make([]string, 0, len(matched))
	for path := range matched {
		if t.followers[path] == nil {
			paths = append(paths, path)
		}
	}
	slices.Sort(paths)
	for _, path := range paths {
		fl := &follower{path: path}
		t.followers[path] = fl
		t.order = append(t.order, fl)
	}

	kept := t.order[:0]
	for _, fl := range t.order {
		m, err := t.pollPath(ctx, fl, matched[fl.path])
		if err != nil {
			return false, err
		}
		more = more || m
		if !matched[fl.path] && fl.idle() {
			delete(t.followers, fl.path)
			continue
		}
		kept = append(kept, fl)
	}
	clear(t.order[len(kept):])
	t.order = kept
	t.saved, t.startup = nil, false
	return more, nil
}

// matches reports whether path is named by one of the patterns.
func (t *Tailer) matches(path string) bool {
	for _, p := range t.patterns {
		if ok, _ := filepath.Match(p, path); ok {
			return true
		}
	}
	return false
}

// send delivers one line unless ctx is done first.
func (t *Tailer) send(ctx context.Context, l Line) error {
	select {
	case t.out <- l:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t *Tailer) closeAll() {
	for _, fl := range t.order {
		fl.close()
	}
	for _, s := range t.allStreams {
		s.stop()
	}
	for _, s := range t.allStreams {
		<-s.done
	}
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }
