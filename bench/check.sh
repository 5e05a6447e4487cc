#!/usr/bin/env bash
# Checker benchmark (issue 3): `faultline check` on a generated 1,000,000-operation register
# history (2,000,000 records: invocations and completions) over 1,000 keys at concurrency 10, against the straightforward baseline (encoding/json line by
# line, then porcupine called directly), in the same run. Prints whole-process wall time, the
# parse/check split each reports, and peak memory (max RSS), for ROUNDS alternating rounds.
#
#   bench/check.sh [ROUNDS]        (default 3; needs GNU time at /usr/bin/time)
#
# The generated history (~230 MB) goes to a temporary directory and is removed afterwards.
set -euo pipefail
rounds=${1:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$root"
go build -o "$work/faultline" ./cmd/faultline
go build -o "$work/checkbench" ./bench/checkbench
"$work/checkbench" gen -o "$work/history.jsonl" -ops 2000000 -keys 1000 -procs 10 -seed 1
echo "history: $(wc -l <"$work/history.jsonl") records, $(du -m "$work/history.jsonl" | cut -f1) MB"

measure() { # name, command...: prints "name wall_s maxrss_kb" and the tool's own timing line
	local name=$1; shift
	/usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || true
	read -r wall rss <"$work/time"
	printf '%-9s wall %6.2f s  peak RSS %5d MB  | %s\n' "$name" "$wall" "$((rss / 1024))" \
		"$(grep -m1 -E '^(file:|baseline:)' "$work/out")"
	echo "$wall" >>"$work/$name.walls"
}

for i in $(seq "$rounds"); do
	echo "round $i"
	measure baseline "$work/checkbench" baseline "$work/history.jsonl"
	measure faultline "$work/faultline" --log-level warn check "$work/history.jsonl"
	grep -m1 '^verdict' "$work/out" || true
done

median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
b=$(median "$work/baseline.walls")
f=$(median "$work/faultline.walls")
awk -v b="$b" -v f="$f" 'BEGIN {printf "median wall: baseline %.2f s, faultline check %.2f s, ratio %.2f (want <= 1.0)\n", b, f, f / b}'
