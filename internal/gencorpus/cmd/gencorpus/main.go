// Command gencorpus writes synthetic syslog to standard output, for scripts
// and benchmarks:
//
//	go run ./internal/gencorpus/cmd/gencorpus -lines 1000000 -seed 1 > corpus.log
//
// It uses gencorpus.Defaults unless -plain is given; the rate flags override.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/tayori-dev/tayori/internal/gencorpus"
)

func main() {
	d := gencorpus.Defaults()
	var (
		lines      = flag.Int("lines", 1000, "lines to write")
		seed       = flag.Int64("seed", 1, "random seed: the same seed gives the same bytes")
		hosts      = flag.Int("hosts", d.Hosts, "number of hosts")
		start      = flag.String("start", gencorpus.DefaultStart.Format(time.RFC3339), "time of the first line (RFC 3339; its offset sets the time zone)")
		interval   = flag.Duration("interval", 100*time.Millisecond, "mean gap between lines")
		plain      = flag.Bool("plain", false, "plain BSD syslog: no repeats, RFC 3339 or unprefixed lines (rate flags still apply)")
		logcheck   = flag.Float64("logcheck", d.LogcheckRate, "fraction of routine lines that logcheck ignores")
		repeat     = flag.Float64("repeat", d.RepeatRate, `rate of "last message repeated N times"`)
		rsyslog    = flag.Float64("rsyslog-repeat", d.RsyslogRepeatRate, `rate of rsyslog's "message repeated N times: [ msg]"`)
		rfc3339    = flag.Float64("rfc3339", d.RFC3339Rate, "rate of lines with an RFC 3339 time stamp")
		unprefixed = flag.Float64("unprefixed", d.UnprefixedRate, "rate of lines without a syslog prefix")
		samples    = flag.String("samples", "", "a syslog file whose messages replace the built-in normal templates")
	)
	flag.Parse()

	t, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fail(fmt.Errorf("gencorpus: -start: %w", err))
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	opts := gencorpus.Options{
		Lines: *lines, Seed: *seed, Hosts: *hosts, Start: t, Interval: *interval,
		LogcheckRate: *logcheck, RepeatRate: *repeat, RsyslogRepeatRate: *rsyslog,
		RFC3339Rate: *rfc3339, UnprefixedRate: *unprefixed,
	}
	if *plain {
		for name, rate := range map[string]*float64{
			"repeat": &opts.RepeatRate, "rsyslog-repeat": &opts.RsyslogRepeatRate,
			"rfc3339": &opts.RFC3339Rate, "unprefixed": &opts.UnprefixedRate,
		} {
			if !set[name] {
				*rate = 0
			}
		}
	}
	if *samples != "" {
		f, err := os.Open(*samples)
		if err != nil {
			fail(fmt.Errorf("gencorpus: %w", err))
		}
		opts.Templates, err = gencorpus.ParseSamples(f)
		f.Close()
		if err != nil {
			fail(fmt.Errorf("gencorpus: %s: %w", *samples, err))
		}
	}
	if err := gencorpus.Generate(os.Stdout, opts); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
