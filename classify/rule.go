// Package classify sorts log lines with tenshi's ordered rule table: it strips a line's syslog prefix to
// find the host, hides PIDs, finds the first rule that matches and masks what its capturing groups matched.
//
// A Table is immutable and safe for concurrent use; it keeps no per-host state (escalation counters and
// "last message repeated" bookkeeping belong to the queue package).
//
// Matching gives tenshi's answer (the first rule in order, groups gating theirs) without trying every
// rule: one lazy DFA over the whole table (dfa.go) reads an ASCII line once and names every rule that
// matches it; other lines go to a literal prefilter (prefilter.go, grams.go) that tries only the rules
// whose literals the line holds. Each Decision carries its own DFA states, built as lines need them.
package classify

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind says what a rule does when it matches.
type Kind uint8

const (
	// Match sends the masked line to the rule's targets.
	Match Kind = iota
	// Trash discards the line (tenshi's builtin trash queue).
	Trash
	// Repeat adds the number its first group captured to the host's previous line
	// (tenshi's builtin repeat queue, for "last message repeated N times").
	Repeat
	// Group gates the rules up to End: they are tried only when the line matches the group's pattern.
	Group
	// HostGroup gates the rules up to End on the host matching the pattern (tenshi's group_host).
	HostGroup
)

func (k Kind) String() string {
	switch k {
	case Match:
		return "match"
	case Trash:
		return "trash"
	case Repeat:
		return "repeat"
	case Group:
		return "group"
	case HostGroup:
		return "host group"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Target is one queue a matching rule sends its line to. With Escalation > 0 the line goes there only
// when the rule's match count for the host reaches a multiple of Escalation, as tenshi's
// "queue,queue:N" lists define.
type Target struct {
	Queue      string
	Escalation int
}

func (t Target) String() string {
	if t.Escalation > 0 {
		return t.Queue + ":" + strconv.Itoa(t.Escalation)
	}
	return t.Queue
}

// Origin says where a rule was written, for error messages, --explain and --stats.
type Origin struct {
	File string // configuration file
	Line int    // line in File, 0 if unknown
	Path string // position in the file's rule tree, e.g. "rules[3].match[2]"
}

func (o Origin) String() string {
	var b strings.Builder
	b.WriteString(o.File)
	if o.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(o.Line))
	}
	if o.Path != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(o.Path)
	}
	return b.String()
}

// Rule is one entry of the ordered table, as the config package produces it.
type Rule struct {
	Kind    Kind
	Pattern string
	Targets []Target // Match rules only
	End     int      // Group and HostGroup: index of the first rule after the group
	Origin  Origin
}

// TargetsString renders targets the way tenshi writes them: "report,urgent:200".
func TargetsString(ts []Target) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.String()
	}
	return strings.Join(parts, ",")
}

// CheckTargets enforces tenshi's rules for queue lists with escalation numbers: numbers are positive and
// increase from left to right, queues without a number come first, and the leftmost queue has no number
// unless it is the only one.
func CheckTargets(ts []Target) error {
	if len(ts) == 0 {
		return fmt.Errorf("no queue")
	}
	maxEsc := 0
	seen := make(map[string]bool, len(ts))
	for i, t := range ts {
		if t.Queue == "" {
			return fmt.Errorf("empty queue name in %q", TargetsString(ts))
		}
		if seen[t.Queue] {
			return fmt.Errorf("queue %q listed twice in %q", t.Queue, TargetsString(ts))
		}
		seen[t.Queue] = true
		switch {
		case t.Escalation < 0:
			return fmt.Errorf("escalation number of %q must be a positive integer", t.Queue)
		case t.Escalation == 0 && maxEsc > 0:
			return fmt.Errorf("queue %q has no escalation number but follows one that has: queues without numbers come first in %q", t.Queue, TargetsString(ts))
		case t.Escalation > 0 && i == 0 && len(ts) > 1:
			return fmt.Errorf("the leftmost queue %q cannot have an escalation number when more queues follow", t.Queue)
		case t.Escalation > 0 && t.Escalation < maxEsc:
			return fmt.Errorf("escalation numbers must not decrease from left to right in %q", TargetsString(ts))
		}
		if t.Escalation > 0 {
			maxEsc = t.Escalation
		}
	}
	return nil
}

// ParseTargets reads tenshi's queue list syntax, "general,urgent:200,critical:1000".
func ParseTargets(s string) ([]Target, error) {
	var ts []Target
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		name, num, hasNum := strings.Cut(part, ":")
		t := Target{Queue: name}
		if hasNum {
			n, err := strconv.Atoi(num)
			if err != nil || n <= 0 || num[0] == '0' || num[0] == '+' {
				return nil, fmt.Errorf("escalation number %q of queue %q must be a positive integer", num, name)
			}
			t.Escalation = n
		}
		ts = append(ts, t)
	}
	return ts, CheckTargets(ts)
}
