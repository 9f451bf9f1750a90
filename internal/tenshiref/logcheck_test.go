package tenshiref

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
)

func TestConvertLogcheckRule(t *testing.T) {
	for _, tc := range []struct{ rule, want, reason string }{
		{
			rule: `^(\w{3} [ :[:digit:]]{11}|[0-9T:.+-]{32}) [._[:alnum:]-]+ sshd\[[[:digit:]]+\]: Server listening on [:[:xdigit:].]+ port [[:digit:]]{1,5}\.$`,
			want: `^sshd\[[[:digit:]]+\]: Server listening on [:[:xdigit:].]+ port [[:digit:]]{1,5}\.$`,
		},
		{
			rule: `^(\w{3} [ :0-9]{11}|[0-9T:.+-]{32}) [._[:alnum:]-]+ (/usr/bin/)?crontab\[[0-9]+\]: \([[:alnum:]-]+\) LIST \([[:alnum:]-]+\)$`,
			want: `^(/usr/bin/)?crontab\[[0-9]+\]: \([[:alnum:]-]+\) LIST \([[:alnum:]-]+\)$`,
		},
		{
			rule: `^([[:alpha:]]{3} [ :[:digit:]]{11}|[0-9T:.+-]{32}) [._[:alnum:]-]+ systemd\[[0-9]+\]: Finished .+\.$`,
			want: `^systemd\[[0-9]+\]: Finished .+\.$`,
		},
		{
			rule: `^\w{3} [ :[:digit:]]{11} [._[:alnum:]-]+ kernel: x$`,
			want: `^kernel: x$`,
		},
		{ // tenshi removes one space after the host
			rule: `^(\w{3} [ :0-9]{11}|[0-9T:.+-]{32}) [._[:alnum:]-]+[[:space:]]+: \(pam_unix\) session closed$`,
			want: `^[[:space:]]*: \(pam_unix\) session closed$`,
		},
		{ // unanchored: matches anywhere, on the message as on the line
			rule: `kernel: Oversized packet received from`,
			want: `kernel: Oversized packet received from`,
		},
		{ // POSIX: the backslash in brackets is literal
			rule: `^\w{3} [ :0-9]{11} [._[:alnum:]-]+ dhcpd: [\(\)._[:alnum:]-]+ x\.y [^]]+\]$`,
			want: `^dhcpd: [\\(\\)._[:alnum:]-]+ x\.y [^]]+\]$`,
		},
		{rule: `^[-0-9]{10} [0-9:]{8} [-[:alnum:]]+ Completed$`, reason: "no known syslog prefix"},
		{rule: `^\w{3} [ :0-9]{11} [._[:alnum:]-]+ p: (a+) \1$`, reason: "back-reference"},
		{rule: "^\\w{3} [ :0-9]{11} [._[:alnum:]-]+ snort: (\\`|\\\\+)-.*$", reason: "GNU anchor"},
		{rule: `^\w{3} [ :0-9]{11} [._[:alnum:]-]+ p: (a$`, reason: "not valid RE2"},
		{rule: `^\w{3} [ :0-9]{11} [._[:alnum:]-]+ p: [a$`, reason: "unterminated bracket"},
	} {
		got, reason := ConvertLogcheckRule(tc.rule)
		if got != tc.want || !strings.Contains(reason, tc.reason) || (tc.reason == "") != (reason == "") {
			t.Errorf("ConvertLogcheckRule(%q) =\n %q, %q\nwant\n %q, %q", tc.rule, got, reason, tc.want, tc.reason)
		}
	}
}

// requireLogcheck skips without logcheck-database, except in CI.
func requireLogcheck(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(LogcheckDir, "ignore.d.server")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("logcheck-database is required in CI: %v", err)
		}
		t.Skipf("logcheck-database not installed: %v", err)
	}
}

// logcheckDirs are the rule directories with syslog rules.
var logcheckDirs = []string{
	"cracking.d", "ignore.d.paranoid", "ignore.d.server", "ignore.d.workstation",
	"violations.d", "violations.ignore.d",
}

// TestLogcheckRules converts every rule of logcheck-database and checks each
// converted rule against a line built for it: grep -E matches the original
// on the whole line but not on the message alone (so the conversion removed
// what the original needs), Go's regexp matches the converted rule on the
// message, and the real tenshi, given all converted rules as trash rules,
// drops every line.
func TestLogcheckRules(t *testing.T) {
	requireLogcheck(t)
	type conv struct{ orig, rule, file string }
	var all []conv
	total, skippedTotal := 0, 0
	forms := map[string]int{} // prefix form -> rules
	for _, d := range logcheckDirs {
		dir := filepath.Join(LogcheckDir, d)
		rules, skipped, err := LogcheckRules(dir)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		files, originals := 0, 0
		var converted []string
		for _, e := range entries {
			if !reRunParts.MatchString(e.Name()) {
				continue
			}
			files++
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
				if reLogcheckBlank.MatchString(l) {
					continue
				}
				originals++
				form, _, reason := logcheckPrefix(l)
				switch {
				case reason != "":
					form = "(" + reason + ")"
				case form == "":
					form = "(unanchored)"
				}
				forms[form]++
				if c, reason := ConvertLogcheckRule(l); reason == "" {
					all = append(all, conv{l, c, e.Name()})
					converted = append(converted, c)
				}
			}
		}
		if strings.Join(rules, "\n") != strings.Join(converted, "\n") {
			t.Errorf("%s: LogcheckRules returned %d rules, converting each line gives %d (or another order)", d, len(rules), len(converted))
		}
		if originals != len(rules)+len(skipped) {
			t.Errorf("%s: %d rules in the files, %d converted + %d skipped", d, originals, len(rules), len(skipped))
		}
		t.Logf("%s: %d files, %d rules, %d converted, %d skipped", d, files, originals, len(rules), len(skipped))
		for _, s := range skipped {
			t.Logf("  skipped %s", strings.TrimPrefix(s, LogcheckDir+"/"))
		}
		total += originals
		skippedTotal += len(skipped)
	}
	t.Logf("total: %d rules, %d converted, %d skipped", total, len(all), skippedTotal)
	var formNames []string
	for f := range forms {
		formNames = append(formNames, f)
	}
	sort.Strings(formNames)
	for _, f := range formNames {
		t.Logf("prefix form %4d× %q", forms[f], f)
	}

	const prefix = "May  1 12:34:56 host1 "
	var lines []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, c := range all {
		msg, err := sampleMatch(c.rule)
		if err != nil {
			t.Errorf("%s: %q: %v", c.file, c.rule, err)
			continue
		}
		if !regexp.MustCompile(c.rule).MatchString(msg) {
			t.Errorf("%s: converted %q does not match its sample %q", c.file, c.rule, msg)
		}
		lines = append(lines, prefix+msg)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := grepE(c.orig, prefix+msg); err != nil {
				mu.Lock()
				t.Errorf("%s: grep -E original %q on %q: %v", c.file, c.orig, prefix+msg, err)
				mu.Unlock()
			}
			if strings.HasPrefix(c.orig, "^") && grepE(c.orig, msg) == nil {
				mu.Lock()
				t.Errorf("%s: grep -E original %q matches the bare message %q", c.file, c.orig, msg)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	t.Run("tenshi", func(t *testing.T) {
		Require(t)
		var conf strings.Builder
		conf.WriteString("set queue misc tenshi@localhost root@localhost [" + NeverSchedule + "]\n")
		for _, c := range all {
			conf.WriteString("trash " + c.rule + "\n")
		}
		conf.WriteString("misc .*\n")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		// The last line is caught by misc: the run itself is checked.
		input := strings.Join(lines, "\n") + "\nMay  1 12:34:57 host1 caught by misc\n"
		got, err := Run(ctx, conf.String(), []byte(input))
		if err != nil {
			t.Fatal(err)
		}
		want := Entry{"misc", "host1", "caught by misc", 1}
		if len(got) != 1 || got[0] != want {
			for _, e := range got {
				if e != want {
					t.Errorf("not dropped by any converted rule: %s", show(e))
				}
			}
			t.Errorf("got %d entries, want only %s", len(got), show(want))
		}
	})
}

// grepE runs grep -E with pattern on line, which must match.
func grepE(pattern, line string) error {
	cmd := exec.Command("grep", "-E", "-q", "-a", "-e", pattern)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Stdin = strings.NewReader(line + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%v %s", err, stderr.String())
	}
	return nil
}

// sampleMatch builds a string that the RE2 pattern matches: the first
// alternative, the fewest repetitions, a printable character from each class.
func sampleMatch(pattern string) (string, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := writeSample(&b, re); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeSample(b *strings.Builder, re *syntax.Regexp) error {
	switch re.Op {
	case syntax.OpNoMatch:
		return fmt.Errorf("matches nothing")
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
	case syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return fmt.Errorf("word boundary")
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		b.WriteRune(classSample(re.Rune))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('x')
	case syntax.OpCapture:
		return writeSample(b, re.Sub[0])
	case syntax.OpStar, syntax.OpQuest:
	case syntax.OpPlus:
		return writeSample(b, re.Sub[0])
	case syntax.OpRepeat:
		for i := 0; i < re.Min; i++ {
			if err := writeSample(b, re.Sub[0]); err != nil {
				return err
			}
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if err := writeSample(b, s); err != nil {
				return err
			}
		}
	case syntax.OpAlternate:
		return writeSample(b, re.Sub[0])
	default:
		return fmt.Errorf("op %v", re.Op)
	}
	return nil
}

// classSample picks a printable ASCII character from the class given as
// ranges, else a space, else its first character.
func classSample(ranges []rune) rune {
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1] && r < 0x7f; r++ {
			if r > ' ' && unicode.IsPrint(r) {
				return r
			}
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] <= ' ' && ' ' <= ranges[i+1] {
			return ' '
		}
	}
	return ranges[0]
}
