package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tayori-dev/tayori/classify"
	"github.com/tayori-dev/tayori/config"
	"github.com/tayori-dev/tayori/queue"
	"github.com/tayori-dev/tayori/tailer"
)

func runTest(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conf := fs.String("c", "/etc/tayori/tayori.toml", "configuration file")
	format := fs.String("format", "text", "output format: text or json (one object per digest line)")
	explain := fs.Bool("explain", false, "print, for every input line, the rule that took it and its queues")
	stats := fs.Bool("stats", false, "print per-rule hit counts, rules that never matched and lines per queue")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (for go tool pprof)")
	memProfile := fs.String("memprofile", "", "write a heap profile at the end of the run to this file")
	if err := fs.Parse(args); err != nil {
		return exitError{2}
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if *memProfile != "" {
		defer writeHeapProfile(*memProfile, stderr)
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "tayori test: --format is text or json, not %q\n", *format)
		return exitError{2}
	}
	cfg, err := loadConfig(*conf, stderr)
	if err != nil {
		return err
	}
	ledger, err := queue.NewLedger(cfg.QueueSpecs(), cfg.Rules, cfg.LedgerSettings())
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	defer out.Flush()
	run := &testRun{cfg: cfg, ledger: ledger, out: out, json: *format == "json", explain: *explain,
		hits: make([]int, len(cfg.Rules))}
	if err := run.readAll(fs.Args(), stdin); err != nil {
		return err
	}
	if err := run.printDigests(); err != nil {
		return err
	}
	if *stats {
		run.printStats()
	}
	return out.Flush()
}

// testRun classifies input the way the daemon does and keeps what --explain and --stats report.
type testRun struct {
	cfg     *config.Config
	ledger  *queue.Ledger
	out     *bufio.Writer
	json    bool
	explain bool

	d        classify.Decision
	lines    int
	outcomes [6]int
	hits     []int // per rule
}

func (r *testRun) readAll(files []string, stdin io.Reader) error {
	if len(files) == 0 {
		files = []string{"-"}
	}
	for _, name := range files {
		var in io.Reader = stdin
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			defer f.Close()
			in = f
		}
		err := tailer.ReadLines(in, name, r.cfg.Sources.MaxLine, func(l tailer.Line) error {
			r.line(l.Text)
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func (r *testRun) line(text []byte) {
	r.cfg.Table.Classify(text, &r.d)
	r.lines++
	r.outcomes[r.d.Outcome]++
	if r.d.Rule >= 0 {
		r.hits[r.d.Rule]++
	}
	if r.explain {
		r.explainLine(text)
	}
	r.ledger.Add(&r.d)
}

type explanation struct {
	Input   string   `json:"input"`
	Outcome string   `json:"outcome"`
	Host    string   `json:"host,omitempty"`
	Text    string   `json:"text,omitempty"`
	Count   int      `json:"count,omitempty"`
	File    string   `json:"file,omitempty"`
	Lineno  int      `json:"lineno,omitempty"`
	Path    string   `json:"path,omitempty"`
	Pattern string   `json:"pattern,omitempty"`
	Queues  []string `json:"queues,omitempty"`
}

func (r *testRun) explainLine(input []byte) {
	d := &r.d
	e := explanation{Input: string(input), Outcome: d.Outcome.String(), Host: string(d.Host), Count: d.Count}
	if d.Outcome == classify.Matched || d.Outcome == classify.Trashed || d.Outcome == classify.Unprefixed {
		e.Text = string(d.Text)
	}
	if d.Rule >= 0 {
		rule := r.cfg.Rules[d.Rule]
		e.File, e.Lineno, e.Path, e.Pattern = rule.Origin.File, rule.Origin.Line, rule.Origin.Path, rule.Pattern
		for _, t := range rule.Targets {
			e.Queues = append(e.Queues, t.String())
		}
	}
	switch d.Outcome {
	case classify.Trashed:
		e.Queues = []string{queue.Trash}
	case classify.Repeated:
		e.Queues = []string{queue.Repeat}
	case classify.Unprefixed:
		e.Queues = []string{queue.NoPrefix}
	}
	if r.json {
		writeJSON(r.out, e)
		return
	}
	fmt.Fprintf(r.out, "%s\n", input)
	switch d.Outcome {
	case classify.Matched, classify.Trashed, classify.Repeated:
		rule := r.cfg.Rules[d.Rule]
		fmt.Fprintf(r.out, "  rule %s '%s'\n", rule.Origin, rule.Pattern)
		if d.Outcome == classify.Repeated {
			fmt.Fprintf(r.out, "  -> repeat: adds %d to host %s's previous line\n", d.Count, d.Host)
		} else {
			fmt.Fprintf(r.out, "  -> %s, host %s: %s\n", strings.Join(e.Queues, ","), d.Host, d.Text)
		}
	case classify.Unmatched:
		fmt.Fprintf(r.out, "  no rule matched (host %s: %s): dropped\n", d.Host, d.Text)
	case classify.Unprefixed:
		fmt.Fprintf(r.out, "  no known prefix -> noprefix, host %s\n", classify.UnprefixedHost)
	case classify.Dropped:
		fmt.Fprintf(r.out, "  no known prefix and no noprefix queue: dropped\n")
	}
}

type digestLine struct {
	Queue string `json:"queue"`
	Host  string `json:"host"`
	Count int    `json:"count"`
	Line  string `json:"line"`
}

func (r *testRun) printDigests() error {
	for _, q := range r.cfg.Queues {
		rep := r.ledger.Report(q.Name)
		if rep == nil {
			continue
		}
		if r.json {
			for _, h := range rep.Hosts {
				lines := h.Lines
				if rep.Limit > 0 && len(lines) > rep.Limit {
					lines = lines[:rep.Limit]
				}
				for _, e := range lines {
					writeJSON(r.out, digestLine{Queue: q.Name, Host: h.Host, Count: e.Count, Line: e.Line})
				}
			}
			continue
		}
		fmt.Fprintf(r.out, "=== queue %s: to %s, subject %q, schedule %s\n", q.Name, strings.Join(q.To, ","), r.cfg.SubjectFor(&q), q.Schedule.Spec)
		r.out.Write(rep.Text())
		r.out.WriteString("\n")
	}
	return nil
}

func (r *testRun) printStats() {
	w := r.out
	if !r.json {
		fmt.Fprintf(w, "=== stats: %d lines", r.lines)
		for o, n := range r.outcomes {
			fmt.Fprintf(w, ", %d %s", n, classify.Outcome(o))
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "hits by rule (table order):")
	}
	var never []classify.Rule
	for i, rule := range r.cfg.Rules {
		if rule.Kind == classify.Group || rule.Kind == classify.HostGroup {
			continue
		}
		if r.hits[i] == 0 {
			never = append(never, rule)
		}
		if r.json {
			writeJSON(w, map[string]any{"stat": "rule", "hits": r.hits[i], "file": rule.Origin.File, "lineno": rule.Origin.Line,
				"path": rule.Origin.Path, "pattern": rule.Pattern})
		} else if r.hits[i] > 0 {
			fmt.Fprintf(w, "%9d  %s\n", r.hits[i], classify.Describe(rule))
		}
	}
	if !r.json {
		fmt.Fprintf(w, "rules that never matched: %d\n", len(never))
		for _, rule := range never {
			fmt.Fprintf(w, "           %s\n", classify.Describe(rule))
		}
		fmt.Fprintln(w, "lines per queue (counted in its digest):")
	}
	for _, q := range r.cfg.Queues {
		total := 0
		if rep := r.ledger.Report(q.Name); rep != nil {
			for _, h := range rep.Hosts {
				for _, e := range h.Lines {
					total += e.Count
				}
			}
		}
		if r.json {
			writeJSON(w, map[string]any{"stat": "queue", "queue": q.Name, "lines": total})
		} else {
			fmt.Fprintf(w, "%9d  %s\n", total, q.Name)
		}
	}
}

func writeJSON(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"error":%q}`, err.Error()))
	}
	w.Write(append(b, '\n'))
}
