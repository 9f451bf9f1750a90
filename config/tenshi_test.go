package config

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/tayori-dev/tayori/classify"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/tenshi")

// convertTenshi converts a tenshi configuration, writes the result to a temporary file and loads it.
func convertTenshi(t *testing.T, conf string) (string, *Config) {
	t.Helper()
	var buf bytes.Buffer
	if err := ConvertTenshi(conf, &buf); err != nil {
		t.Fatalf("convert %s:\n%v", conf, err)
	}
	p := filepath.Join(t.TempDir(), "tayori.toml")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(p)
	if err != nil {
		t.Fatalf("the converted %s does not load:\n%v\n%s", conf, err, buf.String())
	}
	return buf.String(), cfg
}

func TestConvertTenshiGolden(t *testing.T) {
	confs, err := filepath.Glob("testdata/tenshi/*.conf")
	if err != nil || len(confs) == 0 {
		t.Fatalf("no test configurations: %v", err)
	}
	for _, conf := range confs {
		t.Run(filepath.Base(conf), func(t *testing.T) {
			got, cfg := convertTenshi(t, conf)
			golden := strings.TrimSuffix(conf, ".conf") + ".toml"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s:\n%s", conf, golden, firstDifference(string(want), got))
			}
			sameRulesAsTenshi(t, conf, got, cfg)
			sameClassificationAsTenshi(t, conf, cfg)
		})
	}
}

func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl || i >= len(w) || i >= len(g) {
			return fmt.Sprintf("line %d:\nwant %q\ngot  %q", i+1, wl, gl)
		}
	}
	return "(no difference)"
}

// The tenshi program, when it is installed, is the reference: tenshi -C -d 1 prints every rule as it
// reads it ("queue: QUEUES regexp: REGEX"), and tenshi -p -d 1 prints, for every line it reads on
// standard input, the rules that matched it.
const tenshiProgram = "/usr/sbin/tenshi"

var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

func runTenshi(t *testing.T, stdin string, args ...string) (string, bool) {
	t.Helper()
	if _, err := os.Stat(tenshiProgram); err != nil {
		return "", false
	}
	if _, err := exec.LookPath("perl"); err != nil {
		return "", false
	}
	cmd := exec.Command(tenshiProgram, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr // Perl's warnings go to stderr
	if err := cmd.Run(); err != nil {
		text := out.String() + stderr.String()
		if strings.Contains(text, "Can't locate") { // a Perl module is missing: no reference here
			t.Logf("tenshi cannot run here: %s", firstLine(text))
			return "", false
		}
		t.Fatalf("tenshi %s: %v\n%s", strings.Join(args, " "), err, ansiEscape.ReplaceAllString(text, ""))
	}
	return ansiEscape.ReplaceAllString(out.String(), ""), true
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// tenshiView is how tenshi writes a rule's queue list in its debug output.
func tenshiView(r classify.Rule) string {
	switch r.Kind {
	case classify.Group:
		return "group"
	case classify.HostGroup:
		return "group_host"
	case classify.Trash:
		return "trash"
	case classify.Repeat:
		return "repeat"
	}
	return classify.TargetsString(r.Targets)
}

var droppedGroup = regexp.MustCompile(`# tayori: (group|group_host) (.*) at \S+:\d+ holds no rules`)

// sameRulesAsTenshi checks that the loaded rule table has tenshi's rules, in tenshi's order, with the
// same queue lists and the very same pattern bytes. The groups without rules that the converted text
// says it left out are left out of tenshi's table too.
func sameRulesAsTenshi(t *testing.T, conf, converted string, cfg *Config) {
	t.Helper()
	if strings.Contains(readText(t, conf), "mailhelo") {
		return // newer than the installed tenshi
	}
	out, ok := runTenshi(t, "", "-C", "-d", "1", "-c", conf)
	if !ok {
		t.Log("tenshi is not installed: rule table not compared with it")
		return
	}
	const marker = "parsing conf directive - queue: "
	var want []string
	for _, l := range strings.Split(out, "\n") {
		if _, rest, ok := strings.Cut(l, marker); ok && strings.Contains(rest, " regexp: ") {
			want = append(want, rest)
		}
	}
	dropped := map[string]int{}
	for _, m := range droppedGroup.FindAllStringSubmatch(converted, -1) {
		dropped[m[1]+" regexp: "+m[2]]++
	}
	var got []string
	for _, r := range cfg.Rules {
		got = append(got, tenshiView(r)+" regexp: "+r.Pattern)
	}
	for i := 0; i < len(want); i++ {
		if dropped[want[i]] > 0 && (i >= len(got) || got[i] != want[i]) {
			dropped[want[i]]--
			want = append(want[:i], want[i+1:]...)
			i--
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d rules, tenshi reads %d", len(got), len(want))
	}
	for i := 0; i < len(got) && i < len(want); i++ {
		if got[i] != want[i] {
			t.Errorf("rule %d: got %q, tenshi reads %q", i+1, got[i], want[i])
		}
	}
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exampleOf returns a string a pattern matches, built from its syntax tree.
func exampleOf(pattern string) (string, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	if !writeExample(re, &b) {
		return "", false
	}
	s := b.String()
	if m, _ := regexp.MatchString(pattern, s); !m || strings.ContainsAny(s, "\n\r\x1b") || !utf8.ValidString(s) {
		return "", false
	}
	return s, true
}

func writeExample(re *syntax.Regexp, b *strings.Builder) bool {
	switch re.Op {
	case syntax.OpNoMatch:
		return false
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		r := re.Rune[0]
		for i := 0; i < len(re.Rune); i += 2 {
			if re.Rune[i] <= ' ' && ' ' <= re.Rune[i+1] {
				r = ' '
				break
			}
			if re.Rune[i] <= 'a' && 'a' <= re.Rune[i+1] {
				r = 'a'
			}
		}
		b.WriteRune(r)
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('x')
	case syntax.OpCapture, syntax.OpPlus:
		return writeExample(re.Sub[0], b)
	case syntax.OpRepeat:
		for i := 0; i < re.Min; i++ {
			if !writeExample(re.Sub[0], b) {
				return false
			}
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !writeExample(s, b) {
				return false
			}
		}
	case syntax.OpAlternate:
		return writeExample(re.Sub[0], b)
	}
	return true // empty matches, anchors, star and quest
}

var pidLine = regexp.MustCompile(`^([^\s\[\]]+): `)

// testLines makes log lines for a configuration: for every host (a plain one and one for every
// group_host pattern), a line each rule and group pattern matches, the same with a PID, and some
// lines no rule is written for.
func testLines(cfg *Config) []string {
	hosts := []string{"host1"}
	var msgs []string
	for _, r := range cfg.Rules {
		ex, ok := exampleOf(r.Pattern)
		if !ok {
			continue
		}
		if r.Kind == classify.HostGroup {
			if ex != "" && !strings.ContainsAny(ex, " \t") {
				hosts = append(hosts, ex)
			}
			continue
		}
		msgs = append(msgs, ex)
		if m := pidLine.FindStringSubmatch(ex); m != nil {
			msgs = append(msgs, m[1]+"[4711]"+ex[len(m[1]):])
		}
	}
	msgs = append(msgs, "nothing is written for this line", "message repeated 3 times: [ sshd: Accepted publickey ]", "")
	var lines []string
	for _, h := range hosts {
		for _, m := range msgs {
			lines = append(lines, "Jan  2 03:04:05 "+h+" "+m)
		}
	}
	for _, m := range msgs {
		lines = append(lines, "[Tue Jan 02 03:04:05 2024] web1 "+m, "web2| "+m)
	}
	return append(lines, "a line without a syslog prefix")
}

// sameClassificationAsTenshi feeds the same lines to tenshi and to the loaded table and compares which
// rule's queues take each line.
func sameClassificationAsTenshi(t *testing.T, conf string, cfg *Config) {
	t.Helper()
	if strings.Contains(readText(t, conf), "mailhelo") {
		return
	}
	lines := testLines(cfg)
	out, ok := runTenshi(t, strings.Join(lines, "\n")+"\n", "-p", "-d", "1", "-c", conf)
	if !ok {
		t.Log("tenshi is not installed: classification not compared with it")
		return
	}
	var want []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "[MAIN]  got message: ") {
			want = append(want, "")
			continue
		}
		if rest, ok := strings.CutPrefix(l, "[MAIN]  matched message for queue "); ok && len(want) > 0 {
			if q, _, _ := strings.Cut(rest, ": "); q != "group" {
				want[len(want)-1] = q
			}
		}
	}
	if len(want) != len(lines) {
		t.Fatalf("tenshi read %d lines, want %d", len(want), len(lines))
	}
	var d classify.Decision
	differ := 0
	for i, l := range lines {
		cfg.Table.Classify([]byte(l), &d)
		got := ""
		switch d.Outcome {
		case classify.Unprefixed:
			got = "noprefix"
		case classify.Matched, classify.Trashed, classify.Repeated:
			got = tenshiView(cfg.Rules[d.Rule])
			got = regexp.MustCompile(`:\d+`).ReplaceAllString(got, "")
		}
		if got != want[i] {
			differ++
			if differ <= 10 {
				t.Errorf("line %q: tayori sends it to %q, tenshi to %q", l, got, want[i])
			}
		}
	}
	t.Logf("%d lines classified as tenshi does them", len(lines)-differ)
}

// debianConf returns Debian's tenshi.conf with every file of includes-available included where it
// includes includes-active, which Debian ships empty.
func debianConf(t *testing.T) string {
	t.Helper()
	const active = "includedir /etc/tenshi/includes-active"
	text, err := os.ReadFile("/etc/tenshi/tenshi.conf")
	if err != nil || !bytes.Contains(text, []byte(active)) {
		t.Skip("Debian's tenshi configuration is not installed")
	}
	text = bytes.Replace(text, []byte(active), []byte("includedir /etc/tenshi/includes-available"), 1)
	p := filepath.Join(t.TempDir(), "tenshi.conf")
	if err := os.WriteFile(p, text, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConvertTenshiDebian(t *testing.T) {
	for _, conf := range []string{"/etc/tenshi/tenshi.conf", debianConf(t)} {
		t.Run(conf, func(t *testing.T) {
			toml, cfg := convertTenshi(t, conf)
			sameRulesAsTenshi(t, conf, toml, cfg)
			sameClassificationAsTenshi(t, conf, cfg)
			if strings.Contains(conf, "/etc/") {
				return
			}
			// Every file of includes-available is inlined, marked, in name order.
			files, _ := filepath.Glob("/etc/tenshi/includes-available/*")
			last := -1
			for _, f := range files {
				i := strings.Index(toml, "# --- from /etc/tenshi/includes-available/"+filepath.Base(f)+" ---")
				if i < last {
					t.Errorf("%s is not inlined after the file before it", f)
				}
				last = i
			}
			if len(cfg.Rules) < 100 {
				t.Errorf("only %d rules", len(cfg.Rules))
			}
		})
	}
}

// logcheckPatterns returns the rules of Debian's logcheck database, as the patterns of a tenshi rule
// file can hold them.
func logcheckPatterns(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("/etc/logcheck/*/*")
	var ps []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimLeft(l, perlSpace); l != "" && l[0] != '#' {
				ps = append(ps, l)
			}
		}
	}
	if len(ps) == 0 {
		t.Skip("logcheck's database is not installed")
	}
	return ps
}

func TestTOMLStringRoundTrip(t *testing.T) {
	cases := []string{"", "a", "'", "''", "'''", "a'b", "a'''b", "'a", "a'", `\`, `"`, `\"`, "tab\there",
		"trailing  ", "cr\r", "nul\x00", "del\x7f", "bell\a", "ünïcödé", `'''"""`, "a''", "''a"}
	if _, err := os.Stat("/etc/logcheck"); err == nil {
		cases = append(cases, logcheckPatterns(t)...)
	}
	for _, s := range cases {
		enc, ok := tomlString(s)
		if !ok {
			t.Errorf("%q: not encoded", s)
			continue
		}
		var v struct{ K string }
		if _, err := toml.Decode("k = "+enc+"\n", &v); err != nil || v.K != s {
			t.Errorf("%q encoded as %s decodes to %q, %v", s, enc, v.K, err)
		}
		var k map[string]int
		if _, err := toml.Decode(tomlKey(s)+" = 1\n", &k); s != "" && (err != nil || k[s] != 1) {
			t.Errorf("key %q encoded as %s: %v %v", s, tomlKey(s), k, err)
		}
	}
	if _, ok := tomlString("bad \xff byte"); ok {
		t.Error("invalid UTF-8 encoded")
	}
}

// TestConvertTenshiLogcheckRoundTrip converts a rule file holding every logcheck rule RE2 accepts and
// checks that the loaded configuration gives back every pattern, byte for byte, in order.
func TestConvertTenshiLogcheckRoundTrip(t *testing.T) {
	all := logcheckPatterns(t)
	var ps []string
	var conf strings.Builder
	conf.WriteString("set mailserver localhost\n")
	queues := []string{"report", "report", "critical", "report,critical:5"}
	conf.WriteString("set queue report tenshi@localhost root@localhost [now]\n")
	conf.WriteString("set queue critical tenshi@localhost root@localhost [now]\n")
	for i, p := range all {
		if _, err := classify.Compile(p); err != nil || !utf8.ValidString(p) {
			continue
		}
		ps = append(ps, p)
		if i%7 == 0 {
			conf.WriteString("# comment before " + p + "\n")
		}
		conf.WriteString(queues[(i/3)%len(queues)] + " " + p + "\n")
	}
	t.Logf("%d of %d logcheck rules compile with RE2", len(ps), len(all))
	p := filepath.Join(t.TempDir(), "logcheck.conf")
	if err := os.WriteFile(p, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	converted, cfg := convertTenshi(t, p)
	if len(cfg.Rules) != len(ps) {
		t.Fatalf("%d rules, want %d", len(cfg.Rules), len(ps))
	}
	for i, r := range cfg.Rules {
		if r.Pattern != ps[i] {
			t.Errorf("rule %d: %q, want %q", i+1, r.Pattern, ps[i])
		}
	}
	sameRulesAsTenshi(t, p, converted, cfg)

	// With every rule, the converter refuses and names each one RE2 cannot take, at its line.
	var all2 strings.Builder
	all2.WriteString("set mailserver localhost\nset queue report tenshi@localhost root@localhost [now]\n")
	want := map[int]bool{}
	for i, p := range all {
		if _, err := classify.Compile(p); err != nil && utf8.ValidString(p) {
			want[i+3] = true
		}
		all2.WriteString("report " + p + "\n")
	}
	if err := os.WriteFile(p, []byte(all2.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	err := ConvertTenshi(p, io.Discard)
	errs, _ := err.(Errors)
	if len(errs) != len(want) {
		t.Errorf("%d errors, want %d: %v", len(errs), len(want), err)
	}
	for _, e := range errs {
		if !want[e.Line] || e.Pattern == "" {
			t.Errorf("unexpected error %v", e)
		}
		t.Log(e)
	}
}

func TestConvertTenshiRefuses(t *testing.T) {
	const head = "set mailserver localhost\nset queue report tenshi@localhost root@localhost [now]\n"
	cases := []struct {
		name  string
		files map[string]string
		want  []string // each error, in order: "FILE:LINE: text"
	}{{
		name: "every problem at once",
		files: map[string]string{
			"tenshi.conf": head + // lines 1-2
				"report ^sshd: (\\w+) logged in as \\1\n" + // 3
				"include inc.conf\n" + // 4
				"nosuch,report ^x\n" + // 5
				"group ^never closed\n" + // 6
				"report ^y\n", // 7
			"inc.conf": "# included\n" +
				"report ^foo(?=bar)\n" + // 2
				"report ^(?<name>ok)\n", // 3
		},
		want: []string{
			"tenshi.conf:3: report '^sshd: (\\w+) logged in as \\1': backreference `\\1`",
			"inc.conf:2: report '^foo(?=bar)': lookahead `(?=`",
			"tenshi.conf:5: queue list \"nosuch,report\": queue \"nosuch\" is not defined",
			"tenshi.conf:6: group '^never closed': never closed with group_end: tenshi silently ignores an unclosed group, and tayori will not guess",
		},
	}, {
		name: "what tenshi rejects",
		files: map[string]string{
			"tenshi.conf": "set queue report tenshi@localhost root@localhost [now]\n" + // 1
				"report,trash ^a\n" + // 2
				"report:5,critical ^b\n" + // 3
				"group_end\n" + // 4
				"set threshold nosuch 5 ^c\n" + // 5
				"set threshold report 0 ^c\n" + // 6
				"set frobnicate on\n" + // 7
				"set sort_order random\n" + // 8
				"set queue trash tenshi@localhost root@localhost [now]\n" + // 9
				"just-a-word\n" + // 10
				"set queue late tenshi@localhost root@localhost [61 * * * *]\n" + // 11
				"repeat ^last message repeated\n" + // 12
				"set logprefix ^(?i)\\w+ \n" + // 13
				"set queue local tenshi root [now]\n", // 14
		},
		want: []string{
			"tenshi.conf:2: queue list \"report,trash\": builtin queue trash cannot be listed with other queues",
			"tenshi.conf:3: queue list \"report:5,critical\": the leftmost queue \"report\" cannot have an escalation number",
			"tenshi.conf:3: queue list \"report:5,critical\": queue \"critical\" is not defined",
			"tenshi.conf:4: group_end without an open group",
			"tenshi.conf:5: set threshold nosuch: queue nosuch is not defined",
			"tenshi.conf:6: set threshold report: count must be positive",
			"tenshi.conf:7: \"set frobnicate on\": not a set directive tenshi knows",
			"tenshi.conf:8: set sort_order \"random\": want ascending or descending",
			"tenshi.conf:9: set queue trash: a builtin queue cannot be defined",
			"tenshi.conf:10: \"just-a-word\": neither a directive nor a rule",
			"tenshi.conf:11: set queue late: schedule \"61 * * * *\"",
			"tenshi.conf:12: repeat '^last message repeated': a repeat rule needs a capturing group",
			"tenshi.conf:13: set logprefix '^(?i)\\w+ ': no capturing group",
			"tenshi.conf:14: set queue local: sender \"tenshi\"",
			"tenshi.conf:14: set queue local: recipient \"root\"",
			"tenshi.conf: no \"set mailserver\": tenshi refuses to start without one",
		},
	}, {
		name: "mailserver after an include",
		files: map[string]string{
			"tenshi.conf": "include inc.conf\nset mailserver localhost\n",
			"inc.conf":    "# nothing\n",
		},
		want: []string{"inc.conf: no \"set mailserver\" before the end of this included file"},
	}, {
		name: "include cycle and missing files",
		files: map[string]string{
			"tenshi.conf": "set mailserver localhost\ninclude tenshi.conf\ninclude missing.conf\nincludedir missing.d\n",
		},
		want: []string{
			"tenshi.conf:2: include cycle: tenshi.conf is already being read",
			"tenshi.conf:3: stat missing.conf: no such file or directory",
			"tenshi.conf:4: \"includedir missing.d\": open missing.d: no such file or directory",
		},
	}, {
		name: "what TOML cannot hold",
		files: map[string]string{
			"tenshi.conf": head + "report ^caf\xe9\n",
		},
		want: []string{"tenshi.conf:3: report '^caf\xe9': not valid UTF-8"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Chdir(dir) // tenshi reads relative includes from its working directory
			var buf bytes.Buffer
			err := ConvertTenshi("tenshi.conf", &buf)
			if buf.Len() > 0 {
				t.Errorf("wrote output despite errors:\n%s", buf.String())
			}
			errs, ok := err.(Errors)
			if !ok {
				t.Fatalf("got %T %v, want Errors", err, err)
			}
			if len(errs) != len(tc.want) {
				t.Errorf("%d errors, want %d:\n%v", len(errs), len(tc.want), err)
			}
			for i := 0; i < len(errs) && i < len(tc.want); i++ {
				if !strings.HasPrefix(errs[i].Error(), tc.want[i]) {
					t.Errorf("error %d:\n got %s\nwant %s...", i+1, errs[i], tc.want[i])
				}
			}
		})
	}
}

// TestConvertTenshiWithoutALine converts every test configuration with one of its lines left out:
// the converter either refuses it or converts it to a configuration that loads.
func TestConvertTenshiWithoutALine(t *testing.T) {
	confs, _ := filepath.Glob("testdata/tenshi/*.conf")
	dir := t.TempDir()
	converted, refused := 0, 0
	for _, conf := range confs {
		lines := strings.SplitAfter(readText(t, conf), "\n")
		for i := range lines {
			p := filepath.Join(dir, "tenshi.conf")
			text := strings.Join(lines[:i], "") + strings.Join(lines[i+1:], "")
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := ConvertTenshi(p, &buf); err != nil {
				refused++
				continue
			}
			converted++
			out := filepath.Join(dir, "tayori.toml")
			if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(out); err != nil {
				t.Errorf("%s without line %d: converted, but does not load: %v", conf, i+1, err)
			}
		}
	}
	t.Logf("%d converted, %d refused", converted, refused)
}

// FuzzConvertTenshi converts arbitrary text: conversion never panics, and what it converts loads, with
// patterns that all come from the text.
func FuzzConvertTenshi(f *testing.F) {
	confs, _ := filepath.Glob("testdata/tenshi/*.conf")
	for _, c := range confs {
		if b, err := os.ReadFile(c); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("set mailserver x\nset queue q a@b c@d [now] s\nq (a)'''\"\\\nq  \t\ngroup_host h\nq x\ngroup_end\n")
	f.Add("set mailserver x\nset mask\nset queue q a@b pager:c@d,pager:e@f [1 2 3 4 5]\nset threshold q 3 y\nset filter q /bin/x 'a b'\nq,q2:3 \x00\r\n")
	f.Fuzz(func(t *testing.T, text string) {
		dir := t.TempDir()
		// As it is, and behind a header that defines a mail server and a queue q for its rules.
		for i, text := range []string{text, "set mailserver localhost\nset queue q a@b c@d [now]\n" + text} {
			conf := filepath.Join(dir, "tenshi"+fmt.Sprint(i)+".conf")
			if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			err := ConvertTenshi(conf, &buf)
			if err != nil {
				if err.Error() == "" || buf.Len() > 0 {
					t.Fatalf("error %q with output %q", err, buf.String())
				}
				continue
			}
			out := filepath.Join(dir, "tayori.toml")
			if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(out)
			if err != nil {
				t.Fatalf("converted text does not load: %v\n--- tenshi\n%s\n--- tayori\n%s", err, text, buf.String())
			}
			for _, r := range cfg.Rules {
				if !strings.Contains(text, r.Pattern) && !strings.Contains(text, "include") {
					t.Fatalf("pattern %q is not in the input", r.Pattern)
				}
			}
		}
	})
}

func BenchmarkConvertTenshi(b *testing.B) {
	for _, conf := range []string{"testdata/tenshi/basic.conf", "testdata/tenshi/groups.conf"} {
		b.Run(filepath.Base(conf), func(b *testing.B) {
			for b.Loop() {
				if err := ConvertTenshi(conf, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
