package queue

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule says when a queue is mailed: at once ("now", within the batching window) or on a five-field
// cron specification with day and month names.
type Schedule struct {
	Now  bool
	Spec string
	cron cron.Schedule
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// ParseSchedule reads "now" or a five-field cron spec ("30 18 * * *", "0 9-17/2 * * mon-fri"). Names are
// case-insensitive; Sunday is 0 or 7. Times are taken in loc (time.Local when nil). When both the
// day-of-month and the day-of-week fields are restricted, a day matching either runs, as in crontab(5).
func ParseSchedule(spec string, loc *time.Location) (Schedule, error) {
	spec = strings.TrimSpace(spec)
	if strings.EqualFold(spec, "now") {
		return Schedule{Now: true, Spec: "now"}, nil
	}
	fields := strings.Fields(spec)
	if len(fields) != 5 {
		return Schedule{}, fmt.Errorf("schedule %q: want \"now\" or five fields (minute hour day-of-month month day-of-week), got %d", spec, len(fields))
	}
	dow, err := expandDow(fields[4])
	if err != nil {
		return Schedule{}, fmt.Errorf("schedule %q: day-of-week: %w", spec, err)
	}
	fields[4] = dow
	if loc == nil {
		loc = time.Local
	}
	s, err := cronParser.Parse("CRON_TZ=" + loc.String() + " " + strings.Join(fields, " "))
	if err != nil {
		return Schedule{}, fmt.Errorf("schedule %q: %w", spec, err)
	}
	return Schedule{Spec: spec, cron: s}, nil
}

// Next returns the first time after t at which the queue is due; zero for "now" queues.
func (s Schedule) Next(t time.Time) time.Time {
	if s.Now || s.cron == nil {
		return time.Time{}
	}
	return s.cron.Next(t)
}

var dayNames = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

// expandDow rewrites a day-of-week field into the 0-6 list robfig/cron accepts, mapping 7 to Sunday.
func expandDow(field string) (string, error) {
	if field == "*" || field == "?" {
		return field, nil
	}
	var days [7]bool
	for _, part := range strings.Split(field, ",") {
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n <= 0 {
				return "", fmt.Errorf("bad step %q in %q", stepText, part)
			}
			step = n
		}
		lo, hi := 0, 7
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = dayNumber(a); err != nil {
				return "", err
			}
			hi = lo
			if isRange {
				if hi, err = dayNumber(b); err != nil {
					return "", err
				}
			} else if hasStep {
				hi = 7
			}
			if lo > hi {
				return "", fmt.Errorf("range %q runs backwards", rng)
			}
		}
		for d := lo; d <= hi; d += step {
			days[d%7] = true
		}
	}
	var out []string
	for d, on := range days {
		if on {
			out = append(out, strconv.Itoa(d))
		}
	}
	return strings.Join(out, ","), nil
}

func dayNumber(s string) (int, error) {
	if d, ok := dayNames[strings.ToLower(s)]; ok {
		return d, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 7 {
		return 0, fmt.Errorf("%q is not a day (0-7 or sun-sat)", s)
	}
	return n, nil
}
