#!/bin/bash
# make bench: replay throughput of llmtap against a bare libpcap loop reading
# the same generated capture in the same run. Writes BENCHMARKS.md.
#   bench/run.sh BUILD [MEGABYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
MB=${2:-${BENCH_MB:-512}}
out=bench/out; mkdir -p "$out"
big=$out/bench-$MB.pcap; half=$out/bench-$((MB / 2)).pcap
[ -f "$big" ] || "$BUILD/bench/gen_capture" "$big" "$MB" > "$big.info"
[ -f "$half" ] || "$BUILD/bench/gen_capture" "$half" $((MB / 2)) > "$half.info"
size=$(stat -c %s "$big"); exchanges=$(awk '{print $2}' "$big.info")

# run CMD...: prints "wall user sys maxrss_kb" (GNU time)
run() { /usr/bin/time -f "%e %U %S %M" "$@" 2>&1 >/dev/null | tail -1; }
median3() { sort -n | sed -n 2p; }
measure() { # label cmd...: 3 runs, median wall; cpu and rss of the median run
    local rows=() i
    for i in 1 2 3; do rows+=("$(run "$@")"); done
    printf '%s\n' "${rows[@]}" | sort -n | sed -n 2p
}
cat "$big" > /dev/null   # warm the page cache for every contender alike
base=$(measure "$BUILD/bench/pcap_loop" "$big")
tap=$(measure "$BUILD/llmtap" replay "$big" --no-store -q)
db=$(mktemp -d /dev/shm/llmtap-bench.XXXXXX)
store=$(run "$BUILD/llmtap" replay "$big" --db "$db/spool.db" -q); rm -rf "$db"
halfrss=$(run "$BUILD/llmtap" replay "$half" --no-store -q | awk '{print $4}')

calc() { awk "BEGIN { printf \"%.1f\", $* }"; }
read bw bu bs brss <<<"$base"; read tw tu ts trss <<<"$tap"; read sw su ss srss <<<"$store"
mb=$(calc "$size / 1048576")
row() { # label wall user sys rss
    echo "| $1 | $2 s | $(calc "$mb / $2") MB/s | $(calc "$exchanges / $2") | $(calc "($3 + $4)") s | $(calc "$5 / 1024") MiB |"
}
cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
{
    echo "# Benchmarks"
    echo
    echo "Numbers from \`make bench\` (bench/run.sh). Speed is measured here, never in tests."
    echo
    echo "## Latest: replay throughput ($(date -u +%Y-%m-%d))"
    echo
    echo "- Machine: $cpu, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM, kernel $(uname -r), $(gcc --version | head -1)"
    echo "- Command: \`make bench\` = \`bench/run.sh $BUILD $MB\`; capture: \`$BUILD/bench/gen_capture\` ($mb MB, $exchanges exchanges,"
    echo "  half of them SSE streams of 150-450 Azure-shaped chunks, 64 concurrent connections, Ethernet/IPv4, MSS 1448)."
    echo "- Each contender reads the same file from the page cache; median of 3 runs (wall time), one core."
    echo
    echo "| Run | Wall | Capture MB/s | Exchanges/s | CPU (user+sys) | Peak RSS |"
    echo "|---|---|---|---|---|---|"
    row "baseline: bare libpcap loop touching every byte" "$bw" "$bu" "$bs" "$brss"
    row "llmtap replay --no-store" "$tw" "$tu" "$ts" "$trss"
    row "llmtap replay --db (tmpfs spool)" "$sw" "$su" "$ss" "$srss"
    echo
    echo "- llmtap / baseline throughput: **$(awk "BEGIN { printf \"%.2f\", $bw / $tw }")** (1.0 would be as fast as reading the file)."
    echo "- Memory flat in file size: peak RSS $(calc "$trss / 1024") MiB for $mb MB vs $(calc "$halfrss / 1024") MiB for half of it."
} > BENCHMARKS.md.new
if [ -f BENCHMARKS.md ] && grep -q "^## History" BENCHMARKS.md; then
    sed -n '/^## History/,$p' BENCHMARKS.md >> BENCHMARKS.md.new
else
    printf '\n## History\n\n| Date | Commit | MB/s | Exchanges/s | Ratio to baseline |\n|---|---|---|---|---|\n' >> BENCHMARKS.md.new
fi
echo "| $(date -u +%Y-%m-%d) | $(git rev-parse --short HEAD 2>/dev/null || echo -) | $(calc "$mb / $tw") | $(calc "$exchanges / $tw") | $(calc "$bw / $tw") |" >> BENCHMARKS.md.new
mv BENCHMARKS.md.new BENCHMARKS.md
cat BENCHMARKS.md
