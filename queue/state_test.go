package queue

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tayori-dev/tayori/classify"
)

// TestSnapshotRestoreContinuesExactly interrupts a ledger halfway (snapshot, JSON, restore into a new
// ledger whose rules are reordered, as after a reload) and checks it ends where an uninterrupted one does.
func TestSnapshotRestoreContinuesExactly(t *testing.T) {
	rules := []classify.Rule{
		{Kind: classify.Repeat, Pattern: `^last message repeated (\d+) times`},
		{Kind: classify.Match, Pattern: `^fail (\S+)`, Targets: targets("a,b:3")},
		{Kind: classify.Match, Pattern: `^ok`, Targets: targets("a")},
	}
	reordered := []classify.Rule{rules[0], rules[2], rules[1]}
	var lines []string
	for i := 0; i < 20; i++ {
		lines = append(lines, "Jan  1 00:00:00 h1 fail u"+string(rune('0'+i%3)), "Jan  1 00:00:00 h2 ok")
		if i%5 == 0 {
			lines = append(lines, "Jan  1 00:00:00 h1 last message repeated 2 times")
		}
	}
	specs := []Spec{{Name: "a"}, {Name: "b"}}
	settings := Settings{MaxLines: 2}
	whole := feed(t, rules, specs, settings, lines...)

	first := feed(t, rules, specs, settings, lines[:17]...)
	data, err := json.Marshal(first.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var snap Snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		t.Fatal(err)
	}
	second := feed(t, reordered, specs, settings)
	if dropped := second.Restore(&snap); dropped != 0 {
		t.Fatalf("dropped %d", dropped)
	}
	tb, err := classify.New(reordered, classify.Options{Mask: "___", HidePID: true, NoPrefix: true})
	if err != nil {
		t.Fatal(err)
	}
	add(second, tb, lines[17:]...)
	for _, q := range []string{"a", "b"} {
		if got, want := second.Report(q), whole.Report(q); !reflect.DeepEqual(got.Text(), want.Text()) {
			t.Errorf("queue %s after restore:\n%s\nwant:\n%s", q, got.Text(), want.Text())
		}
	}
}

func TestRestoreDropsRemovedQueues(t *testing.T) {
	rules := []classify.Rule{{Kind: classify.Match, Pattern: `.`, Targets: targets("a,gone")}}
	l := feed(t, rules, []Spec{{Name: "a"}, {Name: "gone"}}, Settings{}, "Jan  1 00:00:00 h x", "Jan  1 00:00:00 h y")
	next, _ := NewLedger([]Spec{{Name: "a"}}, []classify.Rule{{Kind: classify.Match, Pattern: `.`, Targets: targets("a")}}, Settings{})
	if dropped := next.Restore(l.Snapshot()); dropped != 2 {
		t.Errorf("dropped %d, want 2", dropped)
	}
	if got := counts(next, "a"); len(got) != 2 {
		t.Errorf("a = %v", got)
	}
}

func TestClearSetsTheNextReportStart(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	rules := []classify.Rule{{Kind: classify.Match, Pattern: `.`, Targets: targets("a")}}
	l := feed(t, rules, []Spec{{Name: "a"}}, Settings{Now: clock}, "Jan  1 00:00:00 h x")
	if r := l.Report("a"); !r.Since.Equal(now) || !l.FirstPending("a").Equal(now) {
		t.Errorf("since %v first %v", r.Since, l.FirstPending("a"))
	}
	later := now.Add(time.Hour)
	l.Clear("a", later)
	if !l.FirstPending("a").IsZero() {
		t.Error("cleared queue still pending")
	}
	now = later.Add(time.Minute)
	tb, _ := classify.New(rules, classify.Options{})
	add(l, tb, "Jan  1 00:00:00 h y")
	if r := l.Report("a"); !r.Since.Equal(later) || !l.FirstPending("a").Equal(now) {
		t.Errorf("since %v first %v", r.Since, l.FirstPending("a"))
	}
}

// A restored queue is pending: its batching window starts at the restore, so a "now" queue is mailed.
func TestRestoredQueueIsPending(t *testing.T) {
	rules := []classify.Rule{{Kind: classify.Match, Pattern: `.`, Targets: targets("crit")}}
	before := feed(t, rules, []Spec{{Name: "crit"}}, Settings{}, "Jan  1 00:00:00 h x")
	restoredAt := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	after, _ := NewLedger([]Spec{{Name: "crit"}}, rules, Settings{Now: func() time.Time { return restoredAt }})
	after.Restore(before.Snapshot())
	if got := after.FirstPending("crit"); !got.Equal(restoredAt) {
		t.Fatalf("first pending %v, want the restore time", got)
	}
	now, _ := ParseSchedule("now", time.UTC)
	tt := NewTimetable([]string{"crit"}, []Schedule{now}, time.Second, restoredAt)
	if due := tt.Due(restoredAt.Add(time.Second), after); len(due) != 1 {
		t.Errorf("restored now queue not due: %v", due)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	for _, content := range []string{"one", "two"} {
		if err := WriteFileAtomic(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != content {
			t.Fatalf("got %q %v", got, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left temporary files: %v", entries)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "x"), nil, 0o600); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}
