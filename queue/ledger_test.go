package queue

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tayori-dev/tayori/classify"
)

var update = flag.Bool("update", false, "rewrite golden files")

// feed classifies lines with rules and adds them to a fresh ledger.
func feed(t *testing.T, rules []classify.Rule, specs []Spec, s Settings, lines ...string) *Ledger {
	t.Helper()
	tb, err := classify.New(rules, classify.Options{Mask: "___", HidePID: true, NoPrefix: true, MaskTrash: true})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLedger(specs, rules, s)
	if err != nil {
		t.Fatal(err)
	}
	add(l, tb, lines...)
	return l
}

func add(l *Ledger, tb *classify.Table, lines ...string) {
	var d classify.Decision
	for _, line := range lines {
		tb.Classify([]byte(line), &d)
		l.Add(&d)
	}
}

func targets(s string) []classify.Target {
	ts, err := classify.ParseTargets(s)
	if err != nil {
		panic(err)
	}
	return ts
}

// counts flattens a queue's report to "host|line" → count.
func counts(l *Ledger, q string) map[string]int {
	m := map[string]int{}
	if r := l.Report(q); r != nil {
		for _, h := range r.Hosts {
			for _, e := range h.Lines {
				m[h.Host+"|"+e.Line] = e.Count
			}
		}
	}
	return m
}

func TestEscalationFollowsTheManPage(t *testing.T) {
	// a,b:10,c:50: at 10 matches a line goes to b, at 50 to c, at 60 to b, 100 to c, 110 to b, 150 to c.
	rules := []classify.Rule{{Kind: classify.Match, Pattern: `^sshd: Illegal user`, Targets: targets("a,b:10,c:50")}}
	specs := []Spec{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	l := feed(t, rules, specs, Settings{})
	tb, _ := classify.New(rules, classify.Options{Mask: "___"})
	var gotB, gotC []int
	for i := 1; i <= 150; i++ {
		add(l, tb, "Jan  1 00:00:00 h sshd: Illegal user")
		b, c := counts(l, "b")["h|sshd: Illegal user"], counts(l, "c")["h|sshd: Illegal user"]
		if len(gotB) == 0 || b != gotB[len(gotB)-1] {
			gotB = append(gotB, b)
		}
		if len(gotC) == 0 || c != gotC[len(gotC)-1] {
			gotC = append(gotC, c)
		}
	}
	if want := []int{0, 10, 60, 110}; !reflect.DeepEqual(gotB, want) {
		t.Errorf("b counts %v, want %v", gotB, want)
	}
	if want := []int{0, 50, 100, 150}; !reflect.DeepEqual(gotC, want) {
		t.Errorf("c counts %v, want %v", gotC, want)
	}
	if a := counts(l, "a")["h|sshd: Illegal user"]; a != 150 {
		t.Errorf("a = %d, want 150", a)
	}
	// Mailing a (the leftmost queue) restarts the count; mailing b does not.
	l.Clear("b", time.Time{})
	add(l, tb, "Jan  1 00:00:00 h sshd: Illegal user")
	l.Clear("a", time.Time{})
	for i := 0; i < 10; i++ {
		add(l, tb, "Jan  1 00:00:00 h sshd: Illegal user")
	}
	if got := counts(l, "b")["h|sshd: Illegal user"]; got != 10 {
		t.Errorf("after reset, b = %d, want 10", got)
	}
}

func TestEscalationCountsPerHostAndSingleQueue(t *testing.T) {
	rules := []classify.Rule{{Kind: classify.Match, Pattern: `x`, Targets: targets("alert:3")}}
	l := feed(t, rules, []Spec{{Name: "alert"}}, Settings{},
		"Jan  1 00:00:00 h1 x", "Jan  1 00:00:00 h2 x", "Jan  1 00:00:00 h1 x", "Jan  1 00:00:00 h1 x",
		"Jan  1 00:00:00 h2 x")
	if got, want := counts(l, "alert"), map[string]int{"h1|x": 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestRsyslogRepeatEscalates(t *testing.T) {
	// "message repeated 25 times" passes the escalation points 10 and 20: the entry shows 20.
	rules := []classify.Rule{{Kind: classify.Match, Pattern: `^x`, Targets: targets("a,b:10")}}
	tb, err := classify.New(rules, classify.Options{RsyslogRepeats: true})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := NewLedger([]Spec{{Name: "a"}, {Name: "b"}}, rules, Settings{})
	add(l, tb, "Jan  1 00:00:00 h x", "Jan  1 00:00:00 h x: message repeated 25 times: [ y]")
	if got := counts(l, "b"); got["h|x: y"] != 20 {
		t.Errorf("b = %v, want x: y: 20", got)
	}
	if got := counts(l, "a"); got["h|x: y"] != 25 || got["h|x"] != 1 {
		t.Errorf("a = %v", got)
	}
}

func TestRepeatAddsToThePreviousLineOfTheHost(t *testing.T) {
	rules := []classify.Rule{
		{Kind: classify.Repeat, Pattern: `^last message repeated (\d+) times`},
		{Kind: classify.Trash, Pattern: `^noise`},
		{Kind: classify.Match, Pattern: `^fail (\d+)`, Targets: targets("a,b")},
		{Kind: classify.Match, Pattern: `^esc`, Targets: targets("a,c:2")},
	}
	specs := []Spec{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	l := feed(t, rules, specs, Settings{},
		"Jan  1 00:00:00 h1 last message repeated 4 times", // nothing before: ignored
		"Jan  1 00:00:00 h1 fail 1",
		"Jan  1 00:00:00 h2 fail 2",
		"Jan  1 00:00:00 h1 last message repeated 5 times", // h1's previous line, in a and b
		"Jan  1 00:00:00 h2 noise",
		"Jan  1 00:00:00 h2 last message repeated 7 times", // repeats the trashed line: not counted
		"Jan  1 00:00:00 h2 unmatched",
		"Jan  1 00:00:00 h2 last message repeated 7 times", // repeats an unmatched line: not counted
		"Jan  1 00:00:00 h3 esc",
		"Jan  1 00:00:00 h3 last message repeated 2 times", // esc did not reach c: added to a only
	)
	wantA := map[string]int{"h1|fail ___": 6, "h2|fail ___": 1, "h3|esc": 3}
	wantB := map[string]int{"h1|fail ___": 6, "h2|fail ___": 1}
	if got := counts(l, "a"); !reflect.DeepEqual(got, wantA) {
		t.Errorf("a = %v, want %v", got, wantA)
	}
	if got := counts(l, "b"); !reflect.DeepEqual(got, wantB) {
		t.Errorf("b = %v, want %v", got, wantB)
	}
	if got := counts(l, "c"); len(got) != 0 {
		t.Errorf("c = %v, want empty", got)
	}
}

func TestTrashDigestAndNoPrefix(t *testing.T) {
	rules := []classify.Rule{{Kind: classify.Trash, Pattern: `^cron: session (\d+)`}}
	l := feed(t, rules, []Spec{{Name: Trash}, {Name: NoPrefix}}, Settings{},
		"Jan  1 00:00:00 h cron: session 1", "Jan  1 00:00:00 h cron: session 2", "plain line", "plain line")
	if got, want := counts(l, Trash), map[string]int{"h|cron: session ___": 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("trash = %v, want %v", got, want)
	}
	if got, want := counts(l, NoPrefix), map[string]int{"[unprefixed logs]|plain line": 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("noprefix = %v, want %v", got, want)
	}
}

func TestMaxLinesCap(t *testing.T) {
	rules := []classify.Rule{{Kind: classify.Match, Pattern: `.`, Targets: targets("a")}}
	var lines []string
	for i := 0; i < 10; i++ {
		lines = append(lines, fmt.Sprintf("Jan  1 00:00:00 h line %d", i%5))
	}
	l := feed(t, rules, []Spec{{Name: "a"}}, Settings{MaxLines: 3}, lines...)
	want := map[string]int{"h|line 0": 2, "h|line 1": 2, "h|line 2": 2, "h|" + OtherLines: 4}
	if got := counts(l, "a"); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestClearEmptiesOnlyThatQueue(t *testing.T) {
	rules := []classify.Rule{{Kind: classify.Match, Pattern: `.`, Targets: targets("a,b")}}
	l := feed(t, rules, []Spec{{Name: "a"}, {Name: "b"}}, Settings{}, "Jan  1 00:00:00 h x")
	l.Clear("a", time.Time{})
	if l.Pending("a") || !l.Pending("b") || l.Report("a") != nil {
		t.Errorf("after Clear(a): pending a=%v b=%v", l.Pending("a"), l.Pending("b"))
	}
}

// A host's lines are held at hand from line to line; a Clear or a Restore must not leave the next line
// counted into lines that are gone.
func TestLinesAfterClearAndRestore(t *testing.T) {
	rules := []classify.Rule{{Kind: classify.Match, Pattern: `.`, Targets: targets("a,b")}}
	specs := []Spec{{Name: "a"}, {Name: "b"}}
	tb, err := classify.New(rules, classify.Options{Mask: "___"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l, err := NewLedger(specs, rules, Settings{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	add(l, tb, "Jan  1 00:00:00 h x", "Jan  1 00:00:00 h x")
	l.Clear("a", now)
	now = now.Add(time.Minute)
	add(l, tb, "Jan  1 00:00:00 h x")
	if got := counts(l, "a"); !reflect.DeepEqual(got, map[string]int{"h|x": 1}) {
		t.Errorf("after Clear(a) and one line: a = %v, want h|x: 1", got)
	}
	if got := counts(l, "b"); !reflect.DeepEqual(got, map[string]int{"h|x": 3}) {
		t.Errorf("b = %v, want h|x: 3", got)
	}
	if got := l.FirstPending("a"); !got.Equal(now) {
		t.Errorf("a pending since %v, want %v (the first line after the clear)", got, now)
	}
	// A ledger restored after it has held lines at hand counts on top of the restored lines.
	snap := l.Snapshot()
	add(l, tb, "Jan  1 00:00:00 h x")
	l.Clear("a", now)
	l.Clear("b", now)
	add(l, tb, "Jan  1 00:00:00 h x") // held at hand, then replaced by the restored lines
	l.Restore(snap)
	add(l, tb, "Jan  1 00:00:00 h x")
	if got := counts(l, "b"); !reflect.DeepEqual(got, map[string]int{"h|x": 4}) {
		t.Errorf("after Restore and one line: b = %v, want h|x: 4", got)
	}
}

// TestReportGolden pins the report text byte for byte: it is what admins' mail filters read.
func TestReportGolden(t *testing.T) {
	rules := []classify.Rule{
		{Kind: classify.Match, Pattern: `^sshd: Invalid user (\S+) from (\S+)`, Targets: targets("report,pager")},
		{Kind: classify.Match, Pattern: `^sshd: Accepted publickey for (\S+)`, Targets: targets("report,pager")},
		{Kind: classify.Match, Pattern: `^kernel: `, Targets: targets("report,pager")},
	}
	var lines []string
	for i, n := range []int{3, 1, 5, 1, 2} { // host web1: five lines, ties in first-seen order
		for j := 0; j < n; j++ {
			lines = append(lines, fmt.Sprintf("Jan  1 00:00:00 web1 sshd[%d]: Invalid user u%d from 10.0.0.%d", j, j, i))
			if i > 0 {
				lines[len(lines)-1] = fmt.Sprintf("Jan  1 00:00:00 web1 kernel: event %d", i)
			}
		}
	}
	lines = append(lines, "Jan  1 00:00:00 db1 sshd[9]: Accepted publickey for bob",
		"Jan  1 00:00:00 db1 sshd[9]: Accepted publickey for amy")
	thresholds := []Threshold{{Count: 2, Pattern: `^kernel: event [12]`}}
	cases := []struct {
		name   string
		spec   Spec
		order  Order
		status string
	}{
		{"plain", Spec{Name: "report"}, Descending, ""},
		{"limit", Spec{Name: "report", Limit: 2}, Descending, ""},
		{"exact-limit", Spec{Name: "report", Limit: 5}, Descending, ""}, // no note: nothing was cut
		{"ascending", Spec{Name: "report"}, Ascending, ""},
		{"status", Spec{Name: "report"}, Descending, "terminating"},
		{"thresholds", Spec{Name: "report", Thresholds: thresholds}, Descending, ""},
		{"pager", Spec{Name: "pager", Pager: true, Limit: 2}, Descending, "terminating"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			specs := []Spec{{Name: "report"}, {Name: "pager", Pager: true}}
			for i := range specs {
				if specs[i].Name == c.spec.Name {
					specs[i] = c.spec
				}
			}
			l := feed(t, rules, specs, Settings{Order: c.order}, lines...)
			r := l.Report(c.spec.Name)
			r.Status = c.status
			golden(t, filepath.Join("testdata", "report-"+c.name+".golden"), r.Text())
		})
	}
	t.Run("csv", func(t *testing.T) {
		l := feed(t, rules, []Spec{{Name: "report"}, {Name: "pager"}}, Settings{}, append(lines, `Jan  1 00:00:00 db1 kernel: say "hi"`)...)
		golden(t, filepath.Join("testdata", "report.csv.golden"), l.Report("report").CSV())
	})
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs:\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

func TestSchedules(t *testing.T) {
	loc := time.UTC
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct{ spec, from, want string }{
		{"30 18 * * *", "2026-11-22 12:00", "2026-11-22 18:30"},
		{"0 9-17/2 * * *", "2026-11-22 12:00", "2026-11-22 13:00"},
		{"*/10 * * * *", "2026-11-22 12:01", "2026-11-22 12:10"},
		{"0 8 * * 7", "2026-11-22 12:00", "2026-11-29 08:00"},   // 2026-11-22 is a Sunday; 7 = Sunday
		{"0 8 * * Sun", "2026-11-23 12:00", "2026-11-29 08:00"}, // names, any case
		{"0 8 * * mon-FRI", "2026-11-21 12:00", "2026-11-23 08:00"},
		{"0 8 * * 5-7", "2026-11-23 12:00", "2026-11-27 08:00"},
		{"0 0 1 jan *", "2026-11-22 12:00", "2027-01-01 00:00"},
		{"0 0 * * */3", "2026-11-22 12:00", "2026-11-25 00:00"}, // Sun, Wed, Sat
	}
	for _, tt := range tests {
		s, err := ParseSchedule(tt.spec, loc)
		if err != nil {
			t.Errorf("%q: %v", tt.spec, err)
			continue
		}
		if got := s.Next(at(tt.from)); !got.Equal(at(tt.want)) {
			t.Errorf("%q from %s: next %s, want %s", tt.spec, tt.from, got.Format("2006-01-02 15:04 Mon"), tt.want)
		}
	}
	if s, err := ParseSchedule("NOW", loc); err != nil || !s.Now || !s.Next(at("2026-01-01 00:00")).IsZero() {
		t.Errorf("now: %+v %v", s, err)
	}
	for _, bad := range []string{"", "* * * *", "61 * * * *", "0 25 * * *", "0 0 * * 8", "0 0 * * fri-mon", "0 0 * foo *", "0 0 * * */0", "every day"} {
		if _, err := ParseSchedule(bad, loc); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", bad)
		}
	}
}
