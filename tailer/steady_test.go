package tailer

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// steadyWriter appends numbered lines to a log like a daemon does, and
// reopens the path some lines after being told the file was rotated.
type steadyWriter struct {
	path string
	n    int

	mu       sync.Mutex // held while writing one line; copytruncate holds it to be atomic
	f        *os.File
	reopenIn int // lines left to write to the old file after a rotation

	written        atomic.Int64 // lines written so far
	delivered      atomic.Int64 // lines the tailer delivered; the writer keeps within maxAhead of it
	limit          atomic.Int64 // the writer waits before this line until the test's next event
	firstInCurrent atomic.Int64 // number of the first line written to the file at path
	err            error
	stop           chan struct{} // closed when the test is over
	done           chan struct{}
}

// maxAhead is how far the writer may run ahead of the tailer, so that the
// rotations happen while both are busy rather than after the writer is done.
const maxAhead = 2000

func (w *steadyWriter) run() {
	defer close(w.done)
	defer func() {
		if w.f != nil {
			w.f.Close()
		}
	}()
	for i := range w.n {
		for int64(i)-w.delivered.Load() > maxAhead || int64(i) >= w.limit.Load() {
			runtime.Gosched()
			select {
			case <-w.stop:
				return
			default:
			}
		}
		w.mu.Lock()
		if w.reopenIn > 0 {
			w.reopenIn--
			if w.reopenIn == 0 {
				w.f.Close()
				if w.f, w.err = os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); w.err != nil {
					w.mu.Unlock()
					return
				}
				w.firstInCurrent.Store(int64(i))
			}
		}
		_, w.err = fmt.Fprintf(w.f, "line %06d\n", i)
		w.mu.Unlock()
		if w.err != nil {
			return
		}
		w.written.Store(int64(i + 1))
	}
}

// TestSteadyWriterRotation rotates a log several times (rename and create,
// the writer going on with the old file for a few lines), once with
// copytruncate, and restarts the tailer once with a rotation while it is
// down, all while a writer appends numbered lines: every number must arrive
// exactly once, in order.
func TestSteadyWriterRotation(t *testing.T) {
	const n = 40000
	dir := t.TempDir()
	path := filepath.Join(dir, "host.log")
	writeFile(t, path, "")
	// The test polls as fast as it can, far more often than once a second,
	// and a loaded machine may starve the writer for thousands of polls:
	// RotateWait, counted in polls, must not run out meanwhile.
	cfg := Config{Patterns: []string{path}, Rescan: time.Second, RotateWait: 100 * 365 * 24 * time.Hour}

	w := &steadyWriter{path: path, n: n, stop: make(chan struct{}), done: make(chan struct{})}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.f = f

	generations := 0
	shift := func() { // host.log.k -> host.log.k+1, as logrotate does
		for k := generations; k >= 1; k-- {
			rename(t, fmt.Sprintf("%s.%d", path, k), fmt.Sprintf("%s.%d", path, k+1))
		}
		generations++
	}
	renameRotation := func() {
		shift()
		rename(t, path, path+".1")
		writeFile(t, path, "")
		w.mu.Lock()
		w.reopenIn = 5
		w.mu.Unlock()
	}
	// rotateTwice rotates twice before the writer can reopen: the file in
	// between stays empty. (One written to and rotated away between two
	// polls is never seen by a tailer that polls paths: a known gap.)
	rotateTwice := func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		for range 2 {
			shift()
			rename(t, path, path+".1")
			writeFile(t, path, "")
		}
		w.reopenIn = 5
	}
	copytruncate := func() {
		w.mu.Lock() // logrotate loses lines written between copy and truncate; keep the writer out
		defer w.mu.Unlock()
		shift()
		copyFile(t, path, path+".1")
		truncate(t, path)
	}

	type event struct {
		at     int  // lines delivered
		settle bool // wait until the writer has reopened after the last rotation
		name   string
		do     func()
	}
	var events []event
	h, _ := startTailer(t, cfg, nil)
	go w.run()
	defer func() { close(w.stop); <-w.done }()

	last := -1
	var recent []string // the last lines received, for failure messages
	record := func(lines []Line) {
		t.Helper()
		for _, l := range lines {
			s, ok := strings.CutPrefix(string(l.Text), "line ")
			num, err := strconv.Atoi(s)
			if !ok || err != nil {
				t.Fatalf("unexpected line %q", l.Text)
			}
			recent = append(recent[max(0, len(recent)-10):], fmt.Sprintf("%d inode %d offset %d", num, l.Pos.Ino, l.Pos.Offset))
			if num != last+1 {
				t.Fatalf("got line %d after %d; last lines %q; files: %s; log:\n%s", num, last, recent, dirState(dir), h.logs)
			}
			last = num
			w.delivered.Store(int64(num + 1))
		}
	}
	// settled reports that the writer has reopened the path since the last
	// rotation.
	settled := func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.reopenIn == 0
	}
	var fired []string
	deadline := time.Now().Add(20 * time.Second)
	checkDeadline := func() {
		t.Helper()
		if time.Now().After(deadline) {
			t.Fatalf("got lines up to %d of %d within 20s (written %d, limit %d, settled %v, %d events left, fired %q); files: %s; log:\n%s",
				last, n, w.written.Load(), w.limit.Load(), settled(), len(events), fired, dirState(dir), h.logs)
		}
	}
	// readCurrent steps until a line of the file now at the path has
	// arrived (copytruncate and restart need the tailer inside that file),
	// then lets the writer add lines the tailer has not read. The writer
	// must be settled.
	readCurrent := func() {
		for int64(last) < w.firstInCurrent.Load() || w.written.Load()-w.delivered.Load() > maxAhead/2 {
			checkDeadline()
			record(h.step())
		}
		target := min(w.written.Load()+20, n)
		w.limit.Store(max(w.limit.Load(), target))
		for w.written.Load() < target {
			checkDeadline()
			runtime.Gosched()
		}
	}
	// fromInode counts the lines read from each inode.
	var copyIno, downIno uint64
	fromInode := map[uint64]int{}
	count := func(lines []Line) []Line {
		for _, l := range lines {
			fromInode[l.Pos.Ino]++
		}
		return lines
	}

	// Mostly rename rotations (each one a chance for the writer's last
	// lines to the old file to race with the tailer), one copytruncate, one
	// restart with a rotation while down, and rotations in quick succession
	// (twice before a poll; soon after another, maybe before the writer
	// reopened). The last comes early enough for the writer, at most
	// maxAhead lines ahead, not to be done yet.
	for k := 1; k <= 17; k++ {
		at := k * n / 20
		switch k {
		case 6:
			events = append(events, event{at, true, "copytruncate", func() {
				readCurrent()
				copytruncate()
				copyIno = inode(t, path+".1")
			}})
		case 10:
			events = append(events, event{at, true, "restart with a rotation while down", func() {
				readCurrent()
				h.stop()
				saved := h.last[path]
				downIno = inode(t, path)
				fromInode[downIno] = 0 // count only what the next run reads of it
				renameRotation()
				var got []Line
				h, got = startTailer(t, cfg, []Position{saved})
				record(count(got))
			}})
		case 12:
			events = append(events, event{at, true, "rename twice before a poll", rotateTwice})
		case 14:
			events = append(events, event{at, true, "rename", renameRotation}, event{at + 50, false, "rename soon after", renameRotation})
		default:
			events = append(events, event{at, true, "rename", renameRotation})
		}
	}
	// The writer stops a little after the next event's line until the event
	// is done, or a step could take the tailer past several events at once.
	setLimit := func() {
		if len(events) == 0 {
			w.limit.Store(n)
			return
		}
		w.limit.Store(int64(events[0].at) + 1000)
	}
	setLimit()
	for last < n-1 {
		checkDeadline()
		if len(events) > 0 && last+1 >= events[0].at && (!events[0].settle || settled()) {
			e := events[0]
			events = events[1:]
			setLimit()
			fired = append(fired, e.name)
			e.do()
			// Room for the writer to reopen if it reached the limit
			// during the event.
			w.limit.Store(max(w.limit.Load(), w.written.Load()+100))
		}
		record(count(h.step()))
	}
	<-w.done
	if w.err != nil {
		t.Fatalf("writer: %v", w.err)
	}
	if len(events) > 0 {
		t.Errorf("writer finished before %d events, the first %q at %d (settled %v, last %d)", len(events), events[0].name, events[0].at, settled(), last)
	}
	checkTexts(t, "after the end", h.steps(2))
	checkLogged(t, h, "file rotated")
	if fromInode[copyIno] == 0 || fromInode[downIno] == 0 {
		t.Errorf("lines read from the copytruncate copy: %d, from the file rotated while down: %d; want some of each", fromInode[copyIno], fromInode[downIno])
	}
}

// dirState describes the files in dir: name, inode, size and first line.
func dirState(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		_, ino := fileID(fi)
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		first, _, _ := strings.Cut(string(data), "\n")
		lastLine := strings.TrimSuffix(string(data), "\n")
		lastLine = lastLine[strings.LastIndexByte(lastLine, '\n')+1:]
		fmt.Fprintf(&b, "\n  %s inode %d size %d mtime %s lines %q..%q", e.Name(), ino, fi.Size(), fi.ModTime().Format("15:04:05.000000000"), first, lastLine)
	}
	return b.String()
}
