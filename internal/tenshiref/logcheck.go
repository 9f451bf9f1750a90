package tenshiref

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// LogcheckDir is where Debian's logcheck-database installs the rule files.
const LogcheckDir = "/etc/logcheck"

// The syslog prefixes logcheck's rules start with, after "^": the time stamp
// (a BSD one, or either a BSD one or an RFC 3339 one with microseconds and
// offset, 32 characters), a space, the host.
var (
	logcheckStamps = []string{
		`(\w{3} [ :[:digit:]]{11}|[0-9T:.+-]{32})`,
		`(\w{3} [ :0-9]{11}|[0-9T:.+-]{32})`,
		`([[:alpha:]]{3} [ :[:digit:]]{11}|[0-9T:.+-]{32})`,
		`([[:alpha:]]{3} [ :0-9]{11}|[0-9T:.+-]{32})`,
		`\w{3} [ :[:digit:]]{11}`,
		`\w{3} [ :0-9]{11}`,
		`[[:alpha:]]{3} [ :[:digit:]]{11}`,
		`[[:alpha:]]{3} [ :0-9]{11}`,
	}
	logcheckHost = ` [._[:alnum:]-]+`
	// run-parts' default file name rule, which logcheck applies to rule files.
	reRunParts = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// Lines logcheck drops from rule files.
	reLogcheckBlank = regexp.MustCompile(`^[[:space:]]*$|^#`)
)

// LogcheckRules reads the logcheck rule files in dirs (for example
// /etc/logcheck/ignore.d.server) and turns each rule, a POSIX extended regular
// expression on the whole syslog line, into a regular expression on the part
// of the line that tenshi matches its rules against: the message after the
// prefix "Mmm dd hh:mm:ss host " (hidepid off, so "prog[pid]: " stays).
//
// The known time stamp and host forms are stripped; "host[[:space:]]+" (tenshi
// removes one space after the host) becomes "^[[:space:]]*". Rules without
// "^" match anywhere and are kept as they are. A backslash inside a bracket
// expression, literal in POSIX but an escape in Perl and RE2, is doubled;
// nothing else is changed. A rule is skipped, with the reason, if it does not
// start with a known prefix (exim's own log format, for instance), uses a
// back-reference or a GNU anchor (\` \' \< \>), or does not compile as RE2.
// Files are read in sorted order, only those whose names run-parts accepts
// (as logcheck does); blank lines and lines starting with "#" are not rules.
// A skipped entry reads "file:line: reason: rule".
func LogcheckRules(dirs ...string) (rules []string, skipped []string, err error) {
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("logcheck rules: %w", err)
		}
		for _, e := range entries { // sorted by name
			if !reRunParts.MatchString(e.Name()) {
				continue
			}
			path := filepath.Join(dir, e.Name())
			if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
				continue
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, nil, fmt.Errorf("logcheck rules: %w", err)
			}
			for n, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
				if reLogcheckBlank.MatchString(line) {
					continue
				}
				rule, reason := ConvertLogcheckRule(line)
				if reason != "" {
					skipped = append(skipped, fmt.Sprintf("%s:%d: %s: %s", path, n+1, reason, line))
					continue
				}
				rules = append(rules, rule)
			}
		}
	}
	return rules, skipped, nil
}

// ConvertLogcheckRule turns one logcheck rule into a rule on the message part
// of a line (see LogcheckRules). It returns the rule, or "" and the reason it
// cannot be converted.
func ConvertLogcheckRule(rule string) (converted, reason string) {
	rest, reason := stripLogcheckPrefix(rule)
	if reason != "" {
		return "", reason
	}
	rest, reason = posixToPerl(rest)
	if reason != "" {
		return "", reason
	}
	if _, err := regexp.Compile(rest); err != nil {
		return "", fmt.Sprintf("not valid RE2: %v", err)
	}
	return rest, ""
}

func stripLogcheckPrefix(rule string) (string, string) {
	_, rest, reason := logcheckPrefix(rule)
	return rest, reason
}

// logcheckPrefix splits an anchored rule into its syslog prefix form (the
// time stamp pattern, the host pattern and the separator) and the rest,
// anchored at the start of the message. An unanchored rule has no prefix.
func logcheckPrefix(rule string) (form, rest, reason string) {
	body, anchored := strings.CutPrefix(rule, "^")
	if !anchored {
		return "", rule, ""
	}
	for _, stamp := range logcheckStamps {
		after, ok := strings.CutPrefix(body, stamp+logcheckHost)
		if !ok {
			continue
		}
		if r, ok := strings.CutPrefix(after, " "); ok {
			return "^" + stamp + logcheckHost + " ", "^" + r, ""
		}
		if r, ok := strings.CutPrefix(after, "[[:space:]]+"); ok {
			return "^" + stamp + logcheckHost + "[[:space:]]+", "^[[:space:]]*" + r, ""
		}
	}
	return "", "", "no known syslog prefix"
}

// posixToPerl rewrites what POSIX and Perl/RE2 read differently, or says why
// it cannot.
func posixToPerl(re string) (string, string) {
	var out strings.Builder
	for i := 0; i < len(re); i++ {
		c := re[i]
		switch {
		case c == '\\' && i+1 < len(re):
			next := re[i+1]
			switch {
			case next >= '1' && next <= '9':
				return "", `back-reference \` + string(next) + " (RE2 has none)"
			case strings.IndexByte("`'<>", next) >= 0:
				return "", `GNU anchor \` + string(next) + " (a literal in Perl and RE2)"
			}
			out.WriteString(re[i : i+2])
			i++
		case c == '[':
			end := bracketEnd(re, i)
			if end < 0 {
				return "", "unterminated bracket expression"
			}
			out.WriteString(strings.ReplaceAll(re[i:end+1], `\`, `\\`))
			i = end
		default:
			out.WriteByte(c)
		}
	}
	return out.String(), ""
}

// bracketEnd returns the index of the "]" closing the POSIX bracket
// expression that starts at re[start], or -1.
func bracketEnd(re string, start int) int {
	i := start + 1
	if i < len(re) && re[i] == '^' {
		i++
	}
	if i < len(re) && re[i] == ']' { // a leading ] is literal
		i++
	}
	for i < len(re) {
		switch {
		case re[i] == ']':
			return i
		case re[i] == '[' && i+1 < len(re) && strings.IndexByte(":.=", re[i+1]) >= 0:
			closing := string(re[i+1]) + "]"
			j := strings.Index(re[i+2:], closing)
			if j < 0 {
				return -1
			}
			i += 2 + j + 2
		default:
			i++
		}
	}
	return -1
}
