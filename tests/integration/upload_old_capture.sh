#!/bin/bash
# A capture older than [store] max_age (and than Log Analytics' 2-day
# TimeGenerated window) is replayed and uploaded: every record arrives
# (age eviction counts from when a record entered the spool, not from when
# the call happened), each row keeps the call's own time in CallTime, and
# the upload summary says how many rows were older than 2 days.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
source tests/standins/lib.sh
tmp=$(mktemp -d); trap 'standin_stop; rm -rf "$tmp"' EXIT
standin_start "$tmp/s"
write_conf "$tmp/c.conf" client_secret
printf '[store]\nmax_age = 1d\n' >>"$tmp/c.conf"
db=$tmp/spool.db
"$LLMTAP" replay tests/fixtures/http1/chat.pcap --config "$tmp/c.conf" --db "$db" -q
total=$(sqlite3 "$db" "select count(*) from records")
"$LLMTAP" upload --config "$tmp/c.conf" --db "$db" 2>"$tmp/upload.log" || { cat "$tmp/upload.log"; exit 1; }
cat "$tmp/upload.log"
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1 (expected $3, got $4)"; fail=$((fail + 1)); fi; }
got=$(node tests/standins/check_upload.mjs ids "$ACCEPTED")
check "every record of an old capture arrives" '[ "$got" = "$total" ]' "$total" "$got"
evicted=$(grep -c 'store_evicted' "$tmp/upload.log" || true)
check "nothing evicted by age" '[ "$evicted" = 0 ]' "no store_evicted line" "$(grep store_evicted "$tmp/upload.log" || true)"
rows=$(grep -c . "$ACCEPTED")
said=$(sed -n 's/.*upload: \([0-9]*\) rows were older than 2 days.*/\1/p' "$tmp/upload.log")
check "the summary counts the rows older than 2 days" '[ "$said" = "$rows" ]' "$rows" "${said:-no such line}"
same=$(node tests/standins/check_upload.mjs calltime "$ACCEPTED")
check "every row carries CallTime = the call's TimeGenerated" '[ "$same" = "$rows" ]' "$rows" "$same"
echo "$(( 4 - fail )) passed, $fail failed"
[ "$fail" = 0 ]
