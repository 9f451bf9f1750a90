// Package queue gathers classified lines into per-queue, per-host digests, applies tenshi's escalation
// and "last message repeated" rules, decides when queues are due, and renders the report text tenshi mails.
package queue

import (
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/tayori-dev/tayori/classify"
)

// Builtin queue names.
const (
	Trash    = "trash"    // discarded lines; a digest only when configured as a queue
	Repeat   = "repeat"   // "last message repeated N times" rules
	NoPrefix = "noprefix" // lines without a known prefix
)

// Order is the order of lines in a host's section.
type Order uint8

const (
	// Descending puts the most frequent lines first (tenshi's default).
	Descending Order = iota
	// Ascending puts the least frequent lines first.
	Ascending
)

// Threshold drops a report line whose count is below Count when the line matches Pattern.
type Threshold struct {
	Count   int
	Pattern string
	re      *regexp.Regexp
}

// Spec describes one queue.
type Spec struct {
	Name       string
	Pager      bool // host,count,line lines instead of per-host sections
	Limit      int  // lines per host in a report, 0 for no limit
	Thresholds []Threshold
}

// Settings apply to every queue of a Ledger.
type Settings struct {
	Order Order
	// MaxLines caps the distinct lines kept per host per queue; further new lines are counted together
	// under one "other lines" entry. 0 means no cap.
	MaxLines int
	// Now is the clock (time.Now when nil); it stamps when a queue received its first pending line.
	Now func() time.Time
}

// OtherLines is the text of the entry that counts lines beyond Settings.MaxLines.
const OtherLines = "[tayori: other lines beyond the per-host limit]"

// Entry is one line of a digest and how many times it was seen.
type Entry struct {
	Line  string
	Count int
	seq   uint64 // first-seen order, for ties
}

type hostLines struct {
	index   map[string]int // line → position in entries
	entries []Entry
	other   int // count of lines beyond MaxLines
	otherAt uint64
}

// digest is one queue's content: its lines per host.
type digest struct {
	spec    *Spec
	hosts   map[string]*hostLines
	since   time.Time // start of the period the next report covers
	firstAt time.Time // when the first pending line arrived
	idx     int       // position in the ledger's order
	epoch   uint64    // changes whenever hosts is replaced or refilled
}

// lastLine is what a host's "last message repeated" line refers to. Its buffers are reused from
// line to line.
type lastLine struct {
	text   []byte
	queues []string // nil: there is no line to repeat
}

func (ll *lastLine) set(text []byte, queues ...string) {
	ll.text = append(ll.text[:0], text...)
	ll.queues = append(ll.queues[:0], queues...)
}

func (ll *lastLine) forget() { ll.queues = ll.queues[:0] }

type hostState struct {
	last    lastLine
	matches []int       // per rule: lines matched since the rule's leftmost queue was last reported
	lines   []heldLines // per digest (by idx): the host's lines there, saving two map lookups a line
}

// heldLines is a host's lines in a digest, valid while the digest's epoch is unchanged.
type heldLines struct {
	hl    *hostLines
	epoch uint64
}

// Ledger holds every queue's digest and the per-host state that escalation and repeats need.
// It is not safe for concurrent use.
type Ledger struct {
	settings Settings
	rules    []classify.Rule
	digests  map[string]*digest
	order    []string    // queue names in definition order
	targets  [][]*digest // per rule: its targets' digests
	hosts    map[string]*hostState
	seq      uint64
}

// NewLedger makes a ledger for the given queues and rule table. Threshold patterns are compiled here;
// the config package has validated them already, so an error means a caller bypassed validation.
func NewLedger(specs []Spec, rules []classify.Rule, s Settings) (*Ledger, error) {
	if s.Now == nil {
		s.Now = time.Now
	}
	l := &Ledger{settings: s, rules: rules, digests: map[string]*digest{}, hosts: map[string]*hostState{}}
	start := s.Now()
	for i := range specs {
		sp := specs[i]
		sp.Thresholds = append([]Threshold(nil), sp.Thresholds...)
		for j := range sp.Thresholds {
			re, err := classify.Compile(sp.Thresholds[j].Pattern)
			if err != nil {
				return nil, fmt.Errorf("queue %q threshold %q: %w", sp.Name, sp.Thresholds[j].Pattern, err)
			}
			sp.Thresholds[j].re = re
		}
		if _, dup := l.digests[sp.Name]; dup {
			return nil, fmt.Errorf("queue %q defined twice", sp.Name)
		}
		l.digests[sp.Name] = &digest{spec: &sp, hosts: map[string]*hostLines{}, since: start, idx: len(l.order), epoch: 1}
		l.order = append(l.order, sp.Name)
	}
	// Each rule's targets, resolved once (nil for a queue the ledger does not have).
	l.targets = make([][]*digest, len(rules))
	for i, r := range rules {
		for _, t := range r.Targets {
			l.targets[i] = append(l.targets[i], l.digests[t.Queue])
		}
	}
	return l, nil
}

// Queues returns the queue names in definition order.
func (l *Ledger) Queues() []string { return l.order }

// Spec returns a queue's spec, or nil.
func (l *Ledger) Spec(queue string) *Spec {
	if d := l.digests[queue]; d != nil {
		return d.spec
	}
	return nil
}

func (l *Ledger) host(h []byte) *hostState {
	hs := l.hosts[string(h)]
	if hs == nil {
		hs = &hostState{}
		l.hosts[string(h)] = hs
	}
	return hs
}

// Add records one classified line.
func (l *Ledger) Add(d *classify.Decision) {
	switch d.Outcome {
	case classify.Matched:
		l.addMatch(d)
	case classify.Repeated:
		hs := l.host(d.Host)
		for _, q := range hs.last.queues {
			l.count(l.digests[q], hs, d.Host, hs.last.text, d.Count)
		}
	case classify.Trashed:
		hs := l.host(d.Host)
		if dg := l.digests[Trash]; dg != nil {
			l.count(dg, hs, d.Host, d.Text, d.Count)
			hs.last.set(d.Text, Trash)
		} else {
			hs.last.forget()
		}
	case classify.Unmatched:
		// A repeat after an unmatched line repeats that line, not the one before it.
		l.host(d.Host).last.forget()
	case classify.Unprefixed:
		l.count(l.digests[NoPrefix], nil, d.Host, d.Text, d.Count)
	}
}

func (l *Ledger) addMatch(d *classify.Decision) {
	r := &l.rules[d.Rule]
	hs := l.host(d.Host)
	if len(hs.matches) < len(l.rules) {
		hs.matches = append(hs.matches, make([]int, len(l.rules)-len(hs.matches))...)
	}
	before := hs.matches[d.Rule]
	after := before + d.Count
	hs.matches[d.Rule] = after
	maxEsc := r.Targets[len(r.Targets)-1].Escalation
	hs.last.set(d.Text)
	for j, t := range r.Targets {
		dg := l.targets[d.Rule][j]
		if t.Escalation == 0 {
			l.count(dg, hs, d.Host, d.Text, d.Count)
			hs.last.queues = append(hs.last.queues, t.Queue)
			continue
		}
		// The line escalates into t when the rule's count passes a value k with k ≡ t.Escalation
		// (mod the largest escalation number); the entry then shows k, the rule's count at that moment.
		if k := lastCongruent(after, t.Escalation%maxEsc, maxEsc); k > before {
			l.set(dg, hs, d.Host, d.Text, k)
			hs.last.queues = append(hs.last.queues, t.Queue)
		}
	}
}

// lastCongruent returns the largest k ≤ n with k ≡ r (mod m), or -1 if there is none above 0.
func lastCongruent(n, r, m int) int {
	k := n - ((n-r)%m+m)%m
	if k <= 0 {
		return -1
	}
	return k
}

// lines returns a host's lines in a digest (nil for none), creating them; hs, when given, keeps them at
// hand for the host's next line.
func (l *Ledger) lines(dg *digest, hs *hostState, host []byte) *hostLines {
	if dg == nil {
		return nil
	}
	if hs != nil && dg.idx < len(hs.lines) {
		if c := hs.lines[dg.idx]; c.hl != nil && c.epoch == dg.epoch {
			return c.hl
		}
	}
	hl := dg.hosts[string(host)]
	if hl == nil {
		if len(dg.hosts) == 0 {
			dg.firstAt = l.settings.Now()
		}
		hl = &hostLines{index: map[string]int{}}
		dg.hosts[string(host)] = hl
	}
	if hs != nil {
		if len(hs.lines) < len(l.order) {
			hs.lines = append(hs.lines, make([]heldLines, len(l.order)-len(hs.lines))...)
		}
		hs.lines[dg.idx] = heldLines{hl, dg.epoch}
	}
	return hl
}

// count adds n to a line's count.
func (l *Ledger) count(dg *digest, hs *hostState, host, text []byte, n int) {
	if n <= 0 {
		return
	}
	if hl := l.lines(dg, hs, host); hl != nil {
		if e := l.entry(hl, text); e != nil {
			e.Count += n
		} else {
			hl.other += n
		}
	}
}

// set makes a line's count n (escalation entries show the rule's count, they do not add).
func (l *Ledger) set(dg *digest, hs *hostState, host, text []byte, n int) {
	if hl := l.lines(dg, hs, host); hl != nil {
		if e := l.entry(hl, text); e != nil {
			e.Count = n
		} else {
			hl.other += n
		}
	}
}

// entry finds or creates a line's entry; nil when the host's lines are at the cap.
func (l *Ledger) entry(hl *hostLines, text []byte) *Entry {
	if i, ok := hl.index[string(text)]; ok { // a lookup by []byte does not allocate
		return &hl.entries[i]
	}
	if l.settings.MaxLines > 0 && len(hl.entries) >= l.settings.MaxLines {
		if hl.other == 0 {
			l.seq++
			hl.otherAt = l.seq
		}
		return nil
	}
	l.seq++
	line := string(text)
	hl.index[line] = len(hl.entries)
	hl.entries = append(hl.entries, Entry{Line: line, seq: l.seq})
	return &hl.entries[len(hl.entries)-1]
}

// Pending reports whether a queue holds any line.
func (l *Ledger) Pending(queue string) bool {
	dg := l.digests[queue]
	return dg != nil && len(dg.hosts) > 0
}

// FirstPending returns when a pending queue received its first line since it was last cleared; the
// zero time when it holds none.
func (l *Ledger) FirstPending(queue string) time.Time {
	if !l.Pending(queue) {
		return time.Time{}
	}
	return l.digests[queue].firstAt
}

// Report builds the report a queue would mail now, without changing the ledger. It returns nil when the
// queue is unknown or nothing is left after thresholds.
func (l *Ledger) Report(queue string) *Report {
	dg := l.digests[queue]
	if dg == nil {
		return nil
	}
	r := &Report{Queue: queue, Pager: dg.spec.Pager, Limit: dg.spec.Limit, Since: dg.since}
	names := make([]string, 0, len(dg.hosts))
	for h := range dg.hosts {
		names = append(names, h)
	}
	sort.Strings(names)
	for _, h := range names {
		hl := dg.hosts[h]
		entries := make([]Entry, 0, len(hl.entries)+1)
		for _, e := range hl.entries {
			if !dg.spec.dropped(e) {
				entries = append(entries, e)
			}
		}
		if hl.other > 0 {
			entries = append(entries, Entry{Line: OtherLines, Count: hl.other, seq: hl.otherAt})
		}
		if len(entries) == 0 {
			continue
		}
		sortEntries(entries, l.settings.Order)
		r.Hosts = append(r.Hosts, HostReport{Host: h, Lines: entries})
	}
	if len(r.Hosts) == 0 {
		return nil
	}
	return r
}

// Clear empties a queue after its report was handed on at the given time, which starts the period of
// the next report, and restarts the escalation count of every rule whose leftmost queue it is.
func (l *Ledger) Clear(queue string, at time.Time) {
	dg := l.digests[queue]
	if dg == nil {
		return
	}
	dg.hosts = map[string]*hostLines{}
	dg.epoch++ // the lines hosts hold at hand are gone
	dg.since = at
	for i, r := range l.rules {
		if r.Kind != classify.Match || r.Targets[0].Queue != queue {
			continue
		}
		for _, hs := range l.hosts {
			if i < len(hs.matches) {
				hs.matches[i] = 0
			}
		}
	}
}

func (s *Spec) dropped(e Entry) bool {
	for _, t := range s.Thresholds {
		if e.Count < t.Count && t.re.MatchString(e.Line) {
			return true
		}
	}
	return false
}

func sortEntries(es []Entry, o Order) {
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.Count != b.Count {
			if o == Ascending {
				return a.Count < b.Count
			}
			return a.Count > b.Count
		}
		return a.seq < b.seq
	})
}
