// Package gencorpus writes deterministic synthetic syslog, as a central log
// host stores it, for tests and benchmarks: the same options and seed give
// the same bytes.
package gencorpus

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Options says what to generate. The zero value of every rate turns that kind
// of line off, so Options{Lines: n, Seed: s} is a plain BSD-syslog corpus of
// the normal templates; Defaults has a realistic mix.
type Options struct {
	Lines int   // lines to write
	Seed  int64 // same seed, same bytes
	Hosts int   // hosts sending; 0 means 20

	// Start is the time of the first line; its location gives the wall clock
	// of the BSD time stamps and the offset of the RFC 3339 ones. Zero means
	// 2024-05-01 00:00:00 UTC.
	Start time.Time
	// Interval is the mean gap between lines (uniform in [0, 2×Interval]);
	// 0 means 100 ms.
	Interval time.Duration

	// LogcheckRate is the fraction of message lines drawn from routine
	// messages that logcheck's ignore.d.server rules match (cron, systemd,
	// sessions, postfix) instead of the normal templates.
	LogcheckRate float64
	// RepeatRate: sysklogd's "host last message repeated N times", after a
	// line of the same host.
	RepeatRate float64
	// RsyslogRepeatRate: rsyslog's "prog[pid]: message repeated N times:
	// [ MSG]", after the line it repeats.
	RsyslogRepeatRate float64
	// RFC3339Rate: lines with a high-precision RFC 3339 time stamp, e.g.
	// "2024-05-01T12:00:00.123456+09:00 host prog[pid]: msg".
	RFC3339Rate float64
	// UnprefixedRate: lines with no syslog prefix at all (continuation lines
	// of multi-line messages).
	UnprefixedRate float64

	// Templates replaces the normal templates (see ParseSamples); nil means
	// the built-in ones.
	Templates []Template
}

// Defaults returns options with a realistic mix: 40 % routine lines logcheck
// ignores, and a few repeats, RFC 3339 and unprefixed lines. Set Lines and
// Seed.
func Defaults() Options {
	return Options{
		Hosts:             20,
		LogcheckRate:      0.4,
		RepeatRate:        0.002,
		RsyslogRepeatRate: 0.002,
		RFC3339Rate:       0.01,
		UnprefixedRate:    0.002,
	}
}

// DefaultStart is the time of the first line when Options.Start is zero.
var DefaultStart = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)

func (o *Options) validate() error {
	var errs []error
	if o.Lines < 0 {
		errs = append(errs, fmt.Errorf("lines %d < 0", o.Lines))
	}
	if o.Hosts < 0 {
		errs = append(errs, fmt.Errorf("hosts %d < 0", o.Hosts))
	}
	if o.Interval < 0 {
		errs = append(errs, fmt.Errorf("interval %v < 0", o.Interval))
	}
	sum := 0.0
	for _, r := range []struct {
		name string
		v    float64
	}{
		{"logcheck rate", o.LogcheckRate},
		{"repeat rate", o.RepeatRate},
		{"rsyslog repeat rate", o.RsyslogRepeatRate},
		{"RFC 3339 rate", o.RFC3339Rate},
		{"unprefixed rate", o.UnprefixedRate},
	} {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			errs = append(errs, fmt.Errorf("%s %v not in [0, 1]", r.name, r.v))
		}
		if r.name != "logcheck rate" {
			sum += r.v
		}
	}
	if sum > 1 {
		errs = append(errs, fmt.Errorf("repeat, rsyslog repeat, RFC 3339 and unprefixed rates add up to %v > 1", sum))
	}
	return errors.Join(errs...)
}

// Generate writes opts.Lines lines, each ending in a newline, to w. It
// streams: memory does not grow with the number of lines.
func Generate(w io.Writer, opts Options) error {
	if err := opts.validate(); err != nil {
		return fmt.Errorf("gencorpus: %w", err)
	}
	g, err := newGenerator(opts)
	if err != nil {
		return fmt.Errorf("gencorpus: %w", err)
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	for i := 0; i < opts.Lines; i++ {
		if _, err := bw.Write(g.line()); err != nil {
			return fmt.Errorf("gencorpus: line %d: %w", i+1, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gencorpus: %w", err)
	}
	return nil
}

// placeholder kinds
const (
	phIP = iota + 1
	phPort
	phUser
	phHost
	phInt
	phDig
	phHex
	phHEX
	phB64
	phPick
)

type part struct {
	lit     []byte // literal text before the placeholder
	kind    int    // 0: literal only
	lo, hi  int
	choices [][]byte
}

type compiled struct {
	prog   []byte
	progID int
	pid    PID
	parts  []part
}

// group is a weighted set of templates.
type group struct {
	tmpl []compiled
	cum  []uint64 // cumulative weights
}

func (g *group) pick(r *rng) *compiled {
	x := uint64(r.intn(int(g.cum[len(g.cum)-1])))
	lo, hi := 0, len(g.cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if g.cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return &g.tmpl[lo]
}

// compileGroup parses templates; progs maps program names to ids.
func compileGroup(name string, ts []Template, progs map[string]int) (group, error) {
	var g group
	var total uint64
	for i, t := range ts {
		if t.Weight <= 0 {
			return g, fmt.Errorf("%s template %d %q: weight %d <= 0", name, i, t.Message, t.Weight)
		}
		parts, err := parseMessage(t.Message)
		if err != nil {
			return g, fmt.Errorf("%s template %d %q: %w", name, i, t.Message, err)
		}
		id, ok := progs[t.Prog]
		if !ok {
			id = len(progs)
			progs[t.Prog] = id
		}
		total += uint64(t.Weight)
		g.tmpl = append(g.tmpl, compiled{prog: []byte(t.Prog), progID: id, pid: t.PID, parts: parts})
		g.cum = append(g.cum, total)
	}
	if len(g.tmpl) == 0 {
		return g, fmt.Errorf("no %s templates", name)
	}
	return g, nil
}

// parseMessage splits a template message into literal text and placeholders.
func parseMessage(msg string) ([]part, error) {
	var parts []part
	var lit []byte
	for i := 0; i < len(msg); i++ {
		if msg[i] != '{' {
			lit = append(lit, msg[i])
			continue
		}
		if strings.HasPrefix(msg[i:], "{{") {
			lit = append(lit, '{')
			i++
			continue
		}
		end := strings.IndexByte(msg[i:], '}')
		if end < 0 {
			lit = append(lit, '{')
			continue
		}
		p, ok, err := parsePlaceholder(msg[i+1 : i+end])
		if err != nil {
			return nil, err
		}
		if !ok {
			lit = append(lit, '{')
			continue
		}
		p.lit = lit
		lit = nil
		parts = append(parts, p)
		i += end
	}
	if len(lit) > 0 {
		parts = append(parts, part{lit: lit})
	}
	return parts, nil
}

// parsePlaceholder parses the text between braces. ok is false if it is no
// placeholder; err is set if it is one with a bad argument.
func parsePlaceholder(s string) (p part, ok bool, err error) {
	name, arg, hasArg := strings.Cut(s, ":")
	simple := map[string]int{"ip": phIP, "port": phPort, "user": phUser, "host": phHost}
	if k, found := simple[name]; found && !hasArg {
		return part{kind: k}, true, nil
	}
	if !hasArg {
		return p, false, nil
	}
	switch name {
	case "int":
		los, his, found := strings.Cut(arg, "-")
		lo, err1 := strconv.Atoi(los)
		hi, err2 := strconv.Atoi(his)
		if !found || err1 != nil || err2 != nil || lo < 0 || hi < lo {
			return p, false, fmt.Errorf("{%s}: want {int:LO-HI} with 0 <= LO <= HI", s)
		}
		return part{kind: phInt, lo: lo, hi: hi}, true, nil
	case "dig", "hex", "HEX", "b64":
		n, err := strconv.Atoi(arg)
		if err != nil || n <= 0 || n > 1024 {
			return p, false, fmt.Errorf("{%s}: want a length in 1-1024", s)
		}
		k := map[string]int{"dig": phDig, "hex": phHex, "HEX": phHEX, "b64": phB64}[name]
		return part{kind: k, lo: n}, true, nil
	case "pick":
		var choices [][]byte
		for _, c := range strings.Split(arg, "|") {
			choices = append(choices, []byte(c))
		}
		return part{kind: phPick, choices: choices}, true, nil
	}
	return p, false, nil
}

// generator holds the state of one corpus.
type generator struct {
	r                            *rng
	hosts                        [][]byte
	hostCum                      []uint64
	normal, logcheck, unprefixed group
	nprogs                       int
	pids                         []int // per host and program; 0: none yet
	nextPID                      []int // per host

	ips, users, rhosts [][]byte

	loc       *time.Location
	now       int64 // unix nanoseconds
	gap       int   // 2×Interval in nanoseconds
	stampSec  int64
	bsdStamp  []byte // "Jan _2 15:04:05"
	rfcStamp  []byte // "2006-01-02T15:04:05"
	rfcOffset []byte // "-07:00"

	// thresholds, parts per 2^32, cumulative
	tRepeat, tRsyslog, tRFC, tUnprefixed uint64
	logcheckRate                         uint64

	buf []byte
	// the last message line, for the repeat lines
	haveLast bool
	lastHost int
	lastHead []byte // "prog[pid]: "
	lastMsg  []byte
}

func newGenerator(o Options) (*generator, error) {
	if o.Hosts == 0 {
		o.Hosts = 20
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	if o.Interval == 0 {
		o.Interval = 100 * time.Millisecond
	}
	normal := o.Templates
	if normal == nil {
		normal = builtinNormal()
	}
	progs := map[string]int{}
	g := &generator{r: newRNG(o.Seed), loc: o.Start.Location(), now: o.Start.UnixNano(), stampSec: math.MinInt64}
	var err error
	if g.normal, err = compileGroup("normal", normal, progs); err != nil {
		return nil, err
	}
	if g.logcheck, err = compileGroup("logcheck", builtinLogcheck(), progs); err != nil {
		return nil, err
	}
	if g.unprefixed, err = compileGroup("unprefixed", builtinUnprefixed(), progs); err != nil {
		return nil, err
	}
	g.nprogs = len(progs)
	g.gap = int(2 * o.Interval)

	r := g.r
	var total uint64
	for i := 0; i < o.Hosts; i++ {
		g.hosts = append(g.hosts, hostName(i))
		// Some hosts are far noisier than others.
		total += uint64(1e6 / math.Pow(float64(i+1), 0.8))
		g.hostCum = append(g.hostCum, total)
	}
	g.pids = make([]int, o.Hosts*g.nprogs)
	g.nextPID = make([]int, o.Hosts)
	for i := range g.nextPID {
		g.nextPID[i] = r.between(300, 30000)
	}
	for i := 0; i < 256; i++ {
		g.ips = append(g.ips, appendIP(nil, r))
	}
	g.users = userNames()
	for i := 0; i < 128; i++ {
		g.rhosts = append(g.rhosts, remoteHost(r))
	}

	g.tRepeat = perU32(o.RepeatRate)
	g.tRsyslog = g.tRepeat + perU32(o.RsyslogRepeatRate)
	g.tRFC = g.tRsyslog + perU32(o.RFC3339Rate)
	g.tUnprefixed = g.tRFC + perU32(o.UnprefixedRate)
	g.logcheckRate = perU32(o.LogcheckRate)
	return g, nil
}

var hostRoles = []string{"web", "db", "mail", "app", "cache", "lb", "ns", "backup", "build", "mon", "proxy", "vpn", "git", "ci", "ldap", "nfs"}

// hostName names the i-th host: web01, db01, ... web02, ...
func hostName(i int) []byte {
	b := []byte(hostRoles[i%len(hostRoles)])
	n := i/len(hostRoles) + 1
	if n < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(n), 10)
}

func userNames() [][]byte {
	var us [][]byte
	for _, u := range strings.Fields("root admin test user oracle ubuntu postgres git guest ftpuser www-data pi alice bob carol dave deploy jenkins mysql nagios support webmaster info tomcat hadoop minecraft ansible backup operator student") {
		us = append(us, []byte(u))
	}
	return us
}

func remoteHost(r *rng) []byte {
	a, b, c, d := r.between(1, 223), r.intn(256), r.intn(256), r.between(1, 254)
	var out []byte
	dashed := func(prefix, suffix string) {
		out = append(out, prefix...)
		for i, n := range []int{a, b, c, d} {
			if i > 0 {
				out = append(out, '-')
			}
			out = strconv.AppendInt(out, int64(n), 10)
		}
		out = append(out, suffix...)
	}
	switch r.intn(4) {
	case 0:
		dashed("host-", ".dyn.example.net")
	case 1:
		dashed("ec2-", ".compute-1.example.com")
	case 2:
		out = append(out, []string{"mail", "mx", "smtp", "ns1", "ns2", "www"}[r.intn(6)]...)
		out = append(out, '.')
		out = append(out, []string{"example", "corp", "shop", "school", "clinic"}[r.intn(5)]...)
		out = strconv.AppendInt(out, int64(r.intn(100)), 10)
		out = append(out, []string{".org", ".com", ".net", ".jp"}[r.intn(4)]...)
	default:
		out = append(out, "unknown"...)
	}
	return out
}

func appendIP(b []byte, r *rng) []byte {
	b = strconv.AppendInt(b, int64(r.between(1, 223)), 10)
	for i := 0; i < 3; i++ {
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(r.intn(256)), 10)
	}
	return b
}

// line returns the next line, newline included; the slice is reused.
func (g *generator) line() []byte {
	r := g.r
	g.now += int64(r.intn(g.gap + 1))
	g.buf = g.buf[:0]
	u := r.next() >> 32
	switch {
	case u < g.tRepeat && g.haveLast:
		g.buf = g.appendBSD(g.buf)
		g.buf = append(g.buf, ' ')
		g.buf = append(g.buf, g.hosts[g.lastHost]...)
		g.buf = append(g.buf, " last message repeated "...)
		g.buf = strconv.AppendInt(g.buf, int64(g.repeats()), 10)
		g.buf = append(g.buf, " times"...)
	case u >= g.tRepeat && u < g.tRsyslog && g.haveLast:
		g.buf = g.appendBSD(g.buf)
		g.buf = append(g.buf, ' ')
		g.buf = append(g.buf, g.hosts[g.lastHost]...)
		g.buf = append(g.buf, ' ')
		g.buf = append(g.buf, g.lastHead...)
		g.buf = append(g.buf, "message repeated "...)
		g.buf = strconv.AppendInt(g.buf, int64(g.repeats()), 10)
		g.buf = append(g.buf, " times: [ "...)
		g.buf = append(g.buf, g.lastMsg...)
		g.buf = append(g.buf, ']')
	case u >= g.tRFC && u < g.tUnprefixed:
		g.buf = g.appendMessage(g.buf, g.unprefixed.pick(r))
	default:
		grp := &g.normal
		if r.below(g.logcheckRate) {
			grp = &g.logcheck
		}
		tmpl := grp.pick(r)
		h := g.pickHost()
		if u >= g.tRsyslog && u < g.tRFC {
			g.buf = g.appendRFC3339(g.buf)
		} else {
			g.buf = g.appendBSD(g.buf)
		}
		g.buf = append(g.buf, ' ')
		g.buf = append(g.buf, g.hosts[h]...)
		g.buf = append(g.buf, ' ')
		head := len(g.buf)
		g.buf = append(g.buf, tmpl.prog...)
		if tmpl.pid != NoPID {
			g.buf = append(g.buf, '[')
			g.buf = strconv.AppendInt(g.buf, int64(g.pid(h, tmpl)), 10)
			g.buf = append(g.buf, ']')
		}
		g.buf = append(g.buf, ": "...)
		msg := len(g.buf)
		g.buf = g.appendMessage(g.buf, tmpl)
		g.haveLast, g.lastHost = true, h
		g.lastHead = append(g.lastHead[:0], g.buf[head:msg]...)
		g.lastMsg = append(g.lastMsg[:0], g.buf[msg:]...)
	}
	return append(g.buf, '\n')
}

// repeats returns a repeat count: 2 to 50, mostly small.
func (g *generator) repeats() int { return 2 + g.r.skewed(49) }

func (g *generator) pickHost() int {
	x := uint64(g.r.intn(int(g.hostCum[len(g.hostCum)-1])))
	lo, hi := 0, len(g.hostCum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if g.hostCum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// pid returns the pid of the template's program on host h.
func (g *generator) pid(h int, t *compiled) int {
	if t.pid == PID1 {
		return 1
	}
	slot := &g.pids[h*g.nprogs+t.progID]
	renew := *slot == 0
	switch t.pid {
	case FreshPID:
		renew = true
	case SessionPID:
		renew = renew || g.r.below(1<<30) // a quarter of the lines
	case StablePID:
		renew = renew || g.r.below(1<<20) // one line in 4096
	}
	if renew {
		n := g.nextPID[h] + 1 + g.r.intn(40)
		if n > 32768 { // the kernel's default pid_max wraps
			n = 300 + g.r.intn(100)
		}
		g.nextPID[h] = n
		*slot = n
	}
	return *slot
}

func (g *generator) stamp() {
	sec := g.now / 1e9
	if g.now < 0 && g.now%1e9 != 0 {
		sec--
	}
	if sec == g.stampSec {
		return
	}
	g.stampSec = sec
	t := time.Unix(sec, 0).In(g.loc)
	g.bsdStamp = t.AppendFormat(g.bsdStamp[:0], "Jan _2 15:04:05")
	g.rfcStamp = t.AppendFormat(g.rfcStamp[:0], "2006-01-02T15:04:05")
	g.rfcOffset = t.AppendFormat(g.rfcOffset[:0], "-07:00")
}

func (g *generator) appendBSD(b []byte) []byte {
	g.stamp()
	return append(b, g.bsdStamp...)
}

func (g *generator) appendRFC3339(b []byte) []byte {
	g.stamp()
	b = append(b, g.rfcStamp...)
	b = append(b, '.')
	micro := (g.now - g.stampSec*1e9) / 1e3
	b = appendPadded(b, int(micro), 6)
	return append(b, g.rfcOffset...)
}

// appendPadded appends n with leading zeros to width digits.
func appendPadded(b []byte, n, width int) []byte {
	var d [20]byte
	i := len(d)
	for n > 0 || i == len(d) {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
	}
	for k := len(d) - i; k < width; k++ {
		b = append(b, '0')
	}
	return append(b, d[i:]...)
}

const (
	hexLower = "0123456789abcdef"
	hexUpper = "0123456789ABCDEF"
	base64   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

func (g *generator) appendMessage(b []byte, t *compiled) []byte {
	r := g.r
	for i := range t.parts {
		p := &t.parts[i]
		b = append(b, p.lit...)
		switch p.kind {
		case phIP:
			if r.below(3 << 30) { // three in four from the recurring ones
				b = append(b, g.ips[r.skewed(len(g.ips))]...)
			} else {
				b = appendIP(b, r)
			}
		case phPort:
			b = strconv.AppendInt(b, int64(r.between(1024, 65535)), 10)
		case phUser:
			b = append(b, g.users[r.skewed(len(g.users))]...)
		case phHost:
			b = append(b, g.rhosts[r.skewed(len(g.rhosts))]...)
		case phInt:
			b = strconv.AppendInt(b, int64(r.between(p.lo, p.hi)), 10)
		case phDig:
			for k := 0; k < p.lo; k++ {
				b = append(b, byte('0'+r.intn(10)))
			}
		case phHex, phHEX:
			digits := hexLower
			if p.kind == phHEX {
				digits = hexUpper
			}
			for k := 0; k < p.lo; k++ {
				b = append(b, digits[r.intn(16)])
			}
		case phB64:
			for k := 0; k < p.lo; k++ {
				b = append(b, base64[r.intn(64)])
			}
		case phPick:
			b = append(b, p.choices[r.intn(len(p.choices))]...)
		}
	}
	return b
}
