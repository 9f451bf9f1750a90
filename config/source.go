package config

import (
	"regexp"
	"strings"
)

// sourceText locates things in a configuration file's text for error messages and --explain. The TOML
// decoder does not report positions, so tayori finds each rule's pattern in document order.
type sourceText struct {
	lines []string
}

func newSourceText(text string) *sourceText {
	return &sourceText{lines: strings.Split(text, "\n")}
}

var rulesHeader = regexp.MustCompile(`^\s*\[\[\s*rules(\s*\.\s*rules)*\s*\]\]`)

// header returns the line of the first rules table header after line start (1-based), or start.
func (s *sourceText) header(start int) int {
	for i := start; i < len(s.lines); i++ {
		if rulesHeader.MatchString(s.lines[i]) {
			return i + 1
		}
	}
	return start
}

// basicString escapes text as a TOML basic string ("...") spells it.
var basicString = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// find returns the first line after start (or, failing that, at start) that holds pattern as a TOML
// string spells it (quoted: a short pattern like 'x' must not be found inside other text), or the next
// rules header when pattern is empty or not found.
func (s *sourceText) find(pattern string, start int) int {
	if pattern != "" {
		escaped := basicString.Replace(pattern)
		forms := []string{"'" + pattern + "'", `"` + escaped + `"`}
		holds := func(i int, forms []string) bool {
			for _, f := range forms {
				if strings.Contains(s.lines[i], f) {
					return true
				}
			}
			return false
		}
		// Quoted first, then the bare text (multi-line strings); a later line first, then the
		// cursor's own line (several patterns on one line).
		for _, fs := range [][]string{forms, {pattern, escaped}} {
			for i := start; i < len(s.lines); i++ {
				if holds(i, fs) {
					return i + 1
				}
			}
			if start > 0 && start <= len(s.lines) && holds(start-1, fs) {
				return start
			}
		}
	}
	return s.header(start)
}

// keyIn returns the line of "key =" inside the table whose header is on line table, or table.
func (s *sourceText) keyIn(table int, key string) int {
	for i := table; i > 0 && i < len(s.lines); i++ {
		t := strings.TrimSpace(s.lines[i])
		if strings.HasPrefix(t, "[") {
			break
		}
		if rest, ok := strings.CutPrefix(t, key); ok && strings.HasPrefix(strings.TrimSpace(rest), "=") {
			return i + 1
		}
	}
	return table
}

// keyAfter returns the line of the first "key =" after the rules header that follows line start,
// or that header's line.
func (s *sourceText) keyAfter(key string, start int) int {
	h := s.header(start)
	for i := h; i < len(s.lines); i++ {
		if rulesHeader.MatchString(s.lines[i]) {
			break
		}
		t := strings.TrimSpace(s.lines[i])
		if rest, ok := strings.CutPrefix(t, key); ok && strings.HasPrefix(strings.TrimSpace(rest), "=") {
			return i + 1
		}
	}
	return h
}

// keyLine returns the line where a key ("sort") or table header ("[queues.report]") is written, or 0.
func (s *sourceText) keyLine(key string) int {
	for i, l := range s.lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(key, "[") {
			if strings.HasPrefix(strings.ReplaceAll(t, " ", ""), key) {
				return i + 1
			}
			continue
		}
		if rest, ok := strings.CutPrefix(t, key); ok && strings.HasPrefix(strings.TrimSpace(rest), "=") {
			return i + 1
		}
	}
	return 0
}
