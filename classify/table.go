package classify

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// UnprefixedHost is the host name under which lines without a known prefix are counted in the noprefix
// queue, as tenshi does.
const UnprefixedHost = "[unprefixed logs]"

// Options are the settings that change how lines are read, as opposed to the rules themselves.
type Options struct {
	Mask           string   // replaces the text of every capturing group
	HidePID        bool     // "prog[123]: " becomes "prog: " before matching
	Prefixes       []string // extra line prefixes, tried after the built-in ones; group 1 is the host
	NoPrefix       bool     // a noprefix queue exists: lines with no known prefix go there
	RsyslogRepeats bool     // "message repeated N times: [ text ]" counts as N times text
	MaskTrash      bool     // mask trashed lines too (a trash digest is configured)
}

// Outcome says what became of a line.
type Outcome uint8

const (
	// Unmatched lines had a prefix but no rule took them; they are dropped.
	Unmatched Outcome = iota
	// Matched lines go to the rule's targets.
	Matched
	// Trashed lines were taken by a trash rule.
	Trashed
	// Repeated lines add Count to the host's previous line ("last message repeated N times").
	Repeated
	// Unprefixed lines had no known prefix and go, unmasked, to the noprefix queue.
	Unprefixed
	// Dropped lines had no known prefix and there is no noprefix queue, or their prefix gave no host.
	Dropped
)

var outcomeNames = [...]string{"unmatched", "matched", "trashed", "repeated", "unprefixed", "dropped"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", o)
}

// Decision is the result of classifying one line. Its byte slices point into the line or into buffers
// the Decision owns; they stay valid until the Decision is reused or the line is modified.
type Decision struct {
	Outcome Outcome
	Host    []byte
	Text    []byte // masked message (the raw line for Unprefixed)
	Rule    int    // index of the rule that took the line, -1 if none
	Count   int    // how many lines this one stands for; for Repeated, how many to add

	work, pid, masked []byte
	sc                *scratch
}

// RuleError is a problem with one rule of the table.
type RuleError struct {
	Index int
	Rule  Rule
	Err   error
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("%s: %s rule %q: %v", e.Rule.Origin, e.Rule.Kind, e.Rule.Pattern, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// Table is a compiled, ordered rule table.
type Table struct {
	rules    []Rule
	res      []*regexp.Regexp
	opts     Options
	prefixes []*regexp.Regexp
	mask     []byte
	pre      *prefilter // nil: walk every rule (the reference behaviour, kept for tests)
	fast     []fastPath // per rule: a byte comparison that decides the match, when one exists
	prefix   [][]byte   // per rule: the literal a match must start the line with, or nil
	dfa      []*dfaProg // per rule: the program its lazy DFA is built from, nil for the fast paths
	set      *dfaProg   // every rule but host groups, in one DFA (a rule's program is its index)
	// setBudget overrides setDFABudget (tests).
	setBudget int
}

// New compiles rules in order. It checks every rule and returns all problems at once, joined with
// errors.Join; each is a *RuleError (or, for a bad extra prefix, an error naming it).
func New(rules []Rule, opts Options) (*Table, error) {
	t := &Table{rules: rules, res: make([]*regexp.Regexp, len(rules)), opts: opts, mask: []byte(opts.Mask)}
	var errs []error
	for i, p := range opts.Prefixes {
		re, err := Compile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("prefix %d %q: %w", i+1, p, err))
			continue
		}
		t.prefixes = append(t.prefixes, re)
	}
	for i, r := range rules {
		fail := func(format string, args ...any) {
			errs = append(errs, &RuleError{Index: i, Rule: r, Err: fmt.Errorf(format, args...)})
		}
		re, err := Compile(r.Pattern)
		if err != nil {
			fail("%w", err)
		}
		t.res[i] = re
		switch r.Kind {
		case Match:
			if err := CheckTargets(r.Targets); err != nil {
				fail("%w", err)
			}
		case Repeat:
			if re != nil && re.NumSubexp() < 1 {
				fail("a repeat rule needs a capturing group for the count")
			}
		case Group, HostGroup:
			if r.End <= i || r.End > len(rules) {
				fail("group end %d out of range", r.End)
			}
		case Trash:
		default:
			fail("unknown rule kind %d", r.Kind)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	trees := make([]*syntax.Regexp, len(rules))
	t.fast = make([]fastPath, len(rules))
	t.prefix = make([][]byte, len(rules))
	t.dfa = make([]*dfaProg, len(rules))
	for i, r := range rules {
		trees[i] = syntaxTree(r.Pattern)
		if t.res[i].NumSubexp() == 0 {
			t.fast[i] = fastPathOf(trees[i])
		}
		t.prefix[i] = anchoredPrefix(trees[i])
	}
	patterns := make([]string, len(rules))
	var setRules []int32
	for i, r := range rules {
		patterns[i] = r.Pattern
		if r.Kind != HostGroup {
			setRules = append(setRules, int32(i))
		}
	}
	if code := newDFACode(patterns...); code != nil {
		t.set = code.program(setRules...)
		for i := range rules {
			if t.fast[i].kind == viaRegex {
				t.dfa[i] = code.program(int32(i))
			}
		}
	}
	t.pre = buildPrefilter(rules, trees)
	return t, nil
}

// Rules returns the table's rules; callers must not modify them.
func (t *Table) Rules() []Rule { return t.rules }

// Classify decides what becomes of one line (without its newline).
func (t *Table) Classify(line []byte, d *Decision) {
	d.Outcome, d.Host, d.Text, d.Rule, d.Count = Dropped, nil, nil, -1, 1
	msg, ok := t.stripPrefix(line, d)
	if !ok {
		if t.opts.NoPrefix {
			d.Outcome, d.Host, d.Text = Unprefixed, []byte(UnprefixedHost), line
		}
		return
	}
	if d.Host == nil {
		return // a custom prefix matched but gave no host: tenshi drops the line
	}
	if t.opts.RsyslogRepeats {
		if w, n, ok := rsyslogRepeat(d.work[:0], msg); ok {
			d.work, msg, d.Count = w, w, n
		}
	}
	if t.opts.HidePID {
		if p, ok := hidePID(d.pid[:0], msg); ok {
			d.pid, msg = p, p
		}
	}
	d.Outcome, d.Text = Unmatched, msg
	t.match(msg, d)
}

// matches reports whether rule i's regex matches msg, with its lazy DFA when sc is given.
func (t *Table) matches(i int, msg []byte, sc *scratch) bool {
	if sc == nil || t.dfa[i] == nil {
		return t.res[i].Match(msg)
	}
	c := sc.dfa[i]
	if c == nil {
		c = &ruleDFA{cache: newDFACache(t.dfa[i], ruleDFABudget, &sc.work)}
		sc.dfa[i] = c
	}
	return c.match(msg, t.res[i])
}

// stripPrefix finds the line's prefix, sets d.Host and returns the message after it.
func (t *Table) stripPrefix(line []byte, d *Decision) ([]byte, bool) {
	if hs, he, rest, ok := bsdPrefix(line); ok {
		d.Host = line[hs:he]
		return line[rest:], true
	}
	if hs, he, rest, ok := rfc3339Prefix(line); ok {
		d.Host = line[hs:he]
		return line[rest:], true
	}
	for _, re := range t.prefixes {
		loc := re.FindSubmatchIndex(line)
		if loc == nil {
			continue
		}
		if len(loc) >= 4 && loc[2] >= 0 {
			d.Host = line[loc[2]:loc[3]]
		}
		// Like Perl's s/$prefix//: the matched text is removed wherever it is.
		d.work = append(append(d.work[:0], line[:loc[0]]...), line[loc[1]:]...)
		return d.work, true
	}
	return nil, false
}

// match finds the first rule, in table order, that takes the line.
func (t *Table) match(msg []byte, d *Decision) {
	if t.pre == nil {
		t.matchLinear(msg, d)
		return
	}
	if d.sc == nil || d.sc.t != t {
		d.sc = &scratch{}
		d.sc.reset(t)
	}
	sc := d.sc
	sc.nextLine()
	if t.matchSet(msg, d) {
		return
	}
	pos := 0
	for _, r := range t.pre.candidates(msg, sc) {
		if int(r) < pos {
			continue
		}
		if p := t.prefix[r]; p != nil && !bytes.HasPrefix(msg, p) || !t.pre.restHolds(r, msg, sc) {
			continue // cannot match, whatever its groups say
		}
		if ok, next := t.reachable(r, msg, d); !ok {
			pos = next
			continue
		}
		if t.try(int(r), msg, d, sc) {
			return
		}
	}
}

// matchSet decides the line with the table's set DFA: one pass gives every rule that matches, and
// the first, in order, whose groups all pass takes the line. It returns false, having decided
// nothing, when the DFA cannot read the line (a non-ASCII byte, or its cache is full); the
// prefiltered walk decides then.
func (t *Table) matchSet(msg []byte, d *Decision) bool {
	sc := d.sc
	if sc.set == nil || sc.setRest > 0 {
		return false
	}
	hits := sc.setHits[:0]
	gen := sc.gen
	tr := sc.set.run(msg, func(programs []int32) bool {
		for _, r := range programs {
			if sc.matchGen[r] != gen {
				sc.matchGen[r] = gen
				hits = append(hits, r)
			}
		}
		return false
	})
	sc.setHits = hits
	if tr < 0 {
		if tr == dfaFull {
			sc.setFull()
		}
		return false
	}
	sc.viaSet = true
	sortFew(hits)
	pos := int32(0)
	for _, r := range hits {
		if r < pos || t.pre.gate[r] {
			continue
		}
		if ok, next := t.reachable(r, msg, d); !ok {
			pos = int32(next)
			continue
		}
		var loc []int
		if t.needsPositions(int(r)) {
			if loc = t.res[r].FindSubmatchIndex(msg); loc == nil {
				continue // never: regexp has the last word all the same
			}
		}
		t.take(int(r), msg, d, loc)
		break
	}
	return true
}

// matchLinear walks every rule in order, as tenshi does; the prefiltered walk must agree with it.
func (t *Table) matchLinear(msg []byte, d *Decision) {
	for i := 0; i < len(t.rules); i++ {
		r := &t.rules[i]
		re := t.res[i]
		switch r.Kind {
		case HostGroup:
			if !re.Match(d.Host) {
				i = r.End - 1
			}
			continue
		case Group:
			if !re.Match(msg) {
				i = r.End - 1
			}
			continue
		}
		if t.try(i, msg, d, nil) {
			return
		}
	}
}

// needsPositions reports whether taking a line with rule i needs its groups' positions (masking,
// or a repeat's count).
func (t *Table) needsPositions(i int) bool {
	return t.res[i].NumSubexp() > 0 && (t.rules[i].Kind != Trash || t.opts.MaskTrash)
}

// try tests rule i on msg and, when it matches, records the decision. Positions are asked for only
// when the rule needs them; with sc, the rule's lazy DFA answers first.
func (t *Table) try(i int, msg []byte, d *Decision, sc *scratch) bool {
	if p := t.prefix[i]; p != nil && !bytes.HasPrefix(msg, p) {
		return false
	}
	if !t.needsPositions(i) {
		var ok bool
		if f := t.fast[i]; f.kind != viaRegex {
			ok = f.match(msg)
		} else {
			ok = t.matches(i, msg, sc)
		}
		if ok {
			t.take(i, msg, d, nil)
		}
		return ok
	}
	if sc != nil && !t.matches(i, msg, sc) {
		return false
	}
	loc := t.res[i].FindSubmatchIndex(msg)
	if loc == nil {
		return false
	}
	t.take(i, msg, d, loc)
	return true
}

// take records that rule i takes the line; loc holds the positions of its groups when it needs them.
func (t *Table) take(i int, msg []byte, d *Decision, loc []int) {
	d.Rule = i
	switch t.rules[i].Kind {
	case Trash:
		d.Outcome = Trashed
		if loc != nil {
			d.Text = t.maskSpans(msg, loc, d)
		}
	case Repeat:
		d.Outcome = Repeated
		n := 0
		if loc[2] >= 0 {
			n = perlNumber(msg[loc[2]:loc[3]])
		}
		d.Count *= n
	default:
		d.Outcome = Matched
		if loc != nil {
			d.Text = t.maskSpans(msg, loc, d)
		}
	}
}

// maskSpans replaces the text of every participating capturing group (loc is FindSubmatchIndex's result)
// with the mask. Nested groups mask the outermost span once; an empty group inserts the mask, as
// tenshi does.
func (t *Table) maskSpans(msg []byte, loc []int, d *Decision) []byte {
	spans := loc[2:]
	// Sort spans by start (they usually already are; repeated groups can break the order).
	for i := 2; i < len(spans); i += 2 {
		for j := i; j >= 2 && spans[j] >= 0 && (spans[j-2] < 0 || spans[j] < spans[j-2]); j -= 2 {
			spans[j], spans[j-2] = spans[j-2], spans[j]
			spans[j+1], spans[j-1] = spans[j-1], spans[j+1]
		}
	}
	// Spans of one match are nested or disjoint: a span starting before the end of the last masked
	// one lies inside it.
	out := d.masked[:0]
	pos := 0
	for i := 0; i < len(spans); i += 2 {
		s, e := spans[i], spans[i+1]
		if s < pos { // also skips non-participating groups (s == -1)
			continue
		}
		out = append(out, msg[pos:s]...)
		out = append(out, t.mask...)
		pos = e
	}
	out = append(out, msg[pos:]...)
	d.masked = out
	return out
}

// Describe renders a rule for people: "file:line: rules[2].match[1]: report,urgent:200 '^sshd: …'".
func Describe(r Rule) string {
	var b strings.Builder
	b.WriteString(r.Origin.String())
	b.WriteString(": ")
	switch r.Kind {
	case Match:
		b.WriteString(TargetsString(r.Targets))
	default:
		b.WriteString(r.Kind.String())
	}
	b.WriteString(" '")
	b.WriteString(r.Pattern)
	b.WriteString("'")
	return b.String()
}
