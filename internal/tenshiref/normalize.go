package tenshiref

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// NeverSchedule is the cron specification Normalize gives every queue. It only
// fires at midnight on the first of January, so a queue is mailed once, when
// tenshi is told to terminate.
const NeverSchedule = "0 0 1 1 *"

// Perl's \s and \S (ASCII, byte strings). RE2's \s lacks the vertical tab.
const (
	perlSpace    = `[\t\n\v\f\r ]`
	perlNotSpace = `[^\t\n\v\f\r ]`
)

// perlRE compiles a pattern written with \s and \S as Perl understands them.
func perlRE(pattern string) *regexp.Regexp {
	p := strings.ReplaceAll(pattern, `\s`, perlSpace)
	p = strings.ReplaceAll(p, `\S`, perlNotSpace)
	return regexp.MustCompile(p)
}

// directive is one of tenshi's "set" directives that a differential test must
// not keep, with the pattern tenshi itself matches the line against.
type directive struct {
	name string
	re   *regexp.Regexp
}

// Patterns from tenshi's config_read, applied to a line whose leading white
// space has been removed and whose newline has been chomped.
func droppedDirectives() []directive {
	return []directive{
		{"logfile", perlRE(`^set\s+logfile\s+(\S+)`)},
		{"fifo", perlRE(`^set\s+fifo\s+(\S+)`)},
		{"pidfile", perlRE(`^set\s+pidfile\s+(\S+)`)},
		{"tail", perlRE(`^set\s+tail\s+(\S+)\s*(\S+.*)?`)},
		{"tail_multiple", perlRE(`^set\s+tail_multiple\s+(off|on)`)},
		{"uid", perlRE(`^set\s+uid\s+(.+)`)},
		{"gid", perlRE(`^set\s+gid\s+(.+)`)},
		{"listen", perlRE(`^set\s+listen\s+(\d+\.\d+\.\d+\.\d+:\d+)`)},
		{"limit", perlRE(`^set\s+limit\s+(\d+)`)},
		{"mailserver", perlRE(`^set\s+mailserver\s+(.+)`)},
		{"pager_limit", perlRE(`^set\s+pager_limit\s+(\d+)`)},
		{"filter", perlRE(`^set\s+filter\s+(\S+)\s+(\S+)\s*(\S+.*)?`)},
		{"csv", perlRE(`^set\s+csv\s+\[((?:\S+(?:\s+)?){5}|now)\]\s+(\S+)\s*(.*)?`)},
		// Not a source or a sink, but "resolve on" makes the report depend on DNS.
		{"resolve", perlRE(`^set\s+resolve\s+(off|on)`)},
	}
}

var (
	// tenshi's own patterns (config_read); see droppedDirectives.
	reInclude    = perlRE(`^include\s+(\S+)`)
	reIncludeDir = perlRE(`^includedir\s+(\S+)`)
	reQueue      = perlRE(`^set\s+queue\s+(\S+)\s+(\S+(?:\@\S+)?)\s+(pager:)?(\S+(?:\@\S+)?)\s+\[((?:\S+(?:\s+)?){5}|now)\]\s*(\S+.*)?`)
	reSet        = perlRE(`^set\s+`)
	reRule       = perlRE(`(^\S+)\s+(.+$)`)
	reLeadSpace  = perlRE(`^\s+`)
	// An address the test SMTP server (go-smtp) accepts in MAIL FROM and RCPT TO.
	reSafeAddress = regexp.MustCompile(`^[^()<>\[\]:;\\,"@\t ]+@[^\t >@]+$`)
)

// confLine is one line of a tenshi configuration file as config_read sees it.
type confLine struct {
	raw     string // the line as in the file, without its newline
	content string // leading white space removed, chomped; "" for blank lines
	lead    int    // length of the removed leading white space
	comment bool   // blank or comment: tenshi skips it
}

func splitConf(text string) []confLine {
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return nil
	}
	var lines []confLine
	for _, raw := range strings.Split(text, "\n") {
		lead := 0
		if loc := reLeadSpace.FindStringIndex(raw); loc != nil {
			lead = loc[1]
		}
		content := raw[lead:]
		lines = append(lines, confLine{
			raw:     raw,
			content: content,
			lead:    lead,
			comment: content == "" || content[0] == '#',
		})
	}
	return lines
}

// Normalize returns the text of a tenshi configuration derived from the file
// confPath for a differential test that both tenshi (through Run) and tayori
// read:
//
//   - the directives that name sources, sinks, processes or limits (set
//     logfile, fifo, listen, tail, tail_multiple, pidfile, uid, gid,
//     mailserver, filter, csv, limit, pager_limit, and resolve, which makes
//     reports depend on DNS) are commented out;
//   - every queue's schedule, [now] or cron, becomes [NeverSchedule], so each
//     queue is mailed once, when tenshi terminates (a cron queue could
//     otherwise fire during the run and split its counts over two mails);
//   - a queue address that the test SMTP server would refuse (no "@", or a
//     ":" in the local part, as in "pager:1234@host,pager:5678@host") is
//     replaced by tenshi@localhost or root@localhost, keeping "pager:";
//   - include and includedir paths become absolute, relative to the including
//     file's directory (tenshi itself resolves them against its working
//     directory).
//
// Every other line, the rules above all, is kept byte for byte. The included
// files are read but not rewritten: Normalize fails if one of them holds a
// directive it would have changed, includes a relative path, or is missing.
// Rules that send lines to the csv queue make Normalize fail, since set csv is
// dropped.
func Normalize(confPath string) (string, error) {
	abs, err := filepath.Abs(confPath)
	if err != nil {
		return "", fmt.Errorf("normalize %s: %w", confPath, err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return "", fmt.Errorf("normalize: %w", err)
	}
	dir := filepath.Dir(abs)
	drops := droppedDirectives()

	var out strings.Builder
	fmt.Fprintf(&out, "# normalized by tayori's tenshiref from %s\n", abs)
	droppedCSV := false
	var csvRule string
	for i, l := range splitConf(string(data)) {
		where := fmt.Sprintf("%s:%d", abs, i+1)
		if l.comment {
			out.WriteString(l.raw + "\n")
			continue
		}
		if name := matchDirective(drops, l.content); name != "" {
			if name == "csv" {
				droppedCSV = true
			}
			out.WriteString("#[tenshiref: set " + name + " dropped] " + l.raw + "\n")
			continue
		}
		if m := reInclude.FindStringSubmatchIndex(l.content); m != nil {
			line, err := absoluteInclude(l, m, dir, false, drops)
			if err != nil {
				return "", fmt.Errorf("%s: %w", where, err)
			}
			out.WriteString(line + "\n")
			continue
		}
		if m := reIncludeDir.FindStringSubmatchIndex(l.content); m != nil {
			line, err := absoluteInclude(l, m, dir, true, drops)
			if err != nil {
				return "", fmt.Errorf("%s: %w", where, err)
			}
			out.WriteString(line + "\n")
			continue
		}
		if m := reQueue.FindStringSubmatchIndex(l.content); m != nil {
			out.WriteString(l.raw[:l.lead] + rewriteQueue(l.content, m) + "\n")
			continue
		}
		if !reSet.MatchString(l.content) {
			if queues := ruleQueues(l.content); contains(queues, "csv") && csvRule == "" {
				csvRule = where
			}
		}
		out.WriteString(l.raw + "\n")
	}
	if droppedCSV && csvRule != "" {
		return "", fmt.Errorf("%s: rule sends lines to the csv queue, whose set csv is dropped", csvRule)
	}
	return out.String(), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// matchDirective returns the name of the dropped directive that content is,
// or "".
func matchDirective(drops []directive, content string) string {
	for _, d := range drops {
		if d.re.MatchString(content) {
			return d.name
		}
	}
	return ""
}

// ruleQueues returns the queue names of a rule line ("q1,q2:3 regex"), or nil
// if the line is not a rule.
func ruleQueues(content string) []string {
	m := reRule.FindStringSubmatch(content)
	if m == nil {
		return nil
	}
	var names []string
	for _, q := range strings.Split(m[1], ",") {
		name, _, _ := strings.Cut(q, ":")
		names = append(names, name)
	}
	return names
}

// rewriteQueue gives a "set queue" line (content, with the submatch indexes m
// of reQueue) the schedule NeverSchedule and addresses the test SMTP server
// accepts.
func rewriteQueue(content string, m []int) string {
	from, to := content[m[4]:m[5]], content[m[8]:m[9]]
	if !reSafeAddress.MatchString(from) {
		from = "tenshi@localhost"
	}
	for _, addr := range strings.Split(to, ",") {
		if !reSafeAddress.MatchString(addr) {
			to = "root@localhost"
			break
		}
	}
	return content[:m[4]] + from + content[m[5]:m[8]] + to + content[m[9]:m[10]] + NeverSchedule + content[m[11]:]
}

// absoluteInclude rewrites an include or includedir line so that its path is
// absolute, and checks the files it names.
func absoluteInclude(l confLine, m []int, dir string, isDir bool, drops []directive) (string, error) {
	path := l.content[m[2]:m[3]]
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	if strings.ContainsAny(path, " \t\v\f\r") {
		return "", fmt.Errorf("include path %q: contains white space, which tenshi cannot read", path)
	}
	var err error
	if isDir {
		err = checkIncludedDir(path, drops, 1)
	} else {
		err = checkIncluded(path, drops, 1)
	}
	if err != nil {
		return "", err
	}
	return l.raw[:l.lead] + l.content[:m[2]] + path + l.content[m[3]:], nil
}

const maxIncludeDepth = 16

// checkIncluded fails if the included file holds something Normalize would
// have to change, since tenshi reads it as it is.
func checkIncluded(path string, drops []directive, depth int) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("%s: includes nested deeper than %d", path, maxIncludeDepth)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("included file: %w", err)
	}
	for i, l := range splitConf(string(data)) {
		if l.comment {
			continue
		}
		where := fmt.Sprintf("%s:%d", path, i+1)
		if name := matchDirective(drops, l.content); name != "" {
			return fmt.Errorf("%s: included file sets %s; move it to the main file", where, name)
		}
		if reQueue.MatchString(l.content) {
			return fmt.Errorf("%s: included file defines a queue; move it to the main file", where)
		}
		for _, re := range []*regexp.Regexp{reInclude, reIncludeDir} {
			if m := re.FindStringSubmatch(l.content); m != nil {
				if !filepath.IsAbs(m[1]) {
					return fmt.Errorf("%s: relative include %q in an included file", where, m[1])
				}
				if re == reInclude {
					err = checkIncluded(m[1], drops, depth+1)
				} else {
					err = checkIncludedDir(m[1], drops, depth+1)
				}
				if err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

// checkIncludedDir checks the files tenshi reads from an includedir: the
// regular files whose names do not start with a dot, in sorted order.
func checkIncludedDir(dir string, drops []directive, depth int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("included directory: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			continue
		}
		if err := checkIncluded(p, drops, depth); err != nil {
			return err
		}
	}
	return nil
}

// runForbidden are the directives that would break Run: they name the input,
// the SMTP server or processes, which Run sets itself.
var runForbidden = map[string]bool{
	"logfile": true, "fifo": true, "tail": true, "tail_multiple": true,
	"mailserver": true, "listen": true, "filter": true, "csv": true,
}

// checkRunnable fails if conf (a normalized text) cannot be run as it is, and
// returns the queues it defines as pager queues.
func checkRunnable(conf string) (pager map[string]bool, err error) {
	drops := droppedDirectives()
	pager = map[string]bool{}
	var errs []error
	for i, l := range splitConf(conf) {
		if l.comment {
			continue
		}
		if name := matchDirective(drops, l.content); runForbidden[name] {
			errs = append(errs, fmt.Errorf("line %d: set %s: Run sets it itself; use Normalize", i+1, name))
			continue
		}
		for _, re := range []*regexp.Regexp{reInclude, reIncludeDir} {
			if m := re.FindStringSubmatch(l.content); m != nil && !filepath.IsAbs(m[1]) {
				errs = append(errs, fmt.Errorf("line %d: relative include %q; use Normalize", i+1, m[1]))
			}
		}
		if m := reQueue.FindStringSubmatch(l.content); m != nil {
			pager[m[1]] = m[3] != ""
		}
	}
	return pager, errors.Join(errs...)
}
