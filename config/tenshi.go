package config

// The tenshi converter reads a configuration the way tenshi's config_read does (tenshi 0.13, see
// tenshi(8)) and prints tayori's TOML for it. Reading happens in three steps: every line of the main file
// and of its includes becomes an entry, in the order tenshi reads them; each comment is then attached to
// the directive it belongs to; finally each entry is rendered in the TOML section its directive maps to,
// the rule entries in their original order with the groups nested.

import (
	"bytes"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tayori-dev/tayori/classify"
	"github.com/tayori-dev/tayori/queue"
)

// tenshi's defaults where tayori's differ, emitted explicitly so that a converted configuration behaves
// (and its mail subjects read) as before.
const (
	tenshiMask        = "______"
	tenshiSubject     = "tenshi report"
	tenshiMailTimeout = 10 // seconds
)

// Limits that keep a hostile or broken configuration from exhausting the converter.
const (
	maxTenshiFileSize = 16 << 20
	maxTenshiDepth    = 32
	maxTenshiSeconds  = 1 << 30
)

// ConvertTenshi prints the tayori configuration equivalent to the tenshi configuration at path. Includes
// are inlined in order, each marked with a "# --- from FILE ---" comment (a relative include is read
// from the working directory, as tenshi reads it); comments stay with the directive or rule they sit
// next to; the converter's own remarks are comments starting "# tayori:".
//
// It refuses, and writes nothing, when tayori could not reproduce the configuration exactly or tenshi
// itself would reject it: the returned Errors list every problem, each with its file and line (regexes
// RE2 cannot express, unknown queues, bad escalation lists, unbalanced groups, ...).
func ConvertTenshi(path string, w io.Writer) error {
	c := &tenshiConv{main: path, queues: map[string]*tenshiQueue{}, grammar: tenshiGrammar()}
	c.readFile(path, nil)
	c.finish()
	if len(c.errs) > 0 {
		return c.errs
	}
	text := c.render()
	if len(c.errs) > 0 { // rendering checks again what it prints; parsing should have caught it all
		return c.errs
	}
	_, err := w.Write(text)
	return err
}

type entryKind uint8

const (
	eComment entryKind = iota
	eBlank
	eEnter     // start of an included file
	eLeave     // end of an included file
	eSetting   // a directive that sets a key of [settings], [sources] or [mail]
	eNote      // a directive with nothing to convert: only its note is printed
	eQueue     // set queue
	eThreshold // set threshold
	eFilter    // set filter
	eCSV       // set csv
	eRule      // QUEUES REGEX
	eGroup     // group REGEX or group_host REGEX
	eGroupEnd  // group_end
)

// Sections of the output, in the order they are printed.
const (
	secTop      = "top"
	secSettings = "settings"
	secSources  = "sources"
	secMail     = "mail"
	secQueue    = "queue" // [queues.NAME] of the entry's queue
	secRules    = "rules"
)

// entry is one line of the tenshi configuration, as tenshi reads it.
type entry struct {
	kind    entryKind
	file    string
	line    int
	text    string   // the line without its leading white space and newline
	notes   []string // the converter's remarks, printed as "# tayori:" comments before the entry
	section string   // where the entry is printed (directives only)

	// Comments: trail marks one that belongs to the directive before it; owner is that directive or the
	// one after. Directives collect their comments in lead (before them) and after.
	trail       bool
	owner       *entry
	lead, after []*entry

	key     string   // eSetting: TOML key; arrays (prefixes, files) get one entry per element
	value   string   // eSetting: the TOML value or array element
	queue   string   // eRule: the queue list; eQueue, eThreshold, eFilter: the queue name
	pattern string   // eRule, eGroup, eThreshold: the regex
	host    bool     // eGroup: group_host
	count   int      // eThreshold
	program []string // eFilter, eCSV: the command
}

// tenshiQueue is a queue as the successive "set queue" directives for its name leave it.
type tenshiQueue struct {
	name       string
	defs       []*entry
	from       string
	to         []string
	pager, now bool
	spec       string
	subject    string
	thresholds []*entry
	filters    []*entry
	csv        bool     // tenshi's csv queue, made by set csv
	program    []string // csv: the program its rows are piped to
}

type tenshiConv struct {
	main    string
	grammar []tenshiDirective
	errs    Errors
	entries []*entry
	stack   []string // absolute paths of the files being read, to refuse include cycles
	groups  []*entry // open groups: tenshi's group stack spans files
	queues  map[string]*tenshiQueue
	qorder  []string
	filters []*entry

	mailserver    bool // a "set mailserver" has been read
	noServerError bool // the missing mailserver has been reported
}

func (c *tenshiConv) fail(file string, line int, where, pattern, format string, args ...any) {
	c.errs = append(c.errs, &Error{File: file, Line: line, Where: where, Pattern: pattern, Msg: fmt.Sprintf(format, args...)})
}

func (c *tenshiConv) failAt(e *entry, format string, args ...any) {
	c.fail(e.file, e.line, "", "", format, args...)
}

func (c *tenshiConv) add(e *entry) { c.entries = append(c.entries, e) }

// readFile reads one tenshi file; from is the include directive that names it, nil for the main file.
func (c *tenshiConv) readFile(path string, from *entry) {
	fail := func(format string, args ...any) {
		if from != nil {
			c.failAt(from, format, args...)
		} else {
			c.fail(path, 0, "", "", format, args...)
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	for _, f := range c.stack {
		if f == abs {
			fail("include cycle: %s is already being read", path)
			return
		}
	}
	if len(c.stack) >= maxTenshiDepth {
		fail("includes nested more than %d deep", maxTenshiDepth)
		return
	}
	st, err := os.Stat(path)
	if err != nil {
		fail("%v", err)
		return
	}
	switch {
	case st.IsDir() && from != nil:
		from.notes = append(from.notes, fmt.Sprintf("%q names a directory: tenshi reads nothing from it (includedir reads a directory)", from.text))
		return
	case !st.Mode().IsRegular():
		fail("%s is not a regular file", path)
		return
	case st.Size() > maxTenshiFileSize:
		fail("%s is larger than %d MiB", path, maxTenshiFileSize>>20)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		fail("%v", err)
		return
	}
	data, err := io.ReadAll(io.LimitReader(f, maxTenshiFileSize+1))
	f.Close()
	if err != nil {
		fail("%v", err)
		return
	}
	if len(data) > maxTenshiFileSize {
		fail("%s is larger than %d MiB", path, maxTenshiFileSize>>20)
		return
	}
	c.stack = append(c.stack, abs)
	defer func() { c.stack = c.stack[:len(c.stack)-1] }()

	if from != nil {
		c.add(&entry{kind: eEnter, file: path, line: 0, section: secRules})
	}
	text := string(data)
	text = strings.TrimSuffix(text, "\n")
	if len(data) > 0 {
		for i, raw := range strings.Split(text, "\n") {
			c.readLine(path, i+1, raw)
		}
	}
	if from != nil {
		c.add(&entry{kind: eLeave, file: path, section: secRules})
	}
	// tenshi checks for a mail server at the end of every file it reads, included ones too.
	if !c.mailserver && !c.noServerError {
		c.noServerError = true
		if from != nil {
			c.fail(path, 0, "", "", "no \"set mailserver\" before the end of this included file: tenshi refuses to start there; set it before the include")
		} else {
			c.fail(path, 0, "", "", "no \"set mailserver\": tenshi refuses to start without one")
		}
	}
}

// Perl's \s on byte strings, which RE2's \s lacks the vertical tab of.
const perlSpace = "\t\n\v\f\r "

// perlRE compiles a regex written with Perl's meaning of \s and \S.
func perlRE(expr string) *regexp.Regexp {
	expr = strings.ReplaceAll(expr, `\s`, `[\t\n\v\f\r ]`)
	expr = strings.ReplaceAll(expr, `\S`, `[^\t\n\v\f\r ]`)
	return regexp.MustCompile(expr)
}

// setRE matches "set NAME" followed by white space and then tail.
func setRE(name, tail string) *regexp.Regexp {
	return perlRE(`^set\s+` + name + `\s+` + tail)
}

// A tenshi directive: its name, whose grammar is tenshiSyntax[name], and what it becomes.
type tenshiDirective struct {
	name  string
	apply func(c *tenshiConv, e *entry, m []string)
}

// tenshiGrammar returns tenshi's directives in the order tenshi tries them: the first that matches a
// line decides.
func tenshiGrammar() []tenshiDirective {
	return []tenshiDirective{
		{"include", (*tenshiConv).include},
		{"includedir", (*tenshiConv).includeDir},
		{"logfile", func(c *tenshiConv, e *entry, m []string) { c.setting(e, secSources, "files", c.text(e, m[1])) }},
		{"fifo", func(c *tenshiConv, e *entry, m []string) {
			e.notes = append(e.notes, "a FIFO (set fifo): tayori reads FIFOs given as files")
			c.setting(e, secSources, "files", c.text(e, m[1]))
		}},
		{"pidfile", noteDirective("not converted: tayori writes no PID file; systemd (or another supervisor) tracks the process")},
		{"tail", noteDirective("not converted: tayori follows the files itself (rotation and truncation included), without a tail program")},
		{"tail_multiple", noteDirective("not converted: tayori follows the files itself, without a tail program")},
		{"uid", func(c *tenshiConv, e *entry, m []string) {
			noteDirective(fmt.Sprintf("not converted: tayori does not switch users itself; run it as %s (systemd unit: User=%s)", m[1], m[1]))(c, e, m)
		}},
		{"gid", func(c *tenshiConv, e *entry, m []string) {
			noteDirective(fmt.Sprintf("not converted: tayori does not switch groups itself; run it with group %s (systemd unit: Group=%s)", m[1], m[1]))(c, e, m)
		}},
		{"listen", func(c *tenshiConv, e *entry, m []string) {
			noteDirective(fmt.Sprintf("NOT SUPPORTED: tayori does not receive syslog from the network; have rsyslog listen on %s and write the files tayori follows", m[1]))(c, e, m)
		}},
		{"sort_order", func(c *tenshiConv, e *entry, m []string) {
			if m[1] != "ascending" && m[1] != "descending" {
				c.failAt(e, "set sort_order %q: want ascending or descending (tenshi refuses it too)", m[1])
				return
			}
			c.setting(e, secSettings, "sort", strconv.Quote(m[1]))
		}},
		{"limit", func(c *tenshiConv, e *entry, m []string) { c.setting(e, secSettings, "limit", c.number(e, m[1], 0)) }},
		{"subject", func(c *tenshiConv, e *entry, m []string) { c.setting(e, secSettings, "subject", c.text(e, m[1])) }},
		{"mailserver", func(c *tenshiConv, e *entry, m []string) {
			c.mailserver = true
			server := strings.TrimRight(m[1], perlSpace)
			if server == "" {
				c.failAt(e, "%q: no server", e.text)
			}
			c.setting(e, secMail, "server", c.text(e, server))
		}},
		{"mailhelo", func(c *tenshiConv, e *entry, m []string) { c.setting(e, secMail, "helo", c.text(e, m[1])) }},
		{"pager_limit", func(c *tenshiConv, e *entry, m []string) {
			c.setting(e, secSettings, "pager_limit", c.number(e, m[1], 0))
		}},
		{"mailtimeout", func(c *tenshiConv, e *entry, m []string) { c.seconds(e, "timeout", m[1]) }},
		{"filter", (*tenshiConv).setFilter},
		{"sleep", func(c *tenshiConv, e *entry, m []string) { c.seconds(e, "batch", m[1]) }},
		{"logprefix", (*tenshiConv).setPrefix},
		{"mask", func(c *tenshiConv, e *entry, m []string) { c.setting(e, secSettings, "mask", c.text(e, m[1])) }},
		{"hidepid", func(c *tenshiConv, e *entry, m []string) {
			c.setting(e, secSettings, "hide_pid", strconv.FormatBool(m[1] == "on"))
		}},
		{"resolve", func(c *tenshiConv, e *entry, m []string) {
			if m[1] == "on" {
				noteDirective("NOT SUPPORTED: reports show host names as the log lines give them, without resolving them")(c, e, m)
			} else {
				noteDirective("tenshi's default; nothing to convert")(c, e, m)
			}
		}},
		{"queue", (*tenshiConv).setQueue},
		{"csv", (*tenshiConv).setCSV},
		{"threshold", (*tenshiConv).setThreshold},
	}
}

// tenshiSyntax is the grammar of each directive: words are runs of non-space, "(.+)" takes the rest of
// the line, trailing spaces included, as in tenshi.
var tenshiSyntax = map[string]*regexp.Regexp{
	"logfile":       setRE("logfile", `(\S+)`),
	"fifo":          setRE("fifo", `(\S+)`),
	"pidfile":       setRE("pidfile", `(\S+)`),
	"tail":          setRE("tail", `\S`),
	"tail_multiple": setRE("tail_multiple", `(?:off|on)`),
	"uid":           setRE("uid", `(.+)`),
	"gid":           setRE("gid", `(.+)`),
	"listen":        setRE("listen", `(\d+\.\d+\.\d+\.\d+:\d+)`),
	"sort_order":    setRE("sort_order", `(\S+)`),
	"limit":         setRE("limit", `(\d+)`),
	"subject":       setRE("subject", `(.+)`),
	"mailserver":    setRE("mailserver", `(.+)`),
	"mailhelo":      setRE("mailhelo", `(.+)`),
	"pager_limit":   setRE("pager_limit", `(\d+)`),
	"mailtimeout":   setRE("mailtimeout", `(\d+)`),
	"filter":        setRE("filter", `(\S+)\s+(\S+)\s*(\S+.*)?`),
	"sleep":         setRE("sleep", `(\d+)`),
	"logprefix":     setRE("logprefix", `(.+)`),
	"hidepid":       setRE("hidepid", `(off|on)`),
	"resolve":       setRE("resolve", `(off|on)`),
	"queue":         setRE("queue", `(\S+)\s+(\S+)\s+(pager:)?(\S+)\s+\[((?:\S+\s*){5}|now)\]\s*(\S+.*)?`),
	"csv":           setRE("csv", `\[((?:\S+\s*){5}|now)\]\s+(\S+)\s*(.*)`),
	"threshold":     setRE("threshold", `(\S+)\s+(\d+)\s+(.+)`),
	"include":       perlRE(`^include\s+(\S+)`),
	"includedir":    perlRE(`^includedir\s+(\S+)`),
	"mask":          perlRE(`^set\s+mask(?:\s+(\S+))?`),
}

var (
	tenshiSet      = perlRE(`^set\s`)
	tenshiRule     = perlRE(`^(\S+)\s+(.+)`)
	tenshiGroupEnd = regexp.MustCompile(`^group_end`)
)

func noteDirective(note string) func(c *tenshiConv, e *entry, m []string) {
	return func(c *tenshiConv, e *entry, _ []string) {
		e.kind, e.section = eNote, secTop
		e.notes = append(e.notes, fmt.Sprintf("%q: %s", e.text, note))
		c.add(e)
	}
}

// readLine reads one line as tenshi does: leading white space removed, blank lines and lines starting
// with '#' skipped, the rest a directive.
func (c *tenshiConv) readLine(file string, n int, raw string) {
	text := strings.TrimLeft(raw, perlSpace)
	e := &entry{file: file, line: n, text: text}
	switch {
	case text == "":
		e.kind = eBlank
		c.add(e)
		return
	case text[0] == '#':
		e.kind = eComment
		c.add(e)
		return
	}
	// Only the directives whose name the line starts with can match it.
	word := text
	if rest, ok := strings.CutPrefix(text, "set"); ok && rest != "" && strings.ContainsRune(perlSpace, rune(rest[0])) {
		word = strings.TrimLeft(rest, perlSpace)
	}
	for _, d := range c.grammar {
		if !strings.HasPrefix(word, d.name) {
			continue
		}
		if m := tenshiSyntax[d.name].FindStringSubmatch(text); m != nil {
			d.apply(c, e, m)
			return
		}
	}
	switch m := tenshiRule.FindStringSubmatch(text); {
	case tenshiSet.MatchString(text):
		c.failAt(e, "%q: not a set directive tenshi knows (it refuses to start)", text)
	case m != nil:
		c.rule(e, m[1], m[2])
	case tenshiGroupEnd.MatchString(text):
		c.groupEnd(e)
	default:
		c.failAt(e, "%q: neither a directive nor a rule (QUEUES REGEX): tenshi refuses to start", text)
	}
}

func (c *tenshiConv) include(e *entry, m []string) {
	e.kind, e.section = eNote, secRules // placeholder so that comments before the include stay here
	c.add(e)
	c.readFile(m[1], e)
}

func (c *tenshiConv) includeDir(e *entry, m []string) {
	e.kind, e.section = eNote, secRules
	c.add(e)
	dir := m[1]
	des, err := os.ReadDir(dir)
	if err != nil {
		c.failAt(e, "%q: %v (tenshi refuses to start)", e.text, err)
		return
	}
	names := make([]string, 0, len(des))
	for _, de := range des {
		names = append(names, de.Name())
	}
	sort.Strings(names)
	n := 0
	for _, name := range names {
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := dir + "/" + name // as tenshi forms it
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			continue
		}
		n++
		c.readFile(p, e)
	}
	if n == 0 {
		e.notes = append(e.notes, fmt.Sprintf("%q: the directory has no files to include now", e.text))
	}
}

// text returns s as a TOML basic string, or records that TOML cannot hold it.
func (c *tenshiConv) text(e *entry, s string) string {
	if !utf8.ValidString(s) {
		c.failAt(e, "%q: not valid UTF-8: a TOML file cannot hold it", s)
	}
	return tomlBasic(s)
}

// pattern returns a regex as a TOML string, a literal one when it can be, or records that TOML cannot
// hold it.
func (c *tenshiConv) pattern(e *entry, s string) string {
	q, ok := tomlString(s)
	if !ok {
		c.failAt(e, "%q: not valid UTF-8: a TOML file cannot hold it", s)
	}
	return q
}

func (c *tenshiConv) number(e *entry, digits string, maxValue int) string {
	n, err := strconv.Atoi(digits)
	if err != nil || maxValue > 0 && n > maxValue {
		c.failAt(e, "%q: number %s too large", e.text, digits)
		return "0"
	}
	return strconv.Itoa(n)
}

// seconds converts a number of seconds to a [mail] duration; 0, which tayori refuses, keeps tayori's default.
func (c *tenshiConv) seconds(e *entry, key, digits string) {
	n := c.number(e, digits, maxTenshiSeconds)
	if n == "0" {
		e.key = key // given, if not converted: no tenshi default for it either
		noteDirective(fmt.Sprintf("not converted: tayori needs a positive %s; its default applies", key))(c, e, nil)
		return
	}
	c.setting(e, secMail, key, strconv.Quote(n+"s"))
}

func (c *tenshiConv) setting(e *entry, section, key, value string) {
	e.kind, e.section, e.key, e.value = eSetting, section, key, value
	c.add(e)
}

// regex checks that RE2 reads a pattern as Perl does, recording the reason when it cannot.
func (c *tenshiConv) regex(e *entry, where, pattern string) bool {
	if !utf8.ValidString(pattern) {
		c.fail(e.file, e.line, where, pattern, "not valid UTF-8: a TOML file cannot hold it")
		return false
	}
	if i := strings.Index(pattern, `\Q`); i >= 0 && !escapedAt(pattern, i) {
		// tenshi compiles its rules at run time, where Perl's quoting escapes are not applied: \Q is
		// the letter Q. RE2 would quote the text after it.
		c.fail(e.file, e.line, where, pattern, "\\Q at offset %d is the letter Q in tenshi (its rules are compiled at run time, where Perl does not quote) but starts quoting in RE2: write Q, or \\Q…\\E in the TOML if quoting is meant", i)
		return false
	}
	if _, err := classify.Compile(pattern); err != nil {
		c.fail(e.file, e.line, where, pattern, "%v", err)
		return false
	}
	return true
}

// escapedAt reports whether the backslash at p[i] is itself escaped by an odd run of backslashes.
func escapedAt(p string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && p[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

func (c *tenshiConv) setPrefix(e *entry, m []string) {
	p := m[1]
	if c.regex(e, "set logprefix", p) {
		if re, _ := classify.Compile(p); re.NumSubexp() < 1 {
			c.fail(e.file, e.line, "set logprefix", p, "no capturing group: tayori takes the host from the first group and refuses a prefix without one (tenshi drops every line it matches)")
		}
	}
	c.setting(e, secSettings, "prefixes", c.pattern(e, p))
}

func tenshiBuiltin(q string) bool {
	return q == queue.Trash || q == queue.Repeat || q == "group" || q == "group_host"
}

func (c *tenshiConv) setQueue(e *entry, m []string) {
	name, from, pager, to, spec, subject := m[1], m[2], m[3] != "", m[4], m[5], m[6]
	e.kind, e.section, e.queue = eQueue, secQueue, name
	switch {
	case tenshiBuiltin(name):
		c.failAt(e, "set queue %s: a builtin queue cannot be defined (tenshi refuses it too)", name)
		return
	case name == "csv":
		c.failAt(e, "set queue csv: csv is tenshi's special queue, defined with set csv (tenshi refuses it too)")
		return
	}
	q := c.queues[name]
	if q == nil {
		q = &tenshiQueue{name: name}
		c.queues[name] = q
		c.qorder = append(c.qorder, name)
	} else {
		e.notes = append(e.notes, fmt.Sprintf("queue %s is defined again here (first at %s:%d): as tenshi does, later from, to and schedule replace earlier ones; a subject, pager: or [now] given once stays",
			name, q.defs[0].file, q.defs[0].line))
	}
	q.defs = append(q.defs, e)
	c.text(e, name)
	c.text(e, subject)
	if _, err := mail.ParseAddress(from); err != nil {
		c.failAt(e, "set queue %s: sender %q: %v (tayori needs a full address such as tenshi@localhost)", name, from, err)
	}
	q.from = from
	q.to = q.to[:0:0]
	for i, addr := range strings.Split(to, ",") {
		if a, ok := strings.CutPrefix(addr, "pager:"); ok {
			addr = a
			if i > 0 {
				e.notes = append(e.notes, fmt.Sprintf("tenshi mails %q as written (only the first address's pager: counts); tayori drops the prefix", "pager:"+a))
			}
		}
		if _, err := mail.ParseAddress(addr); err != nil {
			c.failAt(e, "set queue %s: recipient %q: %v (tayori needs full addresses such as root@localhost)", name, addr, err)
		}
		q.to = append(q.to, addr)
	}
	if pager {
		q.pager = true
	}
	if spec == "now" {
		q.now = true
	} else {
		s, note, err := tenshiSchedule(spec)
		if err != nil {
			c.failAt(e, "set queue %s: %v", name, err)
		}
		if note != "" {
			e.notes = append(e.notes, note)
		}
		q.spec = s
	}
	if subject != "" && subject != "0" { // Perl truth
		q.subject = subject
	}
	c.add(e)
}

// tenshiSchedule turns the text between tenshi's brackets into a tayori schedule.
func tenshiSchedule(spec string) (string, string, error) {
	fields := strings.FieldsFunc(spec, func(r rune) bool { return strings.ContainsRune(perlSpace, r) })
	s := strings.Join(fields, " ")
	if _, err := queue.ParseSchedule(s, time.UTC); err != nil {
		return s, "", err
	}
	note := ""
	if !strings.HasPrefix(fields[2], "*") && !strings.HasPrefix(fields[4], "*") {
		note = fmt.Sprintf("schedule %q: tenshi runs it only on days that match both the day of month and the day of week; tayori, like cron, on days that match either", s)
	}
	return s, note, nil
}

// tenshiCommand turns a filter or csv program and its arguments into an argv. tenshi runs them through
// the shell; when the text has anything the shell would interpret, tayori does the same with sh -c.
func tenshiCommand(path, args string) ([]string, bool) {
	cmd := path
	if args != "" {
		cmd += " " + args
	}
	fields := strings.FieldsFunc(cmd, func(r rune) bool { return strings.ContainsRune(perlSpace, r) })
	plain := !strings.Contains(fields[0], "=")
	for _, r := range cmd {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_@%+=:,./-"+perlSpace, r)) {
			plain = false
		}
	}
	if !plain {
		return []string{"/bin/sh", "-c", cmd}, true
	}
	return fields, false
}

func (c *tenshiConv) strs(e *entry, ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = c.text(e, s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func (c *tenshiConv) setFilter(e *entry, m []string) {
	e.kind, e.section, e.queue = eFilter, secQueue, m[1]
	var shell bool
	e.program, shell = c.command(e, "set filter "+m[1], m[2], m[3])
	if shell {
		e.notes = append(e.notes, "the command has shell syntax: it runs through /bin/sh -c, as tenshi ran it")
	}
	c.filters = append(c.filters, e)
	c.add(e)
}

// setCSV reads "set csv [SCHEDULE] PROGRAM ARGS": tenshi's csv queue, which the rules naming csv feed and
// which is piped, as host,"line",count rows, to the program instead of being mailed.
func (c *tenshiConv) setCSV(e *entry, m []string) {
	e.kind, e.section, e.queue = eCSV, secQueue, "csv"
	q := c.queues["csv"]
	if q == nil {
		q = &tenshiQueue{name: "csv", csv: true}
		c.queues["csv"] = q
		c.qorder = append(c.qorder, "csv")
	} else {
		e.notes = append(e.notes, fmt.Sprintf("set csv again (first at %s:%d): as tenshi does, the later program and schedule replace earlier ones; [now] given once stays",
			q.defs[0].file, q.defs[0].line))
	}
	q.defs = append(q.defs, e)
	if m[1] == "now" {
		q.now = true
	} else {
		s, note, err := tenshiSchedule(m[1])
		if err != nil {
			c.failAt(e, "set csv: %v", err)
		}
		if note != "" {
			e.notes = append(e.notes, note)
		}
		q.spec = s
	}
	var shell bool
	e.program, shell = c.command(e, "set csv", m[2], m[3])
	if shell {
		e.notes = append(e.notes, "the command has shell syntax: it runs through /bin/sh -c, as tenshi ran it")
	}
	q.program = e.program
	c.add(e)
}

// command converts a filter or csv program, which tayori needs with its absolute path, as tenshi's
// manual asks for it.
func (c *tenshiConv) command(e *entry, what, path, args string) ([]string, bool) {
	if !filepath.IsAbs(path) {
		c.failAt(e, "%s: program %q: tayori needs the program's absolute path", what, path)
	}
	argv, shell := tenshiCommand(path, args)
	c.strs(e, argv) // reports what TOML cannot hold
	return argv, shell
}

func (c *tenshiConv) setThreshold(e *entry, m []string) {
	name, pattern := m[1], m[3]
	e.kind, e.section, e.queue, e.pattern = eThreshold, secQueue, name, pattern
	n, err := strconv.Atoi(m[2])
	switch {
	case err != nil:
		c.failAt(e, "set threshold %s: count %s too large", name, m[2])
	case n <= 0:
		c.failAt(e, "set threshold %s: count must be positive (tenshi refuses it too)", name)
	}
	e.count = n
	c.regex(e, "set threshold "+name+" "+m[2], pattern)
	c.pattern(e, pattern)
	switch q := c.queues[name]; {
	case q != nil && !q.csv:
		q.thresholds = append(q.thresholds, e)
	case tenshiBuiltin(name) || q != nil:
		e.kind, e.section = eNote, secTop
		e.notes = append(e.notes, fmt.Sprintf("%q: not converted: queue %s is never mailed, so the threshold has no effect", e.text, name))
	default:
		c.failAt(e, "set threshold %s: queue %s is not defined (yet): tenshi needs its set queue first", name, name)
	}
	c.add(e)
}

// rule reads "QUEUES REGEX": a rule, or the start of a group.
func (c *tenshiConv) rule(e *entry, list, pattern string) {
	e.kind, e.section, e.queue, e.pattern = eRule, secRules, list, pattern
	c.text(e, list)
	names := strings.Split(list, ",")
	for i, n := range names {
		names[i], _, _ = strings.Cut(n, ":")
	}
	ts, perr := classify.ParseTargets(list)
	if len(names) == 1 && (names[0] == "group" || names[0] == "group_host") {
		e.kind, e.host = eGroup, names[0] == "group_host"
		if perr != nil || ts[0].Escalation > 0 {
			c.failAt(e, "%q: builtin queue %s takes no escalation number", list, names[0])
		}
		c.groups = append(c.groups, e)
		c.regex(e, names[0], pattern)
		c.add(e)
		return
	}
	if perr != nil {
		c.failAt(e, "queue list %q: %v", list, perr)
	}
	for _, n := range names {
		switch {
		case tenshiBuiltin(n) && len(names) > 1:
			c.failAt(e, "queue list %q: builtin queue %s cannot be listed with other queues (tenshi refuses it too)", list, n)
		case tenshiBuiltin(n):
			if perr == nil && ts[0].Escalation > 0 {
				c.failAt(e, "queue list %q: builtin queue %s takes no escalation number", list, n)
			}
		case c.queues[n] == nil:
			c.failAt(e, "queue list %q: queue %q is not defined (yet): tenshi needs its set queue before the rules that use it", list, n)
		}
	}
	if c.regex(e, list, pattern) && list == queue.Repeat {
		if re, _ := classify.Compile(pattern); re.NumSubexp() < 1 {
			c.fail(e.file, e.line, list, pattern, "a repeat rule needs a capturing group for the count (tenshi would add nothing)")
		}
	}
	if strings.HasSuffix(pattern, "\r") {
		e.notes = append(e.notes, "the pattern ends with a carriage return (CRLF line ends?): tenshi keeps it, and so does tayori")
	}
	c.add(e)
}

func (c *tenshiConv) groupEnd(e *entry) {
	e.kind, e.section = eGroupEnd, secRules
	if len(c.groups) == 0 {
		c.failAt(e, "group_end without an open group (tenshi refuses to start)")
		return
	}
	c.groups = c.groups[:len(c.groups)-1]
	c.add(e)
}

func (c *tenshiConv) finish() {
	for _, g := range c.groups {
		kind := "group"
		if g.host {
			kind = "group_host"
		}
		c.fail(g.file, g.line, kind, g.pattern, "never closed with group_end: tenshi silently ignores an unclosed group, and tayori will not guess where it ends")
	}
	for _, f := range c.filters {
		q := c.queues[f.queue]
		if q == nil || q.csv {
			why := "is never defined"
			if tenshiBuiltin(f.queue) || q != nil {
				why = "is never mailed"
			}
			f.kind, f.section = eNote, secTop
			f.notes = append(f.notes, fmt.Sprintf("%q: not converted: queue %s %s, so tenshi never uses this filter", f.text, f.queue, why))
			continue
		}
		q.filters = append(q.filters, f)
	}
	c.attach()
}

// attach gives every comment an owner: comments right after a directive, up to the first blank line,
// belong to it; the others belong to the directive that follows. The comments at the top of the main
// file, up to the first blank line or up to a first directive that is not a rule, are its header.
func (c *tenshiConv) attach() {
	var prev *entry
	var pending []*entry
	header := true
	flush := func(next *entry) {
		// Without a blank line, the comments are the next directive's.
		trail := prev != nil && slices.ContainsFunc(pending, func(p *entry) bool { return p.kind == eBlank })
		for _, p := range pending {
			if p.kind == eBlank {
				trail = false
			}
			p.trail = trail
			switch {
			case trail || next == nil: // comments at the very end go with the last directive
				p.owner = prev
				prev.after = append(prev.after, p)
			default:
				p.owner = next
				next.lead = append(next.lead, p)
			}
		}
		pending = pending[:0]
	}
	for _, e := range c.entries {
		if e.kind == eComment || e.kind == eBlank {
			if header && e.kind == eBlank && len(pending) > 0 {
				pending = append(pending, e)
				for _, p := range pending {
					p.section = secTop
				}
				pending = nil
				header = false
				continue
			}
			pending = append(pending, e)
			continue
		}
		if header && e.section != secRules { // a file that starts with comments and then settings
			for _, p := range pending {
				p.section = secTop
			}
			pending = nil
		}
		header = false
		flush(e)
		prev = e
	}
	if prev == nil {
		for _, p := range pending {
			p.section = secTop
		}
		return
	}
	flush(nil)
}

// sectionOf says where a comment or directive is printed.
func sectionOf(e *entry) string {
	if e.owner != nil {
		return e.owner.section
	}
	return e.section
}

// out accumulates the TOML text.
type out struct {
	bytes.Buffer
	opened bool // the last line opened a table or an array: no blank line after it
}

func (o *out) line(indent, s string) {
	o.WriteString(indent)
	o.WriteString(s)
	o.WriteByte('\n')
	o.opened = false
}

// open prints a table header or the first line of an array.
func (o *out) open(indent, s string) {
	o.line(indent, s)
	o.opened = true
}

// blank prints a blank line unless the text starts or just had one, or a table or array just opened.
func (o *out) blank() {
	b := o.Bytes()
	if len(b) > 0 && !bytes.HasSuffix(b, []byte("\n\n")) && !o.opened {
		o.WriteByte('\n')
	}
}

func (o *out) notes(indent string, e *entry) {
	for _, n := range e.notes {
		o.line(indent, tomlComment("# tayori: "+n))
	}
}

// comments prints a block of comments of a table key: blank lines at its ends dropped, runs of them
// inside kept as one; a blank line before the block when it had one and something comes before it.
func (o *out) comments(indent string, es []*entry, blankBefore bool) {
	i, j := 0, len(es)
	for i < j && es[i].kind == eBlank {
		i++
	}
	for j > i && es[j-1].kind == eBlank {
		j--
	}
	if i > 0 || blankBefore {
		o.blank()
	}
	for k := i; k < j; k++ {
		if es[k].kind == eBlank {
			if es[k-1].kind != eBlank {
				o.blank()
			}
			continue
		}
		o.line(indent, tomlComment(es[k].text))
	}
}

func (c *tenshiConv) render() []byte {
	var o out
	o.line("", tomlComment(fmt.Sprintf("# tayori configuration converted from the tenshi configuration %s by \"tayori convert\".", c.main)))
	o.line("", "# The converter's own remarks start with \"# tayori:\".")
	o.blank()
	for _, e := range c.entries {
		if e.section == secTop && e.owner == nil {
			switch e.kind {
			case eComment:
				o.line("", tomlComment(e.text))
			case eBlank:
				o.blank()
			default:
				o.comments("", e.lead, false)
				o.notes("", e)
				o.comments("", e.after, false)
			}
		}
	}
	c.renderTable(&o, "[settings]", secSettings, []tableDefault{
		{"mask", strconv.Quote(tenshiMask), "tenshi's default mask: the configuration has no \"set mask\""},
		{"subject", strconv.Quote(tenshiSubject), "tenshi's default subject: the configuration has no \"set subject\""},
	})
	o.blank()
	o.line("", "# tenshi reads rsyslog's \"message repeated N times: [ ... ]\" lines as they are; true counts them as N lines.")
	o.line("", "rsyslog_repeats = false")
	o.line("", "# tenshi keeps every distinct line of a host; tayori keeps this many per host per queue (its")
	o.line("", "# default is 1000) and counts the rest as one entry, so that memory stays bounded.")
	o.line("", "max_lines_per_host = 100000")
	c.renderTable(&o, "[sources]", secSources, nil)
	c.renderTable(&o, "[mail]", secMail, []tableDefault{
		{"timeout", strconv.Quote(strconv.Itoa(tenshiMailTimeout) + "s"), "tenshi's default mail timeout: the configuration has no \"set mailtimeout\""},
	})
	lastFile := c.main
	for _, name := range c.qorder {
		c.renderQueue(&o, c.queues[name], &lastFile)
	}
	var stream []*entry
	for _, e := range c.entries {
		if sectionOf(e) == secRules {
			stream = append(stream, e)
		}
	}
	if len(stream) > 0 && stream[0].kind != eBlank {
		o.blank()
	}
	c.renderRules(&o, buildTree(stream), 0)
	return o.Bytes()
}

type tableDefault struct{ key, value, why string }

// limited says whether the configuration limits the lines per host of a report.
func (c *tenshiConv) limited() bool {
	limit := "0"
	for _, e := range c.entries {
		if e.kind == eSetting && e.key == "limit" {
			limit = e.value
		}
	}
	return limit != "0"
}

// renderTable prints the settings of one table: each key where the directive first sets it, with the
// value the last one gives; arrays collect every directive's element, with its comments, in order.
func (c *tenshiConv) renderTable(o *out, header, section string, defaults []tableDefault) {
	var keys []string
	byKey := map[string][]*entry{}
	given := map[string]bool{}
	for _, e := range c.entries {
		given[e.key] = given[e.key] || e.kind == eNote
		if e.kind == eSetting && e.section == section {
			if byKey[e.key] == nil {
				keys = append(keys, e.key)
			}
			byKey[e.key] = append(byKey[e.key], e)
		}
	}
	var missing []tableDefault
	for _, d := range defaults {
		if byKey[d.key] == nil && !given[d.key] {
			missing = append(missing, d)
		}
	}
	if len(keys) == 0 && len(missing) == 0 && section != secSettings {
		return
	}
	o.blank()
	o.open("", header)
	lastFile := c.main
	marker := func(e *entry) {
		if e.file != lastFile {
			o.line("", tomlComment("# --- from "+e.file+" ---"))
			lastFile = e.file
		}
	}
	for _, k := range keys {
		es := byKey[k]
		if k == "prefixes" || k == "files" {
			marker(es[0])
			o.comments("", es[0].lead, false)
			o.open("", k+" = [")
			for i, e := range es {
				if i > 0 {
					marker(e)
					o.comments("  ", e.lead, false)
				}
				o.notes("  ", e)
				o.line("  ", e.value+",")
				o.comments("  ", e.after, false)
			}
			o.line("", "]")
			continue
		}
		last := es[len(es)-1]
		for _, e := range es {
			marker(e)
			o.comments("", e.lead, false)
			o.notes("", e)
			if e != last {
				o.line("", tomlComment(fmt.Sprintf("# tayori: %q here is replaced by the later one at %s:%d", e.text, last.file, last.line)))
			} else {
				o.line("", k+" = "+e.value)
			}
			o.comments("", e.after, false)
		}
	}
	for _, d := range missing {
		o.line("", "# "+d.why+".")
		o.line("", d.key+" = "+d.value)
	}
}

func (c *tenshiConv) renderQueue(o *out, q *tenshiQueue, lastFile *string) {
	first := q.defs[0]
	o.blank()
	if first.file != *lastFile {
		o.line("", tomlComment("# --- from "+first.file+" ---"))
		*lastFile = first.file
	}
	o.comments("", first.lead, false)
	o.open("", "[queues."+tomlKey(q.name)+"]")
	o.notes("", first)
	schedule := q.spec
	if q.now {
		schedule = "now"
	}
	if q.csv {
		o.line("", "# tenshi's csv queue (set csv): the lines of the rules that name csv, piped as host,\"line\",count rows to the program.")
		if c.limited() {
			o.line("", "# tayori: tenshi puts every line in its csv output; tayori applies [settings] limit to this queue too")
		}
		o.line("", "schedule = "+strconv.Quote(schedule))
		o.line("", "program = "+c.strs(first, q.program))
		o.line("", `format = "csv"`)
	} else {
		o.line("", "from = "+c.text(first, q.from))
		o.line("", "to = "+c.strs(first, q.to))
		if q.pager {
			o.line("", "pager = true")
		}
		o.line("", "schedule = "+strconv.Quote(schedule))
		if q.subject != "" {
			o.line("", "subject = "+c.text(first, q.subject))
		}
	}
	o.comments("", first.after, false)
	for _, e := range q.defs[1:] {
		o.comments("", e.lead, true)
		o.notes("", e)
		o.comments("", e.after, false)
	}
	if len(q.thresholds) > 0 {
		o.comments("", q.thresholds[0].lead, true)
		o.open("", "thresholds = [")
		for i, e := range q.thresholds {
			if i > 0 {
				o.comments("  ", e.lead, false)
			}
			o.notes("  ", e)
			o.line("  ", fmt.Sprintf("{ count = %d, match = %s },", e.count, c.pattern(e, e.pattern)))
			o.comments("  ", e.after, false)
		}
		o.line("", "]")
	}
	for i, e := range q.filters {
		o.comments("", e.lead, true)
		o.notes("", e)
		if i < len(q.filters)-1 {
			o.line("", tomlComment(fmt.Sprintf("# tayori: %q is replaced by a later set filter", e.text)))
		} else {
			o.line("", "filter = "+c.strs(e, e.program))
		}
		o.comments("", e.after, false)
	}
}

// rnode is a node of the rule tree: an entry of the rules stream; a group holds its body.
type rnode struct {
	e        *entry
	children []*rnode
}

func buildTree(stream []*entry) []*rnode {
	root := &rnode{}
	stack := []*rnode{root}
	for _, e := range stream {
		top := stack[len(stack)-1]
		switch e.kind {
		case eGroup:
			n := &rnode{e: e}
			top.children = append(top.children, n)
			stack = append(stack, n)
		case eGroupEnd:
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		default:
			top.children = append(top.children, &rnode{e: e})
		}
	}
	return root.children
}

func hasRules(ns []*rnode) bool {
	for _, n := range ns {
		if n.e.kind == eRule || n.e.kind == eGroup && hasRules(n.children) {
			return true
		}
	}
	return false
}

func isCommentNode(n *rnode) bool { return n.e.kind == eComment || n.e.kind == eBlank }

// renderRules prints a list of rule nodes at a nesting depth. Consecutive rules with the same queue list
// make one block with a match array, with the comments between them inside it.
func (c *tenshiConv) renderRules(o *out, nodes []*rnode, depth int) {
	ind := strings.Repeat("  ", depth)
	header := "[[" + strings.Repeat("rules.", depth) + "rules]]"
	for i := 0; i < len(nodes); {
		n := nodes[i]
		e := n.e
		switch e.kind {
		case eComment:
			o.line(ind, tomlComment(e.text))
		case eBlank:
			o.WriteByte('\n')
		case eNote:
			o.notes(ind, e)
		case eEnter:
			o.line(ind, tomlComment("# --- from "+e.file+" ---"))
		case eLeave:
			o.line(ind, tomlComment("# --- end of "+e.file+" ---"))
		case eGroup:
			kind, key := "group", "group"
			if e.host {
				kind, key = "group_host", "host"
			}
			o.notes(ind, e)
			if !hasRules(n.children) {
				o.line(ind, tomlComment(fmt.Sprintf("# tayori: %s %s at %s:%d holds no rules and has no effect: left out", kind, e.pattern, e.file, e.line)))
				c.renderRules(o, n.children, depth)
				break
			}
			o.line(ind, header)
			o.line(ind, key+" = "+c.pattern(e, e.pattern))
			c.renderRules(o, n.children, depth+1)
		case eRule:
			end := blockEnd(nodes, i)
			c.renderBlock(o, nodes[i:end], ind, header)
			i = end
			continue
		}
		i++
	}
}

// blockEnd returns the end of the block of rules starting at nodes[i]: the following rules with the same
// queue list and the comments between them, then the comments that trail the last one.
func blockEnd(nodes []*rnode, i int) int {
	last := i
	for k := i + 1; k < len(nodes); k++ {
		if isCommentNode(nodes[k]) {
			continue
		}
		if nodes[k].e.kind != eRule || nodes[k].e.queue != nodes[i].e.queue {
			break
		}
		last = k
	}
	end := last + 1
	for end < len(nodes) && isCommentNode(nodes[end]) && nodes[end].e.trail {
		end++
	}
	return end
}

func (c *tenshiConv) renderBlock(o *out, block []*rnode, ind, header string) {
	first := block[0].e
	o.line(ind, header)
	o.line(ind, "queue = "+c.text(first, first.queue))
	rules := 0
	for _, n := range block {
		if n.e.kind == eRule {
			rules++
		}
	}
	if rules == 1 {
		o.notes(ind, first)
		o.line(ind, "match = "+c.pattern(first, first.pattern))
		for _, n := range block[1:] {
			if n.e.kind == eBlank {
				o.WriteByte('\n')
			} else {
				o.line(ind, tomlComment(n.e.text))
			}
		}
		return
	}
	o.line(ind, "match = [")
	for _, n := range block {
		switch n.e.kind {
		case eBlank:
			o.WriteByte('\n')
		case eComment:
			o.line(ind+"  ", tomlComment(n.e.text))
		case eRule:
			o.notes(ind+"  ", n.e)
			o.line(ind+"  ", c.pattern(n.e, n.e.pattern)+",")
		}
	}
	o.line(ind, "]")
}

// tomlString returns s as a TOML string: a literal string when s allows one, else a multi-line literal
// string, else a basic string with escapes. It returns false when s is not valid UTF-8, which no TOML
// string can hold.
func tomlString(s string) (string, bool) {
	if !utf8.ValidString(s) {
		return strconv.Quote(strings.ToValidUTF8(s, "\uFFFD")), false
	}
	if s == "" {
		return `""`, true
	}
	control := false
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			control = true
			break
		}
	}
	if !control {
		if !strings.Contains(s, "'") {
			return "'" + s + "'", true
		}
		if !strings.Contains(s, "'''") && s[0] != '\'' && s[len(s)-1] != '\'' {
			return "'''" + s + "'''", true
		}
	}
	return tomlBasic(s), true
}

// tomlBasic returns s as a TOML basic string, "..." with escapes.
func tomlBasic(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// tomlKey returns a queue name as a TOML key: bare when it can be.
func tomlKey(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return tomlBasic(s)
		}
	}
	return s
}

// tomlComment makes a comment line TOML accepts: a carriage return at its end dropped, other control
// characters and invalid UTF-8 replaced.
func tomlComment(s string) string {
	s = strings.TrimRight(s, "\r")
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return '\uFFFD'
		}
		return r
	}, s)
}
