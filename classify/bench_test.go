package classify

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// corpusLines reads the bundled real logs.
func corpusLines(b testing.TB) [][]byte {
	b.Helper()
	files, _ := filepath.Glob("../testdata/corpus/*.log")
	var lines [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		lines = append(lines, bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))...)
	}
	if len(lines) == 0 {
		b.Fatal("no corpus")
	}
	return lines
}

func benchRules() []Rule {
	return []Rule{
		rule(Repeat, `^last message repeated (\d+) times`),
		{Kind: Group, Pattern: `^sshd(?:\(pam_unix\))?: `, End: 6},
		rule(Match, `^sshd: Failed password for (?:invalid user )?(\S+) from (\S+) port (\d+) ssh2`, "a"),
		rule(Trash, `^sshd: (?:error: )?Received disconnect from (\S+): (\d+): `),
		rule(Match, `(?i)POSSIBLE BREAK-IN`, "a,b:10"),
		rule(Trash, `^sshd: pam_unix\(sshd:auth\): `),
		{Kind: HostGroup, Pattern: `^combo$`, End: 9},
		rule(Match, `^ftpd: connection from (\S+) \((\S*)\) at .*`, "a"),
		rule(Trash, `^su\(pam_unix\): session (?:opened|closed) for user (?:news|cyrus)`),
		rule(Match, `^(\S+?): `, "a"),
	}
}

func benchClassify(b *testing.B, tb *Table) {
	lines := corpusLines(b)
	var d Decision
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tb.Classify(lines[i%len(lines)], &d)
	}
}

func BenchmarkClassifySmall(b *testing.B) {
	tb, err := New(benchRules(), Options{Mask: "___", HidePID: true, RsyslogRepeats: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("set", func(b *testing.B) { benchClassify(b, tb) })
	b.Run("prefilter", func(b *testing.B) { benchClassify(b, withoutSet(tb)) })
	b.Run("linear", func(b *testing.B) { benchClassify(b, linear(tb)) })
}
