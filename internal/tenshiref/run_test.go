package tenshiref

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRun runs the real tenshi on a small configuration with a normal, a pager
// and the noprefix queue, and checks every entry it mails.
func TestRun(t *testing.T) {
	Require(t)
	conf, err := Normalize("testdata/run/tenshi.conf")
	if err != nil {
		t.Fatal(err)
	}
	long := "app[9]: " + strings.Repeat("x", 200_000)
	input := strings.Join([]string{
		"May  1 12:00:00 web01 sshd[101]: Failed password for root from 192.0.2.7 port 4022 ssh2",
		"May  1 12:00:01 web01 sshd[101]: Failed password for root from 192.0.2.8 port 4022 ssh2",
		"May  1 12:00:02 web01 last message repeated 3 times",
		"May  1 12:00:03 db01 CRON[2001]: (root) CMD (run-parts /etc/cron.hourly)",
		"May  1 12:00:04 db01 sshd[300]: Accepted publickey for alice from 198.51.100.4 port 5000 ssh2",
		"May  1 12:00:05 db01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls",
		"a line without a prefix",
		"May  1 12:00:06 .dotted kernel: starts a mail line with a dot",
		"May  1 12:00:06 .dotted sudo: pager line with a dot",
		"May  1 12:00:07 web01 app[9]: bad \xff\xfe bytes",
		"May  1 12:00:08 web01 app[9]: cr\rinside",
		"May  1 12:00:09 web01 " + long,
		"May  1 12:00:10 db01 app[9]: bad \xff\xfe bytes",
		"",
		"2024-05-01T12:00:11.123456+09:00 web01 app[9]: rfc3339 stamp",
		"May 1 12:00:12 web01 app[9]: day not padded",
		"May  1 12:00:14 web01 app[9]: trailing space ",
		"May  1 12:00:15\tweb01 app[9]: tab separated",
		"May  1 12:00:16 web01 app[9]: no final newline",
	}, "\n")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := Run(ctx, conf, []byte(input))
	if err != nil {
		t.Fatal(err)
	}
	const u = UnprefixedHost
	want := []Entry{
		{"critical", ".dotted", "sudo: pager line with a dot", 1},
		{"critical", "db01", "sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls", 1},
		// Two lines that differ only in the masked address, plus three repeats.
		{"critical", "web01", "sshd[101]: Failed password for root from ___ port 4022 ssh2", 5},
		{"noprefix", u, "", 1},
		// tenshi knows only the BSD time stamp with a two-character day.
		{"noprefix", u, "2024-05-01T12:00:11.123456+09:00 web01 app[9]: rfc3339 stamp", 1},
		{"noprefix", u, "May 1 12:00:12 web01 app[9]: day not padded", 1},
		{"noprefix", u, "a line without a prefix", 1},
		{"report", ".dotted", "kernel: starts a mail line with a dot", 1},
		{"report", ".dotted", "sudo: pager line with a dot", 1},
		{"report", "db01", "app[9]: bad \xff\xfe bytes", 1},
		{"report", "db01", "sshd[300]: Accepted publickey for ___ from 198.51.100.4 port 5000 ssh2", 1},
		{"report", "db01", "sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls", 1},
		{"report", "web01", "app[9]: bad \xff\xfe bytes", 1},
		{"report", "web01", "app[9]: cr\rinside", 1},
		{"report", "web01", "app[9]: no final newline", 1},
		// The prefix's separators are \s: a tab works.
		{"report", "web01", "app[9]: tab separated", 1},
		{"report", "web01", "app[9]: trailing space ", 1},
		{"report", "web01", long, 1},
	}
	Sort(want)
	compareEntries(t, got, want)
}

// compareEntries reports every difference between got and want.
func compareEntries(t *testing.T, got, want []Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d entries, want %d", len(got), len(want))
	}
	for i := 0; i < len(got) || i < len(want); i++ {
		var g, w Entry
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("entry %d:\n got  %s\n want %s", i, show(g), show(w))
		}
	}
}

func show(e Entry) string {
	line := e.Line
	if len(line) > 80 {
		line = line[:80] + "..."
	}
	return fmt.Sprintf("%s | %s | %q | %d", e.Queue, e.Host, line, e.Count)
}

// TestRunRejects checks that Run refuses a configuration that sets what it
// sets itself.
func TestRunRejects(t *testing.T) {
	for _, conf := range []string{
		"set logfile /var/log/syslog\n",
		"  set mailserver localhost\n",
		"set tail /usr/bin/tail -F\n",
		"include relative.conf\n",
	} {
		if _, err := Run(context.Background(), conf, nil); err == nil {
			t.Errorf("Run accepted %q", conf)
		}
	}
}

// TestRunFailsOnBadConfig checks that a tenshi that dies is reported with its
// message.
func TestRunFailsOnBadConfig(t *testing.T) {
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Run(ctx, "undefined_queue .*\n", []byte("May  1 12:00:00 h p: x\n"))
	if err == nil || !strings.Contains(err.Error(), "queue undefined_queue not defined") {
		t.Fatalf("err = %v, want tenshi's complaint about the undefined queue", err)
	}
}

// TestQuirks pins behaviours of tenshi that a reimplementation must match, or
// knowingly differ from, with a real run.
func TestQuirks(t *testing.T) {
	Require(t)
	conf := "set queue misc a@localhost b@localhost [" + NeverSchedule + "]\n" +
		"set queue other a@localhost b@localhost [" + NeverSchedule + "]\n" +
		"set queue noprefix a@localhost b@localhost [" + NeverSchedule + "]\n" +
		`repeat ^last message repeated (\d+) times
trash ^junk
misc ^nest (ba(r)) baz
misc ^opt (x)?y(z)
misc,other ^both
misc ^utf (.{2})!
misc ^vt\s(\S+)
misc .*
`
	input := strings.Join([]string{
		"May  1 00:00:00 h1 nest bar baz",
		"May  1 00:00:01 h2 last message repeated 4 times",
		"May  1 00:00:02 h2 first",
		"May  1 00:00:03 h2 junk line",
		"May  1 00:00:04 h2 last message repeated 3 times",
		"May  1 00:00:05 h3 opt yz",
		"May  1 00:00:06 h3 both",
		"May  1 00:00:07 h3 last message repeated 2 times",
		"May  1 00:00:08 h4 utf \u00e9!",
		"May  1 00:00:09 h4 vt\vx",
		"May  1 00:00:10 h4",
		"May  1 00:00:11 h4 ",
	}, "\n") + "\n"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := Run(ctx, conf, []byte(input))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		// Nested groups: the outer group is masked, then the inner one at
		// its old offset shifted by the first replacement.
		{"misc", "h1", "nest ___________ baz", 1},
		// A repeat with no earlier match for the host is lost; a trashed line
		// does not become the "last message": the repeat after it counts
		// for the line before.
		{"misc", "h2", "first", 4},
		// A repeat counts in every queue of the rule that matched last.
		{"misc", "h3", "both", 3},
		// A group that did not take part is not masked.
		{"misc", "h3", "opt y______", 1},
		// "host " with nothing after it is a prefixed, empty message.
		{"misc", "h4", "", 1},
		// Perl matches bytes: . is one byte of the two of U+00E9.
		{"misc", "h4", "utf ______!", 1},
		// Perl's \s includes the vertical tab; RE2's does not.
		{"misc", "h4", "vt\v______", 1},
		// The prefix needs white space after the host.
		{"noprefix", UnprefixedHost, "May  1 00:00:10 h4", 1},
		{"other", "h3", "both", 3},
	}
	compareEntries(t, got, want)
}

// TestRunDeadline checks that Run gives up, killing tenshi, when its context
// ends first.
func TestRunDeadline(t *testing.T) {
	Require(t)
	input := strings.Repeat("May  1 00:00:00 h1 a line\n", 200_000) // some 25 s of tenshi's work
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Run(ctx, "set queue misc a@localhost b@localhost ["+NeverSchedule+"]\nmisc .*\n", []byte(input))
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v after its deadline of 500ms", d)
	}
}
