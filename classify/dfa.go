package classify

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
)

// A lazy DFA answers "does this rule's regex match anywhere in the message?" for the rules the
// prefilter leaves, which is most of the matching time on a large rule table: Go's regexp runs its
// one-pass or backtracking engine at a few nanoseconds per byte and instruction, a DFA at one table
// lookup per byte. The DFA is the subset construction over the very program Go's regexp compiles
// (syntax.Parse with syntax.Perl, Simplify, syntax.Compile), built state by state as lines need them,
// so it accepts exactly what regexp.Match accepts.
//
// It reads ASCII only: a message with a byte of 0x80 or above (UTF-8 or not) is handed to
// regexp.Match, as is every message once a rule's cache outgrows maxDFAStates. Per line, it runs
// only where a boolean answer is all that is needed (trash rules, rules without groups, groups) and
// before FindSubmatchIndex, to reject cheaply.

// maxDFAStates bounds one rule's cache in one Decision; past it the rule goes back to regexp.
const maxDFAStates = 2000

// Transition values below zero are verdicts; zero is "not built yet"; a positive value is the
// next state's row offset in trans.
const (
	dfaUnknown = 0
	dfaMatch   = -1 // the regex matches: the line need not be read further
	dfaDead    = -2 // no match is possible any more
	dfaBail    = -3 // a non-ASCII byte: regexp decides
)

// Context of the byte before a position, which is all that empty-width assertions need of the past.
const (
	ctxBegin = iota // beginning of text
	ctxNewline
	ctxWord
	ctxOther
)

// ctxRune is a rune of each context for syntax.EmptyOpContext.
var ctxRune = [...]rune{ctxBegin: -1, ctxNewline: '\n', ctxWord: 'a', ctxOther: ' '}

// dfaProg is the immutable part of one rule's DFA, shared by every Decision.
type dfaProg struct {
	prog     *syntax.Prog
	classes  [256]uint8 // byte → class; bytes of one class are alike for every instruction and context
	reps     []rune     // per class: a byte of it, as a rune; the last class is end of text, rep -1
	anchored bool       // the program can only start at the beginning of the text
}

// newDFAProg compiles pattern as Go's regexp does; nil when it cannot be.
func newDFAProg(pattern string) *dfaProg {
	re, err := syntax.Parse(perlSpace(pattern), syntax.Perl)
	if err != nil {
		return nil
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil
	}
	d := &dfaProg{prog: prog, anchored: prog.StartCond()&syntax.EmptyBeginText != 0}
	// Class boundaries: every range edge below 0x80, the newline, and (when an instruction folds case
	// or tests word boundaries) every letter or word byte on its own.
	var cut [129]bool
	cut[0], cut['\n'], cut['\n'+1] = true, true, true
	edge := func(lo, hi rune) {
		if lo < 0x80 {
			cut[lo] = true
		}
		if hi+1 < 0x80 {
			cut[hi+1] = true
		}
	}
	words := false
	for i := range prog.Inst {
		in := &prog.Inst[i]
		switch in.Op {
		case syntax.InstRune:
			for j := 0; j+1 < len(in.Rune); j += 2 {
				edge(in.Rune[j], in.Rune[j+1])
			}
			if len(in.Rune) == 1 {
				edge(in.Rune[0], in.Rune[0])
			}
			if syntax.Flags(in.Arg)&syntax.FoldCase != 0 {
				words = true
			}
		case syntax.InstRune1:
			edge(in.Rune[0], in.Rune[0])
		case syntax.InstEmptyWidth:
			if syntax.EmptyOp(in.Arg)&(syntax.EmptyWordBoundary|syntax.EmptyNoWordBoundary) != 0 {
				words = true
			}
		}
	}
	if words {
		for c := 0; c < 0x80; c++ {
			if syntax.IsWordChar(rune(c)) {
				cut[c], cut[c+1] = true, true
			}
		}
	}
	class := -1
	for c := 0; c < 0x80; c++ {
		if cut[c] {
			class++
			d.reps = append(d.reps, rune(c))
		}
		d.classes[c] = uint8(class)
	}
	bail := uint8(len(d.reps))
	for c := 0x80; c < 0x100; c++ {
		d.classes[c] = bail
	}
	d.reps = append(d.reps, 0x80, -1) // the bail class, then end of text
	return d
}

func (d *dfaProg) stride() int { return len(d.reps) }

// dfaCache is one Decision's states of one rule's DFA.
type dfaCache struct {
	prog   *dfaProg
	trans  []int32 // row per state, a column per class; row 0 is unused so that 0 means "not built"
	sets   [][]uint32
	ctx    []uint8
	index  map[string]int32
	start  int32
	full   bool // maxDFAStates reached: regexp decides
	key    []byte
	stack  []uint32
	seen   []uint32 // per instruction: the closure that last visited it
	gen    uint32
	nextPC []uint32
}

func newDFACache(p *dfaProg) *dfaCache {
	c := &dfaCache{prog: p, index: map[string]int32{}, seen: make([]uint32, len(p.prog.Inst))}
	c.trans = make([]int32, p.stride()) // row 0
	c.sets, c.ctx = append(c.sets, nil), append(c.ctx, 0)
	c.start = c.state([]uint32{uint32(p.prog.Start)}, ctxBegin)
	return c
}

// state returns the row offset of the state (pcs, ctx), adding it if new; 0 when the cache is full.
func (c *dfaCache) state(pcs []uint32, ctx uint8) int32 {
	c.key = c.key[:0]
	for _, pc := range pcs {
		c.key = append(c.key, byte(pc), byte(pc>>8), byte(pc>>16), byte(pc>>24))
	}
	c.key = append(c.key, ctx)
	if s, ok := c.index[string(c.key)]; ok {
		return s
	}
	if len(c.sets) > maxDFAStates {
		c.full = true
		return 0
	}
	stride := c.prog.stride()
	s := int32(len(c.trans))
	c.trans = append(c.trans, make([]int32, stride)...)
	c.trans[int(s)+stride-2] = dfaBail
	c.sets = append(c.sets, slices.Clone(pcs))
	c.ctx = append(c.ctx, ctx)
	c.index[string(c.key)] = s
	return s
}

// step builds the transition of state s (a row offset) on class cls.
func (c *dfaCache) step(s int32, cls int) int32 {
	p := c.prog
	stride := p.stride()
	row := int(s) / stride
	r1, r2 := ctxRune[c.ctx[row]], p.reps[cls]
	flags := syntax.EmptyOpContext(r1, r2)
	c.gen++
	if c.gen == 0 {
		clear(c.seen)
		c.gen = 1
	}
	next := c.nextPC[:0]
	stack := append(c.stack[:0], c.sets[row]...)
	verdict := int32(0)
	for len(stack) > 0 && verdict == 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if c.seen[pc] == c.gen {
			continue
		}
		c.seen[pc] = c.gen
		in := &p.prog.Inst[pc]
		switch in.Op {
		case syntax.InstMatch:
			verdict = dfaMatch
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, in.Arg, in.Out)
		case syntax.InstNop, syntax.InstCapture:
			stack = append(stack, in.Out)
		case syntax.InstEmptyWidth:
			if syntax.EmptyOp(in.Arg)&^flags == 0 {
				stack = append(stack, in.Out)
			}
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			if r2 >= 0 && runeStep(in, r2) {
				next = append(next, in.Out)
			}
		}
	}
	c.stack, c.nextPC = stack[:0], next
	if verdict == 0 {
		if r2 < 0 {
			verdict = dfaDead // end of text without a match
		} else {
			if !p.anchored {
				next = append(next, uint32(p.prog.Start))
			}
			if len(next) == 0 {
				verdict = dfaDead
			} else {
				sort.Slice(next, func(i, j int) bool { return next[i] < next[j] })
				next = slices.Compact(next)
				ctx := uint8(ctxOther)
				switch {
				case r2 == '\n':
					ctx = ctxNewline
				case syntax.IsWordChar(r2):
					ctx = ctxWord
				}
				verdict = c.state(next, ctx)
				c.nextPC = next
				if verdict == 0 {
					return 0 // full
				}
			}
		}
	}
	c.trans[int(s)+cls] = verdict
	return verdict
}

// runeStep reports whether instruction in consumes r, as Go's regexp machines decide it.
func runeStep(in *syntax.Inst, r rune) bool {
	switch in.Op {
	case syntax.InstRune1:
		return r == in.Rune[0]
	case syntax.InstRuneAny:
		return true
	case syntax.InstRuneAnyNotNL:
		return r != '\n'
	}
	return in.MatchRune(r)
}

// match reports whether the regex matches msg; re decides what the DFA cannot.
func (c *dfaCache) match(msg []byte, re *regexp.Regexp) bool {
	if c.full {
		return re.Match(msg)
	}
	p := c.prog
	trans, classes := c.trans, &p.classes
	s := c.start
	for _, b := range msg {
		cls := int(classes[b])
		t := trans[int(s)+cls]
		if t <= 0 {
			if t == dfaUnknown {
				t = c.step(s, cls)
				trans = c.trans
			}
			switch t {
			case dfaMatch:
				return true
			case dfaDead:
				return false
			case dfaBail, dfaUnknown:
				return re.Match(msg)
			}
		}
		s = t
	}
	eot := p.stride() - 1
	t := trans[int(s)+eot]
	if t == dfaUnknown {
		t = c.step(s, eot)
	}
	if t == dfaUnknown { // full
		return re.Match(msg)
	}
	return t == dfaMatch
}
