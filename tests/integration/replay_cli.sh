#!/bin/bash
# The replay command: exit codes, the spool (0600, idempotent replays), the
# --json output, the counters summary.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0; checks=0
t() { checks=$((checks + 1)); if eval "$2"; then :; else fails=$((fails + 1)); echo "FAIL: $1"; fi; }
rows() { sqlite3 "$1" "select count(*) from records"; }

"$LLMTAP" replay >/dev/null 2>&1; rc=$?; t "no file: exit 2" '[ $rc = 2 ]'
"$LLMTAP" replay --bogus x >/dev/null 2>&1; rc=$?; t "bad flag: exit 2" '[ $rc = 2 ]'
"$LLMTAP" replay "$tmp/missing.pcap" --db "$tmp/a.db" >/dev/null 2>"$tmp/err"; rc=$?; t "missing file: exit 1" '[ $rc = 1 ]'
t "missing file: message names it" 'grep -q missing.pcap "$tmp/err"'
echo "not a capture" >"$tmp/bad.pcap"
"$LLMTAP" replay "$tmp/bad.pcap" --db "$tmp/a.db" >/dev/null 2>&1; rc=$?; t "garbage file: exit 1" '[ $rc = 1 ]'
printf '[capture]\nbody_cap = lots\n' >"$tmp/bad.conf"
"$LLMTAP" replay tests/fixtures/http1/chat.pcap --config "$tmp/bad.conf" --no-store >/dev/null 2>"$tmp/err"; rc=$?; t "bad config: exit 2" '[ $rc = 2 ]'
t "bad config: file:line: reason" 'grep -q "bad.conf:2: body_cap: invalid size" "$tmp/err"'

db=$tmp/spool.db
"$LLMTAP" replay tests/fixtures/http1/chat.pcap --db "$db" 2>"$tmp/sum1" >/dev/null; rc=$?; t "replay: exit 0" '[ $rc = 0 ]'
n1=$(rows "$db")
t "replay: 10 records stored" '[ "$n1" = 10 ]'
t "spool is 0600" '[ "$(stat -c %a "$db")" = 600 ]'
"$LLMTAP" replay tests/fixtures/http1/chat.pcap --db "$db" 2>"$tmp/sum2" >/dev/null
t "replay twice: no duplicates" '[ "$(rows "$db")" = "$n1" ]'
t "replay twice: duplicates counted" 'grep -Eq "store_duplicates +10" "$tmp/sum2"'
t "summary lists counters" 'grep -Eq "http_exchanges +5" "$tmp/sum1"'
"$LLMTAP" replay tests/fixtures/http1/ops.pcap --db "$db" --json 2>/dev/null >"$tmp/out.jsonl"
t "--json: one object per record, each tagged" '[ "$(grep -c "^{\"Table\":\"ApiManagementGatewayL" "$tmp/out.jsonl")" = "$(wc -l <"$tmp/out.jsonl")" ]'
t "--json: Korean stays UTF-8" 'grep -q "스트리밍" "$tmp/out.jsonl"'
t "store holds the same JSON" '[ "$(sqlite3 "$db" "select count(*) from records where json like '"'"'%스트리밍%'"'"'")" -ge 1 ]'
t "no secret in the spool" '! sqlite3 "$db" "select json from records" | grep -q sk-test-key'
t "journal mode WAL" '[ "$(sqlite3 "$db" "pragma journal_mode")" = wal ]'
echo "$((checks - fails)) passed, $fails failed"
[ "$fails" = 0 ]
