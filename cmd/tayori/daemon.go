package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tayori-dev/tayori/classify"
	"github.com/tayori-dev/tayori/config"
	"github.com/tayori-dev/tayori/mailer"
	"github.com/tayori-dev/tayori/queue"
	"github.com/tayori-dev/tayori/tailer"
)

const (
	stateVersion = 1
	saveEvery    = 3 * time.Second  // how often read positions and queues are written while lines arrive
	stopTimeout  = 15 * time.Second // how long a stopping daemon tries to deliver what is queued
)

// stateFile is what the state directory's state.json holds: where every source was read up to, and
// the queues as they were after exactly those lines. Reports are enqueued before the state that
// clears their queue is written, and delivered only after: at start, reports with a sequence
// number above FlushSeq are dropped, since their lines are still in the saved queues.
type stateFile struct {
	Version  int               `json:"version"`
	Instance string            `json:"instance"`
	SavedAt  time.Time         `json:"saved_at"`
	FlushSeq uint64            `json:"flush_seq"`
	Offsets  []tailer.Position `json:"offsets"`
	Ledger   *queue.Snapshot   `json:"ledger"`
}

// daemon wires the pipeline: tailer → classify → queue → mailer. Its loop owns every field.
type daemon struct {
	confPath string
	cfg      *config.Config
	log      *slog.Logger
	stdout   io.Writer
	hostname string

	ledger   *queue.Ledger
	timing   *queue.Timetable
	boxes    map[string]*outbox // by queue name; queues mailed share one
	instance string
	flushSeq uint64
	offsets  map[string]tailer.Position
	resumed  time.Time // when the positions the next tailer starts from were current; zero at a first start
	dirty    bool
	lastSave time.Time
	dec      classify.Decision

	lines    chan tailer.Line
	tailEnd  chan error
	stopTail context.CancelFunc
}

// outbox is one delivery route: the mail outbox, or a program queue's own.
type outbox struct {
	box  *mailer.Outbox
	stop context.CancelFunc
	done chan struct{}
}

func newDaemon(confPath string, cfg *config.Config, log *slog.Logger, stdout io.Writer) (*daemon, error) {
	if len(cfg.Sources.Files) == 0 {
		return nil, errors.New("nothing to follow: set sources.files in " + confPath)
	}
	host, _ := os.Hostname()
	d := &daemon{confPath: confPath, cfg: cfg, log: log, stdout: stdout, hostname: host,
		offsets: map[string]tailer.Position{}, lines: make(chan tailer.Line, 4096)}
	if err := os.MkdirAll(cfg.Settings.StateDir, 0o700); err != nil {
		return nil, err
	}
	st, err := d.readState()
	if err != nil {
		return nil, err
	}
	d.instance, d.flushSeq = st.Instance, st.FlushSeq
	if d.instance == "" {
		d.instance = strings.ToLower(rand.Text()[:10])
	}
	for _, p := range st.Offsets {
		d.offsets[p.Path] = p
	}
	d.resumed = st.SavedAt
	since := st.SavedAt
	if since.IsZero() {
		since = time.Now()
	}
	if err := d.setup(cfg, st.Ledger, since); err != nil {
		return nil, err
	}
	for name, b := range d.boxes {
		removed, err := b.box.Reconcile(d.knownReport)
		if err != nil {
			return nil, fmt.Errorf("outbox of %s: %w", name, err)
		}
		if removed > 0 {
			log.Warn("dropped reports enqueued after the last saved state; their lines are read again", "count", removed)
		}
	}
	return d, nil
}

// setup builds the ledger, timetable and outboxes for cfg, carrying over a snapshot.
func (d *daemon) setup(cfg *config.Config, snap *queue.Snapshot, since time.Time) error {
	ledger, err := queue.NewLedger(cfg.QueueSpecs(), cfg.Rules, cfg.LedgerSettings())
	if err != nil {
		return err
	}
	if dropped := ledger.Restore(snap); dropped > 0 {
		d.log.Warn("queues no longer configured: their lines are dropped", "lines", dropped)
	}
	var names []string
	var scheds []queue.Schedule
	for _, q := range cfg.Queues {
		names = append(names, q.Name)
		scheds = append(scheds, q.Schedule)
	}
	boxes, err := d.openBoxes(cfg)
	if err != nil {
		return err
	}
	d.closeBoxes()
	d.cfg, d.ledger, d.boxes = cfg, ledger, boxes
	d.timing = queue.NewTimetable(names, scheds, cfg.Mail.Batch, since)
	return nil
}

// openBoxes opens the outbox of the mail route and of every program queue; deliveries are held until
// the state that produced them is saved.
func (d *daemon) openBoxes(cfg *config.Config) (map[string]*outbox, error) {
	mailRoute, err := deliverer(cfg.Mail, d.stdout)
	if err != nil {
		return nil, err
	}
	open := func(dir string, dl mailer.Deliverer) (*outbox, error) {
		box, err := mailer.Open(dir, mailer.Options{Deliverer: dl, Logger: d.log, Hold: true,
			Backoff: mailer.Backoff{Base: cfg.Mail.RetryMin, Cap: cfg.Mail.RetryMax}})
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		o := &outbox{box: box, stop: cancel, done: make(chan struct{})}
		go func() { defer close(o.done); box.Run(ctx) }()
		return o, nil
	}
	boxes := map[string]*outbox{}
	var shared *outbox
	for _, q := range cfg.Queues {
		if len(q.Program) > 0 {
			b, err := open(filepath.Join(cfg.Settings.StateDir, "programs", safeName(q.Name)),
				mailer.Program{Path: q.Program[0], Args: q.Program[1:]})
			if err != nil {
				return nil, err
			}
			boxes[q.Name] = b
			continue
		}
		if shared == nil {
			if shared, err = open(filepath.Join(cfg.Settings.StateDir, "outbox"), mailRoute); err != nil {
				return nil, err
			}
		}
		boxes[q.Name] = shared
	}
	return boxes, nil
}

// distinctBoxes returns each outbox once: the mailed queues share one.
func (d *daemon) distinctBoxes() []*outbox {
	seen := map[*outbox]bool{}
	var boxes []*outbox
	for _, b := range d.boxes {
		if !seen[b] {
			seen[b] = true
			boxes = append(boxes, b)
		}
	}
	return boxes
}

func (d *daemon) closeBoxes() {
	for _, b := range d.distinctBoxes() {
		b.stop()
		<-b.done
	}
}

// deliverer picks the mail route the configuration asks for.
func deliverer(m config.Mail, stdout io.Writer) (mailer.Deliverer, error) {
	switch {
	case m.Stdout:
		return mailer.NewWriter(stdout), nil
	case m.Dir != "":
		return mailer.Dir{Path: m.Dir}, nil
	case m.Sendmail != "":
		return mailer.Sendmail{Path: m.Sendmail}, nil
	}
	tlsMode := map[string]mailer.TLSMode{"opportunistic": mailer.TLSOpportunistic, "required": mailer.TLSRequired,
		"implicit": mailer.TLSImplicit, "none": mailer.TLSNone}[m.TLS]
	return mailer.NewSMTP(mailer.SMTPConfig{Addr: m.Server, HELO: m.Helo, Timeout: m.Timeout, TLS: tlsMode,
		Username: m.Username, PasswordFile: m.PasswordFile, CAFile: m.CAFile})
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// reportID is a report's Message-ID: it carries the flush sequence number that reconciliation reads.
func (d *daemon) reportID(seq uint64, q string) string {
	host := safeName(d.hostname)
	if host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("tayori.%d.%s.%s@%s", seq, d.instance, safeName(q), host)
}

// knownReport keeps the outbox messages the saved state accounts for.
func (d *daemon) knownReport(m *mailer.Message) bool {
	rest, ok := strings.CutPrefix(m.ID, "tayori.")
	if !ok {
		return true // not ours (put there by hand): keep it
	}
	seqText, rest, _ := strings.Cut(rest, ".")
	inst, _, _ := strings.Cut(rest, ".")
	seq, err := strconv.ParseUint(seqText, 10, 64)
	if err != nil || inst != d.instance {
		return true
	}
	return seq <= d.flushSeq
}

func (d *daemon) statePath() string { return filepath.Join(d.cfg.Settings.StateDir, "state.json") }

func (d *daemon) readState() (*stateFile, error) {
	var st stateFile
	data, err := os.ReadFile(d.statePath())
	if errors.Is(err, fs.ErrNotExist) {
		d.log.Info("no saved state: files seen now start at their end", "state", d.statePath())
		return &st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &st); err != nil || st.Version != stateVersion {
		// Keep the damaged file for a person to look at, and start afresh rather than not at all.
		aside := d.statePath() + ".damaged-" + time.Now().Format("20060102T150405")
		if rerr := os.Rename(d.statePath(), aside); rerr != nil {
			return nil, fmt.Errorf("state %s is damaged (%v) and cannot be moved aside: %w", d.statePath(), err, rerr)
		}
		d.log.Error("saved state is damaged: moved aside, starting afresh", "state", aside, "err", err, "version", st.Version)
		return &stateFile{}, nil
	}
	return &st, nil
}

// save writes the state atomically, then lets the reports it accounts for be delivered.
func (d *daemon) save() error {
	st := stateFile{Version: stateVersion, Instance: d.instance, SavedAt: time.Now(), FlushSeq: d.flushSeq,
		Ledger: d.ledger.Snapshot()}
	for _, p := range d.offsets {
		st.Offsets = append(st.Offsets, p)
	}
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := queue.WriteFileAtomic(d.statePath(), data, 0o600); err != nil {
		return err
	}
	d.dirty, d.lastSave = false, time.Now()
	for _, b := range d.distinctBoxes() {
		b.box.Release()
	}
	return nil
}

func (d *daemon) startTailer() error {
	var saved []tailer.Position
	for _, p := range d.offsets {
		saved = append(saved, p)
	}
	// Files that appeared while no tailer ran are new: read them from their start, not their end
	// (found by internal/e2e TestRestartReadsFileCreatedWhileDown and, for the tailer restarted by
	// a reload, TestReloadKeepsUnreadLines). The margin covers files created shortly before the
	// positions were taken that the last tailer had not seen yet.
	var since time.Time
	if !d.resumed.IsZero() {
		since = d.resumed.Add(-2 * d.cfg.Sources.Rescan)
	}
	t, err := tailer.New(tailer.Config{Patterns: d.cfg.Sources.Files, Rescan: d.cfg.Sources.Rescan,
		MaxLine: d.cfg.Sources.MaxLine, Logger: d.log, OpenPositions: true, Since: since,
		FinalPoll: true}, saved)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.stopTail = cancel
	d.tailEnd = make(chan error, 1)
	go func() { d.tailEnd <- t.Run(ctx, d.lines) }()
	return nil
}

// stopTailer stops the tailer and takes in every line it sends until it returns: the lines it had
// already read and those of its last look at the files.
func (d *daemon) stopTailer() {
	d.stopTail()
	for {
		select {
		case l := <-d.lines:
			d.add(l)
			continue
		case err := <-d.tailEnd:
			if err != nil && !errors.Is(err, context.Canceled) {
				d.log.Warn("tailer stopped", "err", err)
			}
		}
		break
	}
	for {
		select {
		case l := <-d.lines:
			d.add(l)
		default:
			return
		}
	}
}

func (d *daemon) add(l tailer.Line) {
	if l.Text == nil {
		// Where the tailer starts reading a file it follows from now on: saved so that a
		// restart resumes the file there even if none of its lines is read before.
		d.offsets[l.Source] = l.Pos
		d.dirty = true
		return
	}
	d.cfg.Table.Classify(l.Text, &d.dec)
	d.ledger.Add(&d.dec)
	d.offsets[l.Source] = l.Pos
	d.dirty = true
}

// run is the daemon's loop: lines in, reports out, on schedule and on signals.
func (d *daemon) run(ctx context.Context, sigs <-chan os.Signal) error {
	if err := d.startTailer(); err != nil {
		return err
	}
	if err := sdNotify("READY=1", "STATUS=following "+strings.Join(d.cfg.Sources.Files, " ")); err != nil {
		d.log.Warn("systemd notification failed", "err", err)
	}
	d.log.Info("tayori started", "version", versionString(), "config", d.confPath, "rules", len(d.cfg.Rules),
		"queues", len(d.cfg.Queues), "state", d.cfg.Settings.StateDir)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		d.tick(time.Now())
		timer.Reset(d.nextWake())
		select {
		case <-ctx.Done():
			return d.stop("terminating")
		case l := <-d.lines:
			d.add(l)
			for n := 0; n < 4096; n++ { // take what is waiting before looking at the clock again
				select {
				case l = <-d.lines:
					d.add(l)
					continue
				default:
				}
				break
			}
		case <-timer.C:
		case err := <-d.tailEnd:
			return fmt.Errorf("tailer: %w", err)
		case s := <-sigs:
			switch s {
			case syscall.SIGTERM, syscall.SIGINT:
				return d.stop("terminating")
			case syscall.SIGHUP:
				d.reload()
			case syscall.SIGUSR1:
				d.flush(d.timing.Due(time.Now(), d.ledger), "")
			case syscall.SIGUSR2:
				d.flush(d.cfg.QueueNames(), "flushing")
			}
		}
	}
}

// tick sends what is due and saves the state when it is time.
func (d *daemon) tick(now time.Time) {
	if due := d.timing.Due(now, d.ledger); len(due) > 0 {
		d.flush(due, "")
	}
	if d.dirty && now.Sub(d.lastSave) >= saveEvery {
		if err := d.save(); err != nil {
			d.log.Error("cannot save state", "err", err)
			// Try again in saveEvery, not at once: nextWake counts from lastSave, so a save that
			// keeps failing (disk full, state file unwritable) made the loop retry and log as
			// fast as it could (found by internal/e2e TestStateSaveFailure).
			d.lastSave = now
		}
	}
}

func (d *daemon) nextWake() time.Duration {
	now := time.Now()
	next := now.Add(time.Minute)
	if t := d.timing.Next(d.ledger); !t.IsZero() && t.Before(next) {
		next = t
	}
	if d.dirty && d.lastSave.Add(saveEvery).Before(next) {
		next = d.lastSave.Add(saveEvery)
	}
	return max(next.Sub(now), time.Millisecond)
}

// flush hands the reports of the given queues to their outboxes and clears those queues; the state
// that records it is saved before any of them can be delivered.
func (d *daemon) flush(queues []string, status string) {
	now := time.Now()
	sent := 0
	for _, name := range queues {
		rep := d.ledger.Report(name)
		q := d.cfg.Queue(name)
		if rep == nil || q == nil {
			continue
		}
		rep.Status = status
		body := rep.Text()
		if q.CSV {
			body = rep.CSV()
		}
		if len(q.Filter) > 0 {
			out, err := mailer.Filter(context.Background(), q.Filter[0], q.Filter[1:], body)
			if err != nil {
				d.log.Error("report filter failed: the queue is kept for its next report", "queue", name, "err", err)
				continue
			}
			body = out
		}
		msg := &mailer.Message{From: q.From, To: q.To, Subject: d.cfg.SubjectFor(q), Body: body, Date: now,
			ID: d.reportID(d.flushSeq+1, name),
			Headers: []mailer.Header{{Name: "X-Tayori-Version", Value: versionString()},
				{Name: "X-Tayori-Hostname", Value: d.hostname}}}
		if !q.Schedule.Now {
			msg.Headers = append(msg.Headers, mailer.Header{Name: "X-Tayori-Report-Start",
				Value: rep.Since.In(d.cfg.Location).Format("Mon Jan 02 15:04:05 -0700 2006")})
		}
		if err := d.boxes[name].box.Enqueue(msg); err != nil {
			d.log.Error("cannot queue the report: the queue is kept", "queue", name, "err", err)
			continue
		}
		d.flushSeq++
		d.ledger.Clear(name, now)
		d.dirty = true
		sent++
	}
	if sent > 0 {
		if err := d.save(); err != nil {
			d.log.Error("cannot save state: reports wait until it is saved", "err", err)
		}
	}
}

// reload reads the configuration again; a configuration with errors is refused and the running one
// kept. Queued lines are carried over by queue name.
func (d *daemon) reload() {
	_ = sdNotify("RELOADING=1", "MONOTONIC_USEC="+monotonicUsec())
	defer func() { _ = sdNotify("READY=1") }()
	cfg, err := config.Load(d.confPath)
	if err != nil {
		var errs config.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				d.log.Error("reload refused: configuration error", "err", e.Error())
			}
		} else {
			d.log.Error("reload refused", "err", err)
		}
		d.log.Warn("still running with the previous configuration")
		return
	}
	if cfg.Settings.StateDir != d.cfg.Settings.StateDir {
		d.log.Warn("settings.state_dir changes need a restart; keeping the current one", "state", d.cfg.Settings.StateDir)
		cfg.Settings.StateDir = d.cfg.Settings.StateDir
	}
	if len(cfg.Sources.Files) == 0 {
		d.log.Error("reload refused: sources.files is empty")
		return
	}
	d.stopTailer()
	snap := d.ledger.Snapshot()
	if err := d.setup(cfg, snap, time.Now()); err != nil {
		d.log.Error("reload failed", "err", err)
	}
	if err := d.save(); err != nil {
		d.log.Error("cannot save state", "err", err)
	}
	d.resumed = time.Now() // files created since the old tailer's last look are read from their start
	if err := d.startTailer(); err != nil {
		d.log.Error("cannot follow the sources", "err", err)
	}
	d.log.Info("configuration reloaded", "rules", len(cfg.Rules), "queues", len(cfg.Queues))
}

// stop flushes every queue, saves the state and tries to deliver what is queued before exiting.
func (d *daemon) stop(status string) error {
	_ = sdNotify("STOPPING=1")
	d.stopTailer()
	d.flush(d.cfg.QueueNames(), status)
	if err := d.save(); err != nil {
		return fmt.Errorf("cannot save state: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	for _, b := range d.distinctBoxes() {
		if err := b.box.Flush(ctx); err != nil {
			d.log.Warn("reports not delivered yet stay in the outbox for the next start", "err", err)
		}
	}
	d.closeBoxes()
	d.log.Info("tayori stopped")
	return nil
}
