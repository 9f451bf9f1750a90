// Command tayori follows a log host's files, sorts every line with an ordered table of regular
// expressions into queues, and mails immediate alerts and scheduled per-host digests.
//
// Usage:
//
//	tayori check -c FILE
//	tayori test -c FILE [--format text|json] [--explain] [--stats] [LOGFILE...]
//	tayori convert TENSHI_CONF
//	tayori run -c FILE [--state-dir DIR]
//	tayori version
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// exitError carries a process exit status through the command functions.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

type command struct {
	name, usage string
	run         func(args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"check", "check -c FILE: validate a configuration; exit 1 listing every error", runCheck},
		{"test", "test -c FILE [--format text|json] [--explain] [--stats] [LOGFILE...]: print the digests the rules make of logs (stdin when none), without mailing", runTest},
		{"convert", "convert TENSHI_CONF: print the equivalent tayori TOML", runConvert},
		{"run", "run -c FILE [--state-dir DIR]: follow the logs and mail reports (the daemon)", runDaemon},
		{"version", "version: print tayori's version", runVersion},
	}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func dispatch(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdin, stdout, stderr)
		var ee exitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.code
		default:
			fmt.Fprintf(stderr, "tayori %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "tayori: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: tayori COMMAND [flags]")
	for _, c := range commands() {
		fmt.Fprintln(w, "  tayori "+c.usage)
	}
}
