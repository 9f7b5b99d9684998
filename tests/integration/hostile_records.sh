#!/bin/bash
# hostile_records.sh -- issue 11 items 9-11 at capture level. A capture of
# hostile calls (tests/fuzz/hostile_capture.py: keys in query strings, X-Api-Key,
# Bearer tokens, form and JSON secrets, SAS sig=, error bodies echoing the key,
# and bodies of arbitrary bytes with NUL and invalid UTF-8) is replayed into a
# spool and to --json; then:
#   - no secret value appears in the --json output, the spool file or its WAL;
#   - the call whose key came only in the query string has its KeyFingerprint;
#   - everything is uploaded to the Logs Ingestion stand-in with nothing
#     quarantined and nothing left pending.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
source tests/standins/lib.sh
tmp=$(mktemp -d); trap 'standin_stop; rm -rf "$tmp"' EXIT
python3 tests/fuzz/hostile_capture.py "$tmp/hostile.pcap" "$tmp/secrets.txt"
db=$tmp/spool.db
"$LLMTAP" replay "$tmp/hostile.pcap" --db "$db" --json --config /dev/null >"$tmp/out.jsonl" 2>"$tmp/replay.log"
n=$(wc -l <"$tmp/out.jsonl")
stored=$(sqlite3 "$db" "select count(*) from records")
[ "$n" -gt 28 ] && [ "$stored" = "$n" ] || { echo "FAIL: expected more than 28 records, all stored; got $n printed, $stored stored"; cat "$tmp/replay.log"; exit 1; }
fail=0
while read -r s; do
    for f in "$tmp/out.jsonl" "$db" "$db-wal"; do
        [ -f "$f" ] || continue
        if grep -a -q -F -- "$s" "$f"; then
            echo "FAIL: expected secret $s nowhere, found in $(basename "$f"):"
            grep -a -o -F -- "$s" "$f" | head -n 1 | sed 's/^/    /'
            grep -a -F -- "$s" "$tmp/out.jsonl" | head -n 1 | cut -c1-400 | sed 's/^/    record: /'
            fail=1
        fi
    done
done <"$tmp/secrets.txt"
qkey=$(head -n 1 "$tmp/secrets.txt")
want=$(printf '%s' "$qkey" | sha256sum | cut -c1-12)
got=$(grep -m 1 '"ApiManagementGatewayLlmLog"' "$tmp/out.jsonl" | grep -o '"KeyFingerprint":"[0-9a-f]*"' || true)
[ "$got" = "\"KeyFingerprint\":\"$want\"" ] || { echo "FAIL: first LLM record: expected KeyFingerprint $want (key in the query string only), got '$got'"; fail=1; }
standin_start "$tmp/s"
write_conf "$tmp/llmtap.conf" client_secret
"$LLMTAP" upload --config "$tmp/llmtap.conf" --db "$db" 2>"$tmp/upload.log" || { echo "FAIL: upload exited non-zero"; cat "$tmp/upload.log"; exit 1; }
quarantined=$(sqlite3 "$db" "select count(*) from records where state = 2")
pending=$(sqlite3 "$db" "select count(*) from records where state = 0")
if [ "$quarantined" != 0 ] || [ "$pending" != 0 ]; then
    echo "FAIL: expected every record delivered, got $quarantined quarantined and $pending pending:"
    sqlite3 "$db" "select substr(error, 1, 300) from records where state = 2 limit 3" 2>/dev/null | sed 's/^/    /'
    cat "$tmp/upload.log"
    fail=1
fi
rows=$(wc -l <"$ACCEPTED")
[ "$rows" -ge "$n" ] || { echo "FAIL: expected at least $n rows accepted by the stand-in, got $rows"; fail=1; }
[ $fail -eq 0 ] && echo "ok: $n records, no secret in output or spool, all delivered ($rows rows), none quarantined"
exit $fail
