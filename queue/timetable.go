package queue

import "time"

// Timetable says when queues are due: cron queues at their schedule's times, "now" queues once the
// batching window has passed since their first pending line, so that a burst becomes one mail.
type Timetable struct {
	batch   time.Duration
	entries []timetableEntry
}

type timetableEntry struct {
	queue string
	sched Schedule
	next  time.Time // cron queues: the next time they are due
}

// NewTimetable plans the given schedules (queue name → schedule, in the order given) from since: a
// cron time between since and now is due at once, which sends the report a restart made the daemon
// miss. batch is the "now" queues' batching window.
func NewTimetable(queues []string, scheds []Schedule, batch time.Duration, since time.Time) *Timetable {
	tt := &Timetable{batch: batch}
	for i, q := range queues {
		e := timetableEntry{queue: q, sched: scheds[i]}
		if !e.sched.Now {
			e.next = e.sched.Next(since)
		}
		tt.entries = append(tt.entries, e)
	}
	return tt
}

// Due returns the queues due at now, and moves the cron queues among them to their next time. A cron
// queue is due even when empty (the caller then has nothing to send); a now queue only when pending.
func (tt *Timetable) Due(now time.Time, l *Ledger) []string {
	var due []string
	for i := range tt.entries {
		e := &tt.entries[i]
		if e.sched.Now {
			if first := l.FirstPending(e.queue); !first.IsZero() && !now.Before(first.Add(tt.batch)) {
				due = append(due, e.queue)
			}
			continue
		}
		if !e.next.IsZero() && !now.Before(e.next) {
			due = append(due, e.queue)
			e.next = e.sched.Next(now)
		}
	}
	return due
}

// Next returns the earliest time a queue becomes due, given what the ledger holds now; the zero time
// when nothing is planned.
func (tt *Timetable) Next(l *Ledger) time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, e := range tt.entries {
		if e.sched.Now {
			if first := l.FirstPending(e.queue); !first.IsZero() {
				consider(first.Add(tt.batch))
			}
			continue
		}
		consider(e.next)
	}
	return next
}
