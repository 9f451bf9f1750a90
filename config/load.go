package config

import (
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/tayori-dev/tayori/classify"
	"github.com/tayori-dev/tayori/queue"
)

// Error is one problem in a configuration, located as precisely as the text allows.
type Error struct {
	File    string
	Line    int    // 0 when unknown
	Where   string // e.g. "rules[3].match[2]" or "queues.report"
	Pattern string // the rule's pattern, when the problem is in a rule
	Msg     string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Where != "" {
		b.WriteString(e.Where)
		if e.Pattern != "" {
			b.WriteString(" '" + e.Pattern + "'")
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a configuration.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// stringList is a TOML value given either as one string or as an array of strings.
type stringList []string

func (s *stringList) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		*s = stringList{v}
	case []any:
		for i, x := range v {
			str, ok := x.(string)
			if !ok {
				return fmt.Errorf("element %d is a %T, want a string", i, x)
			}
			*s = append(*s, str)
		}
	default:
		return fmt.Errorf("want a string or an array of strings, got %T", v)
	}
	return nil
}

type fileTOML struct {
	Settings *settingsTOML        `toml:"settings"`
	Sources  *sourcesTOML         `toml:"sources"`
	Mail     *mailTOML            `toml:"mail"`
	Queues   map[string]queueTOML `toml:"queues"`
	Rules    []blockTOML          `toml:"rules"`
}

type settingsTOML struct {
	Mask           *string  `toml:"mask"`
	HidePID        bool     `toml:"hide_pid"`
	Sort           string   `toml:"sort"`
	Limit          int      `toml:"limit"`
	PagerLimit     int      `toml:"pager_limit"`
	Subject        string   `toml:"subject"`
	Prefixes       []string `toml:"prefixes"`
	RsyslogRepeats *bool    `toml:"rsyslog_repeats"`
	MaxLines       *int     `toml:"max_lines_per_host"`
	StateDir       string   `toml:"state_dir"`
	Timezone       string   `toml:"timezone"`
}

type sourcesTOML struct {
	Files   stringList `toml:"files"`
	Rescan  string     `toml:"rescan"`
	MaxLine int        `toml:"max_line"`
}

type mailTOML struct {
	Server       string   `toml:"server"`
	Helo         string   `toml:"helo"`
	Timeout      string   `toml:"timeout"`
	TLS          string   `toml:"tls"`
	Username     string   `toml:"username"`
	PasswordFile string   `toml:"password_file"`
	CAFile       string   `toml:"ca_file"`
	RetryMin     string   `toml:"retry_min"`
	RetryMax     string   `toml:"retry_max"`
	Sendmail     string   `toml:"sendmail"`
	Dir          string   `toml:"dir"`
	Stdout       bool     `toml:"stdout"`
	Batch        string   `toml:"batch"`
	CSV          *csvTOML `toml:"csv"`
}

type csvTOML struct {
	Schedule string     `toml:"schedule"`
	Program  stringList `toml:"program"`
}

type queueTOML struct {
	From       string          `toml:"from"`
	To         stringList      `toml:"to"`
	Pager      bool            `toml:"pager"`
	Schedule   string          `toml:"schedule"`
	Subject    string          `toml:"subject"`
	Limit      int             `toml:"limit"`
	Thresholds []thresholdTOML `toml:"thresholds"`
	Filter     stringList      `toml:"filter"`
	Program    stringList      `toml:"program"`
	Format     string          `toml:"format"`
}

type thresholdTOML struct {
	Count int    `toml:"count"`
	Match string `toml:"match"`
}

// blockTOML is one entry of a rules array: rules for one queue list, a group of nested blocks, or an
// include. group and host make the block's rules apply only to matching lines or hosts.
type blockTOML struct {
	Queue   stringList  `toml:"queue"`
	Match   stringList  `toml:"match"`
	Group   string      `toml:"group"`
	Host    string      `toml:"host"`
	Rules   []blockTOML `toml:"rules"`
	Include stringList  `toml:"include"`
}

// loader accumulates a configuration across the main file and its includes.
type loader struct {
	cfg    *Config
	errs   Errors
	queues map[string]*queueDef
	qorder []string
	stack  []string // files being read, for include cycles
	uses   []queueUse
	texts  map[string]*sourceText
	files  []string // in the order they were read
}

type queueDef struct {
	file string
	line int
	raw  queueTOML
}

type queueUse struct {
	err   *Error
	queue string
	multi bool
}

// Load reads, validates and compiles a configuration. On failure it returns Errors with every problem.
func Load(path string) (*Config, error) {
	l := &loader{cfg: &Config{File: path}, queues: map[string]*queueDef{}, texts: map[string]*sourceText{}}
	l.readFile(path, true, nil)
	l.finish()
	if len(l.errs) > 0 {
		// In reading order: files as they were read, lines within a file.
		order := map[string]int{}
		for _, f := range l.files {
			order[f] = len(order)
		}
		sort.SliceStable(l.errs, func(i, j int) bool {
			a, b := l.errs[i], l.errs[j]
			if order[a.File] != order[b.File] {
				return order[a.File] < order[b.File]
			}
			return a.Line < b.Line
		})
		return nil, l.errs
	}
	return l.cfg, nil
}

func (l *loader) fail(file string, line int, where, pattern, format string, args ...any) *Error {
	e := &Error{File: file, Line: line, Where: where, Pattern: pattern, Msg: fmt.Sprintf(format, args...)}
	l.errs = append(l.errs, e)
	return e
}

// readFile decodes one file; main says whether settings, sources and mail may appear in it.
func (l *loader) readFile(path string, main bool, from *Error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	for _, f := range l.stack {
		if f == abs {
			l.fail(from.File, from.Line, from.Where, "", "include cycle: %s includes itself", path)
			return
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if from != nil {
			l.fail(from.File, from.Line, from.Where, "", "include: %v", err)
		} else {
			l.fail(path, 0, "", "", "%v", err)
		}
		return
	}
	l.stack = append(l.stack, abs)
	defer func() { l.stack = l.stack[:len(l.stack)-1] }()
	src := newSourceText(string(data))
	l.texts[path] = src
	l.files = append(l.files, path)

	var f fileTOML
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			l.fail(path, pe.Position.Line, "", "", "%s", pe.Message)
		} else {
			l.fail(path, 0, "", "", "%v", err)
		}
		return
	}
	for _, k := range md.Undecoded() {
		l.fail(path, src.keyLine(k[len(k)-1]), "", "", "unknown key %q", k.String())
	}
	if !main {
		for _, bad := range []struct {
			set  bool
			name string
		}{{f.Settings != nil, "settings"}, {f.Sources != nil, "sources"}, {f.Mail != nil, "mail"}} {
			if bad.set {
				l.fail(path, src.keyLine("["+bad.name+"]"), "["+bad.name+"]", "", "only the main configuration file may have [%s]", bad.name)
			}
		}
	} else {
		l.settings(path, src, f.Settings)
		l.sources(path, f.Sources)
		l.mail(path, f.Mail)
	}
	// Queues in the order the file defines them.
	for _, k := range md.Keys() {
		if len(k) == 2 && k[0] == "queues" {
			name := k[1]
			if prev, dup := l.queues[name]; dup {
				l.fail(path, src.keyLine("[queues."+name+"]"), "queues."+name, "", "queue defined twice (first in %s:%d)", prev.file, prev.line)
				continue
			}
			l.queues[name] = &queueDef{file: path, line: src.keyLine("[queues." + name + "]"), raw: f.Queues[name]}
			l.qorder = append(l.qorder, name)
		}
	}
	cur := &cursor{src: src}
	for i, b := range f.Rules {
		l.block(path, cur, b, fmt.Sprintf("rules[%d]", i+1))
	}
}

// cursor walks a file's text in document order to find the line each rule was written on.
type cursor struct {
	src  *sourceText
	line int
}

// block flattens one rules entry into the table.
func (l *loader) block(file string, cur *cursor, b blockTOML, where string) {
	// The block's text starts at its header; nothing of it can be found before.
	start := cur.src.header(cur.line)
	if start > cur.line {
		start--
	}
	var groups []int
	cond := func(kind classify.Kind, pattern, key string) {
		line := cur.src.find(pattern, start)
		cur.advance(line)
		groups = append(groups, len(l.cfg.Rules))
		l.cfg.Rules = append(l.cfg.Rules, classify.Rule{Kind: kind, Pattern: pattern,
			Origin: classify.Origin{File: file, Line: line, Path: where + "." + key}})
	}
	if b.Host != "" {
		cond(classify.HostGroup, b.Host, "host")
	}
	if b.Group != "" {
		cond(classify.Group, b.Group, "group")
	}
	kinds := 0
	for _, set := range []bool{len(b.Match) > 0, b.Rules != nil, len(b.Include) > 0} {
		if set {
			kinds++
		}
	}
	switch {
	case kinds > 1:
		l.fail(file, cur.src.find("", start), where, "", "a rules entry has one of match (with queue), rules or include, not several")
	case len(b.Include) > 0:
		if len(b.Queue) > 0 {
			l.fail(file, cur.src.find("", start), where, "", "include takes no queue")
		}
		l.include(file, cur, b.Include, where)
	case b.Rules != nil:
		if len(b.Queue) > 0 {
			l.fail(file, cur.src.find("", start), where, "", "queue belongs in the nested rules, not next to them")
		}
		if len(b.Rules) == 0 {
			l.fail(file, cur.src.find("", start), where, "", "empty group: rules = []")
		}
		for i, child := range b.Rules {
			l.block(file, cur, child, fmt.Sprintf("%s.rules[%d]", where, i+1))
		}
	case len(b.Match) > 0:
		l.matches(file, cur, b, where, start)
	default:
		l.fail(file, cur.src.find("", start), where, "", "empty rules entry: give match (with queue), rules or include")
	}
	for _, g := range groups {
		l.cfg.Rules[g].End = len(l.cfg.Rules)
		if l.cfg.Rules[g].End == g+1 && kinds <= 1 {
			r := l.cfg.Rules[g]
			l.fail(file, r.Origin.Line, r.Origin.Path, r.Pattern, "group has no rules")
		}
	}
}

func (c *cursor) advance(line int) {
	if line > c.line {
		c.line = line
	}
}

// matches adds one rule per pattern of a block, all with the block's queue list.
func (l *loader) matches(file string, cur *cursor, b blockTOML, where string, start int) {
	headLine := cur.src.keyAfter("queue", start)
	if len(b.Queue) == 0 {
		l.fail(file, headLine, where, b.Match[0], "match without queue")
		return
	}
	var targets []classify.Target
	var list []string
	for _, q := range b.Queue {
		list = append(list, strings.Split(q, ",")...)
	}
	ts, err := classify.ParseTargets(strings.Join(list, ","))
	qerr := &Error{File: file, Line: headLine, Where: where + ".queue"}
	if err != nil {
		qerr.Msg = err.Error()
		l.errs = append(l.errs, qerr)
	} else {
		targets = ts
		for _, t := range ts {
			l.uses = append(l.uses, queueUse{err: &Error{File: file, Line: headLine, Where: where + ".queue"}, queue: t.Queue, multi: len(ts) > 1})
		}
	}
	kind := classify.Match
	if len(targets) == 1 {
		switch targets[0].Queue {
		case queue.Trash:
			kind = classify.Trash
		case queue.Repeat:
			kind = classify.Repeat
		}
		if kind != classify.Match && targets[0].Escalation > 0 {
			qerr.Msg = "builtin queue " + targets[0].Queue + " takes no escalation number"
			l.errs = append(l.errs, qerr)
		}
	}
	maxLine := start
	for i, p := range b.Match {
		line := cur.src.find(p, start)
		if line > maxLine {
			maxLine = line
		}
		path := where + ".match"
		if len(b.Match) > 1 {
			path = fmt.Sprintf("%s.match[%d]", where, i+1)
		}
		r := classify.Rule{Kind: kind, Pattern: p, Origin: classify.Origin{File: file, Line: line, Path: path}}
		if kind == classify.Match {
			r.Targets = targets
		}
		l.cfg.Rules = append(l.cfg.Rules, r)
	}
	cur.advance(maxLine)
}

// include splices the rules of other files in at this point, each glob's files in name order.
func (l *loader) include(file string, cur *cursor, globs []string, where string) {
	line := cur.src.find("", cur.line)
	for _, g := range globs {
		p := g
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(file), p)
		}
		from := &Error{File: file, Line: line, Where: where + ".include"}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			p = filepath.Join(p, "*.toml")
		} else if err != nil && !hasMeta(p) {
			l.fail(file, line, where+".include", "", "%v", err)
			continue
		}
		files, err := filepath.Glob(p)
		if err != nil {
			l.fail(file, line, where+".include", "", "bad pattern %q: %v", g, err)
			continue
		}
		sort.Strings(files)
		for _, f := range files {
			l.readFile(f, false, from)
		}
	}
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

func (l *loader) settings(file string, src *sourceText, s *settingsTOML) {
	set := &l.cfg.Settings
	*set = Settings{Mask: DefaultMask, Subject: DefaultSubject, RsyslogRepeats: true, MaxLines: DefaultMaxLines, StateDir: DefaultStateDir}
	if s == nil {
		l.cfg.Location = time.Local
		return
	}
	line := func(key string) int { return src.keyLine(key) }
	if s.Mask != nil {
		set.Mask = *s.Mask
	}
	set.HidePID = s.HidePID
	switch strings.ToLower(s.Sort) {
	case "", "descending":
		set.Order = queue.Descending
	case "ascending":
		set.Order = queue.Ascending
	default:
		l.fail(file, line("sort"), "settings.sort", "", "want \"descending\" or \"ascending\", got %q", s.Sort)
	}
	if s.Limit < 0 || s.PagerLimit < 0 {
		l.fail(file, line("limit"), "settings", "", "limits cannot be negative")
	}
	set.Limit, set.PagerLimit = s.Limit, s.PagerLimit
	if s.Subject != "" {
		set.Subject = s.Subject
	}
	set.Prefixes = s.Prefixes
	for i, p := range s.Prefixes {
		re, err := classify.Compile(p)
		switch {
		case err != nil:
			l.fail(file, src.find(p, 0), fmt.Sprintf("settings.prefixes[%d]", i+1), p, "%v", err)
		case re.NumSubexp() < 1:
			l.fail(file, src.find(p, 0), fmt.Sprintf("settings.prefixes[%d]", i+1), p, "a prefix needs a capturing group for the host")
		}
	}
	if s.RsyslogRepeats != nil {
		set.RsyslogRepeats = *s.RsyslogRepeats
	}
	if s.MaxLines != nil {
		if *s.MaxLines < 0 {
			l.fail(file, line("max_lines_per_host"), "settings.max_lines_per_host", "", "cannot be negative")
		}
		set.MaxLines = *s.MaxLines
	}
	if s.StateDir != "" {
		set.StateDir = s.StateDir
	}
	set.Timezone = s.Timezone
	l.cfg.Location = time.Local
	if s.Timezone != "" {
		loc, err := time.LoadLocation(s.Timezone)
		if err != nil {
			l.fail(file, line("timezone"), "settings.timezone", "", "%v", err)
		} else {
			l.cfg.Location = loc
		}
	}
}

func (l *loader) sources(file string, s *sourcesTOML) {
	src := &l.cfg.Sources
	src.Rescan, src.MaxLine = DefaultRescan, DefaultMaxLine
	if s == nil {
		return
	}
	src.Files = s.Files
	if s.Rescan != "" {
		d, err := time.ParseDuration(s.Rescan)
		if err != nil || d <= 0 {
			l.fail(file, l.texts[file].keyLine("rescan"), "sources.rescan", "", "want a positive duration such as \"10s\", got %q", s.Rescan)
		}
		src.Rescan = d
	}
	if s.MaxLine < 0 {
		l.fail(file, l.texts[file].keyLine("max_line"), "sources.max_line", "", "cannot be negative")
	} else if s.MaxLine > 0 {
		src.MaxLine = s.MaxLine
	}
}

func (l *loader) mail(file string, m *mailTOML) {
	out := &l.cfg.Mail
	*out = Mail{Server: "localhost:25", Timeout: 30 * time.Second, TLS: "opportunistic", Batch: DefaultBatch,
		RetryMin: 10 * time.Second, RetryMax: 10 * time.Minute}
	if m == nil {
		return
	}
	src := l.texts[file]
	if m.Server != "" {
		out.Server = m.Server
		if !strings.Contains(m.Server, ":") {
			out.Server += ":25"
		}
	}
	out.Helo, out.Username, out.PasswordFile, out.CAFile = m.Helo, m.Username, m.PasswordFile, m.CAFile
	out.Sendmail, out.Dir, out.Stdout = m.Sendmail, m.Dir, m.Stdout
	for _, d := range []struct {
		text string
		dst  *time.Duration
		key  string
	}{{m.Timeout, &out.Timeout, "timeout"}, {m.Batch, &out.Batch, "batch"}, {m.RetryMin, &out.RetryMin, "retry_min"},
		{m.RetryMax, &out.RetryMax, "retry_max"}} {
		if d.text == "" {
			continue
		}
		v, err := time.ParseDuration(d.text)
		if err != nil || v <= 0 {
			l.fail(file, src.keyLine(d.key), "mail."+d.key, "", "want a positive duration such as \"5s\", got %q", d.text)
			continue
		}
		*d.dst = v
	}
	if out.RetryMax < out.RetryMin {
		l.fail(file, src.keyLine("retry_max"), "mail.retry_max", "", "retry_max (%v) is shorter than retry_min (%v)", out.RetryMax, out.RetryMin)
	}
	switch m.TLS {
	case "":
	case "opportunistic", "required", "implicit", "none":
		out.TLS = m.TLS
	default:
		l.fail(file, src.keyLine("tls"), "mail.tls", "", "want opportunistic, required, implicit or none, got %q", m.TLS)
	}
}

// finish validates what needs the whole configuration: queue definitions and uses, and the rule table.
func (l *loader) finish() {
	c := l.cfg
	if c.Location == nil {
		c.Location = time.Local
	}
	for _, name := range l.qorder {
		l.queue(name, l.queues[name])
	}
	for _, u := range l.uses {
		switch {
		case u.multi && (u.queue == queue.Trash || u.queue == queue.Repeat):
			u.err.Msg = fmt.Sprintf("builtin queue %q cannot be listed with other queues", u.queue)
		case u.queue == queue.Trash || u.queue == queue.Repeat:
			continue
		case l.queues[u.queue] == nil:
			u.err.Msg = fmt.Sprintf("unknown queue %q (defined: %s)", u.queue, strings.Join(l.qorder, ", "))
		default:
			continue
		}
		l.errs = append(l.errs, u.err)
	}
	if len(l.errs) > 0 {
		// Still compile the patterns, to report their problems too.
		for _, r := range c.Rules {
			if _, err := classify.Compile(r.Pattern); err != nil {
				l.errs = append(l.errs, ruleError(r, err))
			}
		}
		return
	}
	t, err := classify.New(c.Rules, c.ClassifyOptions())
	if err != nil {
		for _, e := range unjoin(err) {
			var re *classify.RuleError
			if errors.As(e, &re) {
				l.errs = append(l.errs, ruleError(re.Rule, re.Err))
			} else {
				l.errs = append(l.errs, &Error{File: c.File, Msg: e.Error()})
			}
		}
		return
	}
	c.Table = t
}

func ruleError(r classify.Rule, err error) *Error {
	return &Error{File: r.Origin.File, Line: r.Origin.Line, Where: r.Origin.Path, Pattern: r.Pattern, Msg: err.Error()}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (l *loader) queue(name string, d *queueDef) {
	raw := d.raw
	where := "queues." + name
	src := l.texts[d.file]
	fail := func(format string, args ...any) { l.fail(d.file, d.line, where, "", format, args...) }
	failAt := func(key, format string, args ...any) {
		l.fail(d.file, src.keyIn(d.line, key), where, "", format, args...)
	}
	if name == queue.Repeat {
		fail("%q is a builtin queue and cannot be defined", name)
		return
	}
	q := Queue{Name: name, From: raw.From, Pager: raw.Pager, Subject: raw.Subject, Limit: raw.Limit, Filter: raw.Filter,
		Program: raw.Program}
	switch raw.Format {
	case "", "text":
	case "csv":
		q.CSV = true
	default:
		failAt("format", "format: want \"text\" or \"csv\", got %q", raw.Format)
	}
	if len(raw.Program) > 0 && !filepath.IsAbs(raw.Program[0]) {
		failAt("program", "program %q: give the program's absolute path", raw.Program[0])
	}
	if len(raw.Filter) > 0 && !filepath.IsAbs(raw.Filter[0]) {
		failAt("filter", "filter %q: give the program's absolute path", raw.Filter[0])
	}
	if raw.From == "" && len(raw.Program) == 0 {
		fail("missing from: the sender address")
	} else if raw.From != "" {
		if _, err := mail.ParseAddress(raw.From); err != nil {
			failAt("from", "from %q: %v", raw.From, err)
		}
	}
	if len(raw.To) == 0 && len(raw.Program) == 0 {
		fail("missing to: one or more recipient addresses (or a program to deliver to)")
	}
	for _, to := range raw.To {
		for _, addr := range strings.Split(to, ",") {
			addr = strings.TrimSpace(addr)
			if _, err := mail.ParseAddress(addr); err != nil {
				failAt("to", "to %q: %v", addr, err)
				continue
			}
			q.To = append(q.To, addr)
		}
	}
	if raw.Schedule == "" {
		fail("missing schedule: \"now\" or a five-field cron spec such as \"0 9 * * *\"")
	} else {
		s, err := queue.ParseSchedule(raw.Schedule, l.cfg.Location)
		if err != nil {
			failAt("schedule", "%v", err)
		}
		q.Schedule = s
	}
	if raw.Limit < 0 {
		failAt("limit", "limit cannot be negative")
	}
	for i, t := range raw.Thresholds {
		tw := fmt.Sprintf("%s.thresholds[%d]", where, i+1)
		tl := src.keyIn(d.line, "thresholds")
		if t.Match != "" {
			tl = src.find(t.Match, d.line)
		}
		if t.Count <= 0 {
			l.fail(d.file, tl, tw, t.Match, "count must be a positive integer, got %d", t.Count)
		}
		if t.Match == "" {
			l.fail(d.file, tl, tw, "", "missing match: the regex of the lines the threshold applies to")
		} else if _, err := classify.Compile(t.Match); err != nil {
			l.fail(d.file, tl, tw, t.Match, "%v", err)
		}
		q.Thresholds = append(q.Thresholds, queue.Threshold{Count: t.Count, Pattern: t.Match})
	}
	l.cfg.Queues = append(l.cfg.Queues, q)
}
