package tailer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// syslogLines returns n lines of about 100 bytes like rsyslog writes them.
func syslogLines(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "2026-01-01T00:00:%02d.000000+00:00 host%03d sshd[%d]: Accepted publickey for user%d from 10.0.%d.%d\n",
			i%60, i%500, 1000+i%30000, i%100, i%256, (i/256)%256)
	}
	return b.Bytes()
}

// reportPerLine adds ns/line and allocs/line to a benchmark that handled
// lines lines in each of b.N iterations.
func reportPerLine(b *testing.B, lines int, before *runtime.MemStats) {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	total := float64(lines) * float64(b.N)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/line")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/total, "allocs/line")
}

// BenchmarkReadLines measures the line path alone: splitting, cutting and
// the copy of Text the receiver owns.
func BenchmarkReadLines(b *testing.B) {
	const n = 100000
	data := syslogLines(n)
	b.SetBytes(int64(len(data)))
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for range b.N {
		count := 0
		if err := ReadLines(bytes.NewReader(data), "-", 0, func(Line) error { count++; return nil }); err != nil {
			b.Fatal(err)
		}
		if count != n {
			b.Fatalf("%d lines, want %d", count, n)
		}
	}
	b.StopTimer()
	reportPerLine(b, n, &before)
}

// BenchmarkTailFile measures a Tailer reading a file of syslog lines from a
// saved position at its start and a receiver taking them off the channel.
func BenchmarkTailFile(b *testing.B) {
	const n = 200000
	path := filepath.Join(b.TempDir(), "host.log")
	data := syslogLines(n)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	dev, ino := fileID(fi)
	start := Position{Path: path, Dev: dev, Ino: ino, Fingerprint: fnv1a(nil)}
	b.SetBytes(int64(len(data)))
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for range b.N {
		w := NewManualWaker()
		tl, err := New(Config{Patterns: []string{path}, Waker: w}, []Position{start})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan Line, 1024)
		done := make(chan error, 1)
		go func() { done <- tl.Run(ctx, out) }()
		for count := 0; count < n; count++ {
			<-out
		}
		<-w.Parked()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportPerLine(b, n, &before)
}
