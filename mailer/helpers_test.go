package mailer

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, rewriting the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got: %q\nwant: %q", name, got, want)
	}
}

// testMessage is a report as the daemon would hand it over: two recipients,
// extra headers, a body with invalid UTF-8, a date outside UTC.
func testMessage() *Message {
	return &Message{
		From:    "tayori <tayori@example.org>",
		To:      []string{"root@example.org", "Ops Team <ops@example.net>"},
		Subject: "tayori report [critical]",
		Body: []byte("loghost1 kernel: Out of memory: Killed process 4242 (java)\n" +
			"loghost2 sshd[77]: Invalid user \xff\xfeadmin from 192.0.2.7 = bad\n"),
		Headers: []Header{
			{Name: "X-Tayori-Version", Value: "0.1.0"},
			{Name: "X-Tayori-Hostname", Value: "collector.example.org"},
			{Name: "X-Tayori-Report-Start", Value: "2025-01-02T02:00:00+01:00"},
		},
		Date: time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600)),
		ID:   "20250102030405.4242@example.org",
	}
}

// sameMessage reports whether a and b are the same message; dates compare as
// instants with the same UTC offset.
func sameMessage(t *testing.T, got, want *Message) {
	t.Helper()
	_, gotOff := got.Date.Zone()
	_, wantOff := want.Date.Zone()
	switch {
	case got.From != want.From, strings.Join(got.To, "|") != strings.Join(want.To, "|"),
		got.Subject != want.Subject, !bytes.Equal(got.Body, want.Body), got.ID != want.ID,
		!got.Date.Equal(want.Date), gotOff != wantOff, len(got.Headers) != len(want.Headers):
		t.Errorf("message differs:\n got: %+v\nwant: %+v", got, want)
		return
	}
	for i := range got.Headers {
		if got.Headers[i] != want.Headers[i] {
			t.Errorf("header %d: got %+v, want %+v", i, got.Headers[i], want.Headers[i])
		}
	}
}

// waitLimit bounds every wait on a channel in the tests, so that a bug shows
// as a failure, not as a hung test. It is never slept.
const waitLimit = 10 * time.Second

// fakeClock is a Clock whose time moves only by Advance. Every call of After
// is reported on waits, which lets a test wait for the outbox loop to go
// idle and see exactly how long it chose to wait.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
	waits  chan time.Duration
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, waits: make(chan time.Duration, 100)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	ch := make(chan time.Time, 1)
	c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), ch: ch})
	c.mu.Unlock()
	c.waits <- d
	return ch
}

// Advance moves the clock by d and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, tm := range c.timers {
		if tm.at.After(c.now) {
			kept = append(kept, tm)
			continue
		}
		tm.ch <- c.now
	}
	c.timers = kept
}

// nextWait returns the duration of the next After call of the outbox loop.
func (c *fakeClock) nextWait(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-c.waits:
		return d
	case <-time.After(waitLimit):
		t.Fatal("outbox loop did not start waiting")
		return 0
	}
}

// pendingFiles lists the message files in an outbox directory.
func pendingFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := listMessages(dir)
	if err != nil {
		t.Fatal(err)
	}
	return names
}
