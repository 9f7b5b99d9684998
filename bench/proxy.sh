#!/bin/bash
# bench/proxy.sh -- llmtap proxy next to nginx and HAProxy, in one run.
#   bench/proxy.sh [BUILD]        (DUR=seconds per measurement, default 3)
# The same fast backend for every contender (bench/fastback.c, libevent, one
# core), wrk as client. Each proxy is pinned to core 0 with taskset; the
# backend and wrk share core 1. Per contender: CPU microseconds per request
# (utime+stime of its processes over the run / requests) at 32 and 256
# connections, and at 32 the kernel's part of it (stime) next to the
# backend's own, since a proxy's floor is the kernel's TCP work; req/s (and
# its ratio to calling the backend directly), latency added at one
# connection (p50, p99 from wrk --latency), time to the first SSE chunk
# added (bench/sse_ttfb.mjs, median of 300), and peak RSS (after the
# 32-connection load, and after all of them).
# llmtap runs twice: logging every call (parsers, records, SQLite spool) and
# with log_calls = false. nginx: proxy_http_version 1.1, keep-alive upstream,
# proxy_buffering off. HAProxy: http-reuse always, option http-no-delay.
# Prints a markdown table (BENCHMARKS.md, "Inline proxy").
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
DUR=${DUR:-3}
for t in nginx haproxy wrk taskset; do
    command -v "$t" >/dev/null || PATH=$PATH:/usr/sbin command -v "$t" >/dev/null || apt-get install -y nginx-light haproxy wrk >/dev/null
done
PATH=$PATH:/usr/sbin
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; sleep 0.2; rm -rf "$tmp"; }
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }
# user+system ticks of the processes (all their threads), and the system part alone
cpu_ticks() { local s=0; for p in "$@"; do s=$((s + $(awk '{print $14 + $15}' /proc/"$p"/stat))); done; echo $s; }
sys_ticks() { local s=0; for p in "$@"; do s=$((s + $(awk '{print $15}' /proc/"$p"/stat))); done; echo $s; }
rss_kb() { local s=0; for p in "$@"; do s=$((s + $(awk '/VmHWM/{print $2}' /proc/"$p"/status))); done; echo $s; }
TCK=$(getconf CLK_TCK)

BP=$(freeport)
taskset -c 1 "$BUILD/bench/fastback" "$BP" & pids+=($!)
waitport "$BP"

start_nginx() {
    local port=$1
    cat >"$tmp/nginx.conf" <<NGX
worker_processes 1;
daemon off;
user root;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err;
events { worker_connections 8192; }
http {
    access_log off;
    upstream b { server 127.0.0.1:$BP; keepalive 128; }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://b;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
NGX
    taskset -c 0 nginx -c "$tmp/nginx.conf" -p "$tmp" & pids+=($!)
    waitport "$port"
    sleep 0.2
    procs=("$!" $(pgrep -P "$!" || true))
}

start_haproxy() {
    local port=$1
    cat >"$tmp/haproxy.cfg" <<HAP
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    http-reuse always
    option http-no-delay
frontend f
    bind 127.0.0.1:$port
    default_backend b
backend b
    server s1 127.0.0.1:$BP
HAP
    taskset -c 0 haproxy -f "$tmp/haproxy.cfg" -db & pids+=($!)
    waitport "$port"
    procs=("$!")
}

start_llmtap() {
    local port=$1 log=$2
    printf '[proxy]\nlisten = 127.0.0.1:%s\nworkers = 1\nlog_calls = %s\n[store]\npath = %s/spool-%s.db\n[agent]\nsocket = %s/status-%s.sock\n[backend.b]\nurl = http://127.0.0.1:%s\n' \
        "$port" "$log" "$tmp" "$log" "$tmp" "$log" "$BP" >"$tmp/llmtap-$log.conf"
    taskset -c 0 "$BUILD/llmtap" proxy --config "$tmp/llmtap-$log.conf" --no-upload -q & pids+=($!)
    waitport "$port"
    procs=("$!")
}

# wrk at $2 connections against port $1 for DUR s: prints "req/s cpu_us_per_req kernel_us_per_req"
load() {
    local port=$1 c=$2 t0 t1 k0 k1 out
    t0=$(cpu_ticks "${procs[@]}") k0=$(sys_ticks "${procs[@]}")
    out=$(taskset -c 1 wrk -t1 -c"$c" -d"${DUR}s" "http://127.0.0.1:$port/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21")
    t1=$(cpu_ticks "${procs[@]}") k1=$(sys_ticks "${procs[@]}")
    local n rps
    n=$(echo "$out" | awk '/requests in/{print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
    awk -v n="$n" -v rps="$rps" -v d=$((t1 - t0)) -v k=$((k1 - k0)) -v tck="$TCK" \
        'BEGIN{printf "%.0f %.1f %.1f\n", rps, (n>0 ? d*1e6/tck/n : 0), (n>0 ? k*1e6/tck/n : 0)}'
}

# p50 and p99 latency in microseconds at one connection
lat() {
    taskset -c 1 wrk -t1 -c1 -d"${DUR}s" --latency "http://127.0.0.1:$1/x" | awk '
        function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return (v+0)*1000; if (v ~ /s$/) return (v+0)*1e6; return v }
        $1=="50%"{p50=us($2)} $1=="99%"{p99=us($2)} END{printf "%.0f %.0f\n", p50, p99}'
}

measure() { # name port -> one line of numbers
    local name=$1 port=$2
    read -r r32 c32 k32 <<<"$(load "$port" 32)"
    local rss32=0   # the high-water mark so far: the peak at 32 connections
    [ "$name" = direct ] || rss32=$(rss_kb "${procs[@]}")
    read -r r256 c256 _ <<<"$(load "$port" 256)"
    read -r p50 p99 <<<"$(lat "$port")"
    read -r s50 s99 <<<"$(taskset -c 1 node bench/sse_ttfb.mjs "$port" 300)"
    local rss=0
    [ "$name" = direct ] || rss=$(rss_kb "${procs[@]}")
    echo "$name $r32 $c32 $r256 $c256 $p50 $p99 $s50 $rss $k32 $rss32"
}

procs=("$(pgrep -f "bench/fastback $BP" | head -1)")
results=("$(measure direct "$BP")")
P=$(freeport); start_llmtap "$P" true;  results+=("$(measure "llmtap proxy (logging)" "$P")"); kill "${procs[0]}"; wait "${procs[0]}" 2>/dev/null || true
P=$(freeport); start_llmtap "$P" false; results+=("$(measure "llmtap proxy (log_calls=false)" "$P")"); kill "${procs[0]}"; wait "${procs[0]}" 2>/dev/null || true
P=$(freeport); start_nginx "$P";        results+=("$(measure "nginx $(nginx -v 2>&1 | sed 's/.*\///')" "$P")"); kill "${procs[0]}"; wait "${procs[0]}" 2>/dev/null || true
P=$(freeport); start_haproxy "$P";      results+=("$(measure "HAProxy $(haproxy -v | awk 'NR==1{print $3}')" "$P")"); kill "${procs[0]}"; wait "${procs[0]}" 2>/dev/null || true

echo "| contender | CPU µs/req c32 (of which kernel) | CPU µs/req c256 | req/s c32 (× direct) | req/s c256 (× direct) | added p50 c1 | added p99 c1 | SSE first chunk added (median) | peak RSS c32 / all |"
echo "|---|---|---|---|---|---|---|---|---|"
read -r _ d32 _ d256 _ dp50 dp99 ds50 _ <<<"${results[0]#direct }"
d32=$(echo "${results[0]}" | awk '{print $2}'); d256=$(echo "${results[0]}" | awk '{print $4}')
dp50=$(echo "${results[0]}" | awk '{print $6}'); dp99=$(echo "${results[0]}" | awk '{print $7}'); ds50=$(echo "${results[0]}" | awk '{print $8}')
for r in "${results[@]}"; do
    echo "$r" | awk -v d32="$d32" -v d256="$d256" -v dp50="$dp50" -v dp99="$dp99" -v ds50="$ds50" '{
        n = NF; name = $1; for (i = 2; i <= n - 10; i++) name = name " " $i
        r32 = $(n-9); c32 = $(n-8); r256 = $(n-7); c256 = $(n-6); p50 = $(n-5); p99 = $(n-4); s50 = $(n-3); rss = $(n-2)
        k32 = $(n-1); rss32 = $n
        if (name == "direct") {   # the backend alone: its own CPU per request, for scale
            printf "| direct (backend alone) | backend %.1f (%.1f) | – | %d | %d | p50 %d µs | p99 %d µs | %d µs | – |\n",
                c32, k32, r32, r256, p50, p99, s50; next }
        printf "| %s | %.1f (%.1f) | %.1f | %d (%.2f×) | %d (%.2f×) | +%d µs | +%d µs | +%d µs | %.1f / %.1f MB |\n",
            name, c32, k32, c256, r32, r32 / d32, r256, r256 / d256, p50 - dp50, p99 - dp99, s50 - ds50, rss32 / 1024,
            rss / 1024 }'
done
echo
echo "($(nproc) cores, $(uname -r), ${DUR} s per measurement, $(date -u +%Y-%m-%d))"
