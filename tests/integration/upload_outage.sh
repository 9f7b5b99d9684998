#!/bin/bash
# A 10-minute Logs Ingestion outage (connections dropped), then recovery:
# `llmtap upload` keeps retrying with capped back-off, delivers everything
# once the service is back, loses nothing, and its memory stays flat (peak RSS
# within a few MiB of an upload without outage). OUTAGE_S shortens it for
# local runs; CI runs the full 600 s.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
OUTAGE_S=${OUTAGE_S:-600}
source tests/standins/lib.sh
tmp=$(mktemp -d); trap 'standin_stop; rm -rf "$tmp"' EXIT
standin_start "$tmp/s"
write_conf "$tmp/c.conf" client_secret "retry_cap = 30" "max_retry = $((OUTAGE_S * 2 + 60))"
for db in base outage; do
    for p in tests/fixtures/http1/*.pcap; do "$LLMTAP" replay "$p" --db "$tmp/$db.db" -q; done
done
rss() { awk '{print $NF}' "$1" | tail -1; }
/usr/bin/time -f "%M" -o "$tmp/base.rss" "$LLMTAP" upload --config "$tmp/c.conf" --db "$tmp/base.db" -q
: >"$ACCEPTED"
control '{"down":true}'
( sleep "$OUTAGE_S"; control '{"down":false}' ) & revive=$!
start=$(date +%s)
/usr/bin/time -f "%M" -o "$tmp/outage.rss" "$LLMTAP" upload --config "$tmp/c.conf" --db "$tmp/outage.db" -q; rc=$?
wait "$revive"
took=$(( $(date +%s) - start ))
total=$(sqlite3 "$tmp/outage.db" "select count(*) from records")
got=$(node tests/standins/check_upload.mjs ids "$ACCEPTED")
b=$(rss "$tmp/base.rss"); o=$(rss "$tmp/outage.rss")
echo "outage ${OUTAGE_S}s: upload took ${took}s, rc=$rc, $got of $total records arrived, peak RSS ${o} KiB (no outage: ${b} KiB)"
fails=0
[ "$rc" = 0 ] || { echo "FAIL: upload did not drain the spool"; fails=$((fails + 1)); }
[ "$took" -ge "$OUTAGE_S" ] || { echo "FAIL: finished before the service came back"; fails=$((fails + 1)); }
[ "$got" = "$total" ] || { echo "FAIL: records lost"; fails=$((fails + 1)); }
[ $((o - b)) -lt 8192 ] || { echo "FAIL: memory grew during the outage"; fails=$((fails + 1)); }
echo "$((4 - fails)) passed, $fails failed"
[ "$fails" = 0 ]
