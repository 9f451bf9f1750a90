package tailer

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadLines(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	tests := []struct {
		name    string
		in      string
		maxLine int
		want    []string
		offsets []int64
	}{
		{name: "empty", in: "", want: nil},
		{name: "one line", in: "a\n", want: []string{"a"}, offsets: []int64{2}},
		{name: "final line without newline", in: "a\nbc", want: []string{"a", "bc"}, offsets: []int64{2, 4}},
		{name: "empty lines kept", in: "\n\na\n", want: []string{"", "", "a"}, offsets: []int64{1, 2, 4}},
		{name: "carriage return kept", in: "a\r\n", want: []string{"a\r"}},
		{name: "binary and invalid UTF-8 pass", in: "\x00\xff\xfe\x80\x01\n\xc3(\n", want: []string{"\x00\xff\xfe\x80\x01", "\xc3("}},
		{name: "line of exactly max", in: "abcde\nf\n", maxLine: 5, want: []string{"abcde", "f"}},
		{name: "line one over max", in: "abcdef\nf\n", maxLine: 5, want: []string{"abcde… [tayori: line cut at 5 of 6 bytes]", "f"}, offsets: []int64{7, 9}},
		{name: "long final line without newline", in: "abcdefgh", maxLine: 3, want: []string{"abc… [tayori: line cut at 3 of 8 bytes]"}, offsets: []int64{8}},
		{name: "cut does not split a UTF-8 sequence", in: "ab€€\n", maxLine: 4, want: []string{"ab… [tayori: line cut at 2 of 8 bytes]"}},
		{name: "cut right after a UTF-8 sequence", in: "a€b\n", maxLine: 4, want: []string{"a€… [tayori: line cut at 4 of 5 bytes]"}},
		{name: "1 MiB line", in: big + "\nnext\n", want: []string{big[:DefaultMaxLine] + "… [tayori: line cut at 65536 of 1048576 bytes]", "next"}, offsets: []int64{1<<20 + 1, 1<<20 + 6}},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"halves":   iotest.HalfReader,
	}
	for _, tt := range tests {
		for rname, wrap := range readers {
			if rname == "one byte" && len(tt.in) > 1<<16 {
				continue
			}
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				var got []string
				var offsets []int64
				err := ReadLines(wrap(strings.NewReader(tt.in)), "src", tt.maxLine, func(l Line) error {
					if l.Source != "src" || l.Pos.Path != "src" {
						t.Errorf("line %q: source %q, path %q", l.Text, l.Source, l.Pos.Path)
					}
					got = append(got, string(l.Text))
					offsets = append(offsets, l.Pos.Offset)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if !equal(got, tt.want) {
					t.Errorf("got %q, want %q", shorten(got), shorten(tt.want))
				}
				if tt.offsets != nil && !equalInt64(offsets, tt.offsets) {
					t.Errorf("offsets %v, want %v", offsets, tt.offsets)
				}
			})
		}
	}
}

func TestReadLinesErrors(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := ReadLines(strings.NewReader("a\nb\nc\n"), "src", 0, func(Line) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Errorf("callback error: got %v after %d lines, want %v after 2", err, n, stop)
	}
	err = ReadLines(iotest.TimeoutReader(iotest.OneByteReader(strings.NewReader("ab\n"))), "src", 0, func(Line) error { return nil })
	if !errors.Is(err, iotest.ErrTimeout) || !strings.Contains(err.Error(), "src") {
		t.Errorf("reader error: got %v, want one wrapping %v and naming the source", err, iotest.ErrTimeout)
	}
}

// TestReadLinesLends checks that ReadLines hands each line over correctly, lines spanning two reads
// included, without allocating a line at a time.
func TestReadLinesLends(t *testing.T) {
	in := bytes.Repeat([]byte("0123456789abcdef\n"), 20000) // several reads; some lines span two
	n := 0
	allocs := testing.AllocsPerRun(1, func() {
		n = 0
		if err := ReadLines(bytes.NewReader(in), "src", 0, func(l Line) error {
			if string(l.Text) != "0123456789abcdef" {
				t.Fatalf("line %d is %q", n, l.Text)
			}
			n++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
	if n != 20000 {
		t.Fatalf("%d lines, want 20000", n)
	}
	if allocs > 20 {
		t.Errorf("%v allocations for 20000 lines: lines are copied", allocs)
	}
}

// TestTailerLinesOwned checks that the splitter a Tailer uses hands out copies: a line's Text is not
// overwritten when the read buffer is reused.
func TestTailerLinesOwned(t *testing.T) {
	s := splitter{max: DefaultMaxLine}
	buf := []byte("first\nsec")
	var got [][]byte
	emit := func(text []byte, _ int) error { got = append(got, text); return nil }
	if err := s.feed(buf, emit); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXXXXX")
	if err := s.feed([]byte("ond\n"), emit); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got[0]) != "first" || string(got[1]) != "second" {
		t.Errorf("got %q", got)
	}
}

func equalInt64(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func shorten(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		if len(x) > 80 {
			x = x[:40] + "..." + x[len(x)-40:]
		}
		out[i] = x
	}
	return out
}
