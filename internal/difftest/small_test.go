package difftest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tayori-dev/tayori/internal/tenshiref"
)

// The helpers of the small, spelled-out cases: the intentional differences and the bugs found.

// prepareSmall prepares a tenshi configuration given as text (without "set mailserver").
func prepareSmall(t *testing.T, conf string) *setup {
	t.Helper()
	s, err := tryPrepareSmall(t, conf)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tryPrepareSmall is prepareSmall that returns `tayori convert`'s failure.
func tryPrepareSmall(t *testing.T, conf string) (*setup, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tenshi.conf")
	if err := os.WriteFile(path, []byte("set mailserver localhost\n"+conf), 0o644); err != nil {
		t.Fatal(err)
	}
	norm, err := tenshiref.Normalize(path)
	if err != nil {
		t.Fatalf("normalize: %v", err)
	}
	return convert(t, "small", norm)
}

// editTOML replaces old, which must occur once, with new in s's converted configuration.
func editTOML(t *testing.T, s *setup, old, new string) {
	t.Helper()
	data, err := os.ReadFile(s.toml)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), old); n != 1 {
		t.Fatalf("tayori convert's output holds %q %d times, want once:\n%s", old, n, data)
	}
	if err := os.WriteFile(s.toml, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tayoriSays runs tayori on input and returns its entries as printed (not normalized), merged and
// sorted.
func tayoriSays(t *testing.T, s *setup, input string) []Entry {
	t.Helper()
	out, err := runTayori(s.toml, []byte(input))
	if err != nil {
		t.Fatal(err)
	}
	if dups := duplicates(out.entries); len(dups) > 0 {
		t.Errorf("tayori printed %d entries twice, first %+v", len(dups), dups[0])
	}
	return tenshiref.Merge(out.entries)
}

// tenshiSays runs tenshi on input and returns its entries as mailed, merged and sorted; it skips t
// where tenshi is missing (and fails it in CI).
func tenshiSays(t *testing.T, s *setup, input string) []Entry {
	t.Helper()
	tenshiref.Require(t)
	es, err := runTenshi(s.conf, []byte(input))
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// wantEntries fails t unless got holds exactly want (in any order).
func wantEntries(t *testing.T, who string, got, want []Entry) {
	t.Helper()
	want = append([]Entry(nil), want...)
	tenshiref.Sort(want)
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if reflect.DeepEqual(got, want) {
		return
	}
	if len(got)+len(want) <= 2*maxShown {
		t.Errorf("%s:\n got %s\nwant %s", who, render(got), render(want))
		return
	}
	t.Errorf("%s: not what was wanted:\n%s", who, diffNamed("wanted", want, "got", got))
}

func render(es []Entry) string {
	if len(es) == 0 {
		return "(nothing)"
	}
	var parts []string
	for _, e := range es {
		parts = append(parts, fmt.Sprintf("\n  %s %s %d %s", e.Queue, e.Host, e.Count, quoteShort(e.Line)))
	}
	return strings.Join(parts, "")
}

// syslog prefixes the BSD time stamp and the host to each message, one line each.
func syslog(host string, msgs ...string) string {
	var b strings.Builder
	for i, m := range msgs {
		fmt.Fprintf(&b, "May  1 12:00:%02d %s %s\n", i%60, host, m)
	}
	return b.String()
}
