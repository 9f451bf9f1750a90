package mailer

import (
	"context"
	"testing"
	"time"
)

func openHeld(t *testing.T, dir string, d Deliverer) *Outbox {
	t.Helper()
	o, err := Open(dir, Options{Deliverer: d, Clock: newFakeClock(t0), Logger: quiet(), Hold: true,
		Backoff: Backoff{Base: 10 * time.Second, Cap: 10 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// A held message is not delivered, not even by Flush, until Release.
func TestHeldMessagesWaitForRelease(t *testing.T) {
	rec := &recorder{}
	o := openHeld(t, t.TempDir(), rec)
	if err := o.Enqueue(numbered(1)); err != nil {
		t.Fatal(err)
	}
	if err := o.Flush(context.Background()); err == nil || len(rec.got) != 0 {
		t.Fatalf("held message delivered (%d) or flush claimed success: %v", len(rec.got), err)
	}
	if _, ok := o.nextDueLocked(); ok {
		t.Error("a held message counts as due: Run would spin")
	}
	o.Release()
	if err := o.Flush(context.Background()); err != nil || len(rec.got) != 1 {
		t.Fatalf("after release: delivered %d, %v", len(rec.got), err)
	}
}

// Reconcile drops what the caller's saved state does not know of and releases the rest.
func TestReconcileDropsUnknownReports(t *testing.T) {
	dir := t.TempDir()
	first := openHeld(t, dir, &recorder{})
	for i := 1; i <= 3; i++ {
		if err := first.Enqueue(numbered(i)); err != nil {
			t.Fatal(err)
		}
	}
	// The process dies; its saved state knew reports 1 and 2 only.
	rec := &recorder{}
	second := openHeld(t, dir, rec)
	removed, err := second.Reconcile(func(m *Message) bool { return m.ID != "3@example.org" })
	if err != nil || removed != 1 {
		t.Fatalf("removed %d, %v", removed, err)
	}
	if err := second.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rec.got) != 2 || rec.got[0].ID != "1@example.org" || rec.got[1].ID != "2@example.org" {
		t.Fatalf("delivered %v", rec.got)
	}
	if files := pendingFiles(t, dir); len(files) != 0 {
		t.Errorf("outbox still holds %v", files)
	}
}
