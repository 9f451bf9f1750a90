package mailer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Defaults of Options.
const (
	DefaultBackoffBase    = 10 * time.Second
	DefaultBackoffCap     = 10 * time.Minute
	DefaultAttemptTimeout = 2 * time.Minute
)

// FailedDir is the subdirectory of the outbox that keeps the messages a
// deliverer rejected for good.
const FailedDir = "failed"

// Backoff is the wait between two attempts of one message: Base after the
// first failure, doubled after each further failure, never more than Cap.
type Backoff struct {
	Base time.Duration
	Cap  time.Duration
}

// Delay returns the wait after the given number of consecutive failures
// (1 for the first). It never overflows.
func (b Backoff) Delay(failures int) time.Duration {
	if failures < 1 {
		return 0
	}
	d := b.Base
	for i := 1; i < failures; i++ {
		if d > b.Cap/2 {
			return b.Cap
		}
		d *= 2
	}
	return min(d, b.Cap)
}

// Clock is the outbox's source of time and of waiting. Tests pass a fake one
// to make backoff exact without sleeping.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options configure an Outbox. Only Deliverer is required.
type Options struct {
	Deliverer Deliverer
	// Backoff between attempts of one message; zero fields take
	// DefaultBackoffBase and DefaultBackoffCap.
	Backoff Backoff
	// AttemptTimeout bounds one call of Deliverer.Deliver
	// (DefaultAttemptTimeout if zero).
	AttemptTimeout time.Duration
	Clock          Clock        // the system clock if nil
	Logger         *slog.Logger // slog.Default() if nil
	// Hold keeps every message, those found at Open and those enqueued later, from delivery until
	// Release: a caller that commits its own state after Enqueue releases the messages once that
	// state is on disk, so nothing is mailed that a crash could make it count again.
	Hold bool
}

// Outbox is a durable queue of messages in a directory (typically
// <state>/outbox), one file per message, drained by Run through a Deliverer.
//
// A message is on disk before Enqueue returns, is removed only after the
// deliverer accepted it, and is moved to the failed/ subdirectory (with the
// error) when the deliverer rejects it for good; it is never dropped. Files
// left by a previous process are picked up by Open. All methods are safe for
// concurrent use; deliveries are made one at a time.
type Outbox struct {
	dir            string
	failedDir      string
	deliverer      Deliverer
	backoff        Backoff
	attemptTimeout time.Duration
	clock          Clock
	log            *slog.Logger
	hold           bool

	kick chan struct{} // wakes Run after Enqueue
	pass chan struct{} // held during a delivery pass (Run or Flush)

	mu        sync.Mutex // guards the fields below
	pending   map[string]*entry
	lastSeq   int64
	delivered int
	failed    int
	lastErr   error
	lastErrAt time.Time
	lastOKAt  time.Time
}

// entry is the in-memory delivery state of one pending file.
type entry struct {
	failures  int       // consecutive retryable failures
	next      time.Time // not before; zero means now
	delivered bool      // accepted, but the file could not be removed yet
	held      bool      // waiting for Release
}

// Stats is a snapshot of an Outbox for logs and health checks.
type Stats struct {
	Pending       int       // messages waiting in the outbox
	Failed        int       // messages in failed/ (found at Open plus moved since)
	Delivered     int       // messages accepted since Open
	NextAttempt   time.Time // earliest backoff deadline; zero if one is due now or none pending
	LastError     error     // most recent failure (delivery or disk), kept after later successes
	LastErrorTime time.Time
	LastDelivery  time.Time // time of the most recent accepted delivery
}

// Open opens (creating if needed) the outbox in dir and its failed/
// subdirectory, removes temporary files left by an interrupted Enqueue (that
// Enqueue never returned nil, so the caller still has the message) and picks
// up the pending messages.
func Open(dir string, opt Options) (*Outbox, error) {
	if opt.Deliverer == nil {
		return nil, errors.New("outbox: no deliverer")
	}
	o := &Outbox{
		dir:            dir,
		failedDir:      filepath.Join(dir, FailedDir),
		deliverer:      opt.Deliverer,
		backoff:        opt.Backoff,
		attemptTimeout: opt.AttemptTimeout,
		clock:          opt.Clock,
		log:            opt.Logger,
		hold:           opt.Hold,
		kick:           make(chan struct{}, 1),
		pass:           make(chan struct{}, 1),
		pending:        make(map[string]*entry),
	}
	if o.backoff.Base <= 0 {
		o.backoff.Base = DefaultBackoffBase
	}
	if o.backoff.Cap <= 0 {
		o.backoff.Cap = max(DefaultBackoffCap, o.backoff.Base)
	}
	o.backoff.Cap = max(o.backoff.Cap, o.backoff.Base)
	if o.attemptTimeout <= 0 {
		o.attemptTimeout = DefaultAttemptTimeout
	}
	if o.clock == nil {
		o.clock = systemClock{}
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	if err := os.MkdirAll(o.failedDir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	for _, d := range []string{o.dir, o.failedDir} {
		if err := removeTemps(d); err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
	}
	failed, err := listMessages(o.failedDir)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	o.failed = len(failed)
	names, err := o.scanLocked()
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	for _, name := range names {
		if seq, err := strconv.ParseInt(name[:19], 10, 64); err == nil {
			o.lastSeq = max(o.lastSeq, seq)
		}
	}
	o.log.Info("outbox opened", "dir", dir, "pending", len(names), "failed", o.failed)
	return o, nil
}

// Enqueue checks m (with the deliverer's Check if it is a Checker, else
// with m.Validate), sets m.Date (to the clock's now) and m.ID (to a new
// Message-ID) when they are empty, and stores m durably: when Enqueue returns
// nil the message is in a file that was synced, renamed into place and whose
// directory was synced, so the caller may forget its own copy. An invalid
// message is refused with an error wrapping ErrInvalidMessage.
func (o *Outbox) Enqueue(m *Message) error {
	check := m.Validate
	if c, ok := o.deliverer.(Checker); ok {
		check = func() error { return c.Check(m) }
	}
	if err := check(); err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	now := o.clock.Now()
	if m.Date.IsZero() {
		m.Date = now
	}
	if m.ID == "" {
		m.ID = newMessageID(now, m.From)
	}
	data, err := newRecord(m, now).encode()
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", m.ID, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	name := o.nextName(now)
	if err := writeFileAtomic(o.dir, name, data); err != nil {
		o.noteErrorLocked(now, err)
		return fmt.Errorf("enqueue %s: %w", m.ID, err)
	}
	if o.pending[name] == nil {
		o.pending[name] = &entry{held: o.hold}
	}
	o.log.Info("report queued for delivery", "id", m.ID, "subject", m.Subject, "file", name)
	o.wake()
	return nil
}

// Run delivers pending messages until ctx is done: oldest first, each one as
// soon as it is due, waiting Backoff between the attempts of a message that
// failed with a retryable error. A message that is backing off does not hold
// back younger ones. Run wakes up when a message is enqueued. Call it once.
func (o *Outbox) Run(ctx context.Context) {
	for ctx.Err() == nil {
		select {
		case o.pass <- struct{}{}:
		case <-ctx.Done():
			return
		}
		next, ok := o.deliverPass(ctx, false)
		<-o.pass

		var timer <-chan time.Time
		if ok {
			d := next.Sub(o.clock.Now())
			if d <= 0 {
				continue
			}
			timer = o.clock.After(d)
		}
		select {
		case <-ctx.Done():
			return
		case <-o.kick:
		case <-timer:
		}
	}
}

// Flush attempts every pending message once, now, ignoring backoff; it is
// meant for shutdown, with a deadline in ctx. It returns nil when nothing is
// left pending, else an error saying how many messages are and why. Messages
// rejected for good are in failed/ and not counted as pending.
func (o *Outbox) Flush(ctx context.Context) error {
	select {
	case o.pass <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("flush: %w", ctx.Err())
	}
	o.deliverPass(ctx, true)
	<-o.pass
	// This pass may have spent the wake-up of a concurrent Run and changed
	// when messages are due: let Run look again.
	o.wake()

	st := o.Stats()
	if st.Pending == 0 {
		return nil
	}
	cause := ctx.Err()
	if cause == nil {
		cause = st.LastError
	}
	if cause == nil {
		return fmt.Errorf("flush: %d message(s) still pending", st.Pending)
	}
	return fmt.Errorf("flush: %d message(s) still pending: %w", st.Pending, cause)
}

// Release lets every held message be delivered.
func (o *Outbox) Release() {
	o.mu.Lock()
	for _, e := range o.pending {
		e.held = false
	}
	o.mu.Unlock()
	o.wake()
}

// Reconcile removes the pending messages keep refuses and releases the others. A daemon calls it at
// start, before Run, to drop the reports its saved state does not know of (enqueued just before a
// crash, while their lines were still in the saved queues: they will be reported again). It returns
// the number of messages removed. Unreadable files are kept (and quarantined by delivery).
func (o *Outbox) Reconcile(keep func(*Message) bool) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	names, err := o.scanLocked()
	if err != nil {
		return 0, fmt.Errorf("reconcile: %w", err)
	}
	removed := 0
	for _, name := range names {
		_, m, err := readRecord(filepath.Join(o.dir, name))
		if err == nil && !keep(m) {
			if err := os.Remove(filepath.Join(o.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return removed, fmt.Errorf("reconcile: %w", err)
			}
			delete(o.pending, name)
			removed++
			o.log.Warn("outbox: dropped a report the saved state does not know of; its lines are read again", "id", m.ID, "file", name)
			continue
		}
		if e := o.pending[name]; e != nil {
			e.held = false
		}
	}
	if removed > 0 {
		if err := syncDir(o.dir); err != nil {
			return removed, fmt.Errorf("reconcile: %w", err)
		}
	}
	o.wake()
	return removed, nil
}

// wake makes Run do a pass soon, if it is not about to.
func (o *Outbox) wake() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// Stats returns a snapshot of the outbox.
func (o *Outbox) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	st := Stats{
		Pending:       len(o.pending),
		Failed:        o.failed,
		Delivered:     o.delivered,
		LastError:     o.lastErr,
		LastErrorTime: o.lastErrAt,
		LastDelivery:  o.lastOKAt,
	}
	if next, ok := o.nextDueLocked(); ok && next.After(o.clock.Now()) {
		st.NextAttempt = next
	}
	return st
}

// deliverPass attempts the pending messages that are due (all of them if
// force), oldest first, and returns when the earliest remaining one is due;
// ok is false when none remains. The caller holds o.pass.
func (o *Outbox) deliverPass(ctx context.Context, force bool) (next time.Time, ok bool) {
	o.mu.Lock()
	// This pass sees every file enqueued so far (Enqueue renames and kicks
	// under o.mu), so their wake-ups are spent.
	select {
	case <-o.kick:
	default:
	}
	names, err := o.scanLocked()
	if err != nil {
		now := o.clock.Now()
		o.noteErrorLocked(now, err)
		o.mu.Unlock()
		o.log.Error("outbox: cannot list pending messages", "dir", o.dir, "err", err)
		return now.Add(o.backoff.Base), true
	}
	o.mu.Unlock()

	for _, name := range names {
		if ctx.Err() != nil {
			break
		}
		o.mu.Lock()
		e := o.pending[name]
		due := e != nil && !e.held && (force || !e.next.After(o.clock.Now()))
		o.mu.Unlock()
		if due {
			o.attempt(ctx, name, e)
		}
	}

	o.mu.Lock()
	defer o.mu.Unlock()
	return o.nextDueLocked()
}

// attempt makes one delivery attempt of the file name and records its outcome.
func (o *Outbox) attempt(ctx context.Context, name string, e *entry) {
	path := filepath.Join(o.dir, name)
	if e.delivered {
		o.removeDelivered(name, e, "")
		return
	}
	rec, m, err := readRecord(path)
	if errors.Is(err, fs.ErrNotExist) {
		o.mu.Lock()
		delete(o.pending, name)
		o.mu.Unlock()
		return
	}
	if errors.Is(err, errCorrupt) {
		o.quarantine(name, e, err)
		return
	}
	if err != nil {
		o.retryLater(name, e, o.clock.Now(), err)
		return
	}

	actx, cancel := context.WithTimeout(ctx, o.attemptTimeout)
	retry, err := o.deliverer.Deliver(actx, m)
	cancel()
	now := o.clock.Now()

	switch {
	case err == nil:
		o.mu.Lock()
		e.delivered = true
		o.delivered++
		o.lastOKAt = now
		o.mu.Unlock()
		o.log.Info("report delivered", "id", m.ID, "subject", m.Subject, "attempts", e.failures+1)
		o.removeDelivered(name, e, m.ID)
	case ctx.Err() != nil:
		// Interrupted by shutdown: not the message's fault, not an attempt.
		o.log.Info("delivery interrupted, report stays queued", "id", m.ID, "err", err)
	case !retry:
		o.moveToFailed(name, e, rec, err)
	default:
		o.retryLater(name, e, now, fmt.Errorf("deliver %s: %w", m.ID, err))
	}
}

func (o *Outbox) retryLater(name string, e *entry, now time.Time, err error) {
	o.mu.Lock()
	e.failures++
	delay := o.backoff.Delay(e.failures)
	e.next = now.Add(delay)
	o.noteErrorLocked(now, err)
	failures := e.failures
	o.mu.Unlock()
	o.log.Warn("delivery failed, will retry", "file", name, "failures", failures, "retry_in", delay, "err", err)
}

// removeDelivered removes the file of an accepted message. If that fails the
// entry stays, marked delivered, so it is not sent twice while this process
// lives.
func (o *Outbox) removeDelivered(name string, e *entry, id string) {
	err := os.Remove(filepath.Join(o.dir, name))
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		err = syncDir(o.dir)
		o.mu.Lock()
		delete(o.pending, name)
		o.mu.Unlock()
	}
	if err != nil {
		now := o.clock.Now()
		o.mu.Lock()
		e.next = now.Add(o.backoff.Base)
		o.noteErrorLocked(now, err)
		o.mu.Unlock()
		o.log.Error("outbox: cannot remove delivered report", "id", id, "file", name, "err", err)
	}
}

// moveToFailed writes the record with its error into failed/ and then removes
// it from the outbox. If failed/ cannot be written the message stays pending.
func (o *Outbox) moveToFailed(name string, e *entry, rec *record, cause error) {
	now := o.clock.Now()
	rec.Attempts = e.failures + 1
	rec.FailedAt = now
	rec.Error = cause.Error()
	data, err := rec.encode()
	if err == nil {
		err = writeFileAtomic(o.failedDir, name, data)
	}
	if err == nil {
		err = os.Remove(filepath.Join(o.dir, name))
		if err == nil {
			err = syncDir(o.dir)
		}
	}
	if err != nil {
		o.retryLater(name, e, now, fmt.Errorf("move %s to %s: %w (after: %w)", rec.ID, FailedDir, err, cause))
		return
	}
	o.mu.Lock()
	delete(o.pending, name)
	o.failed++
	o.noteErrorLocked(now, fmt.Errorf("deliver %s: %w", rec.ID, cause))
	o.mu.Unlock()
	o.log.Error("delivery failed for good, report kept in failed/",
		"id", rec.ID, "subject", rec.Subject, "file", filepath.Join(o.failedDir, name), "err", cause)
}

// quarantine moves a file that is not a message into failed/ as is.
func (o *Outbox) quarantine(name string, e *entry, cause error) {
	now := o.clock.Now()
	err := os.Rename(filepath.Join(o.dir, name), filepath.Join(o.failedDir, name))
	if err == nil {
		err = errors.Join(syncDir(o.failedDir), syncDir(o.dir))
	}
	if err != nil {
		o.retryLater(name, e, now, fmt.Errorf("quarantine %s: %w (after: %w)", name, err, cause))
		return
	}
	o.mu.Lock()
	delete(o.pending, name)
	o.failed++
	o.noteErrorLocked(now, fmt.Errorf("read %s: %w", name, cause))
	o.mu.Unlock()
	o.log.Error("unreadable outbox file moved to failed/", "file", filepath.Join(o.failedDir, name), "err", cause)
}

func (o *Outbox) noteErrorLocked(now time.Time, err error) {
	o.lastErr = err
	o.lastErrAt = now
}

func (o *Outbox) nextDueLocked() (time.Time, bool) {
	var next time.Time
	ok := false
	for _, e := range o.pending {
		if e.held {
			continue
		}
		if !ok || e.next.Before(next) {
			next, ok = e.next, true
		}
	}
	return next, ok
}

// scanLocked lists the message files of the outbox, oldest first, and brings
// o.pending in line with them: files put there by hand (say, moved back from
// failed/) are picked up, entries whose file is gone are dropped.
func (o *Outbox) scanLocked() ([]string, error) {
	names, err := listMessages(o.dir)
	if err != nil {
		return nil, err
	}
	present := make(map[string]bool, len(names))
	for _, name := range names {
		present[name] = true
		if o.pending[name] == nil {
			o.pending[name] = &entry{held: o.hold}
		}
	}
	for name := range o.pending {
		if !present[name] {
			delete(o.pending, name)
		}
	}
	return names, nil
}

// nextName returns a new file name that sorts after every earlier one: the
// enqueue time in nanoseconds (bumped to stay increasing) and a random part.
func (o *Outbox) nextName(now time.Time) string {
	seq := max(now.UnixNano(), o.lastSeq+1)
	o.lastSeq = seq
	return fmt.Sprintf("%019d-%s%s", seq, strings.ToLower(rand.Text()[:8]), msgExt)
}

const (
	msgExt     = ".json"
	tempPrefix = ".tmp-"
)

// listMessages returns the message files in dir, sorted.
func listMessages(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, de := range des {
		n := de.Name()
		if de.Type().IsRegular() && strings.HasSuffix(n, msgExt) && len(n) > 19 && !strings.HasPrefix(n, ".") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

func removeTemps(dir string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, de := range des {
		if strings.HasPrefix(de.Name(), tempPrefix) {
			if err := os.Remove(filepath.Join(dir, de.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeFileAtomic puts data into dir/name so that after a crash the file is
// either absent or complete: temporary file, fsync, rename, fsync of dir.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// recordVersion is the version of the outbox file format.
const recordVersion = 1

// record is the on-disk form of a queued Message: one JSON object per file.
// The body is stored as text when it is valid UTF-8 (readable with any
// tool) and base64 otherwise, so that every byte survives.
type record struct {
	Version  int            `json:"version"`
	Enqueued time.Time      `json:"enqueued"`
	ID       string         `json:"id"`
	Date     time.Time      `json:"date"`
	From     string         `json:"from"`
	To       []string       `json:"to"`
	Subject  string         `json:"subject"`
	Headers  []recordHeader `json:"headers,omitempty"`
	Text     *string        `json:"text,omitempty"`
	Body     []byte         `json:"body,omitempty"`

	// Set when the record is moved to failed/.
	Attempts int       `json:"attempts,omitempty"`
	FailedAt time.Time `json:"failed_at,omitzero"`
	Error    string    `json:"error,omitempty"`
}

type recordHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// encode returns r as one line of JSON, with <, > and & left as they are.
func (r *record) encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func newRecord(m *Message, now time.Time) *record {
	r := &record{
		Version:  recordVersion,
		Enqueued: now,
		ID:       trimID(m.ID),
		Date:     m.Date,
		From:     m.From,
		To:       m.To,
		Subject:  m.Subject,
	}
	for _, h := range m.Headers {
		r.Headers = append(r.Headers, recordHeader(h))
	}
	if utf8.Valid(m.Body) {
		s := string(m.Body)
		r.Text = &s
	} else {
		r.Body = m.Body
	}
	return r
}

func (r *record) message() *Message {
	m := &Message{
		From:    r.From,
		To:      r.To,
		Subject: r.Subject,
		Body:    r.Body,
		Date:    r.Date,
		ID:      r.ID,
	}
	if r.Text != nil && *r.Text != "" {
		m.Body = []byte(*r.Text)
	}
	for _, h := range r.Headers {
		m.Headers = append(m.Headers, Header(h))
	}
	return m
}

// errCorrupt marks an outbox file that can be read but is not a message.
var errCorrupt = errors.New("not an outbox message")

// readRecord reads and decodes one outbox file.
func readRecord(path string) (*record, *Message, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errCorrupt, err)
	}
	if r.Version != recordVersion {
		return nil, nil, fmt.Errorf("%w: unknown format version %d", errCorrupt, r.Version)
	}
	return &r, r.message(), nil
}
