package mailer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 2, 3, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// stepDeliverer hands every Deliver call to the test, which answers it.
type stepDeliverer struct {
	calls   chan *Message
	replies chan reply
}

type reply struct {
	retry bool
	err   error
}

func newStepDeliverer() *stepDeliverer {
	return &stepDeliverer{calls: make(chan *Message, 1), replies: make(chan reply)}
}

func (s *stepDeliverer) Deliver(ctx context.Context, m *Message) (bool, error) {
	s.calls <- m
	select {
	case r := <-s.replies:
		return r.retry, r.err
	case <-ctx.Done():
		return true, ctx.Err()
	}
}

// expect waits for the next delivery attempt.
func (s *stepDeliverer) expect(t *testing.T) *Message {
	t.Helper()
	select {
	case m := <-s.calls:
		return m
	case <-time.After(waitLimit):
		t.Fatal("no delivery attempt")
		return nil
	}
}

func (s *stepDeliverer) answer(retry bool, err error) { s.replies <- reply{retry, err} }

// recorder accepts every message and remembers them in order.
type recorder struct {
	mu  sync.Mutex
	got []*Message
}

func (r *recorder) Deliver(_ context.Context, m *Message) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, m)
	return false, nil
}

// runOutbox runs o.Run until the test ends.
func runOutbox(t *testing.T, o *Outbox) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		o.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func openOutbox(t *testing.T, dir string, d Deliverer, clk Clock) *Outbox {
	t.Helper()
	o, err := Open(dir, Options{Deliverer: d, Clock: clk, Logger: quiet(),
		Backoff: Backoff{Base: 10 * time.Second, Cap: 10 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func numbered(i int) *Message {
	m := testMessage()
	m.Subject = fmt.Sprintf("report %d", i)
	m.ID = fmt.Sprintf("%d@example.org", i)
	return m
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: 10 * time.Second, Cap: 10 * time.Minute}
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {1, 10 * time.Second}, {2, 20 * time.Second}, {3, 40 * time.Second},
		{4, 80 * time.Second}, {5, 160 * time.Second}, {6, 320 * time.Second},
		{7, 10 * time.Minute}, {8, 10 * time.Minute}, {1000, 10 * time.Minute},
		{math.MaxInt, 10 * time.Minute},
	}
	for _, tt := range tests {
		if got := b.Delay(tt.failures); got != tt.want {
			t.Errorf("Delay(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
	huge := Backoff{Base: math.MaxInt64 / 3, Cap: math.MaxInt64}
	if got := huge.Delay(5); got != math.MaxInt64 {
		t.Errorf("huge Delay(5) = %v, want the cap", got)
	}
	odd := Backoff{Base: 3, Cap: 13}
	for f, want := range []time.Duration{0, 3, 6, 12, 13, 13} {
		if got := odd.Delay(f); got != want {
			t.Errorf("odd Delay(%d) = %v, want %v", f, got, want)
		}
	}
}

// TestRunBackoffSchedule follows one message through eight retryable
// failures and a success, checking every wait the loop chooses and the time
// of every attempt, with no sleeping.
func TestRunBackoffSchedule(t *testing.T) {
	dir := t.TempDir()
	clk := newFakeClock(t0)
	sd := newStepDeliverer()
	o := openOutbox(t, dir, sd, clk)
	runOutbox(t, o)

	m := testMessage()
	if err := o.Enqueue(m); err != nil {
		t.Fatal(err)
	}
	waits := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 320 * time.Second, 600 * time.Second, 600 * time.Second}
	at := t0
	for i, want := range waits {
		got := sd.expect(t)
		sameMessage(t, got, m)
		if now := clk.Now(); !now.Equal(at) {
			t.Fatalf("attempt %d at %v, want %v", i+1, now, at)
		}
		if n := len(pendingFiles(t, dir)); n != 1 {
			t.Fatalf("attempt %d: %d files in the outbox, want 1", i+1, n)
		}
		sd.answer(true, fmt.Errorf("451 4.3.0 attempt %d", i+1))
		if d := clk.nextWait(t); d != want {
			t.Fatalf("after failure %d the loop waits %v, want %v", i+1, d, want)
		}
		st := o.Stats()
		if st.Pending != 1 || !st.NextAttempt.Equal(at.Add(want)) ||
			st.LastError == nil || !strings.Contains(st.LastError.Error(), fmt.Sprintf("attempt %d", i+1)) {
			t.Fatalf("stats after failure %d: %+v", i+1, st)
		}
		at = at.Add(want)
		clk.Advance(want)
	}
	sameMessage(t, sd.expect(t), m)
	sd.answer(false, nil)
	// Flush waits for the loop's pass to end, then finds nothing to do.
	if err := o.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := o.Stats()
	if st.Pending != 0 || st.Delivered != 1 || st.Failed != 0 || !st.LastDelivery.Equal(at) {
		t.Errorf("final stats %+v", st)
	}
	if files := pendingFiles(t, dir); len(files) != 0 {
		t.Errorf("outbox still holds %v", files)
	}
}

// TestRunYoungerMessageNotHeldBack: a message that is backing off does not
// delay one enqueued after it.
func TestRunYoungerMessageNotHeldBack(t *testing.T) {
	clk := newFakeClock(t0)
	sd := newStepDeliverer()
	o := openOutbox(t, t.TempDir(), sd, clk)
	runOutbox(t, o)

	if err := o.Enqueue(numbered(1)); err != nil {
		t.Fatal(err)
	}
	if got := sd.expect(t); got.Subject != "report 1" {
		t.Fatalf("first attempt is %q", got.Subject)
	}
	sd.answer(true, errors.New("connection refused"))
	if d := clk.nextWait(t); d != 10*time.Second {
		t.Fatalf("wait %v", d)
	}
	clk.Advance(3 * time.Second)
	if err := o.Enqueue(numbered(2)); err != nil {
		t.Fatal(err)
	}
	if got := sd.expect(t); got.Subject != "report 2" {
		t.Fatalf("second attempt is %q, want report 2", got.Subject)
	}
	sd.answer(false, nil)
	if d := clk.nextWait(t); d != 7*time.Second {
		t.Fatalf("wait %v, want the 7 s left of report 1's backoff", d)
	}
	clk.Advance(7 * time.Second)
	if got := sd.expect(t); got.Subject != "report 1" {
		t.Fatalf("third attempt is %q, want report 1", got.Subject)
	}
	sd.answer(false, nil)
	if err := o.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := o.Stats(); st.Delivered != 2 || st.Pending != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestRestartDeliversPendingInOrder: what one process enqueued, the next one
// delivers, oldest first and byte for byte.
func TestRestartDeliversPendingInOrder(t *testing.T) {
	dir := t.TempDir()
	clk := newFakeClock(t0) // a clock that stands still: names must still be ordered
	first := openOutbox(t, dir, &recorder{}, clk)
	var sent []*Message
	for i := 1; i <= 5; i++ {
		m := numbered(i)
		if err := first.Enqueue(m); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}
	// first is abandoned without Run or Flush, as if the process died.

	rec := &recorder{}
	second := openOutbox(t, dir, rec, clk)
	if st := second.Stats(); st.Pending != 5 {
		t.Fatalf("reopened outbox has %d pending, want 5", st.Pending)
	}
	if err := second.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rec.got) != len(sent) {
		t.Fatalf("delivered %d messages, want %d", len(rec.got), len(sent))
	}
	for i := range sent {
		sameMessage(t, rec.got[i], sent[i])
	}
	if files := pendingFiles(t, dir); len(files) != 0 {
		t.Errorf("outbox still holds %v", files)
	}
}

func TestFinalFailureKeptInFailed(t *testing.T) {
	dir := t.TempDir()
	clk := newFakeClock(t0)
	attempts := 0
	d := DelivererFunc(func(context.Context, *Message) (bool, error) {
		attempts++
		if attempts < 3 {
			return true, errors.New("421 4.7.0 busy")
		}
		return false, errors.New("550 5.1.1 no such user")
	})
	o := openOutbox(t, dir, d, clk)
	m := testMessage()
	if err := o.Enqueue(m); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := o.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), "1 message(s) still pending") {
			t.Fatalf("flush %d: %v", i+1, err)
		}
	}
	clk.Advance(time.Minute)
	if err := o.Flush(context.Background()); err != nil {
		t.Fatalf("a final failure leaves nothing pending, got %v", err)
	}
	if files := pendingFiles(t, dir); len(files) != 0 {
		t.Fatalf("outbox still holds %v", files)
	}
	failed := pendingFiles(t, filepath.Join(dir, FailedDir))
	if len(failed) != 1 {
		t.Fatalf("failed/ holds %v, want one file", failed)
	}
	rec, got, err := readRecord(filepath.Join(dir, FailedDir, failed[0]))
	if err != nil {
		t.Fatal(err)
	}
	sameMessage(t, got, m)
	if rec.Attempts != 3 || !rec.FailedAt.Equal(t0.Add(time.Minute)) || !strings.Contains(rec.Error, "550 5.1.1 no such user") {
		t.Errorf("failed record: attempts %d, at %v, error %q", rec.Attempts, rec.FailedAt, rec.Error)
	}
	st := o.Stats()
	if st.Failed != 1 || st.Pending != 0 || st.Delivered != 0 || !strings.Contains(st.LastError.Error(), "550") {
		t.Errorf("stats %+v", st)
	}
	if reopened := openOutbox(t, dir, d, clk).Stats(); reopened.Failed != 1 || reopened.Pending != 0 {
		t.Errorf("reopened stats %+v", reopened)
	}

	// An operator moves it back once the address is fixed: it is retried.
	if err := os.Rename(filepath.Join(dir, FailedDir, failed[0]), filepath.Join(dir, failed[0])); err != nil {
		t.Fatal(err)
	}
	rcv := &recorder{}
	again := openOutbox(t, dir, rcv, clk)
	if err := again.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rcv.got) != 1 {
		t.Fatalf("moved-back message delivered %d times", len(rcv.got))
	}
	sameMessage(t, rcv.got[0], m)
}

func TestUnreadableFilesQuarantined(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"0000000000000000001-aaaaaaaa.json": "{not json",
		"0000000000000000002-bbbbbbbb.json": `{"version": 99, "from": "a@b"}`,
	}
	if err := os.MkdirAll(filepath.Join(dir, FailedDir), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d := DelivererFunc(func(context.Context, *Message) (bool, error) {
		t.Error("an unreadable file reached the deliverer")
		return false, nil
	})
	o := openOutbox(t, dir, d, newFakeClock(t0))
	if err := o.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		got, err := os.ReadFile(filepath.Join(dir, FailedDir, name))
		if err != nil || string(got) != content {
			t.Errorf("%s in failed/: %q, %v", name, got, err)
		}
	}
	if st := o.Stats(); st.Failed != 2 || st.Pending != 0 || !strings.Contains(st.LastError.Error(), "format version 99") {
		t.Errorf("stats %+v", st)
	}
}

func TestOpenRemovesTempFilesAndIgnoresStrangers(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".tmp-123", filepath.Join(FailedDir, ".tmp-456"), "README", "notes.txt"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	o := openOutbox(t, dir, &recorder{}, newFakeClock(t0))
	for _, name := range []string{".tmp-123", filepath.Join(FailedDir, ".tmp-456")} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s survived Open: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "README")); err != nil {
		t.Errorf("README was touched: %v", err)
	}
	if st := o.Stats(); st.Pending != 0 {
		t.Errorf("strangers counted as pending: %+v", st)
	}
}

func TestEnqueueRefusesInvalidMessage(t *testing.T) {
	dir := t.TempDir()
	o := openOutbox(t, dir, &recorder{}, newFakeClock(t0))
	m := testMessage()
	m.To = []string{"root"}
	if err := o.Enqueue(m); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("Enqueue: %v, want ErrInvalidMessage", err)
	}
	if files := pendingFiles(t, dir); len(files) != 0 {
		t.Errorf("invalid message stored as %v", files)
	}
}

func TestEnqueueFillsDateAndIDAndStoresBodyLosslessly(t *testing.T) {
	dir := t.TempDir()
	clk := newFakeClock(t0)
	o := openOutbox(t, dir, &recorder{}, clk)
	valid, invalid := testMessage(), testMessage()
	valid.Body = []byte("plain text\n")
	for _, m := range []*Message{valid, invalid} {
		m.Date, m.ID = time.Time{}, ""
		if err := o.Enqueue(m); err != nil {
			t.Fatal(err)
		}
		if !m.Date.Equal(t0) || validID(m.ID) != nil || !strings.HasSuffix(m.ID, "@example.org") {
			t.Errorf("Enqueue set date %v, id %q", m.Date, m.ID)
		}
	}
	files := pendingFiles(t, dir)
	if len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	for i, want := range []struct {
		m       *Message
		key     string
		missing string
	}{{valid, `"text":"plain text\n"`, `"body"`}, {invalid, `"body":"`, `"text"`}} {
		data, err := os.ReadFile(filepath.Join(dir, files[i]))
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), want.key) || strings.Contains(string(data), want.missing+":") {
			t.Errorf("file %d: %s", i, data)
		}
		_, got, err := readRecord(filepath.Join(dir, files[i]))
		if err != nil {
			t.Fatal(err)
		}
		sameMessage(t, got, want.m)
	}
}

// TestInterruptedAttemptIsNotAFailure: an attempt cut short by the caller's
// context (shutdown) leaves the message pending, whatever the deliverer
// said, and does not count towards backoff.
func TestInterruptedAttemptIsNotAFailure(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	d := DelivererFunc(func(context.Context, *Message) (bool, error) {
		cancel()
		return false, errors.New("aborted")
	})
	o := openOutbox(t, dir, d, newFakeClock(t0))
	if err := o.Enqueue(testMessage()); err != nil {
		t.Fatal(err)
	}
	err := o.Flush(ctx)
	if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "1 message(s) still pending") {
		t.Fatalf("Flush: %v", err)
	}
	if st := o.Stats(); st.Pending != 1 || st.Failed != 0 || st.LastError != nil || !st.NextAttempt.IsZero() {
		t.Errorf("stats %+v", st)
	}
	if files := pendingFiles(t, filepath.Join(dir, FailedDir)); len(files) != 0 {
		t.Errorf("interrupted message moved to failed/: %v", files)
	}
}

func TestFlushReportsWhyMessagesArePending(t *testing.T) {
	refused := errors.New("dial tcp 127.0.0.1:25: connection refused")
	o := openOutbox(t, t.TempDir(), DelivererFunc(func(context.Context, *Message) (bool, error) {
		return true, refused
	}), newFakeClock(t0))
	for i := 1; i <= 2; i++ {
		if err := o.Enqueue(numbered(i)); err != nil {
			t.Fatal(err)
		}
	}
	err := o.Flush(context.Background())
	if !errors.Is(err, refused) || !strings.Contains(err.Error(), "2 message(s) still pending") {
		t.Errorf("Flush: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush with a dead context: %v", err)
	}
}

func TestAttemptTimeoutReachesDeliverer(t *testing.T) {
	clk := newFakeClock(t0)
	var deadline time.Duration
	d := DelivererFunc(func(ctx context.Context, _ *Message) (bool, error) {
		dl, ok := ctx.Deadline()
		if !ok {
			return false, errors.New("no deadline")
		}
		deadline = time.Until(dl)
		return false, nil
	})
	o, err := Open(t.TempDir(), Options{Deliverer: d, Clock: clk, Logger: quiet(), AttemptTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Enqueue(testMessage()); err != nil {
		t.Fatal(err)
	}
	if err := o.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if deadline <= 59*time.Minute || deadline > time.Hour {
		t.Errorf("deliverer's deadline is %v away, want about 1h", deadline)
	}
}

func TestOpenNeedsDeliverer(t *testing.T) {
	if _, err := Open(t.TempDir(), Options{}); err == nil {
		t.Error("Open without a deliverer succeeded")
	}
}
