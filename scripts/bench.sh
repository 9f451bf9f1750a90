#!/usr/bin/env bash
# Whole-process benchmark (make bench): tayori test --format json on a generated 1,000,000-line syslog
# corpus with (a) logcheck-database's server rules as trash rules behind a few report rules and (b)
# Debian's packaged tenshi rules (tenshi.conf with all of includes-available), one core each run.
# When the reference tenshi is installed, it is timed on the same rules and a slice of the same corpus.
#
#   scripts/bench.sh [LINES]      (default 1000000; results in bench-out/)
set -euo pipefail
cd "$(dirname "$0")/.."

lines=${1:-1000000}
out=bench-out
mkdir -p "$out"
bin=bin/tayori
go build -o "$bin" ./cmd/tayori
core=$(( $(nproc) - 1 ))  # pin every run to one core
pin=(taskset -c "$core")

echo "== corpus: $lines lines (internal/gencorpus, seed 1)"
if [ ! -s "$out/corpus-$lines.log" ]; then
	go run ./internal/gencorpus/cmd/gencorpus -lines "$lines" -seed 1 > "$out/corpus-$lines.log"
fi
ls -l "$out/corpus-$lines.log" | awk '{printf "   %.1f MB\n", $5/1e6}'

echo "== rule sets (converted by tayori convert; max_lines_per_host at tayori's default, 1000)"
go run ./internal/tenshiref/cmd/logcheckconf -level server > "$out/logcheck.conf"
{
	grep -v '^includedir' /etc/tenshi/tenshi.conf 2>/dev/null | grep -v '^misc \.\*' || true
	for f in /etc/tenshi/includes-available/*; do [ -f "$f" ] && echo "include $f"; done
	echo 'misc .*'
} > "$out/debian.conf"
for set in logcheck debian; do
	if [ -s "$out/$set.conf" ] && grep -q '^set mailserver' "$out/$set.conf"; then
		"$bin" convert "$out/$set.conf" > "$out/$set.toml"
		# convert keeps up to 100,000 distinct lines per host per queue, close to tenshi's "all"; tayori
		# runs with its default cap (the catch-all queue sees ~1M unique lines here).
		sed -i 's/^max_lines_per_host = .*/max_lines_per_host = 1000/' "$out/$set.toml"
		"$bin" check -c "$out/$set.toml"
	fi
done

# best of N runs: prints "elapsed user maxrss_kb"
best() {
	local n=$1; shift
	local best=""
	for _ in $(seq "$n"); do
		/usr/bin/time -f '%e %U %M' -o "$out/time.txt" "$@" > /dev/null
		local t; t=$(cat "$out/time.txt")
		if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{split(a,x," ");split(b,y," ");exit !(x[1]<y[1])}'; then best=$t; fi
	done
	echo "$best"
}

echo "== startup: tayori check (load and compile every rule), best of 5"
read -r e _ m < <(best 5 "${pin[@]}" "$bin" check -c "$out/logcheck.toml")
printf '   logcheck rules (%s): %.2f s, %d MB\n' "$(grep -c . "$out/logcheck.conf")-line conf" "$e" $((m / 1024))

declare -A rate
for set in logcheck debian; do
	[ -s "$out/$set.toml" ] || continue
	echo "== tayori test --format json, $set rules, one core, best of 3"
	read -r e u m < <(best 3 "${pin[@]}" "$bin" test -c "$out/$set.toml" --format json "$out/corpus-$lines.log")
	rate[$set]=$(awk -v n="$lines" -v e="$e" 'BEGIN{printf "%d", n/e}')
	printf '   %d lines in %.2f s (%.2f s user): %d lines/s, peak RSS %d MB\n' "$lines" "$e" "$u" "${rate[$set]}" $((m / 1024))
done

if command -v perl >/dev/null && [ -x /usr/sbin/tenshi ] && getent passwd tenshi >/dev/null; then
	declare -A slice=([logcheck]=10000 [debian]=100000)
	for set in logcheck debian; do
		[ -s "$out/$set.conf" ] || continue
		n=${slice[$set]}
		head -n "$n" "$out/corpus-$lines.log" > "$out/slice-$set.log"
		echo "== reference tenshi -p, $set rules, first $n lines, one core"
		read -r e _ m < <(best 1 "${pin[@]}" sh -c "perl /usr/sbin/tenshi -c '$out/$set.conf' -p < '$out/slice-$set.log'")
		t=$(awk -v n="$n" -v e="$e" 'BEGIN{printf "%d", n/e}')
		printf '   %d lines in %.2f s: %d lines/s, peak RSS %d MB; tayori/tenshi = %dx\n' "$n" "$e" "$t" $((m / 1024)) \
			"$(awk -v a="${rate[$set]:-0}" -v b="$t" 'BEGIN{printf "%d", a/b}')"
	done
else
	echo "== reference tenshi not installed: no comparison (apt-get install tenshi libio-bufferedselect-perl)"
fi
