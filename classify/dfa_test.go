package classify

import (
	"bytes"
	"math/rand"
	"regexp"
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
	c := newDFACache(p)
	for _, in := range inputs {
		if got, want := c.match(in, re), re.Match(in); got != want {
			t.Fatalf("pattern %q on %q: DFA %v, regexp %v", pattern, in, got, want)
		}
	}
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
	c := newDFACache(newDFAProg(pattern))
	re := regexp.MustCompile(pattern)
	for _, in := range inputs {
		c.match(in, re)
	}
	if !c.full {
		t.Fatalf("the cache holds %d states and is not full; the test no longer reaches the fallback", len(c.sets))
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
	matched, tried := 0, 0
	for _, p := range trash {
		re, err := Compile(p)
		if err != nil {
			continue
		}
		c := newDFACache(newDFAProg(p))
		for _, m := range msgs {
			got := c.match(m, re)
			if got != re.Match(m) {
				t.Fatalf("pattern %q on %q: DFA %v, regexp %v", p, m, got, !got)
			}
			if got {
				matched++
			}
			tried++
		}
	}
	if matched == 0 {
		t.Fatal("no logcheck rule matched a corpus line: the test compares only rejections")
	}
	t.Logf("%d rules × %d messages: %d comparisons, %d matches", len(trash), len(msgs), tried, matched)
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
		c := newDFACache(p)
		for _, in := range []string{input, input + "\n" + input, ""} {
			if got, want := c.match([]byte(in), re), re.MatchString(in); got != want {
				t.Fatalf("pattern %q on %q: DFA %v, regexp %v", pattern, in, got, want)
			}
		}
	})
}
