package tailer

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestOpenPositions: with OpenPositions, a file started at its end at
// startup and a file that appears later are announced by a line without
// text; saving that position lets a restart read what was written to a quiet
// file meanwhile. A rotated file's successor is not announced: its position
// would skip what is left of the old file.
func TestOpenPositions(t *testing.T) {
	dir := t.TempDir()
	quiet, late := filepath.Join(dir, "quiet.log"), filepath.Join(dir, "late.log")
	writeFile(t, quiet, "a\nb\n")
	cfg := Config{Patterns: []string{filepath.Join(dir, "*.log")}, OpenPositions: true}
	h, got := startTailer(t, cfg, nil)
	if len(got) != 1 || got[0].Text != nil || got[0].Source != quiet || got[0].Pos.Offset != 4 || got[0].Pos.Ino != inode(t, quiet) {
		t.Fatalf("startup: got %+v, want one position-only line for %s at offset 4", got, quiet)
	}

	writeFile(t, late, "l1\n")
	got = h.step()
	if len(got) != 2 || got[0].Text != nil || got[0].Pos.Offset != 0 || string(got[1].Text) != "l1" {
		t.Errorf("new file: got %q (first %+v), want a position at 0 then l1", texts(got), got)
	}

	// Rotation: no announcement of the successor.
	appendFile(t, late, "l2\n")
	rename(t, late, late+".1")
	writeFile(t, late, "m1\n")
	got = h.steps(2)
	for _, l := range got {
		if l.Text == nil {
			t.Errorf("position-only line after rotation: %+v", l.Pos)
		}
	}
	checkTexts(t, "rotated", got, "l2", "m1")

	h.stop()
	appendFile(t, quiet, "c\n")
	_, got = startTailer(t, cfg, []Position{h.last[quiet], h.last[late]})
	checkTexts(t, "restart", got, "c")
}

// TestSince: at startup, a file without a saved position is read from its
// start if it was created after Since, from its end otherwise.
func TestSince(t *testing.T) {
	tests := []struct {
		name  string
		since time.Time
		want  []string
	}{
		{"no Since", time.Time{}, nil},
		{"created after Since", time.Unix(1, 0), []string{"a", "b"}},
		{"created before Since", time.Now().Add(time.Hour), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "host.log")
			writeFile(t, path, "a\nb\n")
			_, got := startTailer(t, Config{Patterns: []string{path}, Since: tt.since}, nil)
			checkTexts(t, "startup", got, tt.want...)
		})
	}
}

// TestFinalPoll: with FinalPoll, lines written after the last poll arrive before Run returns (a
// stopping daemon counts them); without it they wait for the next start.
func TestFinalPoll(t *testing.T) {
	for _, final := range []bool{false, true} {
		t.Run(fmt.Sprint("FinalPoll=", final), func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "a.log")
			writeFile(t, p, "old\n")
			h, _ := startTailer(t, Config{Patterns: []string{p}, FinalPoll: final}, nil)
			appendFile(t, p, "one\ntwo\n")
			h.once.Do(h.cancel) // stop here, taking lines until Run returns
			var got []string
			for done := false; !done; {
				select {
				case l := <-h.out:
					got = append(got, string(l.Text))
				case err := <-h.done:
					if err != nil {
						t.Fatalf("Run: %v", err)
					}
					done = true
				case <-time.After(pollTimeout):
					t.Fatal("Run did not return")
				}
			}
			var want []string
			if final {
				want = []string{"one", "two"}
			}
			if !equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}
