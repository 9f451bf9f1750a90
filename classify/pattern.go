package classify

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// PerlOnlyError reports a Perl regex construct that RE2 cannot express. tayori refuses such a pattern
// rather than change its meaning.
type PerlOnlyError struct {
	Construct string // as written, e.g. `\1` or `(?=`
	Name      string // what it is, e.g. "backreference"
	Offset    int    // byte offset in the pattern
}

func (e *PerlOnlyError) Error() string {
	return fmt.Sprintf("%s %s at offset %d is Perl-only: RE2 (Go's regexp) cannot express it", e.Name, "`"+e.Construct+"`", e.Offset)
}

// Compile compiles a rule pattern with Go's RE2 syntax. Perl-only constructs (backreferences,
// lookaround, atomic groups, possessive quantifiers, recursion, conditionals, \G \K \Z, `{,n}` …) are
// refused with a *PerlOnlyError naming the construct; other syntax errors are returned as Go reports them.
func Compile(pattern string) (*regexp.Regexp, error) {
	if e := findPerlOnly(pattern); e != nil {
		return nil, e
	}
	re, err := regexp.Compile(perlSpace(pattern))
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%s: %s", se.Code, "`"+se.Expr+"`")
		}
		return nil, err
	}
	return re, nil
}

// perlSpace gives \s and \S Perl's meaning: Perl's \s includes the vertical tab, RE2's does not.
// Outside a class \s becomes [\t\n\v\f\r ] and \S [^\t\n\v\f\r ]; inside one, \s becomes
// \t\n\v\f\r and space (a \S inside a class keeps RE2's meaning: it cannot be spelled there).
func perlSpace(p string) string {
	if !strings.Contains(p, `\s`) && !strings.Contains(p, `\S`) {
		return p
	}
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			n := p[i+1]
			switch {
			case n == 's' && inClass:
				b.WriteString(`\t\n\v\f\r `)
			case n == 's':
				b.WriteString(`[\t\n\v\f\r ]`)
			case n == 'S' && !inClass:
				b.WriteString(`[^\t\n\v\f\r ]`)
			case n == 'Q':
				end := strings.Index(p[i+2:], `\E`)
				if end < 0 {
					b.WriteString(p[i:])
					return b.String()
				}
				b.WriteString(p[i : i+2+end+2])
				i += 2 + end + 1
				continue
			default:
				b.WriteByte(c)
				b.WriteByte(n)
			}
			i++
			continue
		case c == '[' && !inClass:
			inClass = true
			b.WriteByte(c)
			// A ']' (after an optional '^') right after '[' is a member, not the end.
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
			continue
		case c == '[' && inClass && i+1 < len(p) && p[i+1] == ':':
			if end := strings.Index(p[i:], ":]"); end >= 0 { // a POSIX class such as [:alpha:]
				b.WriteString(p[i : i+end+2])
				i += end + 1
				continue
			}
		case c == ']' && inClass:
			inClass = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// findPerlOnly scans a pattern for constructs that Perl accepts and RE2 refuses or reads differently.
// It tracks escapes and character classes so that `\\1` or `[(?=]` are not mistaken for them.
func findPerlOnly(p string) *PerlOnlyError {
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\':
			if i+1 >= len(p) {
				return nil // Go reports the trailing backslash
			}
			n := p[i+1]
			if !inClass {
				switch {
				case n >= '1' && n <= '9':
					j := i + 2
					for j < len(p) && p[j] >= '0' && p[j] <= '9' {
						j++
					}
					return &PerlOnlyError{p[i:j], "backreference", i}
				case n == 'g' || n == 'k':
					return &PerlOnlyError{p[i : i+2], "named or relative backreference", i}
				case n == 'G':
					return &PerlOnlyError{`\G`, "end-of-previous-match assertion", i}
				case n == 'K':
					return &PerlOnlyError{`\K`, "keep-out assertion", i}
				case n == 'Z':
					return &PerlOnlyError{`\Z`, "end-or-before-final-newline assertion (use \\z or $)", i}
				case n == 'R' || n == 'X':
					return &PerlOnlyError{p[i : i+2], "Perl escape", i}
				case n == 'v' || n == 'h' || n == 'V' || n == 'H':
					// Perl: any vertical (horizontal) whitespace; RE2: \v is one vertical tab.
					return &PerlOnlyError{p[i : i+2], "Perl whitespace class (write a character class such as [\\t ] or \\x0B)", i}
				}
			}
			if n == 'Q' { // \Q…\E quotes everything up to \E
				end := strings.Index(p[i+2:], `\E`)
				if end < 0 {
					return nil
				}
				i += 2 + end + 1
				continue
			}
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			// A ']' (after an optional '^') right after '[' is a literal member, as are POSIX classes.
			j := i + 1
			if j < len(p) && p[j] == '^' {
				j++
			}
			if j < len(p) && p[j] == ']' {
				j++
			}
			for j < len(p) && p[j] != ']' {
				if p[j] == '\\' {
					j += 2
					continue
				}
				if p[j] == '[' && j+1 < len(p) && p[j+1] == ':' {
					if end := strings.Index(p[j:], ":]"); end >= 0 {
						j += end + 2
						continue
					}
				}
				j++
			}
			if j >= len(p) {
				return nil // Go reports the unclosed class
			}
			i = j
			inClass = false
		case c == '(' && i+1 < len(p) && p[i+1] == '?':
			if e := perlGroup(p, i); e != nil {
				return e
			}
		case c == '(' && i+1 < len(p) && p[i+1] == '*':
			return &PerlOnlyError{"(*", "backtracking control verb", i}
		case c == '*' || c == '+' || c == '?' || c == '}':
			if c == '}' && !isRepeatEnd(p, i) {
				continue
			}
			if i+1 < len(p) && p[i+1] == '+' {
				return &PerlOnlyError{p[i : i+2], "possessive quantifier", i}
			}
		case c == '{':
			// Perl 5.34+ reads x{,n} as x{0,n}; RE2 reads it as literal text.
			j := i + 1
			if j < len(p) && p[j] == ',' {
				k := j + 1
				for k < len(p) && p[k] >= '0' && p[k] <= '9' {
					k++
				}
				if k > j+1 && k < len(p) && p[k] == '}' {
					return &PerlOnlyError{p[i : k+1], "quantifier with no lower bound (write {0," + p[j+1:k] + "})", i}
				}
			}
		}
	}
	return nil
}

// perlGroup inspects a "(?" group opener at p[i].
func perlGroup(p string, i int) *PerlOnlyError {
	rest := p[i+2:]
	named := map[string]string{
		"=": "lookahead", "!": "negative lookahead", "<=": "lookbehind", "<!": "negative lookbehind",
		">": "atomic group", "|": "branch reset group", "#": "comment group", "(": "conditional",
		"{": "embedded code", "?{": "embedded code", "R)": "recursion", "&": "named subroutine call",
		"P>": "named subroutine call", "P=": "named backreference",
	}
	for prefix, name := range named {
		if strings.HasPrefix(rest, prefix) {
			return &PerlOnlyError{"(?" + prefix, name, i}
		}
	}
	if len(rest) > 0 && (rest[0] >= '0' && rest[0] <= '9' || rest[0] == '+' || rest[0] == '-' && len(rest) > 1 && rest[1] >= '0' && rest[1] <= '9') {
		return &PerlOnlyError{"(?" + rest[:1], "recursion", i}
	}
	// Flag groups: RE2 knows i, m, s and U; Perl's x, n, p, a, u, l, d, ^ are not RE2's.
	j := 0
	for j < len(rest) && rest[j] != ')' && rest[j] != ':' {
		switch rest[j] {
		case 'i', 'm', 's', 'U', '-':
		case 'x':
			return &PerlOnlyError{"(?" + rest[:j+1], "extended-mode flag x", i}
		case '<', 'P', '\'':
			return nil // named capture: (?<name>…), (?P<name>…); Go reports a bad one
		default:
			return &PerlOnlyError{"(?" + rest[:j+1], "Perl-only flag " + string(rest[j]), i}
		}
		j++
	}
	return nil
}

// isRepeatEnd reports whether the '}' at p[i] closes a {n}, {n,} or {n,m} repetition.
func isRepeatEnd(p string, i int) bool {
	j := i - 1
	for j >= 0 && (p[j] >= '0' && p[j] <= '9' || p[j] == ',') {
		j--
	}
	return j >= 0 && j < i-1 && p[j] == '{'
}
