#!/usr/bin/env bash
# One run of each whole-tree job on one tree, each after dropping the page cache (root):
# fd's walk+stat (the peer), fim baseline, fim check, fim check --fast, and the time fim
# watch takes to be ready against the baseline (its start-up comparison). Prints one line
# a job: wall seconds, CPU seconds, peak RSS, the pages the kernel scanned to reclaim
# memory meanwhile; then the baseline database's size per entry.
# Made for the generated trees of BENCHMARKS.md's scaling section:
#   ../shared/corpus/gen-tree DIR --files 10000000 --max-size 1024
# JOBS picks and orders the jobs (default: "fd baseline check fast watch"; baseline first
# for any other).
# usage: FIM=path/to/fim [JOBS="..."] bench/scale.sh DIR [WORKDIR]
set -u
DIR=${1:?usage: FIM=fim bench/scale.sh DIR [WORKDIR]}
FIM=${FIM:?set FIM}
W=${2:-$(mktemp -d)}
FD=$(command -v fdfind || command -v fd)
DB=$W/scale.db
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
# scanned: the pages the kernel has scanned to reclaim memory since boot (kswapd and
# direct reclaim), to show how much of a job's system time is the kernel making room.
scanned() { awk '/^pgscan_(kswapd|direct) / {n += $2} END {print n}' /proc/vmstat; }
# run NAME CMD...: one cold run under GNU time.
run() {
	local name=$1 before; shift
	drop
	before=$(scanned)
	/usr/bin/time -f "$name %e s wall, %U+%S s cpu, %M KiB peak" -o "$W/time" "$@" >/dev/null 2>"$W/err" ||
		{ echo "$name: exit $?: $(tail -1 "$W/err")"; }
	echo "$(cat "$W/time"), $(($(scanned) - before)) pages scanned for reclaim"
}
watch_ready() {
	# the time from start to the "ready" line, and the peak RSS once ready.
	drop
	local start ready rss pid before
	before=$(scanned)
	start=$(date +%s%N)
	"$FIM" watch --no-provenance --db "$DB" --interval 0 >/dev/null 2>"$W/watch.err" &
	pid=$!
	until grep -q 'ready: watching' "$W/watch.err" 2>/dev/null; do
		kill -0 "$pid" 2>/dev/null || { echo "fim-watch: exited: $(tail -1 "$W/watch.err")"; break; }
		sleep 0.2
	done
	ready=$(date +%s%N)
	rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null)
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	echo "fim-watch-ready $(((ready - start) / 1000000)) ms wall, ${rss:-?} KiB peak, $(($(scanned) - before)) pages scanned for reclaim"
}
for job in ${JOBS:-fd baseline check fast watch}; do
	case $job in
	fd) run fd-walk-stat "$FD" -u --changed-before 2100-01-01 . "$DIR" ;;
	baseline) run fim-baseline "$FIM" baseline -q --no-provenance --db "$DB" "$DIR" ;;
	check) run fim-check "$FIM" check -q --no-provenance --db "$DB" ;;
	fast) run fim-check-fast "$FIM" check -q --fast --no-provenance --db "$DB" ;;
	watch) watch_ready ;;
	*) echo "unknown job $job" ;;
	esac
done
echo "database: $("$FIM" info --db "$DB" 2>/dev/null | grep -E '^(entries|file size):' | tr -s ' ' | paste -sd ';')"
