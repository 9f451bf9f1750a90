package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tayori-dev/tayori/classify"
	"github.com/tayori-dev/tayori/queue"
)

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const queues = `
[queues.report]
from = "tayori@localhost"
to = "root@localhost"
schedule = "0 9 * * *"

[queues.critical]
from = "tayori@localhost"
to = ["root@localhost", "noc@example.org"]
schedule = "now"
subject = "CRITICAL"
`

func TestLoadFlattensBlocksInOrder(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "rules.d/20-b.toml", "[[rules]]\nqueue = \"report\"\nmatch = '^b'\n")
	write(t, dir, "rules.d/10-a.toml", "[[rules]]\nqueue = \"report\"\nmatch = '^a'\n[queues.extra]\nfrom = \"x@y\"\nto = \"z@y\"\nschedule = \"now\"\n")
	write(t, dir, "rules.d/notes.txt", "not a rules file")
	main := write(t, dir, "tayori.toml", `[settings]
mask = "#"
hide_pid = true
`+queues+`
[[rules]]
queue = "repeat"
match = '^last message repeated (\d+) times'

[[rules]]
host = '^mail'
group = '^postfix/'
  [[rules.rules]]
  queue = "trash"
  match = ['^postfix/smtpd: connect', '^postfix/smtpd: disconnect']
  [[rules.rules]]
  group = 'reject'
    [[rules.rules.rules]]
    queue = "report,critical:10"
    match = 'reject: (\S+)'

[[rules]]
include = "rules.d"

[[rules]]
queue = ["report", "critical"]
match = '^kernel: Oops'
`)
	c, err := Load(main)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		kind    classify.Kind
		pattern string
		targets string
		end     int
		line    int
		path    string
	}
	want := []row{
		{classify.Repeat, `^last message repeated (\d+) times`, "", 0, 18, "rules[1].match"},
		{classify.HostGroup, `^mail`, "", 7, 21, "rules[2].host"},
		{classify.Group, `^postfix/`, "", 7, 22, "rules[2].group"},
		{classify.Trash, `^postfix/smtpd: connect`, "", 0, 25, "rules[2].rules[1].match[1]"},
		{classify.Trash, `^postfix/smtpd: disconnect`, "", 0, 25, "rules[2].rules[1].match[2]"},
		{classify.Group, `reject`, "", 7, 27, "rules[2].rules[2].group"},
		{classify.Match, `reject: (\S+)`, "report,critical:10", 0, 30, "rules[2].rules[2].rules[1].match"},
		{classify.Match, `^a`, "report", 0, 3, "rules[1].match"},
		{classify.Match, `^b`, "report", 0, 3, "rules[1].match"},
		{classify.Match, `^kernel: Oops`, "report,critical", 0, 37, "rules[4].match"},
	}
	if len(c.Rules) != len(want) {
		t.Fatalf("%d rules, want %d: %+v", len(c.Rules), len(want), c.Rules)
	}
	for i, w := range want {
		r := c.Rules[i]
		got := row{r.Kind, r.Pattern, classify.TargetsString(r.Targets), r.End, r.Origin.Line, r.Origin.Path}
		if got != w {
			t.Errorf("rule %d: got %+v, want %+v", i, got, w)
		}
	}
	if !strings.HasSuffix(c.Rules[7].Origin.File, "10-a.toml") || !strings.HasSuffix(c.Rules[8].Origin.File, "20-b.toml") {
		t.Errorf("include order: %s, %s", c.Rules[7].Origin.File, c.Rules[8].Origin.File)
	}
	var names []string
	for _, q := range c.Queues {
		names = append(names, q.Name)
	}
	if strings.Join(names, ",") != "report,critical,extra" {
		t.Errorf("queues %v", names)
	}
	if c.Settings.Mask != "#" || !c.Settings.HidePID || c.Settings.Subject != DefaultSubject || c.Table == nil {
		t.Errorf("settings %+v", c.Settings)
	}
	if got := c.SubjectFor(c.Queue("critical")); got != "CRITICAL [critical]" {
		t.Errorf("subject %q", got)
	}
	if got := c.SubjectFor(c.Queue("report")); got != "tayori report [report]" {
		t.Errorf("subject %q", got)
	}
	if q := c.Queue("critical"); !q.Schedule.Now || len(q.To) != 2 {
		t.Errorf("critical %+v", q)
	}
}

func TestLoadReportsEveryErrorWithFileLineAndRule(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "more.toml", "[settings]\nmask = \"x\"\n[[rules]]\nqueue = \"report\"\nmatch = '(?<=a)b'\n")
	main := write(t, dir, "bad.toml", `[settings]
sort = "sideways"
`+queues+`
[queues.broken]
from = "not an address"
schedule = "61 * * * *"
thresholds = [ { count = 0, match = 'x(' } ]

[queues.repeat]
from = "a@b"
to = "c@d"
schedule = "now"

[[rules]]
queue = "nosuch"
match = '^a'

[[rules]]
queue = "report"
match = ['^ok', '(a)\1', 'unclosed(']

[[rules]]
queue = "report,critical:10,trash"
match = 'x'

[[rules]]
queue = "critical:5,report"
match = 'y'

[[rules]]
group = '^sshd'

[[rules]]
queue = "trash,report"
match = 'z'

[[rules]]
include = "more.toml"

[[rules]]
queue = "report"
mtach = 'typo'
`)
	_, err := Load(main)
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want Errors, got %v", err)
	}
	text := err.Error()
	for _, want := range []string{
		"bad.toml:2: settings.sort: want \"descending\" or \"ascending\", got \"sideways\"",
		"bad.toml:16: queues.broken: from \"not an address\"",
		"queues.broken: missing to",
		"queues.broken: schedule \"61 * * * *\"",
		"queues.broken.thresholds[1] 'x(': count must be a positive integer",
		"queues.broken.thresholds[1] 'x(': missing closing )",
		"queues.repeat: \"repeat\" is a builtin queue",
		"bad.toml:26: rules[1].queue: unknown queue \"nosuch\"",
		"bad.toml:31: rules[2].match[2] '(a)\\1': backreference `\\1`",
		"bad.toml:31: rules[2].match[3] 'unclosed(': missing closing )",
		"bad.toml:34: rules[3].queue: queue \"trash\" has no escalation number but follows one that has",
		"rules[4].queue: the leftmost queue \"critical\" cannot have an escalation number",
		"bad.toml:41: rules[5]: empty rules entry",
		"rules[6].queue: builtin queue \"trash\" cannot be listed with other queues",
		"more.toml:1: [settings]: only the main configuration file may have [settings]",
		"more.toml:5: rules[1].match '(?<=a)b': lookbehind",
		"unknown key \"rules.mtach\"",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
}

func TestLoadErrorsForBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"syntax.toml":  "[settings\nmask = 1\n",
		"type.toml":    "[settings]\nmask = 1\n",
		"cycle.toml":   "[[rules]]\ninclude = \"cycle.toml\"\n",
		"missing.toml": "[[rules]]\ninclude = \"nope.toml\"\n",
		"both.toml":    queues + "[[rules]]\nqueue = \"report\"\nmatch = 'a'\n[[rules.rules]]\nqueue = \"report\"\nmatch = 'b'\n",
	}
	wants := map[string]string{
		"syntax.toml":  "to end table name",
		"type.toml":    "type.toml",
		"cycle.toml":   "include cycle",
		"missing.toml": "nope.toml",
		"both.toml":    "one of match (with queue), rules or include",
	}
	for name, text := range cases {
		_, err := Load(write(t, dir, name, text))
		if err == nil || !strings.Contains(err.Error(), wants[name]) {
			t.Errorf("%s: got %v, want %q", name, err, wants[name])
		}
	}
	if _, err := Load(filepath.Join(dir, "absent.toml")); err == nil {
		t.Error("absent file accepted")
	}
}

func TestTrashDigestAndNoPrefixOptions(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "t.toml", queues+`
[queues.trash]
from = "a@b"
to = "c@d"
schedule = "0 8 * * mon"
[queues.noprefix]
from = "a@b"
to = "c@d"
schedule = "now"
[[rules]]
queue = "trash"
match = 'x'
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	o := c.ClassifyOptions()
	if !o.MaskTrash || !o.NoPrefix || !o.RsyslogRepeats || o.Mask != DefaultMask {
		t.Errorf("options %+v", o)
	}
	if specs := c.QueueSpecs(); len(specs) != 4 || specs[2].Name != queue.Trash {
		t.Errorf("specs %+v", specs)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(queues + "[[rules]]\nqueue = \"report\"\nmatch = ['a', '(b)']\n")
	f.Add("[[rules]]\ngroup = 'x'\n[[rules.rules]]\nqueue = \"trash\"\nmatch = 'y'\n")
	f.Add("[settings]\nprefixes = ['^(\\w+) ']\n[[rules]]\ninclude = \"*.toml\"\n")
	f.Add("[[rules]]\nqueue = \"a,b:1,c:2\"\nmatch = '\\1(?=x)'\n")
	f.Fuzz(func(t *testing.T, text string) {
		dir := t.TempDir()
		p := filepath.Join(dir, "f.toml")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(p)
		if err == nil && c.Table == nil {
			t.Fatal("loaded without a table")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}

func TestMailSettings(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(write(t, dir, "m.toml", `[mail]
server = "mx.example.org"
tls = "required"
ca_file = "/etc/tayori/ca.pem"
retry_min = "30s"
retry_max = "1h"
batch = "2s"
`))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Mail
	if m.Server != "mx.example.org:25" || m.TLS != "required" || m.CAFile != "/etc/tayori/ca.pem" ||
		m.RetryMin != 30*time.Second || m.RetryMax != time.Hour || m.Batch != 2*time.Second {
		t.Errorf("mail %+v", m)
	}
	d, err := Load(write(t, dir, "d.toml", ""))
	if err != nil {
		t.Fatal(err)
	}
	if d.Mail.RetryMin != 10*time.Second || d.Mail.RetryMax != 10*time.Minute || d.Sources.Rescan != time.Second {
		t.Errorf("defaults %+v %+v", d.Mail, d.Sources)
	}
}
