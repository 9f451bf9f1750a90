package tenshiref

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
)

// Entry is one line of a tenshi digest: Line (masked, without its syslog
// prefix) was put Count times in Queue for Host. Lines without a syslog prefix
// have the host "[unprefixed logs]" (queue noprefix).
type Entry struct {
	Queue, Host, Line string
	Count             int
}

// UnprefixedHost is the host tenshi files lines without a syslog prefix under.
const UnprefixedHost = "[unprefixed logs]"

var (
	reTooMany   = regexp.MustCompile(`^  \*\*\* Too many alerts \(limit: \d+\)  \*\*\*$`)
	reStatus    = regexp.MustCompile(`^\*\*\* Status: .* \*\*\*$`)
	rePagerLine = regexp.MustCompile(`(?s)^(.*?),(\d+),(.*)$`)
)

// parseMail turns one mail that tenshi sent into entries. pager tells which
// queues were defined with a "pager:" recipient (their body has one
// "host,count,line" line per entry); a queue missing from it is treated as
// a normal one.
//
// Net::SMTP ends lines with CR LF and dot-stuffs; go-smtp undoes the
// stuffing. A log line's own trailing CR merges with the line end and is lost.
func parseMail(msg []byte, pager map[string]bool) ([]Entry, error) {
	msg = bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n"))
	header, body, ok := bytes.Cut(msg, []byte("\n\n"))
	if !ok {
		return nil, fmt.Errorf("mail without a body: %.200q", msg)
	}
	var subject []byte
	for _, h := range bytes.Split(header, []byte("\n")) {
		if s, ok := bytes.CutPrefix(h, []byte("Subject: ")); ok {
			subject = s
		}
	}
	i := bytes.LastIndex(subject, []byte(" ["))
	if i < 0 || !bytes.HasSuffix(subject, []byte("]")) || len(subject) < i+3 {
		return nil, fmt.Errorf("subject %q does not end with [queue]", subject)
	}
	queue := string(subject[i+2 : len(subject)-1])
	if !bytes.HasSuffix(body, []byte("\n")) {
		return nil, fmt.Errorf("queue %s: body does not end with a newline", queue)
	}
	lines := bytes.Split(body[:len(body)-1], []byte("\n"))
	if pager[queue] {
		return parsePagerBody(queue, lines)
	}
	return parseBody(queue, lines)
}

// parseBody parses a normal digest: an optional status line, then per host a
// blank line, "HOST: ", "    COUNT: LINE" lines and, when a limit cut the
// list, a blank line and a "Too many alerts" note.
func parseBody(queue string, lines [][]byte) ([]Entry, error) {
	var entries []Entry
	host := ""
	haveHost := false
	for n := 0; n < len(lines); n++ {
		l := lines[n]
		switch {
		case n == 0 && reStatus.Match(l):
		case len(l) == 0:
			if n+1 >= len(lines) {
				return nil, fmt.Errorf("queue %s: body ends with a blank line", queue)
			}
			n++
			next := lines[n]
			if reTooMany.Match(next) {
				continue
			}
			h, ok := bytes.CutSuffix(next, []byte(": "))
			if !ok || len(h) == 0 {
				return nil, fmt.Errorf("queue %s, line %d: want a host header, got %q", queue, n+1, next)
			}
			host, haveHost = string(h), true
		default:
			rest, ok := bytes.CutPrefix(l, []byte("    "))
			count, line, ok2 := bytes.Cut(rest, []byte(": "))
			c, err := strconv.Atoi(string(count))
			if !ok || !ok2 || err != nil || !haveHost {
				return nil, fmt.Errorf("queue %s, line %d: want \"    COUNT: LINE\" after a host, got %q", queue, n+1, l)
			}
			entries = append(entries, Entry{Queue: queue, Host: host, Line: string(line), Count: c})
		}
	}
	return entries, nil
}

// parsePagerBody parses a pager digest: "HOST,COUNT,LINE" lines. A host with
// a comma followed by digits and a comma would be split wrongly.
func parsePagerBody(queue string, lines [][]byte) ([]Entry, error) {
	entries := make([]Entry, 0, len(lines))
	for n, l := range lines {
		m := rePagerLine.FindSubmatch(l)
		if m == nil {
			return nil, fmt.Errorf("queue %s, line %d: want \"HOST,COUNT,LINE\", got %q", queue, n+1, l)
		}
		c, err := strconv.Atoi(string(m[2]))
		if err != nil {
			return nil, fmt.Errorf("queue %s, line %d: count: %w", queue, n+1, err)
		}
		entries = append(entries, Entry{Queue: queue, Host: string(m[1]), Line: string(m[3]), Count: c})
	}
	return entries, nil
}

// Merge sums the counts of entries with the same queue, host and line and
// returns them sorted by queue, host and line.
func Merge(entries []Entry) []Entry {
	type key struct{ q, h, l string }
	sum := make(map[key]int, len(entries))
	for _, e := range entries {
		sum[key{e.Queue, e.Host, e.Line}] += e.Count
	}
	out := make([]Entry, 0, len(sum))
	for k, c := range sum {
		out = append(out, Entry{Queue: k.q, Host: k.h, Line: k.l, Count: c})
	}
	Sort(out)
	return out
}

// Sort orders entries by queue, host, line and count.
func Sort(entries []Entry) {
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a.Queue != b.Queue {
			return a.Queue < b.Queue
		}
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Count < b.Count
	})
}
