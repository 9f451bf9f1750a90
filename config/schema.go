// Package config reads tayori's TOML configuration (settings, queues and the ordered rule table, which
// may be split across included files), validates all of it at once, and converts tenshi configurations.
package config

import (
	"fmt"
	"time"

	"github.com/tayori-dev/tayori/classify"
	"github.com/tayori-dev/tayori/queue"
)

// Defaults.
const (
	DefaultMask     = "___"
	DefaultSubject  = "tayori report"
	DefaultStateDir = "/var/lib/tayori"
	DefaultBatch    = 5 * time.Second
	DefaultRescan   = time.Second
	DefaultMaxLine  = 64 << 10
	DefaultMaxLines = 1000
)

// Config is a loaded, validated configuration.
type Config struct {
	File     string
	Settings Settings
	Queues   []Queue         // in definition order
	Rules    []classify.Rule // the flattened, ordered rule table
	Sources  Sources
	Mail     Mail

	// Table is the compiled rule table; Load builds it while validating.
	Table *classify.Table
	// Location is the time zone schedules are read in.
	Location *time.Location
}

// Settings change how every line and report is handled.
type Settings struct {
	Mask           string
	HidePID        bool
	Order          queue.Order
	Limit          int // report lines per host, 0 = no limit
	PagerLimit     int // pager report lines per host, 0 = no limit
	Subject        string
	Prefixes       []string
	RsyslogRepeats bool
	MaxLines       int // distinct lines kept per host per queue
	StateDir       string
	Timezone       string
}

// Queue is one queue definition.
type Queue struct {
	Name       string
	From       string
	To         []string
	Pager      bool
	Schedule   queue.Schedule
	Subject    string // full subject prefix; the queue name is appended as " [name]"
	Limit      int
	Thresholds []queue.Threshold
	Filter     []string // program and arguments the report is piped through before mailing
	Program    []string // deliver the report to this program's standard input instead of mailing it
	CSV        bool     // render the report as tenshi's csv: host,"line",count rows
}

// Sources says which logs the daemon follows.
type Sources struct {
	Files   []string
	Rescan  time.Duration
	MaxLine int
}

// Mail says how reports are delivered.
type Mail struct {
	Server       string // host:port
	Helo         string
	Timeout      time.Duration
	TLS          string // "opportunistic", "required", "implicit" or "none"
	Username     string
	PasswordFile string
	CAFile       string        // PEM certificates trusted for the server instead of the system's
	RetryMin     time.Duration // first wait after a failed delivery; it doubles up to RetryMax
	RetryMax     time.Duration
	Sendmail     string // deliver through this sendmail binary instead of SMTP
	Dir          string // deliver into this directory instead (demos, tests)
	Stdout       bool   // print reports on standard output instead
	Batch        time.Duration
}

// ClassifyOptions returns the options the rule table was compiled with.
func (c *Config) ClassifyOptions() classify.Options {
	o := classify.Options{
		Mask:           c.Settings.Mask,
		HidePID:        c.Settings.HidePID,
		Prefixes:       c.Settings.Prefixes,
		RsyslogRepeats: c.Settings.RsyslogRepeats,
	}
	for _, q := range c.Queues {
		switch q.Name {
		case queue.NoPrefix:
			o.NoPrefix = true
		case queue.Trash:
			o.MaskTrash = true
		}
	}
	return o
}

// QueueSpecs returns the queue package's view of the queues.
func (c *Config) QueueSpecs() []queue.Spec {
	specs := make([]queue.Spec, len(c.Queues))
	for i, q := range c.Queues {
		limit := q.Limit
		if limit == 0 {
			limit = c.Settings.Limit
			if q.Pager {
				limit = c.Settings.PagerLimit
			}
		}
		specs[i] = queue.Spec{Name: q.Name, Pager: q.Pager, Limit: limit, Thresholds: q.Thresholds}
	}
	return specs
}

// LedgerSettings returns the settings a queue.Ledger needs.
func (c *Config) LedgerSettings() queue.Settings {
	return queue.Settings{Order: c.Settings.Order, MaxLines: c.Settings.MaxLines}
}

// Queue returns the named queue, or nil.
func (c *Config) Queue(name string) *Queue {
	for i := range c.Queues {
		if c.Queues[i].Name == name {
			return &c.Queues[i]
		}
	}
	return nil
}

// SubjectFor returns the mail subject of a queue's report: "SUBJECT [queue]", as tenshi writes it.
func (c *Config) SubjectFor(q *Queue) string {
	s := q.Subject
	if s == "" {
		s = c.Settings.Subject
	}
	return fmt.Sprintf("%s [%s]", s, q.Name)
}

// QueueNames returns the queue names in definition order.
func (c *Config) QueueNames() []string {
	names := make([]string, len(c.Queues))
	for i, q := range c.Queues {
		names[i] = q.Name
	}
	return names
}
