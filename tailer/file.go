package tailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"
)

// fingerprintSize is how many leading bytes of a file Position.Fingerprint
// covers.
const fingerprintSize = 1024

// readBudget is how much one poll reads from one file before moving on to
// the next, so that a large backlog does not starve the other files.
const readBudget = 1 << 20

// follower makes one path look like one endless file: the file now at the
// path, preceded by the rotated, deleted or truncated-away files it replaced
// until those are read to their end.
type follower struct {
	path    string
	started bool    // set up by a poll already
	cur     *file   // the regular file now at path, nil if none
	old     []*file // predecessors still being read, oldest first
	problem string  // the last problem logged, so that each is logged once
}

// idle reports that the follower has nothing open.
func (fl *follower) idle() bool { return fl.cur == nil && len(fl.old) == 0 }

func (fl *follower) close() {
	if fl.cur != nil {
		fl.cur.close()
		fl.cur = nil
	}
	for _, o := range fl.old {
		o.close()
	}
	fl.old = nil
}

// retireCur moves the current file to the files being drained: it is no
// longer at the path, but its writer may still append to it.
func (fl *follower) retireCur(tick int64) {
	fl.cur.since, fl.cur.lastGrowth = tick, tick
	fl.old = append(fl.old, fl.cur)
	fl.cur = nil
}

// has reports whether the follower has the file dev/ino open.
func (fl *follower) has(dev, ino uint64) bool {
	return fl.cur != nil && fl.cur.dev == dev && fl.cur.ino == ino || fl.oldIndex(dev, ino) >= 0
}

// oldIndex returns the index of dev/ino in fl.old, or -1.
func (fl *follower) oldIndex(dev, ino uint64) int {
	for i, o := range fl.old {
		if o.dev == dev && o.ino == ino {
			return i
		}
	}
	return -1
}

// file is one open regular file and how far it has been read.
type file struct {
	f        *os.File
	dev, ino uint64
	readPos  int64 // next byte to read; the splitter holds readPos-committed() of them
	split    splitter
	head     []byte // the file's first bytes, up to fingerprintSize
	fp       uint64 // fingerprint of a full head, once computed
	fpOK     bool
	size     int64 // size and modification time when last looked at
	mtime    time.Time

	since       int64 // tick it was rotated away
	lastGrowth  int64 // tick of the last read that returned data
	complete    bool  // a copytruncate copy: nothing will be appended to it
	interleaved bool  // its successor is read while it still grows (logged)
}

func openFile(path string, maxLine int) (*file, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	dev, ino := fileID(fi)
	nf := &file{f: f, dev: dev, ino: ino, split: splitter{max: maxLine}, size: fi.Size(), mtime: fi.ModTime()}
	if err := nf.loadHead(); err != nil {
		f.Close()
		return nil, err
	}
	return nf, nil
}

func (f *file) close() {
	if f.f != nil {
		f.f.Close()
		f.f = nil
	}
}

// is reports whether fi describes this file.
func (f *file) is(fi fs.FileInfo) bool {
	dev, ino := fileID(fi)
	return dev == f.dev && ino == f.ino
}

// committed is the offset just after the last complete line read.
func (f *file) committed() int64 { return f.readPos - f.split.pending() }

// pos is the position of path just after file offset off.
func (f *file) pos(path string, off int64) Position {
	return Position{Path: path, Dev: f.dev, Ino: f.ino, Offset: off, Fingerprint: f.fingerprint(off)}
}

// fingerprint hashes the file's first min(off, fingerprintSize) bytes.
func (f *file) fingerprint(off int64) uint64 {
	if off >= fingerprintSize && len(f.head) == fingerprintSize {
		if !f.fpOK {
			f.fp, f.fpOK = fnv1a(f.head), true
		}
		return f.fp
	}
	return fnv1a(f.head[:min(off, int64(len(f.head)))])
}

// loadHead reads the file's first bytes again.
func (f *file) loadHead() error {
	if cap(f.head) < fingerprintSize {
		f.head = make([]byte, fingerprintSize)
	}
	f.head = f.head[:fingerprintSize]
	n, err := f.f.ReadAt(f.head, 0)
	f.head, f.fpOK = f.head[:n], false
	if err != nil && err != io.EOF {
		return err
	}
	return nil
}

// noteHead keeps the part of p, read at file offset off, that belongs to
// the head.
func (f *file) noteHead(p []byte, off int64) {
	h := int64(len(f.head))
	if h >= fingerprintSize || off > h || off+int64(len(p)) <= h {
		return
	}
	f.head = append(f.head, p[h-off:min(int64(len(p)), fingerprintSize-off)]...)
}

// truncated reports whether the file, which fi describes, lost data since it
// was last looked at: it is shorter than what was read, or its first bytes
// changed (truncated and written again).
func (f *file) truncated(fi fs.FileInfo, scratch []byte) bool {
	size, mtime := fi.Size(), fi.ModTime()
	if size < f.readPos {
		return true
	}
	if size == f.size && mtime.Equal(f.mtime) {
		return false
	}
	f.size, f.mtime = size, mtime
	if len(f.head) == 0 {
		return false
	}
	n, err := f.f.ReadAt(scratch[:len(f.head)], 0)
	if err != nil && err != io.EOF {
		return false // a read error is not evidence of truncation; reading will report it
	}
	return !bytes.Equal(scratch[:n], f.head)
}

// startAtEnd places the file at its end, or at the start of its last line
// if that line is incomplete and not too long to look back for.
func (f *file) startAtEnd(scratch []byte) {
	size := f.size
	f.readPos = size
	n := min(size, int64(f.split.max)+1, int64(len(scratch)))
	if n == 0 {
		return
	}
	m, _ := f.f.ReadAt(scratch[:n], size-n)
	if i := bytes.LastIndexByte(scratch[:m], '\n'); i >= 0 {
		f.readPos = size - n + int64(i) + 1
	} else if n == size {
		f.readPos = 0
	}
}

// finished reports whether a file rotated away can be closed: nothing was
// appended to it for a whole rescan interval and either a later file has
// data (its writer moved on) or it has been quiet for RotateWait.
func (f *file) finished(tick int64, laterHasData bool, wait int64) bool {
	if f.complete {
		return true
	}
	quiet := tick - f.lastGrowth
	return quiet >= 1 && (laterHasData || quiet >= wait)
}

func (f *file) statSize() int64 {
	fi, err := f.f.Stat()
	if err != nil {
		return 0
	}
	return fi.Size()
}

// note logs a problem with the follower's path once, until it changes.
func (t *Tailer) note(fl *follower, msg string, err error) {
	key := msg
	if err != nil {
		key += ": " + err.Error()
	}
	if fl.problem == key {
		return
	}
	fl.problem = key
	if err != nil {
		t.log.Warn(msg, "path", fl.path, "err", err)
	} else {
		t.log.Info(msg, "path", fl.path)
	}
}

// pollPath looks at fl's path once and reads what is new. matched tells
// whether the patterns still name the path.
func (t *Tailer) pollPath(ctx context.Context, fl *follower, matched bool) (more bool, err error) {
	fi, err := os.Stat(fl.path)
	var regular fs.FileInfo // the regular file at the path, if any
	fifo := false
	switch {
	case err == nil && fi.Mode().IsRegular():
		regular = fi
		if s := t.streams[fl.path]; s != nil {
			t.log.Info("FIFO replaced by a regular file", "path", fl.path)
			s.retire()
			delete(t.streams, fl.path)
		}
	case err == nil && fi.Mode()&fs.ModeNamedPipe != 0:
		fifo = true
		t.followFIFO(ctx, fl, fi)
	case err == nil:
		if matched && !fi.IsDir() {
			t.note(fl, "not a regular file or FIFO; ignored", nil)
		}
	case errors.Is(err, fs.ErrNotExist):
		if matched && !fl.started {
			t.note(fl, "file does not exist yet; watching for it", nil)
		}
	default:
		t.note(fl, "cannot look at file", err)
	}

	if !fl.started {
		fl.started = true
		// A FIFO's saved position means nothing: FIFOs start afresh.
		if p, ok := t.saved[fl.path]; ok && !fifo {
			t.restore(fl, p, regular)
			return t.readFollower(ctx, fl)
		}
	}

	switch {
	case regular == nil:
		if fl.cur != nil {
			t.log.Info("file moved away or deleted; reading it to its end", "path", fl.path, "inode", fl.cur.ino)
			fl.retireCur(t.tick)
		}
	case fl.cur == nil || !fl.cur.is(regular):
		nf, err := openFile(fl.path, t.maxLine)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				t.note(fl, "cannot open file", err)
			}
			if fl.cur != nil {
				fl.retireCur(t.tick)
			}
			return t.readFollower(ctx, fl)
		}
		fl.problem = ""
		if fl.cur != nil {
			t.log.Info("file rotated; reading the old one to its end first", "path", fl.path, "old_inode", fl.cur.ino, "inode", nf.ino)
			fl.retireCur(t.tick)
		}
		if i := fl.oldIndex(nf.dev, nf.ino); i >= 0 {
			// Moved back to the path: go on where it was.
			nf.close()
			t.log.Info("file moved back", "path", fl.path, "inode", fl.old[i].ino)
			fl.cur = fl.old[i]
			fl.old = append(fl.old[:i], fl.old[i+1:]...)
		} else {
			if t.startup && !t.bornWhileStopped(nf) {
				nf.startAtEnd(t.buf)
			}
			fl.cur = nf
			// A path followed for the first time (nothing read from it yet, nothing left to
			// drain): tell a caller that saves positions where reading starts, so that a
			// restart resumes this file there even if no line of it was read before (found by
			// internal/e2e TestRestartResumesQuietFile: lines written to a quiet file while
			// the daemon was down were skipped).
			if t.openPositions && len(fl.old) == 0 {
				if err := t.send(ctx, Line{Source: fl.path, Pos: nf.pos(fl.path, nf.readPos)}); err != nil {
					return false, err
				}
			}
		}
	default:
		if fl.cur.truncated(regular, t.buf) {
			if err := t.truncate(ctx, fl, fl.cur, len(fl.old), regular); err != nil {
				return false, err
			}
		}
		fl.cur.size = regular.Size()
	}
	return t.readFollower(ctx, fl)
}

// bornWhileStopped reports whether f, found at startup without a saved
// position, was created after the saved positions were taken: a new host's log
// that appeared while the caller was stopped, all of whose lines are new
// (found by internal/e2e TestRestartReadsFileCreatedWhileDown: they were
// skipped).
func (t *Tailer) bornWhileStopped(f *file) bool {
	if t.since.IsZero() {
		return false
	}
	born, ok := birthTime(f.f)
	if !ok {
		born = f.mtime
	}
	return born.After(t.since)
}

// truncate handles a file of fl that lost data, the current one or one
// rotated away, which fi describes: after copytruncate, what was not read yet
// is in the copy, which is read first (it goes to fl.old at index at, before
// f); the file itself is read again from its start.
func (t *Tailer) truncate(ctx context.Context, fl *follower, f *file, at int, fi fs.FileInfo) error {
	off := f.committed()
	var cp *file
	if off > 0 {
		fp := f.fingerprint(off)
		cp = t.findSibling(fl, looseSiblings, func(c *file) bool {
			return c.size >= off && c.fingerprint(off) == fp
		}, false)
	}
	if cp != nil {
		t.log.Info("file truncated; reading the rest from its copy", "path", fl.path, "inode", f.ino, "copy", cp.f.Name(), "offset", off)
		cp.readPos, cp.complete = off, true
		cp.since, cp.lastGrowth = t.tick, t.tick
		fl.old = slices.Insert(fl.old, at, cp)
	} else {
		t.log.Warn("file truncated; reading it again from its start", "path", fl.path, "inode", f.ino, "offset", off, "size", fi.Size())
		if text, ok := f.split.flush(); ok && at == 0 {
			if err := t.send(ctx, Line{Source: fl.path, Text: text, Pos: f.pos(fl.path, f.readPos)}); err != nil {
				return err
			}
		}
	}
	f.split.reset()
	f.readPos = 0
	f.size, f.mtime = fi.Size(), fi.ModTime()
	if err := f.loadHead(); err != nil {
		t.note(fl, "cannot read file", err)
	}
	return nil
}

// readFollower reads fl's files in order: each file rotated away is read to
// its end and closed once finished before its successor is read, unless it
// keeps growing for longer than RotateWait while its successor has data.
func (t *Tailer) readFollower(ctx context.Context, fl *follower) (more bool, err error) {
	var curSize int64 // as seen by this poll's stat, before any old file is read
	if fl.cur != nil {
		curSize = fl.cur.size
	}
	for i := 0; i < len(fl.old); {
		o := fl.old[i]
		// Truncated after it was rotated away (copytruncate, then a rename
		// before this poll)?
		if fi, err := o.f.Stat(); err == nil && o.truncated(fi, t.buf) {
			if err := t.truncate(ctx, fl, o, i, fi); err != nil {
				return false, err
			}
			continue // with its copy, if one was found, at i
		}
		// Look at the later files before reading o: if one has data, o's
		// writer had moved on before the read below. (Not only the next
		// one: rotated twice before the writer reopened, it stays empty.)
		succ := curSize
		for _, later := range fl.old[i+1:] {
			succ += later.statSize()
		}
		if more, err := t.read(ctx, fl, o); more || err != nil {
			return more, err
		}
		if o.finished(t.tick, succ > 0, t.rotateWait) {
			t.log.Debug("rotated file finished", "path", fl.path, "inode", o.ino, "offset", o.readPos, "successor_size", succ, "tick", t.tick, "last_growth", o.lastGrowth)
			if text, ok := o.split.flush(); ok {
				if err := t.send(ctx, Line{Source: fl.path, Text: text, Pos: o.pos(fl.path, o.readPos)}); err != nil {
					return false, err
				}
			}
			o.close()
			fl.old = append(fl.old[:i], fl.old[i+1:]...)
			continue
		}
		if t.tick-o.since < t.rotateWait || succ == 0 {
			return false, nil // hold the successors back until o is finished
		}
		if !o.interleaved {
			o.interleaved = true
			t.log.Warn("rotated file still growing; reading its successor too", "path", fl.path, "inode", o.ino)
		}
		i++
	}
	if fl.cur == nil {
		return false, nil
	}
	return t.read(ctx, fl, fl.cur)
}

// read reads f from where it was up to its end, or up to readBudget bytes,
// and sends its complete lines. more reports that the budget ran out.
func (t *Tailer) read(ctx context.Context, fl *follower, f *file) (more bool, err error) {
	var base int64
	emit := func(text []byte, end int) error {
		return t.send(ctx, Line{Source: fl.path, Text: text, Pos: f.pos(fl.path, base+int64(end))})
	}
	for budget := readBudget; budget > 0; {
		n, rerr := f.f.ReadAt(t.buf, f.readPos)
		if n > 0 {
			base = f.readPos
			f.noteHead(t.buf[:n], base)
			f.readPos += int64(n)
			f.lastGrowth = t.tick
			budget -= n
			if err := f.split.feed(t.buf[:n], emit); err != nil {
				return false, err
			}
		}
		if rerr == io.EOF {
			return false, nil
		}
		if rerr != nil {
			t.note(fl, "cannot read file", rerr)
			return false, nil
		}
	}
	return true, nil
}

// restore sets fl up from a saved position at startup. fi describes the
// regular file now at the path, if any.
func (t *Tailer) restore(fl *follower, p Position, fi fs.FileInfo) {
	var cur *file
	if fi != nil {
		var err error
		if cur, err = openFile(fl.path, t.maxLine); err != nil {
			t.note(fl, "cannot open file", err)
		}
	}
	fl.cur = cur
	matches := func(c *file) bool { return c.size >= p.Offset && c.fingerprint(p.Offset) == p.Fingerprint }

	if cur != nil && cur.ino == p.Ino {
		if matches(cur) {
			cur.readPos = p.Offset
			return
		}
		// Truncated while we were down (or the inode number was reused).
		var cp *file
		if p.Offset > 0 {
			cp = t.findSibling(fl, looseSiblings, matches, false)
		}
		if cp != nil {
			t.log.Info("file truncated while stopped; reading the rest from its copy", "path", fl.path, "copy", cp.f.Name(), "offset", p.Offset)
			cp.readPos, cp.complete = p.Offset, true
			fl.old = append(fl.old, cp)
		} else {
			t.log.Warn("file truncated or replaced while stopped; reading it from its start", "path", fl.path, "offset", p.Offset, "size", cur.size)
		}
		return
	}

	x := t.findSibling(fl, looseSiblings, func(c *file) bool { return c.ino == p.Ino && matches(c) }, false)
	if x == nil {
		t.log.Warn("file of the saved position is gone; reading the current file from its start", "path", fl.path, "inode", p.Ino, "offset", p.Offset)
		return
	}
	t.log.Info("file rotated while stopped; reading the rest of the old one first", "path", fl.path, "old", x.f.Name(), "offset", p.Offset)
	x.readPos = p.Offset
	fl.old = append(fl.old, x)
	// Files rotated after x (rotated more than once while we were down)
	// come between it and the current file.
	for {
		prev := fl.old[len(fl.old)-1]
		next := t.findSibling(fl, strictSiblings, func(c *file) bool { return c.mtime.After(prev.mtime) }, true)
		if next == nil {
			break
		}
		t.log.Info("also reading a file rotated while stopped", "path", fl.path, "file", next.f.Name())
		fl.old = append(fl.old, next)
	}
}
