package difftest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tayori-dev/tayori/internal/tenshiref"
)

// TestRandomTables compares tayori with tenshi on rule tables made at random (with fixed seeds) from the
// lines of the corpus they run on: literal runs, classes, captures, optional and case-insensitive
// parts, alternations, anchors, groups, host groups, trash, lists of queues and escalation, on both
// hidepid settings and three masks. They reach the paths of tayori's classifier that hand-written
// tables miss (the literal prefilter, its fast paths, group gating). Nested captures and repeat rules,
// where tayori differs on purpose, are never generated.
func TestRandomTables(t *testing.T) {
	tenshiref.Require(t)
	t.Parallel()
	const tables = 16
	for seed := uint64(1); seed <= tables; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			t.Parallel()
			c := generated(t, fmt.Sprintf("realistic-seed%d", 100+seed), realistic(2000, int64(100+seed)))
			r := rand.New(rand.NewPCG(seed, 0x7a7e))
			conf := randomTable(r, string(c.data))
			path := filepath.Join(t.TempDir(), "random.conf")
			if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			s := prepare(t, fmt.Sprintf("random-seed%d", seed), path)
			compareAll(t, s, []corpus{c}, nil)
			if t.Failed() {
				t.Logf("the table:\n%s", conf)
			}
		})
	}
}

var (
	reBSDPrefix = regexp.MustCompile(`^[A-Z][a-z]{2}\s(?:\s|\d)\d\s\d{2}:\d{2}:\d{2}\s(\S+)\s`)
	reHidePID   = regexp.MustCompile(`^(\S+)\[\d+\]: `)
	reToken     = regexp.MustCompile(`\S+|\s+`)
	reDigits    = regexp.MustCompile(`\d+`)
)

// randomTable writes a tenshi configuration whose rules are cut from the lines of corpus.
func randomTable(r *rand.Rand, corpus string) string {
	hidepid := r.IntN(2) == 0
	var msgs, hosts []string
	for _, line := range strings.Split(corpus, "\n") {
		m := reBSDPrefix.FindStringSubmatchIndex(line)
		if m == nil {
			continue
		}
		hosts = append(hosts, line[m[2]:m[3]])
		msg := line[m[1]:]
		if hidepid {
			msg = reHidePID.ReplaceAllString(msg, "$1: ")
		}
		msgs = append(msgs, msg)
	}
	pick := func(ss []string) string { return ss[r.IntN(len(ss))] }

	var b strings.Builder
	b.WriteString("set mailserver localhost\n")
	fmt.Fprintf(&b, "set hidepid %s\n", map[bool]string{true: "on", false: "off"}[hidepid])
	b.WriteString([]string{"", "set mask ___\n", "set mask\n"}[r.IntN(3)])
	for _, q := range []string{"report", "misc", "esc", "noprefix"} {
		fmt.Fprintf(&b, "set queue %s tenshi@localhost root@localhost [0 9 * * *]\n", q)
	}
	queues := []string{"report", "report", "report", "misc", "misc", "trash", "trash", "report,misc", "report,esc:3", "esc:4"}
	// open holds, per open group, how many rules it has left.
	var open []int
	for i := 0; i < 60; i++ {
		switch x := r.IntN(20); {
		case x == 0 && len(open) < 2:
			// A group on a program name.
			prog := strings.SplitN(pick(msgs), " ", 2)[0]
			fmt.Fprintf(&b, "group ^%s\n", regexp.QuoteMeta(prog))
			open = append(open, 1+r.IntN(5))
		case x == 1 && len(open) < 2:
			h := pick(hosts)
			fmt.Fprintf(&b, "group_host ^%s\n", regexp.QuoteMeta(strings.TrimRight(h, "0123456789")))
			open = append(open, 1+r.IntN(5))
		}
		fmt.Fprintf(&b, "%s %s\n", pick(queues), randomPattern(r, pick(msgs), pick(msgs)))
		for n := len(open); n > 0; n-- {
			if open[n-1]--; open[n-1] > 0 {
				break
			}
			b.WriteString("group_end\n")
			open = open[:n-1]
		}
	}
	for range open {
		b.WriteString("group_end\n")
	}
	if r.IntN(2) == 0 {
		b.WriteString("misc .\n")
	}
	return b.String()
}

// randomPattern cuts a run of tokens out of msg and writes a regex that matches it, with some tokens
// generalized; other is another message, for alternations.
func randomPattern(r *rand.Rand, msg, other string) string {
	toks := reToken.FindAllString(msg, -1)
	others := reToken.FindAllString(other, -1)
	if len(toks) == 0 {
		return "^$"
	}
	i := r.IntN(len(toks))
	if toks[i][0] == ' ' && i+1 < len(toks) {
		i++
	}
	j := min(len(toks), i+1+r.IntN(6))
	var p strings.Builder
	if i == 0 && r.IntN(10) < 7 {
		p.WriteString("^")
	} else if r.IntN(10) == 0 {
		p.WriteString(".*")
	}
	for k, tok := range toks[i:j] {
		if strings.TrimSpace(tok) == "" {
			if k == 0 && p.Len() == 0 {
				// tenshi takes the white space after the queue list as the separator.
				p.WriteString(`\s+`)
				continue
			}
			p.WriteString([]string{`\s+`, ` +`, regexp.QuoteMeta(tok), `[[:space:]]+`}[r.IntN(4)])
			continue
		}
		q := regexp.QuoteMeta(tok)
		x := r.IntN(20)
		if k == 0 || k == 1 && strings.TrimSpace(toks[i]) == "" {
			x = r.IntN(9) // the first word is literal: a pattern of classes only would take every line
		}
		switch {
		case x < 9:
			p.WriteString(q)
		case x < 12:
			p.WriteString(`(\S+)`)
		case x < 13:
			p.WriteString(`\S+`)
		case x < 15 && reDigits.MatchString(tok):
			repl := []string{`(\d+)`, `[0-9]+`, `\d{1,9}`}[r.IntN(3)]
			p.WriteString(reDigits.ReplaceAllLiteralString(q, repl))
		case x < 16:
			p.WriteString("(?i:" + regexp.QuoteMeta(randomCase(r, tok)) + ")")
		case x < 17:
			alt := others[r.IntN(len(others))]
			p.WriteString("(?:" + q + "|" + regexp.QuoteMeta(alt) + ")")
		case x < 18:
			p.WriteString("(" + q + ")?")
		case x < 19:
			p.WriteString(`[^ ]+`)
		default:
			p.WriteString(`(.*?)`)
		}
	}
	if j == len(toks) && r.IntN(2) == 0 {
		p.WriteString("$")
	}
	return p.String()
}

func randomCase(r *rand.Rand, s string) string {
	b := []byte(s)
	for i, c := range b {
		if r.IntN(2) == 0 {
			switch {
			case c >= 'a' && c <= 'z':
				b[i] = c - 'a' + 'A'
			case c >= 'A' && c <= 'Z':
				b[i] = c - 'A' + 'a'
			}
		}
	}
	return string(b)
}
