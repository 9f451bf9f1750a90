package classify

import (
	"bytes"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// linear returns a copy of t that walks every rule, the reference the prefilter must agree with.
func linear(t *Table) *Table {
	c := *t
	c.pre = nil
	return &c
}

// withoutSet returns a copy of t without its set DFA: lines go to the prefiltered walk.
func withoutSet(t *Table) *Table {
	c := *t
	c.set = nil
	return &c
}

// walks decides lines three ways: with the set DFA, with the prefiltered walk, and linearly. Each
// keeps its Decision from line to line, so that DFA states built for one line serve the next.
type walks struct {
	set, pre, lin    *Table
	dSet, dPre, dLin Decision
}

func newWalks(t *Table) *walks {
	return &walks{set: t, pre: withoutSet(t), lin: linear(t)}
}

// agree classifies line every way and reports any difference.
func (w *walks) agree(t *testing.T, line []byte) {
	t.Helper()
	w.set.Classify(line, &w.dSet)
	w.pre.Classify(line, &w.dPre)
	w.lin.Classify(line, &w.dLin)
	b := &w.dLin
	for _, a := range []*Decision{&w.dSet, &w.dPre} {
		if a.Outcome != b.Outcome || a.Rule != b.Rule || a.Count != b.Count || !bytes.Equal(a.Text, b.Text) || !bytes.Equal(a.Host, b.Host) {
			t.Fatalf("line %q: %s %v rule %d %q, linear %v rule %d %q", line, map[bool]string{true: "set DFA", false: "prefilter"}[a == &w.dSet],
				a.Outcome, a.Rule, a.Text, b.Outcome, b.Rule, b.Text)
		}
	}
}

var words = []string{"sshd", "Accepted", "publickey", "password", "Failed", "for", "root", "from", "port",
	"kernel", "Oops", "cron", "CMD", "session", "opened", "closed", "user", "postfix/smtpd", "connect", "ssh2",
	"[preauth]", "error:", "ACCEPTED", "Session", "k", "s", "disconnect", "Kelvin", "ſ", "K"}

func randomPattern(r *rand.Rand) string {
	var b strings.Builder
	if r.Intn(3) == 0 {
		b.WriteString("^")
	}
	if r.Intn(6) == 0 {
		b.WriteString("(?i)")
	}
	n := 1 + r.Intn(3)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString([]string{" ", `\s+`, ".*", `\S* `, " (\\S+) "}[r.Intn(5)])
		}
		switch r.Intn(6) {
		case 0:
			fmt.Fprintf(&b, "(?:%s|%s)", words[r.Intn(len(words))], words[r.Intn(len(words))])
		case 1:
			fmt.Fprintf(&b, "(%s)", words[r.Intn(len(words))])
		case 2:
			fmt.Fprintf(&b, "(?:%s)?", words[r.Intn(len(words))])
		default:
			b.WriteString(strings.NewReplacer("[", `\[`, "]", `\]`).Replace(words[r.Intn(len(words))]))
		}
	}
	return b.String()
}

// randomTable builds n rules with groups and host groups nested at random.
func randomTable(r *rand.Rand, n int) []Rule {
	var rules []Rule
	var open []int
	for len(rules) < n {
		switch x := r.Intn(10); {
		case x == 0 && len(open) < 3:
			open = append(open, len(rules))
			rules = append(rules, Rule{Kind: Group, Pattern: randomPattern(r)})
		case x == 1 && len(open) < 3:
			open = append(open, len(rules))
			rules = append(rules, Rule{Kind: HostGroup, Pattern: []string{"^h1$", "h", "^(?:h2|h3)$", "."}[r.Intn(4)]})
		case x == 2 && len(open) > 0 && rules[open[len(open)-1]].End == 0 && open[len(open)-1] < len(rules)-1:
			g := open[len(open)-1]
			open = open[:len(open)-1]
			rules[g].End = len(rules)
		case x == 3:
			rules = append(rules, Rule{Kind: Trash, Pattern: randomPattern(r)})
		case x == 4 && r.Intn(4) == 0:
			rules = append(rules, Rule{Kind: Match, Pattern: "^(?:" + words[r.Intn(len(words))] + ")?", Targets: []Target{{Queue: "q"}}})
		default:
			rules = append(rules, Rule{Kind: Match, Pattern: randomPattern(r), Targets: []Target{{Queue: "q"}}})
		}
	}
	for _, g := range open {
		if rules[g].End == 0 {
			rules[g].End = len(rules)
		}
	}
	// A group must hold at least one rule.
	for i := range rules {
		if (rules[i].Kind == Group || rules[i].Kind == HostGroup) && rules[i].End <= i+1 {
			rules[i].End = len(rules)
		}
	}
	return rules
}

func randomLine(r *rand.Rand) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Jan  1 00:00:00 h%d ", 1+r.Intn(3))
	n := 1 + r.Intn(8)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(" ")
		}
		w := words[r.Intn(len(words))]
		if r.Intn(5) == 0 {
			w = strings.ToUpper(w)
		}
		b.WriteString(w)
	}
	return []byte(b.String())
}

func TestPrefilterAgreesWithLinearWalk(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for table := 0; table < 300; table++ {
		rules := randomTable(r, 5+r.Intn(60))
		tb, err := New(rules, Options{Mask: "_", HidePID: true})
		if err != nil {
			t.Fatalf("table %d: %v", table, err)
		}
		w := newWalks(tb)
		for i := 0; i < 300; i++ {
			w.agree(t, randomLine(r))
		}
	}
}

func TestPrefilterAgreesOnTheCorpus(t *testing.T) {
	tb := mustTable(t, benchRules(), Options{Mask: "___", HidePID: true})
	w := newWalks(tb)
	viaSet, matched := 0, 0
	for _, line := range corpusLines(t) {
		var gen uint32
		if w.dSet.sc != nil {
			gen = w.dSet.sc.gen
		}
		w.agree(t, line)
		if w.dSet.sc != nil && w.dSet.sc.gen != gen { // the line reached the rules
			matched++
			if w.dSet.sc.viaSet {
				viaSet++
			}
		}
	}
	if viaSet < matched*9/10 || matched < 1000 {
		t.Fatalf("the set DFA decided %d of the %d lines that reached the rules", viaSet, matched)
	}
}

// A set DFA whose cache fills is emptied and rebuilt; when it fills again soon after, it rests and the
// prefiltered walk takes the lines, then it comes back. Every line is decided alike all along.
func TestSetDFAFullCache(t *testing.T) {
	tb := mustTable(t, benchRules(), Options{Mask: "___", HidePID: true})
	lines := corpusLines(t)
	for _, budget := range []int{1 << 10, 1 << 14, 1 << 18} {
		small := *tb
		small.setBudget = budget
		w := newWalks(&small)
		w.dSet.sc = &scratch{}
		w.dSet.sc.reset(w.set)
		sc := w.dSet.sc
		sc.setLines = setChurn // as if the cache had served a while: the first fill empties it
		rested, back := false, false
		for _, line := range lines {
			w.agree(t, line)
			if sc.setRest > 0 {
				rested = true
				if sc.setRest == setRest-100 {
					sc.setRest = 1 // skip the rest of the rest
				}
			} else if rested && sc.viaSet {
				back = true
			}
		}
		resets := sc.set.resets
		switch {
		case budget == 1<<10 && (resets == 0 || !rested || !back):
			t.Errorf("budget %d: %d resets, rested %v, back %v; want it emptied, rested, then back", budget, resets, rested, back)
		case budget == 1<<18 && (resets != 0 || rested):
			t.Errorf("budget %d: %d resets, rested %v; want neither", budget, resets, rested)
		}
	}
}

func TestAnchoredPrefix(t *testing.T) {
	for p, want := range map[string]string{
		`^sshd\[[0-9]+\]: Accepted`: "sshd[",
		`^(cron)\[`:                 "cron", // the capture ends the literal; a shorter prefix is still a prefix
		`^abc`:                      "abc",
		`abc`:                       "",
		`(?i)^abc`:                  "",
		`^(?:a|b)c`:                 "",
		`^$`:                        "",
	} {
		if got := string(anchoredPrefix(syntaxTree(p))); got != want {
			t.Errorf("anchoredPrefix(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestWindowPicksTheRarestPiece(t *testing.T) {
	for lit, want := range map[string]string{
		"]: accepted publickey for ": "ublickey",
		"sshd[":                      "sshd[",
		"session opened for user ":   "for user",
	} {
		off := window(lit, 8, nil)
		if got := lit[off:min(off+8, len(lit))]; got != want {
			t.Errorf("window(%q) = %q, want %q", lit, got, want)
		}
	}
}

func TestLiteralClauses(t *testing.T) {
	tests := map[string]string{
		`^sshd\[\d+\]: Accepted publickey for (\S+) from (\S+)`: `[["sshd["] ["]: accepted publickey for "] [" from "]]`,
		`foo|barbaz`:          `[["foo" "barbaz"]]`,
		`(?:ab|cdef)xyz`:      `[["xyz"]]`,
		`.*`:                  `[]`,
		`(?i)Session opened`:  `[["ion opened"]]`, // s and k fold beyond ASCII: the longest run without them
		`(?i)Oops`:            `[["oop"]]`,
		`(?:error)?: timeout`: `[[": timeout"]]`,
		`x(abc)+y`:            `[["abc"]]`,
		`a{0,3}bcd`:           `[["bcd"]]`,
	}
	for p, want := range tests {
		if got := fmt.Sprintf("%q", literalClauses(syntaxTree(p))); strings.ReplaceAll(got, `" "`, `" "`) != want {
			t.Errorf("literalClauses(%q) = %s, want %s", p, got, want)
		}
	}
}
