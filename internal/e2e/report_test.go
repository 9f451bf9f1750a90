//go:build linux

package e2e

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// report is a parsed report body in tenshi's format:
//
//	*** Status: terminating ***     (optional)
//
//	host:
//	    12: line
type report struct {
	Status string
	Hosts  map[string]map[string]int // host → line → count
}

// parseReport parses a (non-pager) report body; anything else in it is an error.
func parseReport(body string) (*report, error) {
	r := &report{Hosts: map[string]map[string]int{}}
	lines := strings.Split(body, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	i := 0
	if len(lines) > 0 {
		if st, ok := strings.CutPrefix(lines[0], "*** Status: "); ok {
			r.Status = strings.TrimSuffix(st, " ***")
			i++
		}
	}
	var host map[string]int
	for ; i < len(lines); i++ {
		l := lines[i]
		switch {
		case l == "":
			if i+1 >= len(lines) || !strings.HasSuffix(lines[i+1], ": ") || strings.HasPrefix(lines[i+1], " ") {
				return nil, fmt.Errorf("line %d: blank line not followed by a \"host: \" header", i+1)
			}
			name := strings.TrimSuffix(lines[i+1], ": ")
			if r.Hosts[name] != nil {
				return nil, fmt.Errorf("line %d: host %q twice in one report", i+2, name)
			}
			host = map[string]int{}
			r.Hosts[name] = host
			i++
		case strings.HasPrefix(l, "    ") && host != nil:
			num, text, ok := strings.Cut(l[4:], ": ")
			n, err := strconv.Atoi(num)
			if !ok || err != nil || n <= 0 {
				return nil, fmt.Errorf("line %d: not \"    COUNT: LINE\": %q", i+1, l)
			}
			if _, dup := host[text]; dup {
				return nil, fmt.Errorf("line %d: %q twice for one host", i+1, text)
			}
			host[text] = n
		default:
			return nil, fmt.Errorf("line %d: unexpected %q", i+1, l)
		}
	}
	return r, nil
}

// key names one report line: the queue, the host and the masked line.
type key struct{ queue, host, line string }

// tally counts lines per queue, host and masked line.
type tally map[key]int

func (t tally) total() int {
	n := 0
	for _, c := range t {
		n += c
	}
	return n
}

// diff lists how got differs from want, at most max entries, sorted.
func (t tally) diff(got tally, max int) []string {
	var out []string
	for k, w := range t {
		if g := got[k]; g != w {
			out = append(out, fmt.Sprintf("%s %s %q: got %d, want %d", k.queue, k.host, k.line, g, w))
		}
	}
	for k, g := range got {
		if _, ok := t[k]; !ok {
			out = append(out, fmt.Sprintf("%s %s %q: got %d, want none", k.queue, k.host, k.line, g))
		}
	}
	slices.Sort(out)
	if len(out) > max {
		out = append(out[:max], fmt.Sprintf("... and %d more", len(out)-max))
	}
	return out
}

// tallyMails adds up the reports of the given queues (all when none is given). A message
// received twice (same Message-ID, same body: a redelivery after a crash between the server's
// acceptance and the removal from the outbox) is counted once and returned in dups; the same
// Message-ID with a different body is an error.
func tallyMails(mails []*receivedMail, queues ...string) (got tally, dups []string, err error) {
	got = tally{}
	seen := map[string]string{}
	var errs []error
	for _, m := range mails {
		if len(queues) > 0 && !slices.Contains(queues, m.Queue) {
			continue
		}
		if body, ok := seen[m.ID]; ok {
			if body != m.Body {
				errs = append(errs, fmt.Errorf("message %s received twice with different bodies", m.ID))
			}
			dups = append(dups, m.ID)
			continue
		}
		seen[m.ID] = m.Body
		r, err := parseReport(m.Body)
		if err != nil {
			errs = append(errs, fmt.Errorf("message %s (%s): %w\n%s", m.ID, m.Subject, err, m.Body))
			continue
		}
		for host, lines := range r.Hosts {
			for line, n := range lines {
				got[key{m.Queue, host, line}] += n
			}
		}
	}
	return got, dups, errors.Join(errs...)
}
