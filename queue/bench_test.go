package queue

import (
	"bytes"
	"testing"

	"github.com/tayori-dev/tayori/classify"
	"github.com/tayori-dev/tayori/internal/gencorpus"
)

// BenchmarkLedgerAdd counts classified lines of a generated corpus into a ledger: ns/op is ns per line.
func BenchmarkLedgerAdd(b *testing.B) {
	rules := []classify.Rule{
		{Kind: classify.Repeat, Pattern: `^last message repeated (\d+) times`},
		{Kind: classify.Match, Pattern: `^sshd\[(\d+)\]: Failed password for (?:invalid user )?(\S+) from (\S+) port (\d+)`, Targets: targets("report,critical:50")},
		{Kind: classify.Trash, Pattern: `^CRON\[`},
		{Kind: classify.Match, Pattern: `^(\S+?)(?:\[\d+\])?: `, Targets: targets("misc")},
	}
	tb, err := classify.New(rules, classify.Options{Mask: "___", RsyslogRepeats: true})
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	o := gencorpus.Defaults()
	o.Lines, o.Seed = 20000, 1
	if err := gencorpus.Generate(&buf, o); err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimRight(buf.Bytes(), "\n"), []byte("\n"))
	decisions := make([]classify.Decision, len(lines))
	for i, l := range lines {
		tb.Classify(l, &decisions[i])
		decisions[i].Text = append([]byte(nil), decisions[i].Text...) // own the buffers
		decisions[i].Host = append([]byte(nil), decisions[i].Host...)
	}
	l, err := NewLedger([]Spec{{Name: "report"}, {Name: "critical"}, {Name: "misc"}}, rules, Settings{MaxLines: 1000})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.Add(&decisions[i%len(decisions)])
	}
}
