package classify

import (
	"regexp/syntax"
	"sort"
	"unicode/utf8"
)

// The prefilter keeps first-match-in-order semantics while trying only the rules that can match a line.
// Every rule gets, from its parsed regex, up to maxClauses clauses: sets of literals of which every
// match contains at least one. One Aho–Corasick scan of the message finds the literals present; a rule
// is a candidate when all its clauses are satisfied (rules without usable literals always are). The
// table is then walked over candidates only, in order; the groups enclosing a candidate are evaluated
// (once per line) before it, so a failed group skips its rules exactly as the linear walk does.
//
// Matching is ASCII-case-insensitive (input bytes are folded), which only adds candidates.

const (
	maxClauses = 2 // clauses kept per rule: the most selective ones
	minLiteral = 3 // shorter literals select too little to be worth their postings
)

type posting struct {
	rule int32
	bit  uint8
}

type prefilter struct {
	classes  [256]uint8 // folded byte → class; 0 = no literal contains it
	nclass   uint32
	delta    []uint32 // state*nclass+class → state
	outStart []uint32 // per state: range in outs
	outs     []int32  // literal ids
	postings [][]posting
	full     []uint8 // per rule: the bitmask of all its clauses; 0 = always a candidate
	gate     []bool  // per rule: a group or host group, never a candidate itself
	always   []int32 // rules that are candidates whatever the line (groups excluded)
	parent   []int32 // innermost enclosing group of each rule, -1 for none
}

// scratch is one goroutine's per-line working memory for the prefilter; Decision carries it.
type scratch struct {
	t         *Table
	gen       uint32
	litGen    []uint32
	ruleGen   []uint32
	ruleBits  []uint8
	groupGen  []uint32
	groupPass []bool
	cands     []int32
	merged    []int32
}

func (s *scratch) reset(t *Table) {
	n, l := len(t.rules), len(t.pre.postings)
	*s = scratch{t: t, litGen: make([]uint32, l), ruleGen: make([]uint32, n), ruleBits: make([]uint8, n),
		groupGen: make([]uint32, n), groupPass: make([]bool, n)}
}

// literalClauses returns up to maxClauses clauses every match of pattern satisfies, most selective first.
func literalClauses(pattern string) [][]string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	cs := required(re.Simplify())
	var keep [][]string
	for _, c := range cs {
		if minLen(c) >= minLiteral {
			keep = append(keep, c)
		}
	}
	sort.SliceStable(keep, func(i, j int) bool { return minLen(keep[i]) > minLen(keep[j]) })
	if len(keep) > maxClauses {
		keep = keep[:maxClauses]
	}
	return keep
}

func minLen(c []string) int {
	m := -1
	for _, s := range c {
		if m < 0 || len(s) < m {
			m = len(s)
		}
	}
	return m
}

// required returns clauses (AND of ORs of literals, folded to lower case) that every match of re
// satisfies; nil when nothing is known.
func required(re *syntax.Regexp) [][]string {
	switch re.Op {
	case syntax.OpLiteral:
		if s, ok := foldLiteral(re.Rune, re.Flags&syntax.FoldCase != 0); ok {
			return [][]string{{s}}
		}
	case syntax.OpCapture:
		return required(re.Sub[0])
	case syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpConcat:
		var all [][]string
		for _, sub := range re.Sub {
			all = append(all, required(sub)...)
		}
		return all
	case syntax.OpAlternate:
		var union []string
		for _, sub := range re.Sub {
			best := bestClause(required(sub))
			if best == nil {
				return nil
			}
			union = append(union, best...)
		}
		return [][]string{union}
	}
	return nil
}

func bestClause(cs [][]string) []string {
	var best []string
	for _, c := range cs {
		if best == nil || minLen(c) > minLen(best) {
			best = c
		}
	}
	return best
}

// foldLiteral renders a literal in the folded form the automaton uses. Under (?i), Unicode case folding
// takes k and s beyond ASCII (KELVIN SIGN, LONG S) and non-ASCII letters have other byte forms, so a
// case-insensitive literal gives its longest run without such runes: every match still contains it.
func foldLiteral(runes []rune, fold bool) (string, bool) {
	if !fold {
		return foldASCII(string(runes)), true
	}
	best, start := "", 0
	for i := 0; i <= len(runes); i++ {
		if i < len(runes) && runes[i] < utf8.RuneSelf && runes[i] != 'k' && runes[i] != 'K' && runes[i] != 's' && runes[i] != 'S' {
			continue
		}
		if seg := string(runes[start:i]); len(seg) > len(best) {
			best = seg
		}
		start = i + 1
	}
	return foldASCII(best), best != ""
}

func foldASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// buildPrefilter compiles the rules' literal clauses into one automaton.
func buildPrefilter(rules []Rule) *prefilter {
	p := &prefilter{full: make([]uint8, len(rules)), gate: make([]bool, len(rules)), parent: make([]int32, len(rules))}
	ids := map[string]int32{}
	var lits []string
	var stack []int32
	for i, r := range rules {
		for len(stack) > 0 && rules[stack[len(stack)-1]].End <= i {
			stack = stack[:len(stack)-1]
		}
		p.parent[i] = -1
		if len(stack) > 0 {
			p.parent[i] = stack[len(stack)-1]
		}
		p.gate[i] = r.Kind == Group || r.Kind == HostGroup
		if r.Kind == HostGroup {
			stack = append(stack, int32(i))
			continue // hosts are not scanned: host groups are evaluated directly
		}
		for c, clause := range literalClauses(r.Pattern) {
			bit := uint8(1) << c
			p.full[i] |= bit
			for _, lit := range clause {
				id, ok := ids[lit]
				if !ok {
					id = int32(len(lits))
					ids[lit] = id
					lits = append(lits, lit)
					p.postings = append(p.postings, nil)
				}
				p.postings[id] = append(p.postings[id], posting{rule: int32(i), bit: bit})
			}
		}
		if r.Kind == Group {
			stack = append(stack, int32(i))
		} else if p.full[i] == 0 {
			p.always = append(p.always, int32(i))
		}
	}
	p.build(lits)
	return p
}

// build makes a dense Aho–Corasick DFA over byte classes, with every state's outputs (its own and its
// suffixes') listed, so that the scan follows one transition per byte and never a failure link.
func (p *prefilter) build(lits []string) {
	for _, l := range lits {
		for i := 0; i < len(l); i++ {
			if p.classes[l[i]] == 0 {
				p.nclass++
				p.classes[l[i]] = uint8(p.nclass)
			}
		}
	}
	p.nclass++ // class 0 is "in no literal"
	for c := byte('A'); c <= 'Z'; c++ {
		p.classes[c] = p.classes[c+'a'-'A']
	}
	nc := p.nclass
	const none = ^uint32(0)
	newState := func() uint32 {
		for i := uint32(0); i < nc; i++ {
			p.delta = append(p.delta, none)
		}
		return uint32(len(p.delta))/nc - 1
	}
	newState()
	own := [][]int32{nil}
	for id, l := range lits {
		s := uint32(0)
		for i := 0; i < len(l); i++ {
			c := uint32(p.classes[l[i]])
			next := p.delta[s*nc+c]
			if next == none {
				next = newState()
				p.delta[s*nc+c] = next
				own = append(own, nil)
			}
			s = next
		}
		own[s] = append(own[s], int32(id))
	}
	n := uint32(len(own))
	fail := make([]uint32, n)
	order := make([]uint32, 0, n)
	for c := uint32(0); c < nc; c++ {
		if t := p.delta[c]; t == none {
			p.delta[c] = 0
		} else {
			fail[t] = 0
			order = append(order, t)
		}
	}
	for q := 0; q < len(order); q++ {
		s := order[q]
		for c := uint32(0); c < nc; c++ {
			t := p.delta[s*nc+c]
			if t == none {
				p.delta[s*nc+c] = p.delta[fail[s]*nc+c]
				continue
			}
			fail[t] = p.delta[fail[s]*nc+c]
			order = append(order, t)
		}
	}
	// Outputs in BFS order, so that a state's failure target is complete before the state.
	outs := make([][]int32, n)
	outs[0] = own[0]
	for _, s := range order {
		outs[s] = append(append([]int32(nil), own[s]...), outs[fail[s]]...)
	}
	p.outStart = make([]uint32, n+1)
	for s := uint32(0); s < n; s++ {
		p.outStart[s] = uint32(len(p.outs))
		p.outs = append(p.outs, outs[s]...)
	}
	p.outStart[n] = uint32(len(p.outs))
}

// candidates fills sc.merged with the rules that may match msg, in table order.
func (p *prefilter) candidates(msg []byte, sc *scratch) []int32 {
	sc.gen++
	if sc.gen == 0 { // wrapped: forget every stamp
		clear(sc.litGen)
		clear(sc.ruleGen)
		clear(sc.groupGen)
		sc.gen = 1
	}
	gen := sc.gen
	sc.cands = sc.cands[:0]
	nc, s := p.nclass, uint32(0)
	for _, b := range msg {
		s = p.delta[s*nc+uint32(p.classes[b])]
		lo, hi := p.outStart[s], p.outStart[s+1]
		for _, id := range p.outs[lo:hi] {
			if sc.litGen[id] == gen {
				continue
			}
			sc.litGen[id] = gen
			for _, po := range p.postings[id] {
				r := po.rule
				if sc.ruleGen[r] != gen {
					sc.ruleGen[r] = gen
					sc.ruleBits[r] = 0
				}
				if sc.ruleBits[r]&po.bit == 0 {
					sc.ruleBits[r] |= po.bit
					if sc.ruleBits[r] == p.full[r] && !p.gate[r] {
						sc.cands = append(sc.cands, r)
					}
				}
			}
		}
	}
	// Insertion sort: candidates are few and mostly in order.
	c := sc.cands
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j] < c[j-1]; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
	// Merge with the rules that are always candidates.
	m := sc.merged[:0]
	a := p.always
	for len(a) > 0 || len(c) > 0 {
		if len(c) == 0 || len(a) > 0 && a[0] < c[0] {
			m, a = append(m, a[0]), a[1:]
		} else {
			m, c = append(m, c[0]), c[1:]
		}
	}
	sc.merged = m
	return m
}

// groupPasses evaluates group g for the current line, once.
func (t *Table) groupPasses(g int32, msg []byte, d *Decision) bool {
	sc := d.sc
	if sc.groupGen[g] == sc.gen {
		return sc.groupPass[g]
	}
	var ok bool
	r := &t.rules[g]
	switch {
	case r.Kind == HostGroup:
		ok = t.res[g].Match(d.Host)
	case t.pre.full[g] != 0 && (sc.ruleGen[g] != sc.gen || sc.ruleBits[g] != t.pre.full[g]):
		ok = false // its literals are not in the line
	default:
		ok = t.res[g].Match(msg)
	}
	sc.groupGen[g], sc.groupPass[g] = sc.gen, ok
	return ok
}

// reachable reports whether every group enclosing rule r passes; if not, it returns the index where
// the walk resumes (the end of the outermost failing group).
func (t *Table) reachable(r int32, msg []byte, d *Decision) (bool, int) {
	var chain [16]int32
	groups := chain[:0]
	for g := t.pre.parent[r]; g >= 0; g = t.pre.parent[g] {
		groups = append(groups, g)
	}
	for i := len(groups) - 1; i >= 0; i-- {
		if g := groups[i]; !t.groupPasses(g, msg, d) {
			return false, t.rules[g].End
		}
	}
	return true, 0
}
