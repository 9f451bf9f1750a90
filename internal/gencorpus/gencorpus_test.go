package gencorpus

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tayori-dev/tayori/internal/tenshiref"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func generate(t testing.TB, o Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Generate(&b, o); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func withLines(o Options, lines int, seed int64) Options {
	o.Lines, o.Seed = lines, seed
	return o
}

// TestGolden pins the bytes a seed gives, so that a change of the generator
// that changes every corpus is seen.
func TestGolden(t *testing.T) {
	got := generate(t, withLines(Defaults(), 200, 42))
	golden := filepath.Join("testdata", "defaults-seed42.log")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("corpus for seed 42 differs from %s (run with -update if the change is intended)", golden)
	}
}

func TestDeterministic(t *testing.T) {
	o := withLines(Defaults(), 20000, 7)
	a, b := generate(t, o), generate(t, o)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different bytes")
	}
	o.Seed = 8
	if bytes.Equal(a, generate(t, o)) {
		t.Fatal("another seed, same bytes")
	}
	if n := bytes.Count(a, []byte("\n")); n != 20000 {
		t.Fatalf("%d lines, want 20000", n)
	}
}

var (
	// tenshi's own prefix pattern, with Perl's \s.
	reTenshiPrefix = regexp.MustCompile(`^[A-Z][a-z]{2}[\t\n\v\f\r ](?:[\t\n\v\f\r ]|\d)\d[\t\n\v\f\r ]\d{2}:\d{2}:\d{2}[\t\n\v\f\r ]([^\t\n\v\f\r ]+)[\t\n\v\f\r ]`)
	reBSD          = regexp.MustCompile(`^[A-Z][a-z]{2} [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9] [a-z]+[0-9]{2,} `)
	reRFC3339      = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}[+-][0-9]{2}:[0-9]{2} [a-z]+[0-9]{2,} [^ ]+: `)
	reMessage      = regexp.MustCompile(`^[^ \[:]+(\[[0-9]+\])?: `)
	reRepeat       = regexp.MustCompile(`^last message repeated [0-9]+ times$`)
	reRsyslog      = regexp.MustCompile(`^[^ \[:]+(\[[0-9]+\])?: message repeated [0-9]+ times: \[ .*\]$`)
)

// kinds counts the lines of each kind and fails on a line of no kind.
func kinds(t *testing.T, corpus []byte) map[string]int {
	t.Helper()
	unprefixed := map[string]bool{}
	for _, tm := range builtinUnprefixed() {
		unprefixed[strings.SplitN(tm.Message, "{", 2)[0]] = true
	}
	n := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(corpus))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case reBSD.MatchString(l):
			msg := l[reTenshiPrefix.FindStringIndex(l)[1]:]
			switch {
			case reRepeat.MatchString(msg):
				n["repeat"]++
			case reRsyslog.MatchString(msg):
				n["rsyslog"]++
			case reMessage.MatchString(msg):
				n["bsd"]++
			default:
				t.Errorf("BSD line with an odd message: %q", l)
			}
		case reRFC3339.MatchString(l):
			if stamp := strings.Fields(l)[0]; len(stamp) != 32 {
				t.Errorf("RFC 3339 stamp %q is not 32 characters, as logcheck's rules expect", stamp)
			}
			n["rfc3339"]++
		default:
			known := false
			for p := range unprefixed {
				if strings.HasPrefix(l, p) {
					known = true
				}
			}
			if !known {
				t.Errorf("line of no kind: %q", l)
			}
			n["unprefixed"]++
		}
	}
	return n
}

func TestKinds(t *testing.T) {
	const lines = 100_000
	t.Run("plain", func(t *testing.T) {
		n := kinds(t, generate(t, Options{Lines: lines, Seed: 1}))
		if n["bsd"] != lines {
			t.Errorf("plain corpus: %v, want %d BSD lines only", n, lines)
		}
	})
	t.Run("mix", func(t *testing.T) {
		o := withLines(Defaults(), lines, 1)
		o.RepeatRate, o.RsyslogRepeatRate, o.RFC3339Rate, o.UnprefixedRate = 0.01, 0.02, 0.03, 0.04
		n := kinds(t, generate(t, o))
		for kind, rate := range map[string]float64{"repeat": 0.01, "rsyslog": 0.02, "rfc3339": 0.03, "unprefixed": 0.04} {
			want := rate * lines
			if got := float64(n[kind]); got < 0.9*want || got > 1.1*want {
				t.Errorf("%s: %v lines, want about %v", kind, got, want)
			}
		}
		t.Logf("kinds: %v", n)
	})
}

// TestHostsAndTime checks the host names, the time stamps' order and the
// time zone of the RFC 3339 stamps.
func TestHostsAndTime(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	o := Options{Lines: 5000, Seed: 3, Hosts: 3, Start: time.Date(2024, 12, 31, 23, 0, 0, 0, jst), Interval: time.Second, RFC3339Rate: 0.5}
	corpus := generate(t, o)
	hosts := map[string]int{}
	var last time.Time
	sc := bufio.NewScanner(bytes.NewReader(corpus))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		var ts time.Time
		var err error
		if len(f[0]) == 32 {
			ts, err = time.Parse("2006-01-02T15:04:05.000000-07:00", f[0])
			if !strings.HasSuffix(f[0], "+09:00") {
				t.Errorf("stamp %q not in +09:00", f[0])
			}
			hosts[f[1]]++
		} else {
			year := 2024
			if f[0] == "Jan" {
				year = 2025
			}
			ts, err = time.ParseInLocation("2006 Jan _2 15:04:05", fmtYear(year)+" "+strings.Join(f[:3], " "), jst)
			hosts[f[3]]++
		}
		if err != nil {
			t.Fatal(err)
		}
		if ts.Truncate(time.Second).Before(last.Truncate(time.Second)) {
			t.Fatalf("time goes back: %v after %v", ts, last)
		}
		last = ts
	}
	if len(hosts) != 3 || hosts["web01"] == 0 || hosts["db01"] == 0 || hosts["mail01"] == 0 {
		t.Errorf("hosts = %v, want web01, db01, mail01", hosts)
	}
	if hosts["web01"] <= hosts["mail01"] {
		t.Errorf("hosts = %v: the first host should be the noisiest", hosts)
	}
	if end := o.Start.Add(time.Duration(o.Lines) * o.Interval); last.Before(end.Add(-10*time.Minute)) || last.After(end.Add(10*time.Minute)) {
		t.Errorf("last line at %v, want about %v", last, end)
	}
}

func fmtYear(y int) string { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006") }

// TestLogcheckLines checks that every routine line is one that logcheck
// ignores at its "server" report level (the rules of ignore.d.paranoid and
// ignore.d.server), matching on the message as tenshi and tayori see it.
func TestLogcheckLines(t *testing.T) {
	dirs := []string{filepath.Join(tenshiref.LogcheckDir, "ignore.d.paranoid"), filepath.Join(tenshiref.LogcheckDir, "ignore.d.server")}
	if _, err := os.Stat(dirs[1]); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("logcheck-database is required in CI: %v", err)
		}
		t.Skip(err)
	}
	rules, _, err := tenshiref.LogcheckRules(dirs...)
	if err != nil {
		t.Fatal(err)
	}
	res := make([]*regexp.Regexp, len(rules))
	for i, r := range rules {
		res[i] = regexp.MustCompile(r)
	}
	ignored := func(msg string) bool {
		for _, re := range res {
			if re.MatchString(msg) {
				return true
			}
		}
		return false
	}
	for _, tc := range []struct {
		rate float64
		min  float64 // fraction of lines logcheck must ignore
		max  float64
	}{
		{rate: 1, min: 1, max: 1},
		// logcheck also ignores many normal lines (failed ssh logins, for
		// one), but not all.
		{rate: 0, min: 0, max: 0.9},
	} {
		corpus := generate(t, Options{Lines: 3000, Seed: 5, LogcheckRate: tc.rate})
		lines := strings.Split(strings.TrimSuffix(string(corpus), "\n"), "\n")
		n := 0
		for _, l := range lines {
			msg := l[reTenshiPrefix.FindStringIndex(l)[1]:]
			if ignored(msg) {
				n++
			} else if tc.rate == 1 {
				t.Errorf("no logcheck rule matches %q", msg)
			}
		}
		frac := float64(n) / float64(len(lines))
		t.Logf("logcheck rate %v: logcheck ignores %.1f%% of the lines", tc.rate, 100*frac)
		if frac < tc.min || frac > tc.max {
			t.Errorf("logcheck rate %v: logcheck ignores %.3f of the lines, want [%v, %v]", tc.rate, frac, tc.min, tc.max)
		}
	}
}

// TestBoundedMemory checks that allocations do not grow with the corpus.
func TestBoundedMemory(t *testing.T) {
	allocs := func(lines int) float64 {
		return testing.AllocsPerRun(3, func() {
			if err := Generate(io.Discard, withLines(Defaults(), lines, 1)); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(1000), allocs(100_000)
	if large > small+50 {
		t.Errorf("%v allocations for 100000 lines, %v for 1000: memory grows with the corpus", large, small)
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n += len(p); w.n > 1<<20 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestErrors(t *testing.T) {
	if err := Generate(&failingWriter{}, withLines(Defaults(), 100_000, 1)); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("write error: got %v", err)
	}
	for _, o := range []Options{
		{Lines: -1},
		{Hosts: -1},
		{Interval: -time.Second},
		{RepeatRate: 1.5},
		{LogcheckRate: -0.1},
		{RFC3339Rate: 0.6, UnprefixedRate: 0.6},
		{Lines: 1, Templates: []Template{{Prog: "p", Message: "x", Weight: 0}}},
		{Lines: 1, Templates: []Template{{Prog: "p", Message: "{int:9-1}", Weight: 1}}},
		{Lines: 1, Templates: []Template{}},
	} {
		if err := Generate(io.Discard, o); err == nil {
			t.Errorf("Generate accepted %+v", o)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	for _, tc := range []struct{ msg, re string }{
		{"a {ip} b", `^a [0-9]+\.[0-9]+\.[0-9]+\.[0-9]+ b$`},
		{"{port}", `^[0-9]{4,5}$`},
		{"{int:5-7}", `^[5-7]$`},
		{"{dig:4}", `^[0-9]{4}$`},
		{"{hex:3}{HEX:2}", `^[0-9a-f]{3}[0-9A-F]{2}$`},
		{"{b64:43}", `^[0-9A-Za-z+/]{43}$`},
		{"{pick:x|y z}", `^(x|y z)$`},
		{"{user}@{host}", `^[a-z-]+@[a-z0-9.-]+$`},
		{"{{ip} {nope} {int:1} {", `^\{ip\} \{nope\} \{int:1\} \{$`},
	} {
		o := Options{Lines: 50, Seed: 1, Templates: []Template{{Prog: "p", PID: NoPID, Message: tc.msg, Weight: 1}}}
		if strings.Contains(tc.msg, "{int:1}") {
			if err := Generate(io.Discard, o); err == nil {
				t.Errorf("%q: {int:1} accepted", tc.msg)
			}
			o.Templates[0].Message = "{{ip} {nope} {int:1 {"
			tc.re = `^\{ip\} \{nope\} \{int:1 \{$`
		}
		re := regexp.MustCompile(tc.re)
		for _, l := range strings.Split(strings.TrimSuffix(string(generate(t, o)), "\n"), "\n") {
			msg := l[strings.Index(l, " p: ")+4:]
			if !re.MatchString(msg) {
				t.Errorf("%q gave %q, want %s", tc.msg, msg, tc.re)
			}
		}
	}
}

func TestParseSamples(t *testing.T) {
	in := strings.Join([]string{
		"Jan  3 10:00:00 h1 sshd[10]: Failed password for alice from 10.1.2.3 port 5000 ssh2",
		"Jan  3 10:00:01 h2 sshd[11]: Failed password for bob from 10.9.8.7 port 6000 ssh2",
		"Jan  3 10:00:02 h1 kernel: eth0: link {up} after 300 ms",
		"Jan  3 10:00:03 h1 su(pam_unix)[12]: session opened for user news by (uid=0)",
		"not syslog",
	}, "\n")
	got, err := ParseSamples(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Template{
		{"sshd", SessionPID, "Failed password for {user} from {ip} port {port} ssh2", 2},
		{"kernel", NoPID, "eth0: link {{up} after {dig:3} ms", 1},
		{"su(pam_unix)", SessionPID, "session opened for user {user} by (uid=0)", 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("template %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := ParseSamples(strings.NewReader("nothing\n")); err == nil {
		t.Error("no syslog line accepted")
	}
}

// TestLoghubSamples builds templates from loghub's samples when they are
// beside the repository (shared/corpus/loghub) and generates from them.
func TestLoghubSamples(t *testing.T) {
	var dir string
	for _, d := range []string{"../../../shared/corpus/loghub", "/work/shared/corpus/loghub"} {
		if _, err := os.Stat(filepath.Join(d, "OpenSSH_2k.log")); err == nil {
			dir = d
			break
		}
	}
	if dir == "" {
		t.Skip("loghub samples not found")
	}
	for _, name := range []string{"Linux_2k.log", "OpenSSH_2k.log"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		ts, err := ParseSamples(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		n := kinds(t, generate(t, Options{Lines: 2000, Seed: 1, Templates: ts}))
		t.Logf("%s: %d templates; generated %v", name, len(ts), n)
		// The samples hold repeat lines of their own.
		if n["bsd"]+n["repeat"]+n["rsyslog"] != 2000 {
			t.Errorf("%s: %v, want BSD lines only", name, n)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	o := withLines(Defaults(), 1_000_000, 1)
	var n countingWriter
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := Generate(&n, o); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(n) / int64(b.N))
}

type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
