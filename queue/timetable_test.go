package queue

import (
	"reflect"
	"testing"
	"time"

	"github.com/tayori-dev/tayori/classify"
)

func TestTimetable(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 0, 30, 0, time.UTC)
	clock := func() time.Time { return now }
	rules := []classify.Rule{{Kind: classify.Match, Pattern: `crit`, Targets: targets("crit")}}
	l, err := NewLedger([]Spec{{Name: "crit"}, {Name: "daily"}}, rules, Settings{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	tb, _ := classify.New(rules, classify.Options{})
	daily, _ := ParseSchedule("30 9 * * *", time.UTC)
	now2, _ := ParseSchedule("now", time.UTC)
	tt := NewTimetable([]string{"crit", "daily"}, []Schedule{now2, daily}, 5*time.Second, now)

	if got := tt.Next(l); !got.Equal(time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)) {
		t.Errorf("next %v, want 09:30", got)
	}
	add(l, tb, "Jan  1 00:00:00 h crit")
	if got := tt.Next(l); !got.Equal(now.Add(5 * time.Second)) {
		t.Errorf("next %v, want the batch deadline", got)
	}
	now = now.Add(4 * time.Second)
	add(l, tb, "Jan  1 00:00:00 h crit") // within the window: joins the batch
	if due := tt.Due(now, l); len(due) != 0 {
		t.Errorf("due %v inside the window", due)
	}
	now = now.Add(time.Second)
	if due := tt.Due(now, l); !reflect.DeepEqual(due, []string{"crit"}) {
		t.Errorf("due %v, want [crit]", due)
	}
	l.Clear("crit", now)
	now = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	if due := tt.Due(now, l); !reflect.DeepEqual(due, []string{"daily"}) {
		t.Errorf("due %v at 09:30, want [daily]", due)
	}
	if due := tt.Due(now, l); len(due) != 0 {
		t.Errorf("daily due twice: %v", due)
	}
	if got := tt.Next(l); !got.Equal(time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)) {
		t.Errorf("next %v, want tomorrow 09:30", got)
	}
}

// A cron time that passed while the daemon was down is due at once after the restart.
func TestTimetableCatchesUpAfterRestart(t *testing.T) {
	daily, _ := ParseSchedule("30 9 * * *", time.UTC)
	savedAt := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	restart := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	l, _ := NewLedger([]Spec{{Name: "daily"}}, nil, Settings{})
	tt := NewTimetable([]string{"daily"}, []Schedule{daily}, time.Second, savedAt)
	if due := tt.Due(restart, l); !reflect.DeepEqual(due, []string{"daily"}) {
		t.Errorf("due %v, want [daily]", due)
	}
}
