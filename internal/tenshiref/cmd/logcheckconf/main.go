// Command logcheckconf writes a tenshi configuration made of logcheck-database's rules, for the
// differential tests and the benchmark: a few report and critical rules, then logcheck's ignore rules
// (of the given levels) as trash rules, then a catch-all that reports what is left, as logcheck does.
//
//	go run ./internal/tenshiref/cmd/logcheckconf -level server > logcheck.conf
//	tayori convert logcheck.conf > logcheck.toml
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tayori-dev/tayori/internal/tenshiref"
)

func main() {
	level := flag.String("level", "server", "logcheck level whose ignore rules become trash rules: paranoid, server or workstation")
	dir := flag.String("dir", tenshiref.LogcheckDir, "logcheck's rule directory")
	flag.Parse()
	// logcheck's levels include the stricter ones: server = paranoid + server.
	levels := map[string][]string{
		"paranoid":    {"ignore.d.paranoid"},
		"server":      {"ignore.d.paranoid", "ignore.d.server"},
		"workstation": {"ignore.d.paranoid", "ignore.d.server", "ignore.d.workstation"},
	}[*level]
	if levels == nil {
		fmt.Fprintf(os.Stderr, "logcheckconf: unknown level %q\n", *level)
		os.Exit(2)
	}
	var ignore []string
	for _, l := range levels {
		ignore = append(ignore, filepath.Join(*dir, l))
	}
	cracking, _, err := tenshiref.LogcheckRules(filepath.Join(*dir, "cracking.d"))
	check(err)
	violations, _, err := tenshiref.LogcheckRules(filepath.Join(*dir, "violations.d"))
	check(err)
	trash, skipped, err := tenshiref.LogcheckRules(ignore...)
	check(err)

	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, "# logcheck-database rules (%s level) as a tenshi configuration:\n", *level)
	fmt.Fprintf(w, "# %d cracking, %d violation and %d ignore rules (%d ignore rules could not be converted).\n",
		len(cracking), len(violations), len(trash), len(skipped))
	fmt.Fprint(w, `set mailserver localhost
set mask ___
set hidepid off
set queue critical tayori@localhost root@localhost [now] logcheck CRITICAL
set queue report tayori@localhost root@localhost [0 9 * * *] logcheck report
set queue misc tayori@localhost root@localhost [0 9 * * *] logcheck system events

# Attacks and security events first.
critical ^kernel: (?:\[[ .0-9]+\] )?(?:Oops|BUG|Kernel panic)
report ^sshd\[(\d+)\]: Failed password for (?:invalid user )?(\S+) from (\S+) port (\d+) ssh2
report ^sshd\[(\d+)\]: Invalid user (\S*) from (\S+)
`)
	for _, r := range cracking {
		fmt.Fprintf(w, "critical %s\n", r)
	}
	for _, r := range violations {
		fmt.Fprintf(w, "report %s\n", r)
	}
	fmt.Fprintln(w, "\n# logcheck's ignore rules: routine messages.")
	for _, r := range trash {
		fmt.Fprintf(w, "trash %s\n", r)
	}
	fmt.Fprintln(w, "\n# Everything else is a system event worth reading.\nmisc .*")
	check(w.Flush())
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "logcheckconf:", err)
		os.Exit(1)
	}
}
