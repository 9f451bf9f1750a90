package difftest

import (
	"fmt"
	"strings"
	"testing"
)

// Differences from tenshi that the differential tests found, fixed since, each kept as the smallest
// case that showed it; and (at the end) three more that tayori keeps on purpose.

// TestConvertKeepsEveryDistinctLine: tenshi keeps every distinct line of a host in a queue. tayori
// keeps settings.max_lines_per_host (1000 unless set) and counts the rest under one "[tayori: other
// lines beyond the per-host limit]" entry. `tayori convert` used to keep that default, so a converted
// configuration lost lines tenshi reports (seen on Debian's rules × Apache_2k, 1461 distinct
// unprefixed lines, and logcheck × Linux_2k and OpenSSH_2k); it now writes a cap of 100,000.
func TestConvertKeepsEveryDistinctLine(t *testing.T) {
	s := prepareSmall(t, "set queue report tenshi@localhost root@localhost [now]\nreport ^msg \\d+$\n")
	var input strings.Builder
	var want []Entry
	for i := 0; i < 1001; i++ {
		fmt.Fprintf(&input, "May  1 12:00:00 h msg %d\n", i)
		want = append(want, Entry{Queue: "report", Host: "h", Line: fmt.Sprintf("msg %d", i), Count: 1})
	}
	wantEntries(t, "tayori", tayoriSays(t, s, input.String()), want)
	t.Run("tenshi", func(t *testing.T) {
		wantEntries(t, "tenshi", tenshiSays(t, s, input.String()), want)
	})
}

// TestEqualEscalationNumbers: tenshi's error message says escalation numbers must increase, but its
// check lets equal ones through: both queues get the line at every fifth match. tayori does the same.
func TestEqualEscalationNumbers(t *testing.T) {
	s := prepareSmall(t, `set queue report tenshi@localhost root@localhost [now]
set queue esc    tenshi@localhost root@localhost [now]
set queue esc2   tenshi@localhost root@localhost [now]
report,esc:5,esc2:5 ^a$
`)
	input := syslog("h", "a", "a", "a", "a", "a")
	want := []Entry{
		{Queue: "esc", Host: "h", Line: "a", Count: 5},
		{Queue: "esc2", Host: "h", Line: "a", Count: 5},
		{Queue: "report", Host: "h", Line: "a", Count: 5},
	}
	wantEntries(t, "tayori", tayoriSays(t, s, input), want)
	t.Run("tenshi", func(t *testing.T) {
		wantEntries(t, "tenshi", tenshiSays(t, s, input), want)
	})
}

// TestIntentionalLongLineCut: tenshi classifies a line whole, however long. tayori cuts lines longer
// than sources.max_line (64 KiB by default) and marks the cut, so that one line cannot take unbounded
// memory; the cut line is classified as it is.
func TestIntentionalLongLineCut(t *testing.T) {
	s := prepareSmall(t, `set mask ___
set queue report tenshi@localhost root@localhost [now]
report ^long (x+)y$
report ^(\S+)
`)
	input := "May  1 12:00:00 h long " + strings.Repeat("x", 70000) + "y\n"
	got := tayoriSays(t, s, input)
	if len(got) != 1 || got[0].Queue != "report" || !strings.HasPrefix(got[0].Line, "___ xxxx") ||
		!strings.Contains(got[0].Line, "[tayori: line cut") || strings.HasSuffix(got[0].Line, "y") {
		t.Errorf("tayori: want one report entry for the cut line, got %.200v", got)
	}
	t.Run("tenshi", func(t *testing.T) {
		wantEntries(t, "tenshi", tenshiSays(t, s, input), []Entry{{Queue: "report", Host: "h", Line: "long ___y", Count: 1}})
	})
}

// TestBugQuoteEscape: in a pattern read at run time, as tenshi reads its rules, Perl takes \Q and \E
// for the letters Q and E (quoting is done by Perl's string parser, which never sees these patterns);
// RE2 quotes the text between them. classify.Compile (findPerlOnly) lets \Q…\E through, so the rule
// silently changes meaning. It should be refused, as the issue asks for constructs RE2 reads otherwise.
func TestConvertRefusesQuoteEscape(t *testing.T) {
	conf := `set queue report tenshi@localhost root@localhost [now]
report ^q \Q.\E$
`
	input := syslog("h", "q QxE", "q .")
	want := []Entry{{Queue: "report", Host: "h", Line: "q QxE", Count: 1}}
	s, err := tryPrepareSmall(t, conf)
	switch {
	case err != nil && strings.Contains(err.Error(), `\Q`):
		t.Logf("refused, as it should be: %v", err)
	case err != nil:
		t.Errorf("refused, but without naming \\Q: %v", err)
	default:
		wantEntries(t, "tayori", tayoriSays(t, s, input), want)
	}
	t.Run("tenshi", func(t *testing.T) {
		if s == nil {
			s = &setup{conf: conf}
		}
		wantEntries(t, "tenshi", tenshiSays(t, s, input), want)
	})
}

// TestBugPerlSpace: Perl's \s matches the vertical tab (since Perl 5.18) and its \S does not; RE2's \s
// is [\t\n\f\r ]. classify.Compile hands \s and \S to Go unchanged, so a rule with \s or \S reads a line
// holding a vertical tab differently (classify's own prefix parsing already uses Perl's \s). Fix: write
// \s as [\t\n\v\f\r ] and \S as [^\t\n\v\f\r ] (inside a class: add \v) before compiling.
func TestPerlSpaceAndVerticalTab(t *testing.T) {
	s := prepareSmall(t, `set mask ___
set queue report tenshi@localhost root@localhost [now]
set queue misc   tenshi@localhost root@localhost [now]
report ^s\s(\S+)$
report ^t (\S+)
misc .
`)
	input := syslog("h", "s\vab", "t a\vb c")
	want := []Entry{
		{Queue: "report", Host: "h", Line: "s\v___", Count: 1},
		{Queue: "report", Host: "h", Line: "t ___\vb c", Count: 1},
	}
	wantEntries(t, "tayori", tayoriSays(t, s, input), want)
	t.Run("tenshi", func(t *testing.T) {
		wantEntries(t, "tenshi", tenshiSays(t, s, input), want)
	})
}

// TestIntentionalUTF8: tenshi's Perl reads a log line as bytes: "." and "[^y]" match one byte, (?i)
// folds ASCII only, \xe9 is the byte 0xE9. tayori's regexes (Go's RE2) read UTF-8, as rsyslog writes
// it: "." matches "é" whole, (?i)k also matches the Kelvin sign, \xe9 is the character é. Lines that are
// not UTF-8 are still classified (each bad byte reads as U+FFFD).
func TestIntentionalUTF8(t *testing.T) {
	s := prepareSmall(t, `set mask ___
set queue report tenshi@localhost root@localhost [now]
set queue misc   tenshi@localhost root@localhost [now]
report ^u (.)(.)
report ^w [^y](.)
report (?i)^kelvin
report ^v \xe9(.)
misc .
`)
	input := syslog("h", "u \xc3\xa9z", "w \xc3\xa9z", "\u212aelvin", "v \xe9z", "v \xc3\xa9z")
	wantEntries(t, "tayori", tayoriSays(t, s, input), []Entry{
		{Queue: "misc", Host: "h", Line: "v \ufffdz", Count: 1},
		{Queue: "report", Host: "h", Line: "u ______", Count: 1},
		{Queue: "report", Host: "h", Line: "v é___", Count: 1},
		{Queue: "report", Host: "h", Line: "w é___", Count: 1},
		{Queue: "report", Host: "h", Line: "\u212aelvin", Count: 1},
	})
	t.Run("tenshi", func(t *testing.T) {
		wantEntries(t, "tenshi", tenshiSays(t, s, input), []Entry{
			{Queue: "misc", Host: "h", Line: "\u212aelvin", Count: 1},
			{Queue: "misc", Host: "h", Line: "v \xc3\xa9z", Count: 1},
			{Queue: "report", Host: "h", Line: "u ______z", Count: 1},
			{Queue: "report", Host: "h", Line: "v \xe9___", Count: 1},
			{Queue: "report", Host: "h", Line: "w \xc3___z", Count: 1},
		})
	})
}

// TestIntentionalRepeatOfFalseLine: tenshi applies a repeat only when the host's last matched line is
// true in Perl's sense, so a repeat of a line that reads "0", or is empty, adds nothing. tayori repeats
// whatever the line says.
func TestIntentionalRepeatOfFalseLine(t *testing.T) {
	s := prepareSmall(t, `set mask ___
set queue misc tenshi@localhost root@localhost [now]
repeat ^last message repeated (\d+) times$
misc ^x(.*)
misc .*
`)
	input := "" +
		"May  1 12:00:00 zero 0\n" +
		"May  1 12:00:01 zero last message repeated 5 times\n" +
		"May  1 12:00:02 empty \n" +
		"May  1 12:00:03 empty last message repeated 4 times\n" +
		"May  1 12:00:04 x x\n" +
		"May  1 12:00:05 x last message repeated 3 times\n"
	wantEntries(t, "tayori", tayoriSays(t, s, input), []Entry{
		{Queue: "misc", Host: "empty", Line: "", Count: 5},
		{Queue: "misc", Host: "x", Line: "x___", Count: 4},
		{Queue: "misc", Host: "zero", Line: "0", Count: 6},
	})
	t.Run("tenshi", func(t *testing.T) {
		wantEntries(t, "tenshi", tenshiSays(t, s, input), []Entry{
			{Queue: "misc", Host: "empty", Line: "", Count: 1},
			{Queue: "misc", Host: "x", Line: "x___", Count: 4},
			{Queue: "misc", Host: "zero", Line: "0", Count: 1},
		})
	})
}
