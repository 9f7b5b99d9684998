#!/bin/bash
# The Azure Workbook (packaging/azure/workbook.json): every query in it (its
# items and its parameter queries, parameters replaced by the values a
# workbook substitutes) passes Microsoft's Kusto analyzer against
# packaging/azure/schema.json, and runs through `llmtap query` on a spool of
# the real captures, where the totals tile equals the ground truth and the
# drill-down returns the chosen call's whole prompt; the workbook's structure
# and its resource in main.bicep pass tests/report/workbook-check.mjs; a
# deliberately broken workbook query fails the analyzer, so the check can.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { fails=$((fails + 1)); echo "FAIL: $*"; }
wb=packaging/azure/workbook.json

node tests/report/workbook-check.mjs "$wb" packaging/azure/main.bicep || fails=$((fails + 1))
node tests/report/kql-extract.mjs "$tmp/az" "$wb" >/dev/null
n=$(ls "$tmp"/az/*.kql | wc -l)
[ "$n" -ge 12 ] || fail "expected at least 12 workbook queries, extracted $n"
node tests/tools/kqlcheck.mjs --quiet --schema packaging/azure/schema.json "$tmp"/az/*.kql || fail "the Kusto analyzer rejected a workbook query"
sed 's/sum(tolong(CachedTokens))/sum(tolong(CachedTokenz))/' "$wb" >"$tmp/broken.json"
node tests/report/kql-extract.mjs "$tmp/broken" "$tmp/broken.json" >/dev/null
if node tests/tools/kqlcheck.mjs --quiet --schema packaging/azure/schema.json "$tmp"/broken/*.kql >/dev/null 2>&1; then
    fail "a workbook query naming an unknown column passed the analyzer"
fi

# The same queries locally: all deployments and keys, the last 30 days, one call drilled into.
db=$tmp/spool.db
for p in tests/fixtures/http1/*.pcap tests/fixtures/http2/*.pcap; do "$LLMTAP" replay "$p" --db "$db" --config /dev/null -q; done
last_us=$(sqlite3 "$db" "select max(time) from records")
now=$(date -u -d "@$(( last_us / 1000000 + 60 ))" +%Y-%m-%dT%H:%M:%SZ)
corr=$(sqlite3 "$db" "select json_extract(json,'$.CorrelationId') from records where tbl = 0 and json_extract(json,'$.RequestMessages') is not null order by rowid limit 1")
printf '{"TimeRange": ">= ago(30d)", "Deployment": "%s", "Consumer": "%s", "CorrelationId": "%s"}\n' "'*'" "'*'" "$corr" >"$tmp/params.json"
node tests/report/kql-extract.mjs "$tmp/local" "$wb" --params "$tmp/params.json" >/dev/null
for q in "$tmp"/local/*.kql; do
    "$LLMTAP" query --db "$db" --now "$now" --json -f "$q" >"${q%.kql}.jsonl" 2>"$tmp/err" || fail "$(basename "$q"): llmtap query failed: $(cat "$tmp/err")"
done
totals=$(grep -l '"StreamsWithoutUsage"' "$tmp"/local/*.jsonl | head -1)
got=$(node tests/report/jsonl.mjs csv Requests,TotalTokens <"$totals")
want=$(node tests/report/truth-totals.mjs tests/fixtures/http1/*.truth.json tests/fixtures/http2/*.truth.json)
[ "$got" = "$want" ] || fail "workbook totals tile run locally: expected Requests,TotalTokens $want got $got"
detail=$(grep -l '"FullRequestMessages"' "$tmp"/local/*.jsonl | head -1)
rows=$(wc -l <"$detail")
[ "$rows" = 1 ] || fail "drill-down for CorrelationId $corr: expected 1 row got $rows"
want_msgs=$(sqlite3 "$db" "select json_extract(json,'$.RequestMessages') from records where tbl = 0 and json_extract(json,'$.CorrelationId') = '$corr'")
got_msgs=$(node tests/report/jsonl.mjs json FullRequestMessages <"$detail")
[ "$got_msgs" = "$want_msgs" ] || fail "drill-down prompt: expected $want_msgs got $got_msgs"

echo "workbook_kql: $n queries, $fails failure(s)"
[ "$fails" = 0 ]
