#!/usr/bin/env bash
# demo.sh — the daemon part of `make demo`: runs `tayori run` with examples/demo/demo.toml on logs
# this script writes (lines of testdata/corpus, as a log host's rsyslog would write them, one file
# per host), with reports printed on standard output instead of mailed. Within about a minute you
# see an immediate critical mail, a rotation handled, the digest of the minute and, at the end, the
# digest SIGTERM flushes. It builds nothing: the Makefile builds the binary.
#
# usage: examples/demo/demo.sh [path/to/tayori]     (default: bin/tayori)
set -euo pipefail
export LC_ALL=C

bin=${1:-bin/tayori}
[[ $bin == /* ]] || bin=$PWD/$bin
here=$(cd "$(dirname "$0")" && pwd)
corpus=$(cd "$here/../../testdata/corpus" && pwd)
if [[ ! -x $bin ]]; then
	echo "demo: no $bin: run 'make build' first" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tayori-demo.XXXXXX")
daemon= shower=
cleanup() {
	if [[ -n $daemon ]]; then kill -TERM "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; fi
	if [[ -n $shower ]]; then kill "$shower" 2>/dev/null || true; wait "$shower" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

bold= plain=
if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; fi
say() { printf '\n%s>>> %s%s\n' "$bold" "$*" "$plain"; }
# wait_for SECONDS FILE TEXT: wait until FILE has a line containing TEXT.
wait_for() {
	local deadline=$((SECONDS + $1))
	until grep -qF -- "$3" "$2" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			echo "demo: nothing with \"$3\" in $2 after $1 s; the daemon's log:" >&2
			cat tayori.log >&2
			exit 1
		fi
		sleep 0.2
	done
}
# feed FILE CORPUS FIRST COUNT: append lines FIRST.. of a corpus file to remote/FILE.
feed() { sed -n "$3,$(($3 + $4 - 1))p" "$corpus/$2" >>"remote/$1"; }

mkdir remote
: >mail.txt
: >remote/labsz.log # already there when the daemon starts: it begins at its end
say "starting: $bin run -c examples/demo/demo.toml   (in $work; its log goes to tayori.log)"
"$bin" run -c "$here/demo.toml" --state-dir state >mail.txt 2>tayori.log &
daemon=$!
tail -n +1 -f mail.txt & # show every report as the daemon prints it
shower=$!
wait_for 10 tayori.log "tayori started"
sleep 2 # one rescan (1 s): the daemon has opened remote/labsz.log

say "host LabSZ logs 300 sshd lines (testdata/corpus/OpenSSH_2k.log) to remote/labsz.log"
feed labsz.log OpenSSH_2k.log 1 150
sleep 1
feed labsz.log OpenSSH_2k.log 151 150

say "a new host, combo, appears: remote/combo.log is read from its first line (testdata/corpus/Linux_2k.log)"
feed combo.log Linux_2k.log 1 200

say "logrotate rotates remote/labsz.log (mv to labsz.log.1, new empty file); sshd still writes to the old one for a moment"
mv remote/labsz.log remote/labsz.log.1
: >remote/labsz.log
feed labsz.log.1 OpenSSH_2k.log 301 50
sleep 1
feed labsz.log OpenSSH_2k.log 351 50

say "combo's kernel kills a process: a critical line, mailed at once (after the 2 s batching window)"
logged=$SECONDS
echo "$(date '+%b %e %H:%M:%S') combo kernel: Out of memory: Killed process 4242 (java)" >>remote/combo.log
wait_for 15 mail.txt "Subject: tayori CRITICAL [critical]"
say "the critical mail came about $((SECONDS - logged)) s after the line was logged"

say "the digest queue is mailed every minute (schedule \"* * * * *\"): waiting for it, at most a minute"
wait_for 65 mail.txt "Subject: tayori demo [digest]"

say "more lines, then SIGTERM: the daemon reports what it holds (\"*** Status: terminating ***\") and exits"
feed combo.log Linux_2k.log 201 100
sleep 2 # one rescan: the lines are read
kill -TERM "$daemon"
status=0
wait "$daemon" || status=$?
daemon=
wait_for 5 mail.txt "*** Status: terminating ***"
sleep 0.5 # let tail print the last report
kill "$shower" 2>/dev/null || true
wait "$shower" 2>/dev/null || true
shower=

say "done: the daemon exited with status $status after printing $(grep -c '^Subject: ' mail.txt) reports; what it logged about the files:"
grep -E 'rotated|moved away|started|stopped|dropped' tayori.log | sed 's/^/    /'
