#!/bin/bash
# Upload throughput: a spool of records (a real capture multiplied) sent to the
# Logs Ingestion stand-in over HTTPS (gzip on, 1 MB batches). Prints one
# Markdown table row: records, rows, MB of JSON, wall, rows/s, MB/s, CPU s per MB.
#   bench/upload.sh BUILD COPIES
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}; COPIES=${2:-2000}
source tests/standins/lib.sh
tmp=$(mktemp -d); trap 'standin_stop; rm -rf "$tmp"' EXIT
standin_start "$tmp/s"
write_conf "$tmp/c.conf" client_secret
"$BUILD/tests/tools/pcapsynth" multiply tests/fixtures/http1/ops.pcap "$tmp/m.pcap" "$COPIES"
"$BUILD/llmtap" replay "$tmp/m.pcap" --db "$tmp/spool.db" -q
records=$(sqlite3 "$tmp/spool.db" "select count(*) from records")
mb=$(sqlite3 "$tmp/spool.db" "select round(sum(bytes) / 1048576.0, 1) from records")
read -r wall user sys rss < <(/usr/bin/time -f "%e %U %S %M" "$BUILD/llmtap" upload --config "$tmp/c.conf" --db "$tmp/spool.db" -q 2>&1 >/dev/null | tail -1)
rows=$(wc -l <"$ACCEPTED")
awk -v r="$records" -v rows="$rows" -v mb="$mb" -v w="$wall" -v u="$user" -v s="$sys" -v rss="$rss" 'BEGIN {
    printf "| %d | %d | %.1f | %.2f s | %.0f | %.1f | %.3f s | %.1f MiB |\n", r, rows, mb, w, rows / w, mb / w, (u + s) / mb, rss / 1024 }'
