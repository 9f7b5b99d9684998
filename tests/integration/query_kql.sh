#!/bin/bash
# `llmtap query` runs every shipped KQL query (kql/*.kql, split at //---) and the
# README's two seed queries (the token query and the 403 audit) unchanged on a
# spool of every real capture, and their aggregates equal the ground truth and
# the rows the Logs Ingestion stand-in accepted for the same captures
# (tests/report/query-check.mjs). "now" is explicit (--now, one minute after the
# last call), so the result does not depend on today's date or the clock offset.
# Output formats (table, --json, --csv) agree; unsupported KQL exits 2 with the
# line:column of the offending token and prints no rows.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
source tests/standins/lib.sh
tmp=$(mktemp -d); trap 'standin_stop; rm -rf "$tmp"' EXIT
fails=0
fail() { fails=$((fails + 1)); echo "FAIL: $*"; }

db=$tmp/spool.db
for p in tests/fixtures/http1/*.pcap tests/fixtures/http2/*.pcap; do "$LLMTAP" replay "$p" --db "$db" --config /dev/null -q; done
standin_start "$tmp/s"
write_conf "$tmp/llmtap.conf" client_secret
"$LLMTAP" upload --config "$tmp/llmtap.conf" --db "$db" 2>"$tmp/upload.log" || { cat "$tmp/upload.log"; exit 1; }
# Two values of "now", one minute after the last call and one minute after the last 403/429,
# so that every query's window (1h .. 30d) holds fixture rows at one of them at least.
iso() { date -u -d "@$(( $1 / 1000000 + 60 ))" +%Y-%m-%dT%H:%M:%SZ; }
now=$(iso "$(sqlite3 "$db" "select max(time) from records")")
now_audit=$(iso "$(sqlite3 "$db" "select max(time) from records where tbl = 1 and json_extract(json,'$.ResponseCode') in (403, 429)")")
echo "now = $now (last call), $now_audit (last 403/429)"

# Every query of kql/ and the README, as shipped.
mkdir "$tmp/q"
node tests/report/kql-extract.mjs "$tmp/q" kql/*.kql README.md
truths=$(ls tests/fixtures/http1/*.truth.json tests/fixtures/http2/*.truth.json | tr '\n' ' ')
for at in "$now" "$now_audit"; do
    d=$tmp/at-$at; mkdir -p "$d"
    for q in "$tmp"/q/*.kql; do
        n=$(basename "$q" .kql)
        cp "$q" "$d/$n.kql"
        if ! "$LLMTAP" query --db "$db" --now "$at" --json -f "$q" >"$d/$n.jsonl" 2>"$d/$n.err"; then
            fail "$n at $at: llmtap query exited non-zero: $(cat "$d/$n.err")"
        fi
    done
    node tests/report/query-check.mjs --now "$at" --accepted "$ACCEPTED" --truths "$truths" --allow-empty "$d" || fails=$((fails + 1))
done
for q in "$tmp"/q/*.kql; do
    n=$(basename "$q" .kql)
    [ -s "$tmp/at-$now/$n.jsonl" ] || [ -s "$tmp/at-$now_audit/$n.jsonl" ] || fail "$n: no rows at either now (expected the fixtures' rows in its window)"
done
echo "$(ls "$tmp"/q/*.kql | wc -l) queries from kql/ and README.md"

# The three output formats carry the same rows.
tq='ApiManagementGatewayLlmLog | where coalesce(SequenceNumber, 0) == 0 | summarize Calls = count(), Tokens = sum(tolong(TotalTokens)) by DeploymentName | order by DeploymentName asc'
"$LLMTAP" query --db "$db" --now "$now" "$tq" >"$tmp/t.txt"
"$LLMTAP" query --db "$db" --now "$now" --csv "$tq" >"$tmp/t.csv"
"$LLMTAP" query --db "$db" --now "$now" --json "$tq" >"$tmp/t.jsonl"
from_json=$(node tests/report/jsonl.mjs csv DeploymentName,Calls,Tokens <"$tmp/t.jsonl")
from_csv=$(tail -n +2 "$tmp/t.csv" | tr -d '\r')
[ "$from_json" = "$from_csv" ] || fail "--csv rows differ from --json rows: csv [$from_csv] json [$from_json]"
[ "$(head -1 "$tmp/t.csv" | tr -d '\r')" = "DeploymentName,Calls,Tokens" ] || fail "CSV header: expected DeploymentName,Calls,Tokens got $(head -1 "$tmp/t.csv")"
rows_txt=$(( $(wc -l <"$tmp/t.txt") - 2 )); rows_json=$(wc -l <"$tmp/t.jsonl")
[ "$rows_txt" = "$rows_json" ] || fail "table has $rows_txt rows, --json $rows_json"
sqlite_calls=$(sqlite3 "$db" "select count(*) from records where tbl = 0 and coalesce(json_extract(json,'$.SequenceNumber'),0) = 0")
json_calls=$(node tests/report/jsonl.mjs sum Calls <"$tmp/t.jsonl")
[ "$sqlite_calls" = "$json_calls" ] || fail "sum of Calls: expected $sqlite_calls (sqlite3 count of LLM rows) got $json_calls"

# Unsupported KQL: exit 2, the position of the offending token, no rows.
bad() { # query expected-position expected-text
    local out rc=0
    out=$("$LLMTAP" query --db "$db" --now "$now" --json "$1" 2>"$tmp/bad.err") || rc=$?
    [ "$rc" = 2 ] || fail "'$1': expected exit 2 got $rc"
    [ -z "$out" ] || fail "'$1': expected no output, got: $out"
    grep -q "query:$2: .*$3" "$tmp/bad.err" || fail "'$1': expected error at $2 mentioning '$3', got: $(cat "$tmp/bad.err")"
}
bad 'ApiManagementGatewayLlmLog | mv-expand RequestMessages' '1:30' "unsupported operator 'mv'"
bad 'ApiManagementGatewayLlmLog | join kind=fullouter (ApiManagementGatewayLogs) on CorrelationId' '1:40' 'kind=fullouter'
bad 'ApiManagementGatewayLlmLog | where DeploymentName matches regex "gpt.*"' '1:51' "unexpected 'matches'"
bad 'ApiManagementGatewayLlmLog | summarize x = 1' '1:44' 'needs an aggregate'
bad 'ApiManagementGatewayLlmLog | where ResponseCode == "403"' '1:49' 'cannot compare a long with a string'
bad 'ApiManagementGatewayLlmLog | extend d = format_datetime(TimeGenerated, "yyyy")' '1:41' "unsupported function 'format_datetime'"
bad 'ApiManagementGatewayLlmLog | where TimeGenerated > ago(1h) | make-series count() on TimeGenerated step 1h' '1:62' "unsupported operator 'make'"
bad 'union ApiManagementGatewayLlmLog, ApiManagementGatewayLogs' '1:1' "unknown table 'union'"
rc=0; "$LLMTAP" query --db "$tmp/none.db" 'ApiManagementGatewayLlmLog | take 1' 2>"$tmp/nodb.err" >/dev/null || rc=$?
[ "$rc" = 1 ] && grep -q "no spool at" "$tmp/nodb.err" || fail "missing spool: expected exit 1 'no spool at', got $rc $(cat "$tmp/nodb.err")"
[ ! -e "$tmp/none.db" ] || fail "query created a spool file"

echo "query_kql: $fails failure(s)"
[ "$fails" = 0 ]
