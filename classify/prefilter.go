package classify

import (
	"bytes"
	"regexp/syntax"
	"sort"
	"strings"
	"unicode/utf8"
	"unsafe"
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
	maxClauses = 3 // clauses kept per rule: the most selective ones
	minLiteral = 3 // shorter literals select too little to be worth their postings
	// maxLiteral caps the pieces of literals the automaton holds; a piece found is checked against
	// its whole literal in place. A small automaton stays in the CPU's caches (a large one costs a
	// cache miss a byte) and the check keeps the whole literal's selectivity.
	maxLiteral = 8
)

// commonBytes ranks bytes by how often they appear in log text, most common first; window picks the
// piece of a literal made of the rarest bytes.
const commonBytes = " :[]=.-/_,()'0123456789etaoinsrhldcumfpgwybvkxjqz"

// window returns where, in lit, the maxLiteral-byte piece to hold in the automaton starts: the piece
// the fewest literals contain (shared counts, per piece, how many literals hold it), so that a piece
// found is checked against few literals; among those, the one whose bytes are rarest in log text.
func window(lit string, shared map[string]int) int {
	if len(lit) <= maxLiteral {
		return 0
	}
	score := func(c byte) int {
		if i := strings.IndexByte(commonBytes, c); i >= 0 {
			return i
		}
		return len(commonBytes) // rarer than anything ranked
	}
	best, bestShared, bestScore := 0, 0, -1
	for i := 0; i+maxLiteral <= len(lit); i++ {
		sum := 0
		for j := i; j < i+maxLiteral; j++ {
			sum += score(lit[j])
		}
		n := shared[lit[i:i+maxLiteral]]
		if bestScore < 0 || n < bestShared || n == bestShared && sum > bestScore {
			best, bestShared, bestScore = i, n, sum
		}
	}
	return best
}

// pieceSharing counts, for every maxLiteral-byte piece of the literals, how many literals hold it.
func pieceSharing(lits []string) map[string]int {
	shared := map[string]int{}
	for _, lit := range lits {
		seen := map[string]bool{}
		for i := 0; i+maxLiteral <= len(lit); i++ {
			if w := lit[i : i+maxLiteral]; !seen[w] {
				seen[w] = true
				shared[w]++
			}
		}
	}
	return shared
}

type prefilter struct {
	classes [256]uint8 // folded byte → class; 0 = no literal contains it
	nclass  uint32
	// delta maps state*nclass+class to the next state, premultiplied by nclass, with outFlag set when
	// that state has outputs: the scan makes two loads per byte and no multiplication.
	delta    []uint32
	outStart []uint32  // per state: range in outs
	outs     []int32   // piece ids
	pieces   [][]piece // per piece: the literals it was cut from
	postings [][]int32 // per literal: the rules whose primary clause holds it
	// Per rule: the other clauses (each a list of folded literals, one of which must be in the line).
	// They are not in the automaton: a line's walk searches for them only in the candidates it
	// reaches, so the automaton stays small and a line visits only primary postings.
	rest   [][][]string
	keyed  []bool  // per rule: it has a primary clause (else it is always a candidate)
	gate   []bool  // per rule: a group or host group, never a candidate itself
	always []int32 // rules that are candidates whatever the line (groups excluded)
	parent []int32 // innermost enclosing group of each rule, -1 for none
}

// piece places an automaton piece in a literal: the literal starts off bytes before the piece.
type piece struct {
	lit  int32
	off  int32
	text string // the whole literal, folded; empty when the piece is the whole literal
}

// scratch is one goroutine's per-line working memory for the prefilter; Decision carries it.
type scratch struct {
	t         *Table
	gen       uint32
	litGen    []uint32 // per literal: the line it was last seen in
	ruleGen   []uint32 // per rule: the line its primary clause was last seen in
	groupGen  []uint32
	groupPass []bool
	hits      []int32
	cands     []int32
	merged    []int32
	dfa       []*dfaCache // per rule, built on first use
	folded    []byte      // the line in lower case, when a clause search needed it
	foldGen   uint32
}

func (s *scratch) reset(t *Table) {
	n, l := len(t.rules), len(t.pre.postings)
	*s = scratch{t: t, litGen: make([]uint32, l), ruleGen: make([]uint32, n), groupGen: make([]uint32, n),
		groupPass: make([]bool, n), dfa: make([]*dfaCache, n)}
}

// literalClauses returns the clauses every match of pattern satisfies whose literals are long enough
// to select; buildPrefilter keeps the most selective few.
func literalClauses(re *syntax.Regexp) [][]string {
	if re == nil {
		return nil
	}
	var keep [][]string
	for _, c := range required(re) {
		if minLen(c) >= minLiteral {
			keep = append(keep, c)
		}
	}
	return keep
}

// chooseClauses keeps a rule's maxClauses most selective clauses: those whose literals the fewest
// other rules share (a literal shared by many rules makes every line holding it visit them all), then
// the longest.
func chooseClauses(cs [][]string, shared map[string]int) [][]string {
	cost := func(c []string) int {
		m := 0
		for _, l := range c {
			m = max(m, shared[l])
		}
		return m
	}
	sort.SliceStable(cs, func(i, j int) bool {
		ci, cj := cost(cs[i]), cost(cs[j])
		if ci != cj {
			return ci < cj
		}
		return minLen(cs[i]) > minLen(cs[j])
	})
	if len(cs) > maxClauses {
		cs = cs[:maxClauses]
	}
	return cs
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
func buildPrefilter(rules []Rule, trees []*syntax.Regexp) *prefilter {
	n := len(rules)
	p := &prefilter{rest: make([][][]string, n), keyed: make([]bool, n), gate: make([]bool, n), parent: make([]int32, n)}
	clauses := make([][][]string, n)
	shared := map[string]int{}
	for i, r := range rules {
		if r.Kind == HostGroup {
			continue // hosts are not scanned: host groups are evaluated directly
		}
		clauses[i] = literalClauses(trees[i])
		seen := map[string]bool{}
		for _, c := range clauses[i] {
			for _, l := range c {
				if !seen[l] {
					seen[l] = true
					shared[l]++
				}
			}
		}
	}
	ids := map[string]int32{}
	var lits []string
	id := func(lit string) int32 {
		if v, ok := ids[lit]; ok {
			return v
		}
		v := int32(len(lits))
		ids[lit] = v
		lits = append(lits, lit)
		p.postings = append(p.postings, nil)
		return v
	}
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
			continue
		}
		for c, clause := range chooseClauses(clauses[i], shared) {
			if c == 0 {
				p.keyed[i] = true
				for _, lit := range clause {
					l := id(lit)
					p.postings[l] = append(p.postings[l], int32(i))
				}
				continue
			}
			p.rest[i] = append(p.rest[i], clause)
		}
		if r.Kind == Group {
			stack = append(stack, int32(i))
		} else if !p.keyed[i] {
			p.always = append(p.always, int32(i))
		}
	}
	// The automaton holds each literal's rarest piece.
	pids := map[string]int32{}
	var cut []string
	sharing := pieceSharing(lits)
	for l, lit := range lits {
		off := window(lit, sharing)
		w := lit[off:min(off+maxLiteral, len(lit))]
		pid, ok := pids[w]
		if !ok {
			pid = int32(len(cut))
			pids[w] = pid
			cut = append(cut, w)
			p.pieces = append(p.pieces, nil)
		}
		pc := piece{lit: int32(l), off: int32(off)}
		if len(w) < len(lit) {
			pc.text = lit
		}
		p.pieces[pid] = append(p.pieces[pid], pc)
	}
	p.build(cut)
	return p
}

const outFlag = 1 << 31

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
	total := 1
	for _, l := range lits {
		total += len(l)
	}
	p.delta = make([]uint32, 0, total*int(nc)) // the trie has at most one state per literal byte
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
	// Number the states breadth first: the shallow states, which nearly every byte visits, then
	// share the first rows of the table and stay in the CPU caches.
	renum := make([]uint32, n) // old number → new
	for i, s := range order {
		renum[s] = uint32(i + 1) // the root stays 0
	}
	delta := make([]uint32, len(p.delta))
	for s := uint32(0); s < n; s++ {
		copy(delta[renum[s]*nc:(renum[s]+1)*nc], p.delta[s*nc:(s+1)*nc])
	}
	p.outStart = make([]uint32, n+1)
	for i := uint32(0); i < n; i++ {
		old := uint32(0)
		if i > 0 {
			old = order[i-1]
		}
		p.outStart[i] = uint32(len(p.outs))
		p.outs = append(p.outs, outs[old]...)
	}
	p.outStart[n] = uint32(len(p.outs))
	for i, t := range delta {
		t = renum[t]
		v := t * nc
		if p.outStart[t] != p.outStart[t+1] {
			v |= outFlag
		}
		delta[i] = v
	}
	p.delta = delta
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
	sc.hits = sc.hits[:0]
	nc, s := p.nclass, uint32(0)
	delta, classes := p.delta, &p.classes // locals: the loop below keeps them in registers
	for i, b := range msg {
		s = delta[s+uint32(classes[b])]
		if s&outFlag == 0 {
			continue
		}
		s &^= outFlag
		st := s / nc
		for _, pid := range p.outs[p.outStart[st]:p.outStart[st+1]] {
			for _, pc := range p.pieces[pid] {
				id := pc.lit
				if sc.litGen[id] == gen || pc.text != "" && !p.whole(msg, i, pc) {
					continue
				}
				sc.litGen[id] = gen
				for _, r := range p.postings[id] {
					if sc.ruleGen[r] != gen {
						sc.ruleGen[r] = gen
						sc.hits = append(sc.hits, r)
					}
				}
			}
		}
	}
	c := sc.cands[:0]
	for _, r := range sc.hits {
		if !p.gate[r] {
			c = append(c, r)
		}
	}
	// Insertion sort: candidates are few and mostly in order.
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j] < c[j-1]; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
	sc.cands = c
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

// whole reports whether the literal of piece pc, whose piece ends at msg[end], is in msg there,
// ASCII case folded.
func (p *prefilter) whole(msg []byte, end int, pc piece) bool {
	start := end + 1 - maxLiteral - int(pc.off)
	last := start + len(pc.text) - 1
	if start < 0 || last >= len(msg) || foldByte(msg[start]) != pc.text[0] || foldByte(msg[last]) != pc.text[len(pc.text)-1] {
		return false
	}
	for j := 1; j < len(pc.text)-1; j++ {
		c := msg[start+j]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != pc.text[j] {
			return false
		}
	}
	return true
}

func foldByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// restHolds reports whether every other clause of rule r has a literal in msg.
func (p *prefilter) restHolds(r int32, msg []byte, sc *scratch) bool {
	for _, alts := range p.rest[r] {
		folded := sc.fold(msg)
		ok := false
		for _, lit := range alts {
			if bytes.Contains(folded, unsafe.Slice(unsafe.StringData(lit), len(lit))) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// fold returns msg with ASCII letters in lower case, made once per line.
func (sc *scratch) fold(msg []byte) []byte {
	if sc.foldGen == sc.gen {
		return sc.folded
	}
	sc.foldGen = sc.gen
	f := sc.folded[:0]
	for _, c := range msg {
		if c-'A' < 26 {
			c += 'a' - 'A'
		}
		f = append(f, c)
	}
	sc.folded = f
	return f
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
		ok = t.matches(int(g), d.Host, sc)
	case t.pre.keyed[g] && (sc.ruleGen[g] != sc.gen || !t.pre.restHolds(g, msg, sc)):
		ok = false // its literals are not in the line
	default:
		ok = t.matches(int(g), msg, sc)
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
