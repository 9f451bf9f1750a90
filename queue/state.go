package queue

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/tayori-dev/tayori/classify"
)

// Snapshot is a ledger's content in a form that survives a restart: every queue's lines, the report
// start times, and each host's previous line and escalation counts. Counts are keyed by the rule's
// pattern and queue list, so they survive a reload that moves rules around.
type Snapshot struct {
	Queues map[string]QueueSnapshot `json:"queues"`
	Hosts  map[string]HostSnapshot  `json:"hosts,omitempty"`
	Seq    uint64                   `json:"seq"`
}

// QueueSnapshot is one queue's content.
type QueueSnapshot struct {
	Since time.Time                  `json:"since"`
	Hosts map[string][]EntrySnapshot `json:"hosts,omitempty"`
}

// EntrySnapshot is one line of a queue; Other marks the entry counting lines beyond the cap.
type EntrySnapshot struct {
	Line  string `json:"line"`
	Count int    `json:"count"`
	Seq   uint64 `json:"seq"`
	Other bool   `json:"other,omitempty"`
}

// HostSnapshot is what escalation and repeats remember of a host.
type HostSnapshot struct {
	LastText   string         `json:"last_text,omitempty"`
	LastQueues []string       `json:"last_queues,omitempty"`
	Matches    map[string]int `json:"matches,omitempty"`
}

func ruleKey(r classify.Rule) string {
	return classify.TargetsString(r.Targets) + " " + r.Pattern
}

// Snapshot captures the ledger.
func (l *Ledger) Snapshot() *Snapshot {
	s := &Snapshot{Queues: map[string]QueueSnapshot{}, Hosts: map[string]HostSnapshot{}, Seq: l.seq}
	for name, dg := range l.digests {
		qs := QueueSnapshot{Since: dg.since, Hosts: map[string][]EntrySnapshot{}}
		for h, hl := range dg.hosts {
			es := make([]EntrySnapshot, 0, len(hl.entries)+1)
			for _, e := range hl.entries {
				es = append(es, EntrySnapshot{Line: e.Line, Count: e.Count, Seq: e.seq})
			}
			if hl.other > 0 {
				es = append(es, EntrySnapshot{Count: hl.other, Seq: hl.otherAt, Other: true})
			}
			qs.Hosts[h] = es
		}
		s.Queues[name] = qs
	}
	for h, hs := range l.hosts {
		snap := HostSnapshot{}
		if len(hs.last.queues) > 0 {
			snap.LastText, snap.LastQueues = string(hs.last.text), append([]string(nil), hs.last.queues...)
		}
		for i, n := range hs.matches {
			if n > 0 && l.rules[i].Kind == classify.Match {
				if snap.Matches == nil {
					snap.Matches = map[string]int{}
				}
				snap.Matches[ruleKey(l.rules[i])] = n
			}
		}
		if snap.LastQueues != nil || snap.Matches != nil {
			s.Hosts[h] = snap
		}
	}
	return s
}

// Restore loads a snapshot into an empty ledger. Lines of queues the configuration no longer has are
// not kept; Restore returns how many such lines it dropped, so the caller can say so.
func (l *Ledger) Restore(s *Snapshot) (dropped int) {
	if s == nil {
		return 0
	}
	if s.Seq > l.seq {
		l.seq = s.Seq
	}
	for name, qs := range s.Queues {
		dg := l.digests[name]
		if dg == nil {
			for _, es := range qs.Hosts {
				for _, e := range es {
					dropped += e.Count
				}
			}
			continue
		}
		if !qs.Since.IsZero() {
			dg.since = qs.Since
		}
		if len(qs.Hosts) > 0 && len(dg.hosts) == 0 {
			// Restored lines are pending from now: a "now" queue's batching window starts again.
			dg.firstAt = l.settings.Now()
		}
		dg.epoch++ // hosts' lines held at hand are replaced
		for h, es := range qs.Hosts {
			hl := &hostLines{index: map[string]int{}}
			sort.Slice(es, func(i, j int) bool { return es[i].Seq < es[j].Seq })
			for _, e := range es {
				if e.Other {
					hl.other, hl.otherAt = e.Count, e.Seq
					continue
				}
				hl.index[e.Line] = len(hl.entries)
				hl.entries = append(hl.entries, Entry{Line: e.Line, Count: e.Count, seq: e.Seq})
			}
			dg.hosts[h] = hl
		}
	}
	index := map[string]int{}
	for i, r := range l.rules {
		if r.Kind == classify.Match {
			index[ruleKey(r)] = i
		}
	}
	for h, snap := range s.Hosts {
		hs := l.host([]byte(h))
		var queues []string
		for _, q := range snap.LastQueues {
			if l.digests[q] != nil {
				queues = append(queues, q)
			}
		}
		hs.last.set([]byte(snap.LastText), queues...)
		for key, n := range snap.Matches {
			if i, ok := index[key]; ok {
				if len(hs.matches) < len(l.rules) {
					hs.matches = append(hs.matches, make([]int, len(l.rules)-len(hs.matches))...)
				}
				hs.matches[i] = n
			}
		}
	}
	return dropped
}

// WriteFileAtomic replaces path with data so that a crash leaves either the old or the new content:
// it writes a temporary file in the same directory, syncs it, renames it over path and syncs the
// directory.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
