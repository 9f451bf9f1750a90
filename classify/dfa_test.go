package classify

import (
	"bytes"
	"math/rand"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tayori-dev/tayori/internal/gencorpus"
	"github.com/tayori-dev/tayori/internal/tenshiref"
)

// dfaAgrees checks the lazy DFA of pattern against regexp.Match on every input, with one cache for
// them all so that states built for one input are reused by the next.
func dfaAgrees(t *testing.T, pattern string, inputs [][]byte) {
	t.Helper()
	re, err := Compile(pattern)
	if err != nil {
		t.Fatalf("%q: %v", pattern, err)
	}
	p := newDFAProg(pattern)
	if p == nil {
		t.Fatalf("%q: no DFA program", pattern)
	}
	c := newDFACache(p, ruleDFABudget, nil)
	for _, in := range inputs {
		got, ok := c.match(in)
		if !ok {
			if c.size <= c.budget {
				t.Fatalf("pattern %q on %q: the DFA could not decide a line with room in its cache", pattern, in)
			}
			continue
		}
		if want := re.Match(in); got != want {
			t.Fatalf("pattern %q on %q: DFA %v, regexp %v", pattern, in, got, want)
		}
	}
}

// setAgrees checks the set DFA of patterns against each pattern's regexp.Match on every input.
func setAgrees(t *testing.T, patterns []string, inputs [][]byte) {
	t.Helper()
	res := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		res[i] = regexp.MustCompile(perlSpace(p))
	}
	c := newDFACache(newDFAProg(patterns...), setDFABudget, nil)
	for _, in := range inputs {
		var got []int32
		if c.run(in, func(ps []int32) bool { got = append(got, ps...); return false }) < 0 {
			t.Fatalf("%q: the set DFA could not decide a line with room in its cache", in)
		}
		slices.Sort(got)
		got = slices.Compact(got) // a program that can start anywhere is reported each time it matches
		var want []int32
		for i, re := range res {
			if re.Match(in) {
				want = append(want, int32(i))
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("on %q: set DFA matched %v, regexp %v (patterns %q)", in, got, want, patterns)
		}
	}
}

// newDFAProg is the DFA of all the patterns, program i for patterns[i].
func newDFAProg(patterns ...string) *dfaProg {
	d := newDFACode(patterns...)
	if d == nil {
		return nil
	}
	all := make([]int32, len(patterns))
	for i := range all {
		all[i] = int32(i)
	}
	return d.program(all...)
}

var dfaPatterns = []string{
	``, `^`, `$`, `^$`, `a`, `^a`, `a$`, `^a$`, `(?m)^a$`, `(?m)^b`, `(?m)a$`, `(?s).b`, `.b`, `a.*b`,
	`\bfoo\b`, `\Bfoo`, `foo\B`, `\b`, `\B`, `^\b`, `(?i)kelvin`, `(?i)K`, `(?i)S+`, `(?i)[a-c]x`,
	`[^a]b`, `[^\n]+$`, `\s+x`, `\S+=\S*`, `(a|ab)(c|bcd)(d*)`, `x*`, `(?:a|)b`, `a{3,5}`, `(?U)a+?b`,
	`[[:alpha:]]+ [[:digit:]]{2}`, `\d+\.\d+`, `é`, `.é`, `[^é]x`, `\x{7f}`, `[\x00-\x1f]`, `\z`, `\Ax`,
	`^sshd\[[0-9]+\]: Accepted (publickey|password) for [^[:space:]]+ from [.:[:xdigit:]]+ port [0-9]+( ssh2)?$`,
	`^kernel: (?:\[[ .0-9]+\] )?(?:Oops|BUG|Kernel panic)`, `(?:(a)|(b))+(.*)`, `^(x)+`, `(\S+)=(\S*)`,
}

func dfaInputs(r *rand.Rand, n int) [][]byte {
	alphabet := []string{"a", "b", "c", "d", "x", "k", "K", "S", "s", "foo", " ", "\n", "_", "=", "1", "2.5",
		"[", "]", ":", "é", "\u212a", "\xff", "\x00", "\x7f", "sshd[", "42", "]: Accepted ", "publickey",
		" for ", "root", " from ", "10.0.0.1", " port ", " ssh2", "kernel: ", "Oops", "\t"}
	ins := [][]byte{nil, []byte(""), []byte("a"), []byte("\n"), []byte("é")}
	for i := 0; i < n; i++ {
		var b strings.Builder
		for j := r.Intn(12); j >= 0; j-- {
			b.WriteString(alphabet[r.Intn(len(alphabet))])
		}
		ins = append(ins, []byte(b.String()))
	}
	return ins
}

func TestDFAAgreesWithRegexp(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	inputs := dfaInputs(r, 3000)
	for _, p := range dfaPatterns {
		dfaAgrees(t, p, inputs)
	}
	for i := 0; i < 300; i++ {
		dfaAgrees(t, randomPattern(r), inputs)
	}
}

func TestSetDFAAgreesWithRegexp(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	inputs := dfaInputs(r, 2000)
	setAgrees(t, dfaPatterns, inputs)
	for i := 0; i < 100; i++ {
		var ps []string
		for j := r.Intn(20); j >= 0; j-- {
			ps = append(ps, randomPattern(r))
		}
		setAgrees(t, ps, inputs)
	}
}

// A rule whose DFA would outgrow its cache falls back to regexp and still answers alike.
func TestDFAFullCacheFallsBack(t *testing.T) {
	const pattern = `(a|b)*a(a|b){14}c`
	r := rand.New(rand.NewSource(2))
	var inputs [][]byte
	for i := 0; i < 50; i++ {
		b := make([]byte, 400)
		for j := range b {
			b[j] = "ab"[r.Intn(2)]
		}
		if i%2 == 0 {
			b = append(b, 'c')
		}
		inputs = append(inputs, b)
	}
	dfaAgrees(t, pattern, inputs)
	c := &ruleDFA{cache: newDFACache(newDFAProg(pattern), ruleDFABudget, nil)}
	re := regexp.MustCompile(pattern)
	for _, in := range inputs {
		if got, want := c.match(in, re), re.Match(in); got != want {
			t.Fatalf("on %q: %v, regexp %v", in, got, want)
		}
	}
	if !c.full {
		t.Fatalf("the cache holds %d states and is not full; the test no longer reaches the fallback", len(c.cache.sets))
	}
}

// Every logcheck rule against the corpus: the rules the benchmark's DFA runs.
func TestDFAAgreesOnLogcheckRules(t *testing.T) {
	trash, _, err := tenshiref.LogcheckRules(tenshiref.LogcheckDir+"/ignore.d.paranoid", tenshiref.LogcheckDir+"/ignore.d.server")
	if err != nil || len(trash) < 1000 {
		t.Skipf("logcheck-database rules not available (%d rules, %v)", len(trash), err)
	}
	var msgs [][]byte
	var d Decision
	tb := mustTable(t, nil, Options{})
	var gen bytes.Buffer
	opts := gencorpus.Defaults()
	opts.Lines, opts.Seed = 5000, 3
	if err := gencorpus.Generate(&gen, opts); err != nil {
		t.Fatal(err)
	}
	lines := append(corpusLines(t), bytes.Split(bytes.TrimRight(gen.Bytes(), "\n"), []byte("\n"))...)
	for _, line := range lines {
		if m, ok := tb.stripPrefix(line, &d); ok {
			msgs = append(msgs, append([]byte(nil), m...))
		}
	}
	matched := 0
	for _, p := range trash {
		dfaAgrees(t, p, msgs)
	}
	setAgrees(t, trash, msgs)
	for _, p := range trash {
		re := regexp.MustCompile(perlSpace(p))
		for _, m := range msgs {
			if re.Match(m) {
				matched++
			}
		}
	}
	if matched == 0 {
		t.Fatal("no logcheck rule matched a corpus line: the test compares only rejections")
	}
	t.Logf("%d rules × %d messages: %d matches", len(trash), len(msgs), matched)
}

func FuzzDFA(f *testing.F) {
	for _, p := range dfaPatterns {
		f.Add(p, "sshd[42]: Accepted publickey for root from 10.0.0.1 port 22 ssh2")
	}
	f.Add(`(?i)\bk\B`, "K\u212ak x\nk")
	f.Fuzz(func(t *testing.T, pattern, input string) {
		re, err := Compile(pattern)
		if err != nil {
			return
		}
		p := newDFAProg(pattern)
		if p == nil {
			t.Fatalf("%q compiles with regexp but not as a DFA program", pattern)
		}
		c := newDFACache(p, ruleDFABudget, nil)
		for _, in := range []string{input, input + "\n" + input, ""} {
			got, ok := c.match([]byte(in))
			if !ok {
				if c.size <= c.budget {
					t.Fatalf("pattern %q on %q: the DFA could not decide a line with room in its cache", pattern, in)
				}
				continue
			}
			if want := re.MatchString(in); got != want {
				t.Fatalf("pattern %q on %q: DFA %v, regexp %v", pattern, in, got, want)
			}
		}
		// In a set with others, anchored and not, it is found exactly when it matches.
		setAgrees(t, []string{`^s`, pattern, `\bk`, `.*`, pattern + `$`, `x$`}, [][]byte{[]byte(input), []byte(input + "\n" + input)})
	})
}
