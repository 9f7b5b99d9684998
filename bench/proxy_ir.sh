#!/bin/bash
# bench/proxy_ir.sh -- instructions per request of `llmtap proxy` (issue 12's
# cost per request, measured so a shared, loaded machine does not skew it).
#   bench/proxy_ir.sh [BUILD] [true|false]   (log_calls; N=seconds of load, default 10)
# The proxy (one worker) runs under valgrind's callgrind next to bench/fastback;
# after a warm-up its counters are zeroed, wrk sends GETs at 32 connections
# for N seconds, the counters are dumped, and every instruction of every
# thread of the proxy (loop, logging thread, spool writer) is divided by the
# requests wrk saw answered. Prints "requests instructions instructions/request"
# and leaves the profile in $OUT (default /tmp/proxy_ir.out) for
# callgrind_annotate --inclusive=yes.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
LOG=${2:-true}
N=${N:-10}
OUT=${OUT:-/tmp/proxy_ir.out}
rm -f "$OUT" "$OUT".*
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; sleep 0.3; rm -rf "$tmp"; }
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() { for _ in $(seq 400); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }
BP=$(freeport) PP=$(freeport)
"$BUILD/bench/fastback" "$BP" & pids+=($!)
waitport "$BP"
printf '[proxy]\nlisten = 127.0.0.1:%s\nworkers = 1\nlog_calls = %s\n[store]\npath = %s/spool.db\n[agent]\nsocket = %s/status.sock\n[backend.b]\nurl = http://127.0.0.1:%s\n' \
    "$PP" "$LOG" "$tmp" "$tmp" "$BP" >"$tmp/p.conf"
valgrind --tool=callgrind --callgrind-out-file="$OUT" "$BUILD/llmtap" proxy --config "$tmp/p.conf" --no-upload -q \
    2>"$tmp/vg.err" & vg=$!
pids+=($vg)
waitport "$PP"
URL="http://127.0.0.1:$PP/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
wrk -t1 -c32 -d2s "$URL" >/dev/null
sleep 1
callgrind_control -z "$vg" >/dev/null 2>&1
n=$(wrk -t1 -c32 -d"${N}s" "$URL" | awk '/requests in/{print $1}')
sleep 1   # the logging thread and the spool writer catch up
callgrind_control -d "$vg" >/dev/null 2>&1
sleep 0.5
f="$OUT.1"
ir=$(awk '/^summary:|^totals:/{print $2; exit}' "$f")
awk -v n="$n" -v ir="$ir" 'BEGIN{printf "%d %d %.0f\n", n, ir, ir/n}'
