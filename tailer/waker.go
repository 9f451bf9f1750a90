package tailer

import (
	"context"
	"time"
)

// A Waker tells an idle Tailer when to look at its files again. Injecting
// it lets tests decide exactly when the tailer polls, with no sleeping.
type Waker interface {
	// Wait blocks until the tailer should poll again. It returns ctx.Err()
	// if ctx is done first.
	Wait(ctx context.Context) error
}

// Interval returns a Waker that wakes every d. It is the Waker a Tailer uses
// when Config.Waker is nil.
func Interval(d time.Duration) Waker { return interval(d) }

type interval time.Duration

func (d interval) Wait(ctx context.Context) error {
	t := time.NewTimer(time.Duration(d))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ManualWaker is a Waker driven by hand, for tests: each time the tailer has
// read everything it can, it reports on Parked and sleeps until Wake.
//
// A test typically waits on Parked (collecting lines meanwhile), changes
// files, calls Wake, and waits on Parked again: when Parked fires, every line
// of that poll has been sent.
type ManualWaker struct {
	parked chan struct{}
	wake   chan struct{}
}

// NewManualWaker returns a ManualWaker.
func NewManualWaker() *ManualWaker {
	return &ManualWaker{parked: make(chan struct{}), wake: make(chan struct{})}
}

// Wait implements Waker.
func (w *ManualWaker) Wait(ctx context.Context) error {
	select {
	case w.parked <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-w.wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Parked receives a value each time the tailer has finished a poll and is
// about to sleep.
func (w *ManualWaker) Parked() <-chan struct{} { return w.parked }

// Wake lets a parked tailer run one more poll. Call it only after receiving
// from Parked; it returns ctx.Err() if ctx is done first.
func (w *ManualWaker) Wake(ctx context.Context) error {
	select {
	case w.wake <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
