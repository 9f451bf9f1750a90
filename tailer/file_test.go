package tailer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewChecksConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no patterns", Config{}, "no patterns"},
		{"empty pattern", Config{Patterns: []string{"a", ""}}, "pattern 1 is empty"},
		{"bad glob", Config{Patterns: []string{"/var/log/[a"}}, `pattern 0 "/var/log/[a"`},
		{"negative MaxLine", Config{Patterns: []string{"a"}, MaxLine: -1}, "MaxLine"},
		{"negative Rescan", Config{Patterns: []string{"a"}, Rescan: -1}, "Rescan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestStartup checks where files start: files present at startup at their
// end (an incomplete last line is read once complete), files appearing
// later from their beginning, missing files once they appear.
func TestStartup(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	missing := filepath.Join(dir, "sub", "late.txt")
	writeFile(t, a, "old1\nold2\n")
	writeFile(t, b, "old\npart")
	writeFile(t, filepath.Join(dir, "c.txt"), "not matched\n")

	h, got := startTailer(t, Config{Patterns: []string{filepath.Join(dir, "*.log"), missing}}, nil)
	checkTexts(t, "startup", got)
	checkLogged(t, h, "file does not exist yet")

	appendFile(t, a, "new1\n")
	appendFile(t, b, "ial\nnew2\n")
	got = h.step()
	if want := []string{"a.log: new1", "b.log: partial", "b.log: new2"}; !equal(sourced(got), want) {
		t.Errorf("appended: got %q, want %q", sourced(got), want)
	}
	for _, l := range got {
		if want := size(t, l.Source); l.Source == a && l.Pos.Offset != want {
			t.Errorf("%s: offset %d, want %d", l.Text, l.Pos.Offset, want)
		}
	}

	// A host that appears later, and a missing path that appears.
	writeFile(t, filepath.Join(dir, "new.log"), "n1\nn2\n")
	if err := os.Mkdir(filepath.Dir(missing), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, missing, "l1\n")
	got = h.step()
	if want := []string{"late.txt: l1", "new.log: n1", "new.log: n2"}; !equal(sourced(got), want) {
		t.Errorf("new files: got %q, want %q", sourced(got), want)
	}
	checkTexts(t, "quiet poll", h.step())
}

// TestPartialLine checks that an incomplete line is neither sent nor
// counted until its newline arrives, however long it gets.
func TestPartialLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	writeFile(t, path, "")
	h, _ := startTailer(t, Config{Patterns: []string{path}, MaxLine: 10}, nil)
	w := openAppend(t, path)
	defer w.Close()

	mustWrite(t, w, "first\nab")
	got := h.step()
	checkTexts(t, "first", got, "first")
	mustWrite(t, w, "c")
	checkTexts(t, "still incomplete", h.step())
	mustWrite(t, w, strings.Repeat("d", 20))
	checkTexts(t, "incomplete and too long", h.step())
	mustWrite(t, w, "e\nlast\n")
	got = h.step()
	checkTexts(t, "completed", got, "abcddddddd… [tayori: line cut at 10 of 24 bytes]", "last")
	if want := []int64{6 + 25, 6 + 25 + 5}; got[0].Pos.Offset != want[0] || got[1].Pos.Offset != want[1] {
		t.Errorf("offsets %d, %d; want %v", got[0].Pos.Offset, got[1].Pos.Offset, want)
	}
}

// TestBigLineAndJunk follows a file that receives a 1 MiB line in pieces
// and binary junk.
func TestBigLineAndJunk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	writeFile(t, path, "")
	h, _ := startTailer(t, Config{Patterns: []string{path}}, nil)
	big := strings.Repeat("y", 1<<20)
	appendFile(t, path, big[:300000])
	checkTexts(t, "piece", h.step())
	appendFile(t, path, big[300000:]+"\n\x00\xff\xfe junk \x80\n")
	got := h.step()
	checkTexts(t, "big line", got, big[:DefaultMaxLine]+"… [tayori: line cut at 65536 of 1048576 bytes]", "\x00\xff\xfe junk \x80")
}

// TestRenameRotation rotates the way logrotate's create does while the
// writer keeps writing to the old file for a while: the old file is read to
// its end, its final incomplete line included, before the new one.
func TestRenameRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log")
	writeFile(t, path, "a1\n")
	h, got := startTailer(t, Config{Patterns: []string{path}}, nil)
	checkTexts(t, "startup", got)
	w := openAppend(t, path)
	defer w.Close()
	mustWrite(t, w, "a2\n")
	checkTexts(t, "before rotation", h.step(), "a2")
	oldIno := inode(t, path)

	rename(t, path, path+".1")
	writeFile(t, path, "")
	mustWrite(t, w, "a3\n")
	checkTexts(t, "rotated, writer still on old file", h.step(), "a3")

	mustWrite(t, w, "a4 no newline")
	appendFile(t, path, "b1\n")
	checkTexts(t, "old file grew: new one held back", h.step())

	got = h.step()
	checkTexts(t, "old file finished", got, "a4 no newline", "b1")
	if p := got[0].Pos; p.Ino != oldIno || p.Offset != size(t, path+".1") || p.Path != path {
		t.Errorf("last line of old file: position %+v, want inode %d offset %d path %s", p, oldIno, size(t, path+".1"), path)
	}
	if p := got[1].Pos; p.Ino != inode(t, path) || p.Offset != 3 {
		t.Errorf("first line of new file: position %+v, want inode %d offset 3", p, inode(t, path))
	}
	for _, l := range got {
		if l.Source != path {
			t.Errorf("line %q: source %q, want %q", l.Text, l.Source, path)
		}
	}

	// Rotated twice before a poll: both old files come first, in order.
	w2 := openAppend(t, path)
	defer w2.Close()
	mustWrite(t, w2, "b2\n")
	rename(t, path, path+".2")
	writeFile(t, path, "c1\n")
	checkTexts(t, "rotated again", h.step(), "b2")
	got = h.steps(2)
	checkTexts(t, "after rotation", got, "c1")
}

// TestRotationWithoutSuccessorData covers old files whose path stays empty
// or missing: they are closed, their incomplete last line sent, after
// RotateWait.
func TestRotationWithoutSuccessorData(t *testing.T) {
	tests := []struct {
		name   string
		rotate func(t *testing.T, path string)
	}{
		{"renamed, new file empty", func(t *testing.T, path string) { rename(t, path, path+".1"); writeFile(t, path, "") }},
		{"renamed, no new file", func(t *testing.T, path string) { rename(t, path, path+".1") }},
		{"deleted", func(t *testing.T, path string) { remove(t, path) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log")
			writeFile(t, path, "")
			h, _ := startTailer(t, Config{Patterns: []string{path}, Rescan: 1, RotateWait: 3}, nil)
			appendFile(t, path, "x1\nx2 incomplete")
			tt.rotate(t, path)
			checkTexts(t, "rotated", h.step(), "x1")
			checkTexts(t, "waiting", h.steps(2))
			checkTexts(t, "RotateWait over", h.step(), "x2 incomplete")
			appendFile(t, path, "y1\n")
			checkTexts(t, "recreated", h.step(), "y1")
		})
	}
}

// TestDeletedAndRecreated: a file deleted and created again is read from
// its beginning after what was left of the old one.
func TestDeletedAndRecreated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	writeFile(t, path, "")
	h, _ := startTailer(t, Config{Patterns: []string{path}}, nil)
	w := openAppend(t, path)
	defer w.Close()
	mustWrite(t, w, "old1\n")
	remove(t, path)
	mustWrite(t, w, "old2\n")
	writeFile(t, path, "new1\n")
	got := h.steps(2)
	checkTexts(t, "deleted and recreated", got, "old1", "old2", "new1")
}

// TestTruncation covers copytruncate and plain truncation of a followed
// file.
func TestTruncation(t *testing.T) {
	tests := []struct {
		name  string
		apply func(t *testing.T, path string) // called with l1, l2 read and l3, l4 unread
		want  []string
		log   string
	}{
		{
			name:  "truncated, shorter",
			apply: func(t *testing.T, path string) { truncate(t, path); appendFile(t, path, "m1\n") },
			want:  []string{"m1"},
			log:   "reading it again from its start",
		},
		{
			name: "truncated and rewritten past the old offset",
			apply: func(t *testing.T, path string) {
				truncate(t, path)
				appendFile(t, path, "mmmmmmmmmmmmmmmmmm1\nm2\n")
			},
			want: []string{"mmmmmmmmmmmmmmmmmm1", "m2"},
			log:  "reading it again from its start",
		},
		{
			name: "copytruncate",
			apply: func(t *testing.T, path string) {
				copyFile(t, path, path+".1")
				truncate(t, path)
				appendFile(t, path, "m1\n")
			},
			want: []string{"l3", "l4", "m1"},
			log:  "reading the rest from its copy",
		},
		{
			name: "copytruncate, dateext, older copies around",
			apply: func(t *testing.T, path string) {
				writeFile(t, path+"-20251231", "l0\nl1\nl2\nl3\n") // an older day: another head
				copyFile(t, path, path+"-20260101")
				truncate(t, path)
				appendFile(t, path, "m1\nm2 and more\n")
			},
			want: []string{"l3", "l4", "m1", "m2 and more"},
			log:  "reading the rest from its copy",
		},
		{
			name: "copytruncate, then rotated by rename before a poll",
			apply: func(t *testing.T, path string) {
				copyFile(t, path, path+".1")
				truncate(t, path)
				appendFile(t, path, "m1\n")
				rename(t, path+".1", path+".2")
				rename(t, path, path+".1")
				writeFile(t, path, "n1\n")
			},
			want: []string{"l3", "l4", "m1", "n1"},
			log:  "reading the rest from its copy",
		},
		{
			name: "copytruncate, copy compressed at once",
			apply: func(t *testing.T, path string) {
				copyFile(t, path, path+".1.gz")
				truncate(t, path)
				appendFile(t, path, "m1\n")
			},
			want: []string{"m1"},
			log:  "reading it again from its start",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "host.log")
			writeFile(t, path, "")
			h, _ := startTailer(t, Config{Patterns: []string{path}}, nil)
			appendFile(t, path, "l1\nl2\n")
			checkTexts(t, "before", h.step(), "l1", "l2")
			appendFile(t, path, "l3\nl4\n")
			tt.apply(t, path)
			got := h.steps(2)
			checkTexts(t, "after", got, tt.want...)
			checkLogged(t, h, tt.log)
			appendFile(t, path, "z\n")
			checkTexts(t, "afterwards", h.step(), "z")
		})
	}
}

// TestManyFiles follows two globs and a literal path with many files.
func TestManyFiles(t *testing.T) {
	dir1, dir2 := t.TempDir(), t.TempDir()
	literal := filepath.Join(t.TempDir(), "single")
	var paths []string
	for i := range 20 {
		paths = append(paths, filepath.Join(dir1, fmt.Sprintf("host%02d.log", i)))
		paths = append(paths, filepath.Join(dir2, fmt.Sprintf("host%02d.txt", i)))
	}
	paths = append(paths, literal)
	for _, p := range paths {
		writeFile(t, p, "before start\n")
	}
	h, got := startTailer(t, Config{Patterns: []string{filepath.Join(dir1, "*.log"), filepath.Join(dir2, "*.txt"), literal}}, nil)
	checkTexts(t, "startup", got)
	for round := range 3 {
		want := map[string][]string{}
		for i, p := range paths {
			if (i+round)%3 == 0 {
				continue // some files stay quiet
			}
			s := fmt.Sprintf("%s r%d a\n%s r%d b\n", filepath.Base(p), round, filepath.Base(p), round)
			appendFile(t, p, s)
			want[p] = strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		}
		gotBySource := map[string][]string{}
		for _, l := range h.step() {
			gotBySource[l.Source] = append(gotBySource[l.Source], string(l.Text))
		}
		for _, p := range paths {
			if !equal(gotBySource[p], want[p]) {
				t.Errorf("round %d, %s: got %q, want %q", round, p, gotBySource[p], want[p])
			}
		}
	}
}

// TestRotatedFileKeepsGrowing: when the writer never leaves the rotated
// file but the new one has data too (two writers), the new one is held back
// for RotateWait, then both are read.
func TestRotatedFileKeepsGrowing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	writeFile(t, path, "")
	h, _ := startTailer(t, Config{Patterns: []string{path}, Rescan: 1, RotateWait: 3}, nil)
	w := openAppend(t, path)
	defer w.Close()
	rename(t, path, path+".1")
	writeFile(t, path, "n1\n")
	want := [][]string{{"o1"}, {"o2"}, {"o3"}, {"o4", "n1"}}
	for i, wantStep := range want {
		mustWrite(t, w, fmt.Sprintf("o%d\n", i+1))
		checkTexts(t, fmt.Sprintf("step %d", i+1), h.step(), wantStep...)
	}
	checkLogged(t, h, "rotated file still growing; reading its successor too")
	mustWrite(t, w, "o5\n")
	appendFile(t, path, "n2\n")
	checkTexts(t, "both growing", h.step(), "o5", "n2")
	mustWrite(t, w, "o6 incomplete")
	appendFile(t, path, "n3\n")
	checkTexts(t, "old file finished", h.steps(2), "n3", "o6 incomplete")
}

// TestRotatedTwiceBeforeWriterMoved: the log is rotated twice while its
// writer still writes to the first file; the file in between stays empty.
// The first file is finished as soon as the newest has data, not after
// RotateWait.
func TestRotatedTwiceBeforeWriterMoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	writeFile(t, path, "")
	h, _ := startTailer(t, Config{Patterns: []string{path}}, nil) // RotateWait: 5 polls
	w := openAppend(t, path)
	defer w.Close()
	mustWrite(t, w, "a1\n")
	checkTexts(t, "first", h.step(), "a1")
	rename(t, path, path+".1")
	writeFile(t, path, "")
	checkTexts(t, "rotated once", h.step())
	rename(t, path+".1", path+".2")
	rename(t, path, path+".1")
	writeFile(t, path, "")
	checkTexts(t, "rotated twice", h.step())
	mustWrite(t, w, "a2\n")
	appendFile(t, path, "c1\n")
	checkTexts(t, "writer moved on", h.steps(2), "a2", "c1")
}

// TestMovedBack: a file moved away and back to its path goes on where it
// was, without reading anything twice.
func TestMovedBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	writeFile(t, path, "")
	h, _ := startTailer(t, Config{Patterns: []string{path}}, nil)
	appendFile(t, path, "a1\n")
	checkTexts(t, "first", h.step(), "a1")
	rename(t, path, path+".tmp")
	appendFile(t, path+".tmp", "a2\n")
	checkTexts(t, "moved away", h.step(), "a2")
	rename(t, path+".tmp", path)
	appendFile(t, path, "a3\n")
	checkTexts(t, "moved back", h.step(), "a3")
	checkLogged(t, h, "file moved back")
}
