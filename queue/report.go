package queue

import (
	"bytes"
	"strconv"
	"time"
)

// Report is what a queue mails: its lines per host, sorted.
type Report struct {
	Queue  string
	Status string // e.g. "terminating"; shown at the top of non-pager reports
	Pager  bool
	Limit  int
	Since  time.Time // start of the period the report covers
	Hosts  []HostReport
}

// HostReport is one host's section of a report.
type HostReport struct {
	Host  string
	Lines []Entry
}

// Text renders the report body exactly as tenshi mails it, so that mail filters keep working:
//
//	*** Status: terminating ***           (only with a status, never in pager reports)
//
//	host:
//	    292: sshd: Invalid user ___ from ___
//
//	  *** Too many alerts (limit: 100)  ***
//
// Pager reports are "host,count,line" lines. Lines beyond the limit are left out; the note appears when
// a host had more lines than the limit (tenshi also printed it when a host had exactly that many).
func (r *Report) Text() []byte {
	var b bytes.Buffer
	if r.Status != "" && !r.Pager {
		b.WriteString("*** Status: " + r.Status + " ***\n")
	}
	for _, h := range r.Hosts {
		lines := h.Lines
		cut := r.Limit > 0 && len(lines) > r.Limit
		if cut {
			lines = lines[:r.Limit]
		}
		if r.Pager {
			for _, e := range lines {
				b.WriteString(h.Host)
				b.WriteByte(',')
				b.WriteString(strconv.Itoa(e.Count))
				b.WriteByte(',')
				b.WriteString(e.Line)
				b.WriteByte('\n')
			}
			continue
		}
		b.WriteString("\n" + h.Host + ": \n")
		for _, e := range lines {
			b.WriteString("    ")
			b.WriteString(strconv.Itoa(e.Count))
			b.WriteString(": ")
			b.WriteString(e.Line)
			b.WriteByte('\n')
		}
		if cut {
			b.WriteString("\n  *** Too many alerts (limit: " + strconv.Itoa(r.Limit) + ")  ***\n")
		}
	}
	return b.Bytes()
}

// CSV renders the report as tenshi's csv feature does: one `host,"line",count` row per line, least
// frequent first within each host. Double quotes inside a line are doubled.
func (r *Report) CSV() []byte {
	var b bytes.Buffer
	for _, h := range r.Hosts {
		lines := append([]Entry(nil), h.Lines...)
		sortEntries(lines, Ascending)
		for _, e := range lines {
			b.WriteString(h.Host)
			b.WriteString(`,"`)
			b.Write(bytes.ReplaceAll([]byte(e.Line), []byte(`"`), []byte(`""`)))
			b.WriteString(`",`)
			b.WriteString(strconv.Itoa(e.Count))
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}
