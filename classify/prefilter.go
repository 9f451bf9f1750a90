package classify

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"regexp/syntax"
	"sort"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// The prefilter keeps first-match-in-order semantics while trying only the rules that can match a line.
// Every rule gets, from its parsed regex, up to maxClauses clauses: sets of literals of which every
// match contains at least one. The first (primary) clause is found by one scan of the message
// (grams.go); a rule whose primary clause is present is a candidate (rules without usable literals
// always are). The table is then walked over candidates only, in order: a candidate's other clauses
// are searched for when the walk reaches it, and the groups enclosing it are evaluated (once per
// line) before it, so a failed group skips its rules exactly as the linear walk does.
//
// Matching is ASCII-case-insensitive (the message is folded), which only adds candidates.

const (
	maxClauses = 3 // clauses kept per rule: the most selective ones
	minLiteral = 3 // shorter literals select too little to be worth their postings
)

// commonBytes ranks bytes by how often they appear in log text, most common first; window picks the
// piece of a literal made of the rarest bytes.
const commonBytes = " :[]=.-/_,()'0123456789etaoinsrhldcumfpgwybvkxjqz"

// pieceSize is the length of the piece lit is represented by.
func pieceSize(lit string) int {
	for _, n := range gramSizes {
		if len(lit) >= n {
			return n
		}
	}
	return len(lit)
}

// window returns where, in lit, the size-byte piece the scan looks for starts: the piece
// the fewest literals contain (shared counts, per piece, how many literals hold it), so that a piece
// found is checked against few literals; among those, the one whose bytes are rarest in log text.
func window(lit string, size int, shared map[string]int) int {
	if len(lit) <= size {
		return 0
	}
	score := func(c byte) int {
		if i := strings.IndexByte(commonBytes, c); i >= 0 {
			return i
		}
		return len(commonBytes) // rarer than anything ranked
	}
	best, bestShared, bestScore := 0, 0, -1
	for i := 0; i+size <= len(lit); i++ {
		sum := 0
		for j := i; j < i+size; j++ {
			sum += score(lit[j])
		}
		n := shared[lit[i:i+size]]
		if bestScore < 0 || n < bestShared || n == bestShared && sum > bestScore {
			best, bestShared, bestScore = i, n, sum
		}
	}
	return best
}

// pieceSharing counts, for every piece of the literals (of the length each is cut to), how many
// literals hold it.
func pieceSharing(lits []string) map[string]int {
	shared := map[string]int{}
	for _, lit := range lits {
		seen := map[string]bool{}
		size := pieceSize(lit)
		for i := 0; i+size <= len(lit); i++ {
			if w := lit[i : i+size]; !seen[w] {
				seen[w] = true
				shared[w]++
			}
		}
	}
	return shared
}

type prefilter struct {
	grams    []gramSet // one per piece length, longest first
	pieces   [][]piece // per piece: the literals it was cut from
	postings [][]int32 // per literal: the rules whose primary clause holds it
	// Per rule: the other clauses (each a list of folded literals, one of which must be in the line).
	// They are not scanned for: a line's walk searches for them only in the candidates it reaches,
	// so the scan's tables stay small and a line visits only primary postings.
	rest   [][][]string
	keyed  []bool  // per rule: it has a primary clause (else it is always a candidate)
	gate   []bool  // per rule: a group or host group, never a candidate itself
	always []int32 // rules that are candidates whatever the line (groups excluded)
	parent []int32 // innermost enclosing group of each rule, -1 for none
}

// piece places a scanned piece in a literal: the literal starts off bytes before the piece.
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
	dfa       []*ruleDFA // per rule, built on first use
	set       *dfaCache  // the table's set DFA; nil once it gave up
	setHits   []int32
	matchGen  []uint32 // per rule: the line the set DFA last found it matching
	viaSet    bool     // the current line is decided by the set DFA
	setLines  int      // lines since the set DFA's cache was last emptied
	setRest   int      // lines the set DFA sits out still
	work      closure  // shared by the DFA caches
	folded    []byte   // the line in lower case, when a clause search needed it
	foldGen   uint32
}

func (s *scratch) reset(t *Table) {
	n, l := len(t.rules), len(t.pre.postings)
	*s = scratch{t: t, litGen: make([]uint32, l), ruleGen: make([]uint32, n), groupGen: make([]uint32, n),
		groupPass: make([]bool, n), dfa: make([]*ruleDFA, n), matchGen: make([]uint32, n)}
	if t.set != nil {
		s.set = newDFACache(t.set, cmp.Or(t.setBudget, setDFABudget), &s.work)
	}
}

// setDFABudget bounds the set DFA's cache, in int32s (16 MB). The logcheck benchmark's million lines
// take 2,600 states, about 0.6 M.
const setDFABudget = 1 << 22

// setRest is how many lines the set DFA sits out when its cache fills twice within setChurn lines:
// the lines are too varied for it, and the prefiltered walk does better for a while.
const setRest, setChurn = 100_000, 5_000

// nextLine starts a line: every per-line stamp is out of date.
func (s *scratch) nextLine() {
	s.gen++
	if s.gen == 0 { // wrapped: forget every stamp
		clear(s.litGen)
		clear(s.ruleGen)
		clear(s.groupGen)
		clear(s.matchGen)
		s.gen = 1
	}
	s.viaSet = false
	s.setLines++
	if s.setRest > 0 {
		s.setRest--
	}
}

// setFull empties the set DFA's full cache, and rests it when it filled soon after the last time.
func (s *scratch) setFull() {
	if s.setLines < setChurn {
		s.setRest = setRest
	}
	s.set.reset()
	s.setLines = 0
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

// foldLiteral renders a literal in the folded form the scan uses. Under (?i), Unicode case folding
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

// buildPrefilter indexes the rules' literal clauses for the scan.
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
	// Each literal is scanned for by one piece, cut where few literals share it.
	sharing := pieceSharing(lits)
	cut := make([][]string, len(gramSizes))
	pids := make([]map[string]int32, len(gramSizes))
	type placed struct {
		size int
		pid  int32
	}
	where := make([]placed, len(lits))
	for l, lit := range lits {
		size := pieceSize(lit)
		k := 0
		for gramSizes[k] != size {
			k++
		}
		w := lit[window(lit, size, sharing):][:size]
		if pids[k] == nil {
			pids[k] = map[string]int32{}
		}
		pid, ok := pids[k][w]
		if !ok {
			pid = int32(len(cut[k]))
			pids[k][w] = pid
			cut[k] = append(cut[k], w)
		}
		where[l] = placed{k, pid}
	}
	base := make([]int32, len(gramSizes))
	total := 0
	for k := range gramSizes {
		base[k] = int32(total)
		total += len(cut[k])
		if len(cut[k]) > 0 {
			p.grams = append(p.grams, newGramSet(gramSizes[k], cut[k], base[k]))
		}
	}
	p.pieces = make([][]piece, total)
	for l, lit := range lits {
		k, pid := where[l].size, base[where[l].size]+where[l].pid
		size := gramSizes[k]
		pc := piece{lit: int32(l), off: int32(window(lit, size, sharing))}
		if len(lit) > size {
			pc.text = lit
		}
		p.pieces[pid] = append(p.pieces[pid], pc)
	}
	return p
}

// candidates fills sc.merged with the rules that may match msg, in table order.
func (p *prefilter) candidates(msg []byte, sc *scratch) []int32 {
	sc.hits = sc.hits[:0]
	sc.fold(msg)
	f, n := sc.folded, len(msg) // with the padding: a word loads at every position
	for k := range p.grams {
		// One tight loop per piece length, with the set's fields in registers.
		g := &p.grams[k]
		bitmap, shift, mask := g.bits, g.shift, g.mask
		for i := 0; i+g.size <= n; i++ {
			v := binary.LittleEndian.Uint64(f[i:i+8]) & mask
			h := gramHash(v)
			if b := h >> shift; bitmap[b>>6]&(1<<(b&63)) != 0 {
				p.found(g, v, h, f[:n], i, sc)
			}
		}
	}
	c := sc.cands[:0]
	for _, r := range sc.hits {
		if !p.gate[r] {
			c = append(c, r)
		}
	}
	sortFew(c)
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

// found handles a bitmap hit for piece v (hash h) at f[i:]: the literals cut from that piece which
// the line holds post their rules.
func (p *prefilter) found(g *gramSet, v uint64, h uint32, f []byte, i int, sc *scratch) {
	pid := g.find(v, h)
	if pid < 0 {
		return
	}
	gen := sc.gen
	for _, pc := range p.pieces[pid] {
		id := pc.lit
		if sc.litGen[id] == gen || pc.text != "" && !whole(f, i-int(pc.off), pc.text) {
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

// sortFew sorts rule indices by insertion: a line's candidates or matches are few and mostly in
// order already.
func sortFew(rs []int32) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j] < rs[j-1]; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// whole reports whether the folded line f holds lit at start.
func whole(f []byte, start int, lit string) bool {
	return start >= 0 && start+len(lit) <= len(f) && string(f[start:start+len(lit)]) == lit
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
	if sc.foldGen != sc.gen {
		sc.folded, sc.foldGen = foldPadded(sc.folded, msg), sc.gen
	}
	return sc.folded[:len(msg)]
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
	case sc.viaSet:
		ok = sc.matchGen[g] == sc.gen
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
