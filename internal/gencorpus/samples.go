package gencorpus

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

var (
	reSampleLine = regexp.MustCompile(`^[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [^ ]+ ([^ \[:]+)(\[[0-9]+\])?: ?(.*)$`)
	reSampleIP   = regexp.MustCompile(`\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b`)
	reSamplePort = regexp.MustCompile(`\bport [0-9]+\b`)
	reSampleUser = regexp.MustCompile(`\b(for invalid user |for user |user[ =]|for )([A-Za-z0-9._-]+)`)
	reSampleNum  = regexp.MustCompile(`\b[0-9]{3,}\b`)
)

// ParseSamples reads syslog lines ("Mmm dd hh:mm:ss host prog[pid]: msg",
// such as loghub's Linux and OpenSSH samples) and returns templates made from
// their messages: IPv4 addresses, ports, user names and other numbers become
// placeholders (numbers of three digits or more only, so that "ssh2" and
// "uid=0" stay), and identical results merge into one template whose weight
// is their count. Lines of another shape are ignored; it fails if none is
// left or on a read error.
func ParseSamples(r io.Reader) ([]Template, error) {
	index := map[string]int{}
	var out []Template
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := reSampleLine.FindStringSubmatch(sc.Text())
		if m == nil || strings.ContainsAny(m[3], "\x00\x01") {
			continue
		}
		prog, pid, msg := m[1], m[2] != "", m[3]
		t := Template{Prog: prog, PID: NoPID, Message: abstract(msg), Weight: 1}
		if pid {
			t.PID = SessionPID
		}
		key := prog + "\x00" + strconv.FormatBool(pid) + "\x00" + t.Message
		if i, ok := index[key]; ok {
			out[i].Weight++
			continue
		}
		index[key] = len(out)
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("samples: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("samples: no syslog line")
	}
	return out, nil
}

// abstract turns a message into template text.
func abstract(msg string) string {
	// Braces already there stay literal. Placeholders are marked with \x00
	// and \x01 until the end, so that later patterns do not see them.
	msg = strings.ReplaceAll(msg, "{", "{{")
	msg = reSampleIP.ReplaceAllString(msg, "\x00ip\x01")
	msg = reSamplePort.ReplaceAllString(msg, "port \x00port\x01")
	msg = reSampleUser.ReplaceAllStringFunc(msg, func(s string) string {
		m := reSampleUser.FindStringSubmatch(s)
		switch m[2] {
		case "invalid", "user", "unknown", "root":
			return s
		}
		return m[1] + "\x00user\x01"
	})
	msg = reSampleNum.ReplaceAllStringFunc(msg, func(s string) string {
		return "\x00dig:" + strconv.Itoa(len(s)) + "\x01"
	})
	msg = strings.ReplaceAll(msg, "\x00", "{")
	return strings.ReplaceAll(msg, "\x01", "}")
}
