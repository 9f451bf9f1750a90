package difftest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tayori-dev/tayori/internal/gencorpus"
	"github.com/tayori-dev/tayori/internal/tenshiref"
)

// Entry is one digest line, as both sides are compared: queue, host, masked line and count.
type Entry = tenshiref.Entry

// tenshiTimeout bounds one tenshi run.
const tenshiTimeout = 3 * time.Minute

// maxShown is how many entries of each kind a mismatch report prints.
const maxShown = 25

// setup is a tenshi configuration made ready for both sides: normalized for tenshiref.Run and converted
// to TOML for tayori.
type setup struct {
	name string
	conf string // the normalized configuration (tenshiref.Run adds the mail server and the input)
	toml string // `tayori convert`'s output, a file
}

// prepare normalizes the tenshi configuration at confPath and converts it with `tayori convert`.
func prepare(t *testing.T, name, confPath string) *setup {
	t.Helper()
	norm, err := tenshiref.Normalize(confPath)
	if err != nil {
		t.Fatalf("normalize %s: %v", confPath, err)
	}
	s, err := convert(t, name, norm)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// convert runs `tayori convert` on a normalized configuration, which it reads as tenshi does under
// tenshiref.Run: behind a "set mailserver" line (tenshi refuses to start without one, and so does
// `tayori convert`).
func convert(t *testing.T, name, norm string) (*setup, error) {
	t.Helper()
	dir := t.TempDir()
	confPath := filepath.Join(dir, "tenshi.conf")
	if err := os.WriteFile(confPath, []byte("set mailserver localhost\n"+norm), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(tayoriBin, "convert", confPath)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("tayori convert %s: %v\n%s", name, err, stderr.Bytes())
	}
	tomlPath := filepath.Join(dir, "tayori.toml")
	if err := os.WriteFile(tomlPath, stdout.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return &setup{name: name, conf: norm, toml: tomlPath}, nil
}

// corpus is one input both sides read.
type corpus struct {
	name string
	data []byte
}

func (c corpus) lines() int {
	n := bytes.Count(c.data, []byte("\n"))
	if len(c.data) > 0 && c.data[len(c.data)-1] != '\n' {
		n++
	}
	return n
}

// bundled reads one of the repository's corpora (testdata/corpus).
func bundled(t *testing.T, name string) corpus {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "corpus", name))
	if err != nil {
		t.Fatal(err)
	}
	return corpus{name: strings.TrimSuffix(name, ".log"), data: data}
}

// local reads a hand-written corpus from this package's testdata.
func local(t *testing.T, name string) corpus {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return corpus{name: strings.TrimSuffix(name, ".log"), data: data}
}

// generated makes a corpus with gencorpus.
func generated(t *testing.T, name string, o gencorpus.Options) corpus {
	t.Helper()
	var b bytes.Buffer
	if err := gencorpus.Generate(&b, o); err != nil {
		t.Fatal(err)
	}
	return corpus{name: name, data: b.Bytes()}
}

// realistic is gencorpus's realistic mix without RFC 3339 time stamps, which tayori parses and tenshi
// does not (see TestIntentionalRFC3339).
func realistic(lines int, seed int64) gencorpus.Options {
	o := gencorpus.Defaults()
	o.Lines, o.Seed, o.RFC3339Rate = lines, seed, 0
	return o
}

// ruleHits is what `tayori test --stats` says of one rule (groups are not listed).
type ruleHits struct {
	Pattern string
	Hits    int
}

// tayoriOutput is what one `tayori test --format json --stats` run printed.
type tayoriOutput struct {
	entries []Entry // as printed, not normalized
	rules   []ruleHits
}

// runTayori runs `tayori test` with the configuration tomlPath on input.
func runTayori(tomlPath string, input []byte) (*tayoriOutput, error) {
	dir, err := os.MkdirTemp("", "tayori-difftest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "input.log")
	if err := os.WriteFile(in, input, 0o644); err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(tayoriBin, "test", "-c", tomlPath, "--format", "json", "--stats", in)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("tayori test: %v\n%s", err, stderr.Bytes())
	}
	out := &tayoriOutput{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var obj struct {
			Stat    string `json:"stat"`
			Hits    int    `json:"hits"`
			Pattern string `json:"pattern"`
			Queue   string `json:"queue"`
			Host    string `json:"host"`
			Count   int    `json:"count"`
			Line    string `json:"line"`
		}
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			return nil, fmt.Errorf("tayori test: output line %q: %v", sc.Bytes(), err)
		}
		switch obj.Stat {
		case "":
			out.entries = append(out.entries, Entry{Queue: obj.Queue, Host: obj.Host, Line: obj.Line, Count: obj.Count})
		case "rule":
			out.rules = append(out.rules, ruleHits{Pattern: obj.Pattern, Hits: obj.Hits})
		}
	}
	return out, sc.Err()
}

// runTenshi runs the reference on the normalized configuration conf.
func runTenshi(conf string, input []byte) ([]Entry, error) {
	ctx, cancel := context.WithTimeout(context.Background(), tenshiTimeout)
	defer cancel()
	return tenshiref.Run(ctx, conf, input)
}

// canonical makes a string comparable across the two sides: tayori prints JSON, where invalid UTF-8
// becomes U+FFFD, so tenshi's side goes through the same round trip; and tenshi's SMTP transport loses a
// line's trailing CR (see TestIntentionalTrailingCR), so neither side keeps it.
func canonical(s string) string {
	b, _ := json.Marshal(s)
	var out string
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err) // json.Marshal of a string always gives a JSON string
	}
	return strings.TrimSuffix(out, "\r")
}

// normalize applies canonical to every host and line and merges what that made equal.
func normalize(es []Entry) []Entry {
	out := make([]Entry, len(es))
	for i, e := range es {
		out[i] = Entry{Queue: e.Queue, Host: canonical(e.Host), Line: canonical(e.Line), Count: e.Count}
	}
	return tenshiref.Merge(out)
}

// duplicates returns tayori's entries that repeat a queue, host and line: a digest never holds one line
// twice for a host.
func duplicates(es []Entry) []Entry {
	type key struct{ q, h, l string }
	seen := map[key]bool{}
	var dups []Entry
	for _, e := range es {
		k := key{e.Queue, e.Host, e.Line}
		if seen[k] {
			dups = append(dups, e)
		}
		seen[k] = true
	}
	return dups
}

// diff describes how two merged entry lists, tenshi's and tayori's, differ; it is empty when they are
// equal.
func diff(tenshi, tayori []Entry) string {
	return diffNamed("tenshi", tenshi, "tayori", tayori)
}

// diffNamed describes how the merged entry lists a (called aName) and b differ: the entries only in
// one of them and those whose counts differ, the first maxShown of each kind, then the totals. It is
// empty when they are equal.
func diffNamed(aName string, a []Entry, bName string, b []Entry) string {
	type key struct{ q, h, l string }
	inA := map[key]bool{}
	for _, e := range a {
		inA[key{e.Queue, e.Host, e.Line}] = true
	}
	inB := map[key]int{}
	for _, e := range b {
		inB[key{e.Queue, e.Host, e.Line}] = e.Count
	}
	var onlyA, onlyB []Entry
	var counts []string
	for _, e := range a {
		c, ok := inB[key{e.Queue, e.Host, e.Line}]
		switch {
		case !ok:
			onlyA = append(onlyA, e)
		case c != e.Count:
			counts = append(counts, fmt.Sprintf("  %s %s %s: %s %d, %s %d", e.Queue, e.Host, quoteShort(e.Line), aName, e.Count, bName, c))
		}
	}
	for _, e := range b {
		if !inA[key{e.Queue, e.Host, e.Line}] {
			onlyB = append(onlyB, e)
		}
	}
	if len(onlyA)+len(onlyB)+len(counts) == 0 {
		return ""
	}
	var w strings.Builder
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintf(&w, "%s: %d\n", title, len(lines))
		for i, l := range lines {
			if i == maxShown {
				fmt.Fprintf(&w, "  … %d more\n", len(lines)-maxShown)
				break
			}
			w.WriteString(l + "\n")
		}
	}
	lines := func(es []Entry) []string {
		var ls []string
		for _, e := range es {
			ls = append(ls, fmt.Sprintf("  %s %s %d: %s", e.Queue, e.Host, e.Count, quoteShort(e.Line)))
		}
		return ls
	}
	section("only in "+aName, lines(onlyA))
	section("only in "+bName, lines(onlyB))
	section("count differs", counts)
	fmt.Fprintf(&w, "totals: %s %d entries, count %d; %s %d entries, count %d\n",
		aName, len(a), total(a), bName, len(b), total(b))
	return w.String()
}

// quoteShort quotes a line for a message, cutting it if it is long.
func quoteShort(s string) string {
	const max = 200
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:max], len(s))
}

func total(es []Entry) int {
	n := 0
	for _, e := range es {
		n += e.Count
	}
	return n
}

// perQueue renders the entry count and total count of each queue, for the log.
func perQueue(es []Entry) string {
	type sum struct{ entries, count int }
	sums := map[string]*sum{}
	var names []string
	for _, e := range es {
		s := sums[e.Queue]
		if s == nil {
			s = &sum{}
			sums[e.Queue] = s
			names = append(names, e.Queue)
		}
		s.entries++
		s.count += e.Count
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d/%d", n, sums[n].entries, sums[n].count))
	}
	return strings.Join(parts, ", ")
}

// result is what one comparison found.
type result struct {
	tenshi, tayori []Entry // normalized and merged
	rules          []ruleHits
}

// compare runs both sides on one corpus and fails t if their digests differ.
func compare(t *testing.T, s *setup, c corpus) result {
	t.Helper()
	start := time.Now()
	out, err := runTayori(s.toml, c.data)
	if err != nil {
		t.Fatalf("%s on %s: %v", s.name, c.name, err)
	}
	tayoriTime := time.Since(start)
	if dups := duplicates(out.entries); len(dups) > 0 {
		t.Errorf("tayori printed %d entries twice, first %+v", len(dups), dups[0])
	}
	start = time.Now()
	ref, err := runTenshi(s.conf, c.data)
	if err != nil {
		t.Fatalf("%s on %s: %v", s.name, c.name, err)
	}
	tenshiTime := time.Since(start)

	r := result{tenshi: normalize(ref), tayori: normalize(out.entries), rules: out.rules}
	t.Logf("%s × %s: %d lines, %d entries, total count %d; tenshi %.2fs, tayori %.2fs; per queue (entries/count): %s",
		s.name, c.name, c.lines(), len(r.tenshi), total(r.tenshi), tenshiTime.Seconds(), tayoriTime.Seconds(), perQueue(r.tenshi))
	if d := diff(r.tenshi, r.tayori); d != "" {
		t.Errorf("%s × %s: tayori's digests differ from tenshi's:\n%s", s.name, c.name, d)
	}
	if len(r.tenshi) == 0 {
		t.Errorf("%s × %s: tenshi mailed nothing: the comparison proves nothing", s.name, c.name)
	}
	return r
}

// coverage adds up, over several corpora, how often tayori's rules matched.
type coverage struct {
	mu    sync.Mutex
	rules []ruleHits
}

func (c *coverage) add(rs []ruleHits) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rules == nil {
		c.rules = make([]ruleHits, len(rs))
		for i, r := range rs {
			c.rules[i].Pattern = r.Pattern
		}
	}
	for i, r := range rs {
		if i < len(c.rules) {
			c.rules[i].Hits += r.Hits
		}
	}
}

// check fails t if a rule matched no line of any corpus, so that the comparison does not cover it,
// unless its pattern is listed in unreachable; those must have matched nothing.
func (c *coverage) check(t *testing.T, unreachable []string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.rules) == 0 {
		t.Errorf("no rule statistics: tayori test --stats printed none")
	}
	skip := map[string]bool{}
	for _, p := range unreachable {
		skip[p] = true
	}
	for i, r := range c.rules {
		switch {
		case skip[r.Pattern] && r.Hits > 0:
			t.Errorf("rule %d %q, meant to be unreachable, matched %d lines", i+1, r.Pattern, r.Hits)
		case !skip[r.Pattern] && r.Hits == 0:
			t.Errorf("rule %d %q matched no line of any corpus: the comparison does not cover it", i+1, r.Pattern)
		}
	}
}

// compareAll compares s on every corpus, in parallel, and adds tayori's rule hits to cov (nil: none).
func compareAll(t *testing.T, s *setup, corpora []corpus, cov *coverage) {
	t.Helper()
	t.Run(s.name, func(t *testing.T) {
		for _, c := range corpora {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				r := compare(t, s, c)
				if cov != nil {
					cov.add(r.rules)
				}
			})
		}
	})
}
