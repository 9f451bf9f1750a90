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

// find returns the first line at or after start that holds pattern as a TOML string would spell it,
// or the next rules header when pattern is empty or not found.
func (s *sourceText) find(pattern string, start int) int {
	if pattern != "" {
		escaped := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(pattern)
		holds := func(i int) bool {
			return strings.Contains(s.lines[i], pattern) || strings.Contains(s.lines[i], escaped)
		}
		// Prefer a later line; the cursor's own line comes last (several patterns on one line).
		for i := start; i < len(s.lines); i++ {
			if holds(i) {
				return i + 1
			}
		}
		if start > 0 && start <= len(s.lines) && holds(start-1) {
			return start
		}
	}
	return s.header(start)
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
