package classify

import "bytes"

// isSpace is Perl's \s on a byte string: ASCII whitespace, vertical tab included.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// hostAfter parses "host<space>" at line[i:], as the regex (\S+)\s does: the host is the longest run of
// non-space bytes and must be followed by one whitespace byte. It returns the host span and the index
// after the whitespace.
func hostAfter(line []byte, i int) (hs, he, rest int, ok bool) {
	j := i
	for j < len(line) && !isSpace(line[j]) {
		j++
	}
	if j == i || j >= len(line) {
		return 0, 0, 0, false
	}
	return i, j, j + 1, true
}

// bsdPrefix matches tenshi's default syslog prefix, ^[A-Z][a-z]{2}\s(?:\s|\d)\d\s\d{2}:\d{2}:\d{2}\s(\S+)\s,
// e.g. "Jun 14 15:16:01 combo ".
func bsdPrefix(l []byte) (hs, he, rest int, ok bool) {
	if len(l) < 18 {
		return 0, 0, 0, false
	}
	if !(l[0] >= 'A' && l[0] <= 'Z') || !(l[1] >= 'a' && l[1] <= 'z') || !(l[2] >= 'a' && l[2] <= 'z') ||
		!isSpace(l[3]) || !(isSpace(l[4]) || isDigit(l[4])) || !isDigit(l[5]) || !isSpace(l[6]) ||
		!isDigit(l[7]) || !isDigit(l[8]) || l[9] != ':' || !isDigit(l[10]) || !isDigit(l[11]) || l[12] != ':' ||
		!isDigit(l[13]) || !isDigit(l[14]) || !isSpace(l[15]) {
		return 0, 0, 0, false
	}
	return hostAfter(l, 16)
}

// rfc3339Prefix matches rsyslog's high-precision timestamp prefix,
// "2024-05-01T12:00:00.123456+09:00 host " (fraction optional, "Z" or a numeric offset).
func rfc3339Prefix(l []byte) (hs, he, rest int, ok bool) {
	const fixed = len("2024-05-01T12:00:00")
	if len(l) < fixed+3 {
		return 0, 0, 0, false
	}
	for i, want := range []byte("dddd-dd-ddTdd:dd:dd") {
		c := l[i]
		if want == 'd' && !isDigit(c) || want != 'd' && c != want {
			return 0, 0, 0, false
		}
	}
	i := fixed
	if l[i] == '.' {
		i++
		start := i
		for i < len(l) && isDigit(l[i]) {
			i++
		}
		if i == start {
			return 0, 0, 0, false
		}
	}
	switch {
	case i < len(l) && l[i] == 'Z':
		i++
	case i+6 <= len(l) && (l[i] == '+' || l[i] == '-') && isDigit(l[i+1]) && isDigit(l[i+2]) && l[i+3] == ':' &&
		isDigit(l[i+4]) && isDigit(l[i+5]):
		i += 6
	default:
		return 0, 0, 0, false
	}
	if i >= len(l) || !isSpace(l[i]) {
		return 0, 0, 0, false
	}
	return hostAfter(l, i+1)
}

// hidePID rewrites "prog[1234]: msg" to "prog: msg", as tenshi's hidepid does with s/^(\S+)\[\d+\]: /$1: /.
// It appends the result to dst and reports whether the line changed; unchanged lines are not copied.
func hidePID(dst, msg []byte) ([]byte, bool) {
	w := 0
	for w < len(msg) && !isSpace(msg[w]) {
		w++
	}
	// The token before the first whitespace must end in "[digits]:" and the whitespace must be a space.
	if w >= len(msg) || msg[w] != ' ' || w < 5 || msg[w-1] != ':' || msg[w-2] != ']' {
		return dst, false
	}
	k := w - 3
	for k >= 0 && isDigit(msg[k]) {
		k--
	}
	if k == w-3 || k < 1 || msg[k] != '[' {
		return dst, false
	}
	dst = append(dst, msg[:k]...)
	dst = append(dst, msg[w-1:]...)
	return dst, true
}

// rsyslogRepeat recognises rsyslog's reduction "prog[1]: message repeated 3 times: [ text]" and returns
// the line it stands for, "prog[1]: text", appended to dst, with the count.
func rsyslogRepeat(dst, msg []byte) ([]byte, int, bool) {
	const marker = ": message repeated "
	w := 0
	for w < len(msg) && !isSpace(msg[w]) {
		w++
	}
	// The marker follows the tag, the message's first word, which ends with ':'.
	if w == 0 || !bytes.HasPrefix(msg[w-1:], []byte(marker)) {
		return dst, 0, false
	}
	i := w - 1 + len(marker)
	n := 0
	start := i
	for i < len(msg) && isDigit(msg[i]) && n < 1e8 {
		n = n*10 + int(msg[i]-'0')
		i++
	}
	const times = " times: ["
	end := len(msg)
	if msg[end-1] == '\r' { // a CRLF file: the line kept its CR
		end--
	}
	if i == start || n == 0 || !bytes.HasPrefix(msg[i:], []byte(times)) || end <= i+len(times) || msg[end-1] != ']' {
		return dst, 0, false
	}
	text := msg[i+len(times) : end-1]
	dst = append(dst, msg[:w]...)
	if len(text) == 0 || text[0] != ' ' {
		dst = append(dst, ' ')
	}
	dst = append(dst, text...)
	return dst, n, true
}

// perlNumber reads a string as Perl does in numeric context: leading whitespace, then the longest
// prefix that is a non-negative decimal integer (negative and non-numeric strings count as 0 here).
func perlNumber(b []byte) int {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i < len(b) && b[i] == '+' {
		i++
	}
	n := 0
	for i < len(b) && isDigit(b[i]) && n < 1e9 {
		n = n*10 + int(b[i]-'0')
		i++
	}
	return n
}
