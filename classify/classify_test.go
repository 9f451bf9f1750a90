package classify

import (
	"errors"
	"strings"
	"testing"
)

func rule(kind Kind, pattern string, queues ...string) Rule {
	r := Rule{Kind: kind, Pattern: pattern}
	for _, q := range queues {
		ts, err := ParseTargets(q)
		if err != nil {
			panic(err)
		}
		r.Targets = append(r.Targets, ts...)
	}
	return r
}

func mustTable(t *testing.T, rules []Rule, o Options) *Table {
	t.Helper()
	tb, err := New(rules, o)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestPrefixes(t *testing.T) {
	tb := mustTable(t, []Rule{rule(Match, `.*`, "q")}, Options{Mask: "_", NoPrefix: true,
		Prefixes: []string{`^\[\w{3} \w{3} \d\d [\d:]{8} \d{4}\] \[(\w+)\] `, `^nohost: `}})
	tests := []struct {
		line, host, text string
		out              Outcome
	}{
		{"Jun 14 15:16:01 combo sshd[1]: hi", "combo", "sshd[1]: hi", Matched},
		{"Jun  4 05:06:07 h x", "h", "x", Matched},
		{"Jun\t 4 05:06:07 h\tx", "h", "x", Matched},                                        // \s is any whitespace
		{"Jun 14 15:16:01 combo", "[unprefixed logs]", "Jun 14 15:16:01 combo", Unprefixed}, // host needs a following space
		{"jun 14 15:16:01 combo x", "[unprefixed logs]", "jun 14 15:16:01 combo x", Unprefixed},
		{"2024-05-01T12:00:00.123456+09:00 web1 nginx: up", "web1", "nginx: up", Matched},
		{"2024-05-01T12:00:00Z web1 nginx: up", "web1", "nginx: up", Matched},
		{"2024-05-01T12:00:00 web1 nginx: up", "[unprefixed logs]", "2024-05-01T12:00:00 web1 nginx: up", Unprefixed},
		{"[Sun Dec 04 04:47:44 2005] [error] mod_jk child", "error", "mod_jk child", Matched},
		{"nohost: x", "", "", Dropped}, // a custom prefix without a host group drops the line, as tenshi does
		{"", "[unprefixed logs]", "", Unprefixed},
	}
	var d Decision
	for _, tt := range tests {
		tb.Classify([]byte(tt.line), &d)
		if d.Outcome != tt.out || string(d.Host) != tt.host || (tt.out != Dropped && string(d.Text) != tt.text) {
			t.Errorf("%q: got %v host %q text %q, want %v host %q text %q", tt.line, d.Outcome, d.Host, d.Text, tt.out, tt.host, tt.text)
		}
	}
}

func TestNoPrefixQueueAbsentDrops(t *testing.T) {
	tb := mustTable(t, []Rule{rule(Match, `.*`, "q")}, Options{})
	var d Decision
	tb.Classify([]byte("no prefix here"), &d)
	if d.Outcome != Dropped {
		t.Fatalf("got %v, want dropped", d.Outcome)
	}
}

func TestHidePID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sshd[123]: Accepted", "sshd: Accepted"},
		{"sshd(pam_unix)[19939]: check pass", "sshd(pam_unix): check pass"},
		{"foo[1]bar[22]: x", "foo[1]bar: x"},
		{"sshd[12a]: x", "sshd[12a]: x"},
		{"sshd[]: x", "sshd[]: x"},
		{"[12]: x", "[12]: x"},     // \S+ needs one character before the bracket
		{"a[12]:\tx", "a[12]:\tx"}, // ": " must be a space
		{"a[12]:x y", "a[12]:x y"}, // the brackets end the first word
		{"kernel: [1.2] x", "kernel: [1.2] x"},
	}
	for _, tt := range tests {
		got, ok := hidePID(nil, []byte(tt.in))
		if !ok {
			got = []byte(tt.in)
		}
		if string(got) != tt.want {
			t.Errorf("hidePID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMasking(t *testing.T) {
	tests := []struct {
		pattern, msg, mask, want string
	}{
		{`^sshd: Invalid user (\S+) from (\S+)`, "sshd: Invalid user bob from 1.2.3.4", "___", "sshd: Invalid user ___ from ___"},
		{`^a(?:b)(c)`, "abcd", "_", "ab_d"},                          // (?:…) is never masked
		{`x(a(b)c)y`, "xabcy", "___", "x___y"},                       // nested: outermost span once
		{`foo(\d*)bar`, "foobar", "___", "foo___bar"},                // empty group inserts the mask
		{`(a)|(b)`, "b", "#", "#"},                                   // non-participating group ignored
		{`^(?:(x)|(y))+$`, "yx", "_", "__"},                          // captures of earlier iterations stay, as in Perl
		{`^(?:(x)+)$`, "xxx", "_", "xx_"},                            // a repeated group keeps its last iteration
		{`(\d+) and (\d+)`, "1 and 22 and 333", "", " and  and 333"}, // empty mask
		{`(é+)`, "café!", "*", "caf*!"},
	}
	var d Decision
	for _, tt := range tests {
		tb := mustTable(t, []Rule{rule(Match, tt.pattern, "q")}, Options{Mask: tt.mask})
		tb.Classify([]byte("Jan  1 00:00:00 h "+tt.msg), &d)
		if d.Outcome != Matched || string(d.Text) != tt.want {
			t.Errorf("%q on %q: got %v %q, want %q", tt.pattern, tt.msg, d.Outcome, d.Text, tt.want)
		}
	}
}

func TestOrderGroupsAndHostGroups(t *testing.T) {
	rules := []Rule{
		rule(Repeat, `^last message repeated (\d+) times`),
		{Kind: HostGroup, Pattern: `^mail\d+$`, End: 4},
		rule(Trash, `^sendmail: noise`),
		rule(Match, `^sendmail`, "mail"),
		{Kind: Group, Pattern: `^sshd: `, End: 8},
		{Kind: Group, Pattern: `Failed`, End: 7},
		rule(Match, `Failed password for (\S+)`, "report"),
		rule(Match, `Accepted`, "report,audit:3"),
		rule(Match, `.`, "misc"),
	}
	tb := mustTable(t, rules, Options{Mask: "_", HidePID: true})
	tests := []struct {
		line  string
		out   Outcome
		rule  int
		text  string
		count int
	}{
		{"Jan  1 00:00:00 mail1 sendmail[3]: noise", Trashed, 2, "sendmail: noise", 1},
		{"Jan  1 00:00:00 mail1 sendmail[3]: sent", Matched, 3, "sendmail: sent", 1},
		{"Jan  1 00:00:00 www sendmail[3]: sent", Matched, 8, "sendmail: sent", 1}, // host group skipped
		{"Jan  1 00:00:00 www sshd[9]: Failed password for root", Matched, 6, "sshd: Failed password for _", 1},
		{"Jan  1 00:00:00 www sshd[9]: Failed publickey", Matched, 8, "sshd: Failed publickey", 1}, // inner group fell through
		{"Jan  1 00:00:00 www sshd[9]: Accepted", Matched, 7, "sshd: Accepted", 1},
		{"Jan  1 00:00:00 www sshd[9]: other", Matched, 8, "sshd: other", 1},
		{"Jan  1 00:00:00 www last message repeated 12 times", Repeated, 0, "", 12},
		{"Jan  1 00:00:00 www ", Unmatched, -1, "", 1},
	}
	var d Decision
	for _, tt := range tests {
		tb.Classify([]byte(tt.line), &d)
		if d.Outcome != tt.out || d.Rule != tt.rule || d.Count != tt.count || (tt.text != "" && string(d.Text) != tt.text) {
			t.Errorf("%q: got %v rule %d count %d text %q; want %v rule %d count %d text %q",
				tt.line, d.Outcome, d.Rule, d.Count, d.Text, tt.out, tt.rule, tt.count, tt.text)
		}
	}
}

func TestRsyslogRepeat(t *testing.T) {
	tb := mustTable(t, []Rule{rule(Match, `^sshd: Failed password for (\S+)`, "q")},
		Options{Mask: "_", HidePID: true, RsyslogRepeats: true})
	tests := []struct {
		msg   string
		out   Outcome
		text  string
		count int
	}{
		{"sshd[7]: message repeated 3 times: [ Failed password for root]", Matched, "sshd: Failed password for _", 3},
		{"sshd[7]: message repeated 3 times: [Failed password for root]", Matched, "sshd: Failed password for _", 3},
		{"sshd[7]: message repeated 3 times: [ Failed password for root]\r", Matched, "sshd: Failed password for _", 3},
		{"sshd[7]: message repeated 3 times: [", Unmatched, "", 1},
		{"sshd[7]: message repeated 0 times: [ Failed password for root]", Unmatched, "", 1},
		{"sshd[7]: message repeated 3 times: [ Failed password for root", Unmatched, "", 1}, // unclosed
		{"sshd[7]: Failed password for message repeated 3 times: [ x]", Matched, "sshd: Failed password for _ repeated 3 times: [ x]", 1},
	}
	var d Decision
	for _, tt := range tests {
		tb.Classify([]byte("Jan  1 00:00:00 h "+tt.msg), &d)
		if d.Outcome != tt.out || d.Count != tt.count || (tt.text != "" && string(d.Text) != tt.text) {
			t.Errorf("%q: got %v count %d text %q, want %v %d %q", tt.msg, d.Outcome, d.Count, d.Text, tt.out, tt.count, tt.text)
		}
	}
	off := mustTable(t, []Rule{rule(Match, `^sshd: (.*)`, "q")}, Options{Mask: "_", HidePID: true})
	off.Classify([]byte("Jan  1 00:00:00 h sshd[7]: message repeated 3 times: [ x]"), &d)
	if d.Count != 1 || string(d.Text) != "sshd: _" {
		t.Errorf("with rsyslog_repeats off: count %d text %q", d.Count, d.Text)
	}
}

func TestPerlOnlyConstructsRefused(t *testing.T) {
	refused := map[string]string{
		`(a)\1`:        "backreference",
		`foo(?=bar)`:   "lookahead",
		`foo(?!bar)`:   "negative lookahead",
		`(?<=a)b`:      "lookbehind",
		`(?<!a)b`:      "negative lookbehind",
		`(?>a+)b`:      "atomic group",
		`a++`:          "possessive quantifier",
		`a{2,3}+`:      "possessive quantifier",
		`\d*+x`:        "possessive quantifier",
		`a\Z`:          "end-or-before-final-newline",
		`\Gfoo`:        "end-of-previous-match",
		`foo\Kbar`:     "keep-out",
		`(?x) a b`:     "extended-mode flag x",
		`(?(1)a|b)`:    "conditional",
		`(?R)`:         "recursion",
		`x{,3}`:        "no lower bound",
		`(?#comment)x`: "comment group",
		`(a)\g1`:       "backreference",
		`(?<n>a)\k<n>`: "backreference",
		`(*FAIL)`:      "control verb",
	}
	for p, name := range refused {
		_, err := Compile(p)
		var pe *PerlOnlyError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), name) {
			t.Errorf("Compile(%q) = %v, want a Perl-only error naming %q", p, err, name)
		}
	}
	accepted := []string{`\\1`, `[(?=]`, `a{2,}`, `a{,`, `\Q(?=\E`, `(?i)abc`, `(?P<x>a)`, `(?<x>a)`, `[]a]+`,
		`[[:alpha:]]+`, `x+?`, `(?:a)`, `a{2}`, `\(?=`, `[^]?=]`}
	for _, p := range accepted {
		if _, err := Compile(p); err != nil {
			t.Errorf("Compile(%q) = %v, want ok", p, err)
		}
	}
	if _, err := Compile(`a(b`); err == nil || !strings.Contains(err.Error(), "missing closing )") {
		t.Errorf("unbalanced paren: %v", err)
	}
}

func TestPerlSpace(t *testing.T) {
	tests := map[string]string{
		`a\sb`:          `a[\t\n\v\f\r ]b`,
		`(\S+)`:         `([^\t\n\v\f\r ]+)`,
		`[\s,]`:         `[\t\n\v\f\r ,]`,
		`[^\s]`:         `[^\t\n\v\f\r ]`,
		`[]\s]`:         `[]\t\n\v\f\r ]`,
		`[[:alpha:]\s]`: `[[:alpha:]\t\n\v\f\r ]`,
		`\\s`:           `\\s`,
		`\Q\s\E\s`:      `\Q\s\E[\t\n\v\f\r ]`,
		`no spaces`:     `no spaces`,
	}
	for in, want := range tests {
		if got := perlSpace(in); got != want {
			t.Errorf("perlSpace(%q) = %q, want %q", in, got, want)
		}
	}
	re, err := Compile(`^s\s(\S+)$`)
	if err != nil || !re.MatchString("s\vab") || re.MatchString("s a\vb") {
		t.Errorf("\\s and \\S do not follow Perl on a vertical tab: %v", err)
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	rules := []Rule{
		rule(Match, `(a)\1`, "q"),
		{Kind: Match, Pattern: `ok`, Targets: []Target{{"a", 5}, {"b", 0}}},
		{Kind: Repeat, Pattern: `no group`},
		{Kind: Group, Pattern: `g`, End: 0},
		rule(Match, `fine`, "q"),
	}
	_, err := New(rules, Options{Prefixes: []string{`(?=x)`}})
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	for _, want := range []string{"backreference", "leftmost queue", "capturing group", "group end", "prefix 1", "lookahead"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

func TestParseTargets(t *testing.T) {
	good := map[string]string{"a": "a", "a,b:10,c:50": "a,b:10,c:50", "x:5": "x:5", " a , b:2": "a,b:2", "a,b:10,c:10": "a,b:10,c:10"}
	for in, want := range good {
		ts, err := ParseTargets(in)
		if err != nil || TargetsString(ts) != want {
			t.Errorf("ParseTargets(%q) = %v, %v; want %s", in, TargetsString(ts), err, want)
		}
	}
	for _, bad := range []string{"", "a,", "a:0", "a:-1", "a:x", "a:5,b", "a:5,b:10", "a,b:10,c:5", "a,a", "a,b:01"} {
		if _, err := ParseTargets(bad); err == nil {
			t.Errorf("ParseTargets(%q) accepted", bad)
		}
	}
}

func TestHostileLines(t *testing.T) {
	tb := mustTable(t, []Rule{rule(Match, `^(\S+) (.*)$`, "q")}, Options{Mask: "_", HidePID: true, RsyslogRepeats: true, NoPrefix: true})
	big := strings.Repeat("x", 1<<20)
	lines := []string{
		"Jan  1 00:00:00 h " + big,
		"Jan  1 00:00:00 h \xff\xfe\x00 binary \x01\x02",
		"\xff\xff\xff",
		"Jan  1 00:00:00 h a[1]: message repeated 99999999999999999999 times: [ x]",
		"Jan  1 00:00:00 " + big,
	}
	var d Decision
	for _, l := range lines {
		tb.Classify([]byte(l), &d) // must not panic
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; rhost=218.188.2.4",
		"2024-05-01T12:00:00.123456+09:00 web1 nginx[1]: message repeated 3 times: [ x]",
		"Jan  1 00:00:00 h last message repeated 5 times",
		"\xff\x00junk",
	} {
		f.Add([]byte(s))
	}
	tb, err := New([]Rule{
		rule(Repeat, `^last message repeated (\d+) times`),
		{Kind: Group, Pattern: `^sshd`, End: 3},
		rule(Match, `(\S+)=(\S*)`, "a,b:2,c:3"),
		rule(Trash, `^(x)+`),
		rule(Match, `(?:(a)|(b))+(.*)`, "a"),
	}, Options{Mask: "___", HidePID: true, RsyslogRepeats: true, NoPrefix: true, MaskTrash: true,
		Prefixes: []string{`^<(\w+)> `, `^(?:x)`}})
	if err != nil {
		f.Fatal(err)
	}
	w := newWalks(tb)
	f.Fuzz(func(t *testing.T, line []byte) {
		var d Decision
		tb.Classify(line, &d)
		if d.Outcome == Matched && d.Rule < 0 {
			t.Fatalf("matched without a rule: %q", line)
		}
		w.agree(t, line) // the set DFA, the prefiltered walk and the linear walk decide alike
	})
}
