#!/bin/bash
# kill -9 of `llmtap upload` at random points, 50 times, then a final run:
# every record arrives at least once; the only duplicates are rows whose
# acknowledgement was lost in a crash, and deduplicating on RecordId +
# SequenceNumber (kql/dedupe.kql) leaves exactly one row per row sent.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}" "${BUILD:?}"
source tests/standins/lib.sh
tmp=$(mktemp -d); trap 'standin_stop; rm -rf "$tmp"' EXIT
standin_start "$tmp/s"
write_conf "$tmp/c.conf" client_secret "batch_max_bytes = 6000"
"$BUILD/tests/tools/pcapsynth" multiply tests/fixtures/http1/chat.pcap "$tmp/m.pcap" 100
"$LLMTAP" replay "$tmp/m.pcap" --db "$tmp/spool.db" -q
total=$(sqlite3 "$tmp/spool.db" "select count(*) from records")
kills=0
for i in $(seq 50); do
    "$LLMTAP" upload --config "$tmp/c.conf" --db "$tmp/spool.db" -q 2>/dev/null &
    pid=$!
    sleep "0.0$((RANDOM % 9 + 1))"
    if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
    wait "$pid" 2>/dev/null || true
    [ "$(sqlite3 "$tmp/spool.db" "select count(*) from records where state = 0")" = 0 ] && break
done
"$LLMTAP" upload --config "$tmp/c.conf" --db "$tmp/spool.db" -q
node tests/standins/check_upload.mjs crash "$ACCEPTED" "$total" "$kills"
left=$(sqlite3 "$tmp/spool.db" "select count(*) from records where state != 1")
[ "$left" = 0 ] || { echo "FAIL: $left records not marked delivered (expected 0)"; exit 1; }
