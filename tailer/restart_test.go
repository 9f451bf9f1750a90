package tailer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRestart stops a tailer, changes the files while it is down, and
// starts another from the saved position: what was written meanwhile is read
// once, in order.
func TestRestart(t *testing.T) {
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	setMtime := func(t *testing.T, path string, mt time.Time) {
		t.Helper()
		if err := os.Chtimes(path, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		// down changes the files while no tailer runs. When it is called,
		// path holds "l1\nl2\n" and the saved position is after l2;
		// "l3\n" was appended.
		down func(t *testing.T, path string)
		want []string
		log  string // alternatives separated by |
	}{
		{
			name: "same file",
			down: func(t *testing.T, path string) { appendFile(t, path, "l4\n") },
			want: []string{"l3", "l4"},
		},
		{
			name: "incomplete line completed while down",
			down: func(t *testing.T, path string) {
				appendFile(t, path, "l4 part")
				appendFile(t, path, "ial\n")
			},
			want: []string{"l3", "l4 partial"},
		},
		{
			name: "rotated",
			down: func(t *testing.T, path string) {
				rename(t, path, path+".1")
				writeFile(t, path, "n1\n")
			},
			want: []string{"l3", "n1"},
			log:  "file rotated while stopped",
		},
		{
			name: "rotated, no new file yet",
			down: func(t *testing.T, path string) { rename(t, path, path+".1") },
			want: []string{"l3"},
			log:  "file rotated while stopped",
		},
		{
			name: "rotated twice, dateext",
			down: func(t *testing.T, path string) {
				writeFile(t, path+"-20251230", "older\n")
				setMtime(t, path+"-20251230", day.Add(-48*time.Hour))
				rename(t, path, path+"-20251231")
				setMtime(t, path+"-20251231", day.Add(-24*time.Hour))
				writeFile(t, path+"-20260101", "m1\nm2\n")
				setMtime(t, path+"-20260101", day)
				writeFile(t, path, "n1\n")
			},
			want: []string{"l3", "m1", "m2", "n1"},
			log:  "also reading a file rotated while stopped",
		},
		{
			name: "rotated and old file deleted",
			down: func(t *testing.T, path string) {
				rename(t, path, path+".1")
				remove(t, path+".1")
				writeFile(t, path, "n1\n")
			},
			want: []string{"n1"},
			// The new file may have been given the old inode number.
			log: "file of the saved position is gone|file truncated or replaced while stopped",
		},
		{
			name: "rotated and compressed",
			down: func(t *testing.T, path string) {
				rename(t, path, path+".1.gz")
				writeFile(t, path, "n1\n")
			},
			want: []string{"n1"},
			log:  "file of the saved position is gone",
		},
		{
			name: "copytruncate",
			down: func(t *testing.T, path string) {
				copyFile(t, path, path+".1")
				truncate(t, path)
				appendFile(t, path, "n1\n")
			},
			want: []string{"l3", "n1"},
			log:  "file truncated while stopped; reading the rest from its copy",
		},
		{
			name: "truncated",
			down: func(t *testing.T, path string) {
				truncate(t, path)
				appendFile(t, path, "n1\n")
			},
			want: []string{"n1"},
			log:  "file truncated or replaced while stopped",
		},
		{
			name: "rewritten past the saved offset",
			down: func(t *testing.T, path string) {
				truncate(t, path)
				appendFile(t, path, "another file, longer\n")
			},
			want: []string{"another file, longer"},
			log:  "file truncated or replaced while stopped",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "host.log")
			writeFile(t, path, "")
			cfg := Config{Patterns: []string{path}}
			h, _ := startTailer(t, cfg, nil)
			appendFile(t, path, "l1\nl2\n")
			checkTexts(t, "first run", h.step(), "l1", "l2")
			h.stop()
			saved := h.last[path]

			appendFile(t, path, "l3\n")
			tt.down(t, path)

			h2, got := startTailer(t, cfg, []Position{saved})
			got = append(got, h2.steps(3)...)
			if _, err := os.Stat(path); err != nil {
				writeFile(t, path, "n1\n")
				tt.want = append(tt.want, "n1")
				got = append(got, h2.steps(2)...)
			}
			checkTexts(t, "second run", got, tt.want...)
			if tt.log != "" {
				checkLogged(t, h2, strings.Split(tt.log, "|")...)
			}
			// And once more from where the second run got to.
			h2.stop()
			appendFile(t, path, "z\n")
			h3, got := startTailer(t, cfg, []Position{h2.last[path]})
			checkTexts(t, "third run", append(got, h3.step()...), "z")
		})
	}
}

// TestRestartSavedInMiddle resumes from an older position than the last
// line read: the lines after it are read again, which is what the caller
// asked for.
func TestRestartSavedInMiddle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	writeFile(t, path, "")
	cfg := Config{Patterns: []string{path}}
	h, _ := startTailer(t, cfg, nil)
	appendFile(t, path, "a\nb\nc\n")
	got := h.step()
	h.stop()
	h2, got2 := startTailer(t, cfg, []Position{got[0].Pos})
	checkTexts(t, "resumed after a", got2, "b", "c")
	h2.stop()
}

// TestRestartNewFileWhileDown: a file a glob matches for the first time at
// startup starts at its end, even with other files resuming.
func TestRestartNewFileWhileDown(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	writeFile(t, a, "")
	cfg := Config{Patterns: []string{filepath.Join(dir, "*.log")}}
	h, _ := startTailer(t, cfg, nil)
	appendFile(t, a, "a1\n")
	h.step()
	h.stop()
	appendFile(t, a, "a2\n")
	writeFile(t, b, "b1\n")
	h2, got := startTailer(t, cfg, []Position{h.last[a]})
	if want := []string{"a.log: a2"}; !equal(sourced(got), want) {
		t.Errorf("restart: got %q, want %q", sourced(got), want)
	}
	appendFile(t, b, "b2\n")
	checkTexts(t, "new file", h2.step(), "b2")
}

// TestRestartInodeReused: the saved inode number now belongs to another
// file at the path (the old one was deleted); the fingerprint tells them
// apart and the new file is read from its start.
func TestRestartInodeReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	writeFile(t, path, "first file, first line\nfirst file, second line\n")
	saved := Position{Path: path, Ino: inode(t, path), Offset: 23}
	saved.Fingerprint = fnv1a([]byte("first file, first line\n"))
	h, got := startTailer(t, Config{Patterns: []string{path}}, []Position{saved})
	checkTexts(t, "same file", got, "first file, second line")
	h.stop()

	// Simulate reuse: the same inode, other contents.
	if err := os.WriteFile(path, []byte("second file, first line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, got = startTailer(t, Config{Patterns: []string{path}}, []Position{saved})
	checkTexts(t, "other file", got, "second file, first line")
}
