package classify_test

import (
	"bytes"
	"testing"

	"github.com/tayori-dev/tayori/classify"
	"github.com/tayori-dev/tayori/internal/gencorpus"
	"github.com/tayori-dev/tayori/internal/tenshiref"
)

// logcheckTable is the benchmark's big table: a few report rules, then logcheck's server-level ignore
// rules as trash rules, then a catch-all, as tenshiref/cmd/logcheckconf writes it.
func logcheckTable(tb testing.TB) []classify.Rule {
	tb.Helper()
	trash, _, err := tenshiref.LogcheckRules(tenshiref.LogcheckDir+"/ignore.d.paranoid", tenshiref.LogcheckDir+"/ignore.d.server")
	if err != nil || len(trash) < 1000 {
		tb.Skipf("logcheck-database rules not available (%d rules, %v)", len(trash), err)
	}
	rules := []classify.Rule{
		{Kind: classify.Match, Pattern: `^kernel: (?:\[[ .0-9]+\] )?(?:Oops|BUG|Kernel panic)`, Targets: []classify.Target{{Queue: "critical"}}},
		{Kind: classify.Match, Pattern: `^sshd\[(\d+)\]: Failed password for (?:invalid user )?(\S+) from (\S+) port (\d+) ssh2`, Targets: []classify.Target{{Queue: "report"}}},
		{Kind: classify.Match, Pattern: `^sshd\[(\d+)\]: Invalid user (\S*) from (\S+)`, Targets: []classify.Target{{Queue: "report"}}},
	}
	for _, p := range trash {
		rules = append(rules, classify.Rule{Kind: classify.Trash, Pattern: p})
	}
	return append(rules, classify.Rule{Kind: classify.Match, Pattern: `.*`, Targets: []classify.Target{{Queue: "misc"}}})
}

func generated(tb testing.TB, n int) [][]byte {
	tb.Helper()
	var buf bytes.Buffer
	opts := gencorpus.Defaults()
	opts.Lines, opts.Seed = n, 1
	if err := gencorpus.Generate(&buf, opts); err != nil {
		tb.Fatal(err)
	}
	return bytes.Split(bytes.TrimRight(buf.Bytes(), "\n"), []byte("\n"))
}

func BenchmarkClassifyLogcheck(b *testing.B) {
	rules := logcheckTable(b)
	t, err := classify.New(rules, classify.Options{Mask: "___"})
	if err != nil {
		b.Fatal(err)
	}
	lines := generated(b, 100000)
	var d classify.Decision
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t.Classify(lines[i%len(lines)], &d)
	}
}

func BenchmarkCompileLogcheck(b *testing.B) {
	rules := logcheckTable(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := classify.New(rules, classify.Options{Mask: "___"}); err != nil {
			b.Fatal(err)
		}
	}
}
