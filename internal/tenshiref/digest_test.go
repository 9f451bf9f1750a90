package tenshiref

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
)

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

const header = "From: tenshi@localhost\nTo: root@localhost\nDate: Wed, 01 May 2024 12:00:00 +0000\nX-tenshi-version: 0.13\n"

func TestParseMail(t *testing.T) {
	pager := map[string]bool{"page": true}
	for _, tc := range []struct {
		name string
		mail string
		want []Entry
		err  string
	}{
		{
			name: "normal",
			mail: header + "Subject: tenshi report [misc]\n\n*** Status: terminating ***\n\nweb01: \n    12: sshd[1]: x: y\n    1: \n\n.dotted: \n    3: kernel: z\n",
			want: []Entry{
				{"misc", "web01", "sshd[1]: x: y", 12},
				{"misc", "web01", "", 1},
				{"misc", ".dotted", "kernel: z", 3},
			},
		},
		{
			name: "too many alerts",
			mail: header + "Subject: a [b] c [q]\n\n*** Status: terminating ***\n\nh: \n    2: a\n\n  *** Too many alerts (limit: 1)  ***\n\nh2: \n    1: b\n",
			want: []Entry{{"q", "h", "a", 2}, {"q", "h2", "b", 1}},
		},
		{
			name: "unprefixed host",
			mail: header + "Subject: s [noprefix]\n\n*** Status: terminating ***\n\n[unprefixed logs]: \n    1: raw line\n",
			want: []Entry{{"noprefix", UnprefixedHost, "raw line", 1}},
		},
		{
			name: "pager",
			mail: header + "Subject: alert [page]\n\nweb01,5,sshd[1]: a,b,7,c\n[unprefixed logs],1,x\n",
			want: []Entry{{"page", "web01", "sshd[1]: a,b,7,c", 5}, {"page", UnprefixedHost, "x", 1}},
		},
		{
			name: "bare CR stays",
			mail: header + "Subject: s [q]\n\n*** Status: terminating ***\n\nh: \n    1: a\rb\n",
			want: []Entry{{"q", "h", "a\rb", 1}},
		},
		{name: "no subject", mail: header + "\n\nh: \n", err: "does not end with [queue]"},
		{name: "entry before host", mail: header + "Subject: s [q]\n\n    1: a\n", err: "after a host"},
		{name: "bad entry", mail: header + "Subject: s [q]\n\n\nh: \n  1: a\n", err: "COUNT: LINE"},
		{name: "bad pager line", mail: header + "Subject: s [page]\n\nh;1;a\n", err: "HOST,COUNT,LINE"},
		{name: "no host header", mail: header + "Subject: s [q]\n\n\nh:\n", err: "host header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMail(crlf(tc.mail), pager)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("entry %d: got %s, want %s", i, show(got[i]), show(tc.want[i]))
				}
			}
		})
	}
}

func TestMerge(t *testing.T) {
	got := Merge([]Entry{{"q", "h", "b", 1}, {"q", "h", "a", 2}, {"q", "h", "b", 3}, {"p", "h", "b", 1}})
	want := []Entry{{"p", "h", "b", 1}, {"q", "h", "a", 2}, {"q", "h", "b", 4}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("got %v, want %v", got, want)
		}
	}
}

// TestWatcher finds the marker when reads cut it anywhere, and keeps what
// follows it.
func TestWatcher(t *testing.T) {
	out := "\x1b[37m[MAIN]  got message: a\n\x1b[0m\x1b[37m[MAIN]  got message: S\n\x1b[0m" +
		"\x1b[31m[QUEUE] flushing queue misc\n\x1b[0m\x1b[31m[ERROR] could not contact x\n\x1b[0m"
	w := newWatcher([]byte("got message: S\n"))
	w.run(iotest.OneByteReader(strings.NewReader(out)))
	select {
	case <-w.seen:
	default:
		t.Fatal("marker not seen")
	}
	if !bytes.HasPrefix(w.after.Bytes(), []byte("got message: S\n")) {
		t.Errorf("after = %q", w.after.Bytes())
	}
	flushed, errs := flushReport(w.after.Bytes())
	if flushed != 1 || len(errs) != 1 || string(errs[0]) != "[ERROR] could not contact x" {
		t.Errorf("flushReport = %d, %q", flushed, errs)
	}

	w = newWatcher([]byte("got message: T\n"))
	w.run(strings.NewReader(out))
	select {
	case <-w.seen:
		t.Fatal("marker seen in output without it")
	default:
	}
}
