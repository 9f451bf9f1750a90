package tailer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// stream is a source read as it comes, by a goroutine of its own: a FIFO or
// stdin. Its offsets count bytes read; there is nothing to resume.
type stream struct {
	path     string
	f        *os.File
	dev, ino uint64
	done     chan struct{} // closed when the reading goroutine has returned
	retiring atomic.Bool   // read what is buffered, then finish
	cleanup  func()        // run before the file is closed
}

// openFIFO opens a FIFO for reading and writing, as tenshi does: the open
// does not wait for a writer, and writers coming and going never make it
// report end of file. Go's poller then makes its reads interruptible.
func openFIFO(path string) (*stream, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.Mode()&fs.ModeNamedPipe == 0 {
		f.Close()
		return nil, fmt.Errorf("%s: not a FIFO", path)
	}
	dev, ino := fileID(fi)
	return &stream{path: path, f: f, dev: dev, ino: ino, done: make(chan struct{})}, nil
}

// openStdin prepares in for reading as the source "-". It reads a duplicate
// descriptor switched to non-blocking mode, so that Go's poller can
// interrupt the read at shutdown; the mode is switched back at the end.
func openStdin(in *os.File) (*stream, error) {
	rc, err := in.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("stdin: %w", err)
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(s uintptr) { fd, derr = syscall.Dup(int(s)) }); err != nil {
		return nil, fmt.Errorf("stdin: %w", err)
	}
	if derr != nil {
		return nil, fmt.Errorf("stdin: dup: %w", derr)
	}
	syscall.CloseOnExec(fd)
	flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFL, 0)
	wasNonblock := errno == 0 && flags&syscall.O_NONBLOCK != 0
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("stdin: %w", err)
	}
	s := &stream{path: "-", f: os.NewFile(uintptr(fd), "stdin"), done: make(chan struct{})}
	if !wasNonblock {
		s.cleanup = func() {
			if rc, err := s.f.SyscallConn(); err == nil {
				_ = rc.Control(func(fd uintptr) { _ = syscall.SetNonblock(int(fd), false) })
			}
		}
	}
	return s, nil
}

// stop interrupts the stream's reading goroutine.
func (s *stream) stop() { _ = s.f.SetReadDeadline(time.Now()) }

// retire makes the stream read what its FIFO holds now and finish: the path
// names another file.
func (s *stream) retire() {
	s.retiring.Store(true)
	s.stop()
}

// followFIFO makes sure the FIFO at fl's path, which fi describes, is being
// read, retiring the reader of a FIFO it replaced.
func (t *Tailer) followFIFO(ctx context.Context, fl *follower, fi fs.FileInfo) {
	dev, ino := fileID(fi)
	if s := t.streams[fl.path]; s != nil {
		if s.dev == dev && s.ino == ino {
			return
		}
		t.log.Info("FIFO replaced", "path", fl.path)
		s.retire()
		delete(t.streams, fl.path)
	}
	s, err := openFIFO(fl.path)
	if err != nil {
		t.note(fl, "cannot open FIFO", err)
		return
	}
	fl.problem = ""
	t.startStream(ctx, s)
}

// startStream starts the goroutine reading s. Run waits for it on its way
// out.
func (t *Tailer) startStream(ctx context.Context, s *stream) {
	t.streams[s.path] = s
	t.allStreams = append(t.allStreams, s)
	go t.readStream(ctx, s)
}

// readStream sends the lines of s until it ends, is retired, or ctx is done.
func (t *Tailer) readStream(ctx context.Context, s *stream) {
	defer close(s.done)
	defer func() {
		if s.cleanup != nil {
			s.cleanup()
		}
		s.f.Close()
	}()
	split := splitter{max: t.maxLine}
	buf := make([]byte, readSize)
	var off int64
	emit := func(text []byte, end int) error {
		return t.send(ctx, Line{Source: s.path, Text: text, Pos: Position{Path: s.path, Dev: s.dev, Ino: s.ino, Offset: off + int64(end)}})
	}
	feed := func(p []byte) error {
		err := split.feed(p, emit)
		off += int64(len(p))
		return err
	}
	for {
		n, err := s.f.Read(buf)
		if n > 0 {
			if feed(buf[:n]) != nil {
				return
			}
		}
		if err == nil {
			continue
		}
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, os.ErrDeadlineExceeded) && s.retiring.Load():
			if s.drain(buf, feed) != nil {
				return
			}
			t.log.Info("stopped reading replaced FIFO", "path", s.path)
		case err == io.EOF:
			t.log.Info("source ended", "path", s.path)
		default:
			t.log.Warn("cannot read source; giving it up", "path", s.path, "err", err)
		}
		if text, ok := split.flush(); ok {
			_ = t.send(ctx, Line{Source: s.path, Text: text, Pos: Position{Path: s.path, Dev: s.dev, Ino: s.ino, Offset: off}})
		}
		return
	}
}

// drain feeds what the stream holds right now, without waiting for more.
func (s *stream) drain(buf []byte, feed func([]byte) error) error {
	if err := s.f.SetReadDeadline(time.Time{}); err != nil {
		return nil
	}
	rc, err := s.f.SyscallConn()
	if err != nil {
		return nil
	}
	for {
		var n int
		var rerr error
		if err := rc.Read(func(fd uintptr) bool {
			n, rerr = syscall.Read(int(fd), buf)
			return true
		}); err != nil || rerr != nil || n <= 0 {
			return nil
		}
		if err := feed(buf[:n]); err != nil {
			return err
		}
	}
}
