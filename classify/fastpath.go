package classify

import (
	"bytes"
	"regexp/syntax"
)

// fastKind says how a rule's pattern can be tested without running the regex engine. Only patterns
// without capturing groups qualify: their match needs no positions.
type fastKind uint8

const (
	viaRegex fastKind = iota
	always            // matches every line: .* and the like (lines hold no newline)
	prefix            // ^literal
	suffix            // literal$
	contains          // literal
	equal             // ^literal$
)

type fastPath struct {
	kind fastKind
	lit  []byte
}

// syntaxTree parses a rule's pattern as regexp.Compile does, simplified; nil if it does not parse. New
// parses each pattern once and gives the tree to every analysis below.
func syntaxTree(pattern string) *syntax.Regexp {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	return re.Simplify()
}

// fastPathOf recognises the patterns a plain byte comparison decides exactly.
func fastPathOf(re *syntax.Regexp) fastPath {
	if re == nil {
		return fastPath{}
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	begin := len(subs) > 0 && subs[0].Op == syntax.OpBeginText
	if begin {
		subs = subs[1:]
	}
	end := len(subs) > 0 && subs[len(subs)-1].Op == syntax.OpEndText
	if end {
		subs = subs[:len(subs)-1]
	}
	switch {
	case len(subs) == 0:
		if !end || !begin {
			return fastPath{kind: always} // ^, $ or the empty pattern
		}
		return fastPath{kind: equal} // ^$
	case len(subs) == 1 && subs[0].Op == syntax.OpStar && subs[0].Sub[0].Op == syntax.OpAnyCharNotNL:
		return fastPath{kind: always}
	case len(subs) == 1 && subs[0].Op == syntax.OpLiteral && subs[0].Flags&syntax.FoldCase == 0:
		lit := []byte(string(subs[0].Rune))
		switch {
		case begin && end:
			return fastPath{kind: equal, lit: lit}
		case begin:
			return fastPath{kind: prefix, lit: lit}
		case end:
			return fastPath{kind: suffix, lit: lit}
		default:
			return fastPath{kind: contains, lit: lit}
		}
	}
	return fastPath{}
}

func (f fastPath) match(b []byte) bool {
	switch f.kind {
	case always:
		return true
	case prefix:
		return bytes.HasPrefix(b, f.lit)
	case suffix:
		return bytes.HasSuffix(b, f.lit)
	case contains:
		return bytes.Contains(b, f.lit)
	case equal:
		return bytes.Equal(b, f.lit)
	}
	return false
}

// anchoredPrefix returns the literal every match of a pattern starts the line with (a pattern that
// begins "^literal", case-sensitively), or nil. A candidate rule whose prefix the line lacks is
// refused with a byte comparison instead of a run of the regex engine.
func anchoredPrefix(re *syntax.Regexp) []byte {
	if re == nil || re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText {
		return nil
	}
	lit := re.Sub[1]
	for lit.Op == syntax.OpCapture {
		lit = lit.Sub[0]
	}
	if lit.Op != syntax.OpLiteral || lit.Flags&syntax.FoldCase != 0 {
		return nil
	}
	return []byte(string(lit.Rune))
}
