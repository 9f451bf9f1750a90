package tailer

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// DefaultMaxLine is the line length above which lines are cut when
// Config.MaxLine (or ReadLines' maxLine) is 0.
const DefaultMaxLine = 64 << 10

// readSize is the size of one read from a source.
const readSize = 64 << 10

// cutMarker starts the text appended to a line that was cut; the full marker
// reads "… [tayori: line cut at 65536 of 1048576 bytes]".
const cutMarker = "… [tayori: line cut at "

// splitter cuts a byte stream into complete lines. Chunks may end anywhere:
// the start of an incomplete line is kept until its newline arrives. A line
// longer than max is cut to at most max bytes plus a marker, and the rest of
// it is skipped. It is the only line splitter in the package: files, FIFOs,
// stdin and ReadLines all use it.
type splitter struct {
	max   int
	carry []byte // first bytes (at most max+1) of the incomplete line
	n     int64  // length of the incomplete line so far, skipped bytes included
	// lend: a line that lies whole in the buffer being fed is passed on as a view of it, not a
	// copy; the receiver must be done with it when emit returns (ReadLines).
	lend bool
	join []byte // reused for a line that spans two reads, when lending
}

// feed splits p, calling emit for each line completed in p. text is owned by
// the callee; end is the index in p just after the line's newline. Bytes after
// the last newline are kept for the next call.
func (s *splitter) feed(p []byte, emit func(text []byte, end int) error) error {
	start := 0
	for start < len(p) {
		i := bytes.IndexByte(p[start:], '\n')
		if i < 0 {
			s.hold(p[start:])
			return nil
		}
		seg := p[start : start+i]
		var text []byte
		switch {
		case s.lend && s.n == 0 && len(seg) <= s.max:
			text = seg
		case s.lend && s.n+int64(len(seg)) <= int64(s.max):
			s.join = append(append(s.join[:0], s.carry...), seg...)
			text = s.join
			s.reset()
		case s.n == 0:
			text = s.own(nil, seg, int64(len(seg)))
		default:
			text = s.own(s.carry, seg, s.n+int64(len(seg)))
			s.reset()
		}
		start += i + 1
		if err := emit(text, start); err != nil {
			return err
		}
	}
	return nil
}

// pending reports how many bytes of an incomplete line are held back.
func (s *splitter) pending() int64 { return s.n }

// flush returns the incomplete line, if any, as a line of its own: used when a
// source is known to be finished.
func (s *splitter) flush() ([]byte, bool) {
	if s.n == 0 {
		return nil, false
	}
	text := s.own(s.carry, nil, s.n)
	s.reset()
	return text, true
}

// reset forgets the incomplete line.
func (s *splitter) reset() {
	s.carry = s.carry[:0]
	s.n = 0
}

func (s *splitter) hold(p []byte) {
	if room := s.max + 1 - len(s.carry); room > 0 {
		s.carry = append(s.carry, p[:min(room, len(p))]...)
	}
	s.n += int64(len(p))
}

// own returns a new slice holding the line made of a then b, total bytes long
// (a and b may hold fewer bytes than total when the line is being cut).
func (s *splitter) own(a, b []byte, total int64) []byte {
	if total <= int64(s.max) {
		text := make([]byte, len(a)+len(b))
		copy(text, a)
		copy(text[len(a):], b)
		return text
	}
	// The first max+1 bytes are at hand: enough to see whether the cut falls
	// inside a UTF-8 sequence.
	head := len(a) + len(b)
	if head > s.max+1 {
		head = s.max + 1
	}
	at := func(i int) byte {
		if i < len(a) {
			return a[i]
		}
		return b[i-len(a)]
	}
	keep := s.max
	for back := 0; back < 3 && keep > 0 && keep < head && at(keep)&0xC0 == 0x80; back++ {
		keep--
	}
	text := make([]byte, 0, keep+len(cutMarker)+48)
	text = append(text, a[:min(keep, len(a))]...)
	if keep > len(a) {
		text = append(text, b[:keep-len(a)]...)
	}
	text = append(text, cutMarker...)
	text = strconv.AppendInt(text, int64(keep), 10)
	text = append(text, " of "...)
	text = strconv.AppendInt(text, total, 10)
	text = append(text, " bytes]"...)
	return text
}

// ReadLines reads r to its end and calls fn for each line, splitting and
// cutting lines exactly as a Tailer does. A final line without a newline is
// passed on too. Line.Pos.Path is source and Pos.Offset counts the bytes read
// through the line. A maxLine of 0 means DefaultMaxLine. It returns the first
// error from r (other than io.EOF) or from fn.
//
// Unlike a Tailer's lines, Line.Text is lent: it is valid only until fn returns (copy it to keep it),
// so reading allocates nothing per line.
func ReadLines(r io.Reader, source string, maxLine int, fn func(Line) error) error {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	s := splitter{max: maxLine, lend: true}
	buf := make([]byte, readSize)
	var off int64
	emit := func(text []byte, end int) error {
		return fn(Line{Source: source, Text: text, Pos: Position{Path: source, Offset: off + int64(end)}})
	}
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if ferr := s.feed(buf[:n], emit); ferr != nil {
				return ferr
			}
			off += int64(n)
		}
		if err == io.EOF {
			if text, ok := s.flush(); ok {
				return fn(Line{Source: source, Text: text, Pos: Position{Path: source, Offset: off}})
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", source, err)
		}
	}
}
