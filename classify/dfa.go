package classify

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"unicode/utf8"
)

// A lazy DFA decides regexes a line at a time with one table lookup per byte, where Go's regexp
// runs its one-pass or backtracking engine at several nanoseconds per byte and instruction. It is
// the subset construction over the very programs Go's regexp compiles (syntax.Parse with
// syntax.Perl, Simplify, syntax.Compile), built state by state as lines need them, so it accepts
// exactly what regexp.Match accepts.
//
// One DFA runs a set of programs at once: a state is the set of instructions alive, across the
// programs, after the bytes read so far (and the kind of the last byte, for empty-width
// assertions), and a transition lists the programs that matched on it. A program that matched
// leaves the states that follow, so a state holds only programs still undecided; a program that
// can start anywhere is marked done in the state (a pseudo-instruction past the last) instead of
// being entered again. The table's set
// DFA holds every rule, and one pass over the line gives every rule that matches it; a rule's own
// DFA (a set of one) answers for one rule.
//
// Bytes below 0x80 have classes and their transitions are kept; a rune above ASCII is decoded as
// regexp decodes it and its transition made each time, so UTF-8 lines cost a little more but are read
// all the same. A line a cache cannot take any more is left to regexp.

// Transition values: 0 is "not built yet"; below 0, the line is left to regexp; above 0, the next
// state's row offset, with flags.
const (
	dfaUnknown = 0
	dfaRune    = -1 // a byte of 0x80 or above: the rune there decides, its transition is not kept
	dfaFull    = -2 // the cache is full

	dfaMatched = 1 << 30 // programs matched on this transition: the next state's row lists them
	dfaDead    = 1 << 29 // nothing is alive in the next state: no more matches on this line
	dfaOffset  = dfaDead - 1
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

// dfaCode is the immutable part of the DFAs of one table, shared by every Decision: the rules'
// programs, one after the other in one instruction array, and the byte classes.
type dfaCode struct {
	inst     []syntax.Inst
	owner    []int32  // per instruction: the program (rule) it belongs to
	start    []uint32 // per program: its first instruction
	floating []bool   // per program: it can start anywhere, not only at the beginning of the text
	classes  [256]uint8
	reps     []rune // per class: a byte of it, as a rune; then the bail class, then end of text
}

// dfaProg is a DFA's choice of programs from its code.
type dfaProg struct {
	*dfaCode
	starts   []uint32 // programs anchored at the beginning of the text: their first instructions
	floating []int32  // the others, entered again at every position until they match
}

// newDFACode compiles the patterns as Go's regexp does, program i for patterns[i]; nil if one of
// them does not compile.
func newDFACode(patterns ...string) *dfaCode {
	progs := make([]*syntax.Prog, len(patterns))
	total := 0
	for i, pattern := range patterns {
		re, err := syntax.Parse(perlSpace(pattern), syntax.Perl)
		if err != nil {
			return nil
		}
		if progs[i], err = syntax.Compile(re.Simplify()); err != nil {
			return nil
		}
		total += len(progs[i].Inst)
	}
	d := &dfaCode{inst: make([]syntax.Inst, 0, total), owner: make([]int32, 0, total)}
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
	for n, prog := range progs {
		base := uint32(len(d.inst))
		d.start = append(d.start, base+uint32(prog.Start))
		d.floating = append(d.floating, prog.StartCond()&syntax.EmptyBeginText == 0)
		for _, in := range prog.Inst {
			in.Out += base
			if in.Op == syntax.InstAlt || in.Op == syntax.InstAltMatch {
				in.Arg += base
			}
			d.inst = append(d.inst, in)
			d.owner = append(d.owner, int32(n))
			// Class boundaries: every range edge below 0x80 and the newline; when an instruction
			// folds case or tests word boundaries, every word byte on its own.
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
	for c := 0x80; c < 0x100; c++ {
		d.classes[c] = uint8(len(d.reps))
	}
	d.reps = append(d.reps, 0x80, -1) // the bail class, then end of text
	return d
}

// program returns the DFA of the given programs of d.
func (d *dfaCode) program(programs ...int32) *dfaProg {
	p := &dfaProg{dfaCode: d}
	for _, n := range programs {
		if d.floating[n] {
			p.floating = append(p.floating, n)
		} else {
			p.starts = append(p.starts, d.start[n])
		}
	}
	return p
}

// closure is the working memory of building states, shared by a Decision's caches.
type closure struct {
	seen  []uint32 // per instruction: the step that last visited it
	gen   uint32
	key   []byte
	stack []uint32
	next  []uint32
	found []int32
}

func (d *dfaProg) stride() int { return len(d.reps) }

// dfaCache is one Decision's states of one DFA.
type dfaCache struct {
	prog    *dfaProg
	work    *closure
	budget  int     // most int32s the states may take
	size    int     // int32s they take
	trans   []int32 // a row per state, a column per class; row 0 is unused so that 0 means "not built"
	sets    [][]uint32
	ctx     []uint8
	matches [][]int32 // per state: the programs matched on the transitions into it
	index   map[string]int32
	start   int32
	resets  int // times reset emptied it
}

// newDFACache makes an empty cache of p; work may be shared by caches used one at a time.
func newDFACache(p *dfaProg, budget int, work *closure) *dfaCache {
	if work == nil {
		work = &closure{}
	}
	if len(work.seen) < len(p.inst) {
		work.seen, work.gen = make([]uint32, len(p.inst)), 0
	}
	c := &dfaCache{prog: p, budget: budget, work: work}
	c.reset()
	return c
}

// reset forgets every state.
func (c *dfaCache) reset() {
	if len(c.sets) > 0 {
		c.resets++
	}
	c.trans = append(c.trans[:0], make([]int32, c.prog.stride())...) // row 0
	c.sets, c.ctx, c.matches = append(c.sets[:0], nil), append(c.ctx[:0], 0), append(c.matches[:0], nil)
	c.index = map[string]int32{}
	c.size = 0
	pcs := slices.Clone(c.prog.starts)
	for _, n := range c.prog.floating {
		pcs = append(pcs, c.prog.start[n])
	}
	slices.Sort(pcs)
	c.start = c.state(pcs, ctxBegin, nil)
}

// state returns the row offset of the state (pcs, ctx, matched), adding it if new; 0 when the
// cache is full.
func (c *dfaCache) state(pcs []uint32, ctx uint8, matched []int32) int32 {
	w := c.work
	key := w.key[:0]
	for _, pc := range pcs {
		key = append(key, byte(pc), byte(pc>>8), byte(pc>>16), byte(pc>>24))
	}
	key = append(key, 0xff, 0xff, 0xff, 0xff, ctx)
	for _, m := range matched {
		key = append(key, byte(m), byte(m>>8), byte(m>>16), byte(m>>24))
	}
	w.key = key
	if s, ok := c.index[string(key)]; ok {
		return s
	}
	stride := c.prog.stride()
	// A state takes its row, its sets, and its key in the index (about as much again).
	if c.size += stride + 2*(len(pcs)+len(matched)) + 16; c.size > c.budget && len(c.sets) > 1 {
		return 0
	}
	s := int32(len(c.trans))
	c.trans = append(c.trans, make([]int32, stride)...)
	c.trans[int(s)+stride-2] = dfaRune
	c.sets = append(c.sets, slices.Clone(pcs))
	c.ctx = append(c.ctx, ctx)
	c.matches = append(c.matches, slices.Clone(matched))
	c.index[string(key)] = s
	return s
}

// step builds the transition of state s (a row offset) on class cls.
func (c *dfaCache) step(s int32, cls int) int32 {
	t := c.stepRune(s, c.prog.reps[cls])
	if t > 0 {
		c.trans[int(s)+cls] = t
	}
	return t
}

// stepRune returns the transition of state s on rune r2 (-1 for end of text), without recording it:
// a rune above ASCII has no class of its own, so its transitions are made each time it is read.
func (c *dfaCache) stepRune(s int32, r2 rune) int32 {
	p := c.prog
	stride := p.stride()
	row := int(s) / stride
	flags := syntax.EmptyOpContext(ctxRune[c.ctx[row]], r2)
	w := c.work
	w.gen++
	if w.gen == 0 {
		clear(w.seen)
		w.gen = 1
	}
	next, matched, stack := w.next[:0], w.found[:0], w.stack[:0]
	ninst := uint32(len(p.inst))
	for _, pc := range c.sets[row] {
		if pc >= ninst {
			next = append(next, pc) // a done mark stays
		} else {
			stack = append(stack, pc)
		}
	}
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if w.seen[pc] == w.gen {
			continue
		}
		w.seen[pc] = w.gen
		in := &p.inst[pc]
		switch in.Op {
		case syntax.InstMatch:
			matched = append(matched, p.owner[pc])
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
	w.stack = stack
	if len(matched) > 0 {
		// A program that matched is decided: it leaves the states that follow; one that can
		// start anywhere is marked done.
		slices.Sort(matched)
		matched = slices.Compact(matched)
		next = slices.DeleteFunc(next, func(pc uint32) bool {
			if pc >= ninst {
				return false
			}
			_, done := slices.BinarySearch(matched, p.owner[pc])
			return done
		})
		for _, m := range matched {
			if p.dfaCode.floating[m] {
				next = append(next, ninst+uint32(m))
			}
		}
	}
	slices.Sort(next)
	next = slices.Compact(next)
	marks := len(next) - sort.Search(len(next), func(i int) bool { return next[i] >= ninst })
	if r2 < 0 {
		next = next[:0] // end of text: nothing follows
	} else if len(p.floating) > marks {
		// Programs that can start anywhere, but for those done, start again here.
		done := next[len(next)-marks:]
		for _, n := range p.floating {
			if _, ok := slices.BinarySearch(done, ninst+uint32(n)); !ok {
				next = append(next, p.start[n])
			}
		}
		slices.Sort(next)
		next = slices.Compact(next)
	}
	alive := len(next) > 0 && next[0] < ninst
	w.next, w.found = next, matched
	ctx := uint8(ctxOther)
	switch {
	case r2 == '\n':
		ctx = ctxNewline
	case r2 >= 0 && syntax.IsWordChar(r2):
		ctx = ctxWord
	}
	t := c.state(next, ctx, matched)
	if t == 0 {
		return dfaFull
	}
	if !alive {
		t |= dfaDead
	}
	if len(matched) > 0 {
		t |= dfaMatched
	}
	return t
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

// match reports whether the DFA's one program matches msg; ok is false when the DFA cannot tell.
func (c *dfaCache) match(msg []byte) (matched, ok bool) {
	t := c.run(msg, func([]int32) bool { return true })
	if t < 0 {
		return false, false
	}
	return t&dfaMatched != 0, true
}

// run reads msg from the start state and calls found with the programs matched on each transition
// that has some, until found returns true or nothing is alive. It returns the last transition
// taken, or dfaFull.
func (c *dfaCache) run(msg []byte, found func([]int32) bool) int32 {
	p := c.prog
	stride := p.stride()
	trans, classes := c.trans, &p.classes
	s := c.start
	for i := 0; i <= len(msg); i++ {
		cls := stride - 1 // end of text
		if i < len(msg) {
			cls = int(classes[msg[i]])
		}
		t := trans[int(s)+cls]
		if t <= 0 {
			switch t {
			case dfaUnknown:
				t = c.step(s, cls)
			case dfaRune:
				// A rune above ASCII (or an invalid byte, which Go's regexp reads as U+FFFD).
				r, n := utf8.DecodeRune(msg[i:])
				t = c.stepRune(s, r)
				i += n - 1
			}
			trans = c.trans
			if t < 0 {
				return t
			}
		}
		if t&dfaMatched != 0 && found(c.matches[int(t&dfaOffset)/stride]) || t&dfaDead != 0 {
			return t
		}
		s = t & dfaOffset
	}
	return 0 // not reached: end of text leads to a dead state
}

// ruleDFA is one rule's DFA in one Decision; past its budget the rule goes back to regexp.
type ruleDFA struct {
	cache *dfaCache
	full  bool
}

// ruleDFABudget bounds one rule's cache (int32s: 2,000 states of 60 classes is about 500 KB).
const ruleDFABudget = 1 << 17

func (r *ruleDFA) match(msg []byte, re *regexp.Regexp) bool {
	if !r.full {
		m, ok := r.cache.match(msg)
		if ok {
			return m
		}
		r.full = r.cache.size > r.cache.budget
	}
	return re.Match(msg)
}
