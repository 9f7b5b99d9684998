#!/bin/bash
# Replay every real capture into a spool, upload it to the Logs Ingestion
# stand-in (HTTPS, strict about tokens, gzip, size, columns and types), and
# check what the service accepted: every record once, one row 0 per LLM call,
# the issue's token query and 403 audit computed over the accepted rows equal
# to the ground truth; then the spool holds nothing pending.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
source tests/standins/lib.sh
tmp=$(mktemp -d); trap 'standin_stop; rm -rf "$tmp"' EXIT
standin_start "$tmp/s"
write_conf "$tmp/llmtap.conf" client_secret
db=$tmp/spool.db
for p in tests/fixtures/http1/*.pcap tests/fixtures/http2/*.pcap; do "$LLMTAP" replay "$p" --db "$db" -q; done
"$LLMTAP" upload --config "$tmp/llmtap.conf" --db "$db" 2>"$tmp/upload.log" || { cat "$tmp/upload.log"; exit 1; }
cat "$tmp/upload.log"
ls tests/fixtures/http1/*.truth.json tests/fixtures/http2/*.truth.json >"$tmp/truths"
node tests/standins/check_upload.mjs e2e "$ACCEPTED" "$tmp/truths" \
    "$(sqlite3 "$db" "select sum(tbl=0) from records")" "$(sqlite3 "$db" "select sum(tbl=1) from records")" "$tmp/upload.log"
left=$(sqlite3 "$db" "select count(*) from records where state = 0")
[ "$left" = 0 ] || { echo "FAIL: $left records still pending in the spool after the upload (expected 0)"; exit 1; }
