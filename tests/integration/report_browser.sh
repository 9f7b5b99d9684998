#!/bin/bash
# `llmtap report` on a spool of every real capture, opened in headless
# chromium over the DevTools protocol (tests/report/report-browser.mjs):
# no console errors, no network request, every chart a drawn SVG, totals and
# bars equal to the ground truth. The screenshot is kept as a test artifact
# ($BUILD/test-artifacts/report.png). "now" is explicit (--now), so the
# period does not depend on today's date or the clock offset. Bad options
# exit 2, a missing spool exits 1, and neither leaves a file behind.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}" "${BUILD:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { fails=$((fails + 1)); echo "FAIL: $*"; }

db=$tmp/spool.db
for p in tests/fixtures/http1/*.pcap tests/fixtures/http2/*.pcap; do "$LLMTAP" replay "$p" --db "$db" --config /dev/null -q; done
last_us=$(sqlite3 "$db" "select max(time) from records")
now=$(date -u -d "@$(( last_us / 1000000 + 60 ))" +%Y-%m-%dT%H:%M:%SZ)
"$LLMTAP" report --db "$db" --since 30d --now "$now" -o "$tmp/report.html"
[ -s "$tmp/report.html" ] || fail "no report written"
! grep -qiE '<script|https?://' "$tmp/report.html" || fail "the report has a script or an external URL: $(grep -oiE '<script[^>]*>|https?://[^ "<]*' "$tmp/report.html" | head -3)"
mkdir -p "$BUILD/test-artifacts"
cp "$tmp/report.html" "$BUILD/test-artifacts/report.html"
node tests/report/report-browser.mjs "$tmp/report.html" "$BUILD/test-artifacts/report.png" \
    tests/fixtures/http1/*.truth.json tests/fixtures/http2/*.truth.json || fails=$((fails + 1))
[ -s "$BUILD/test-artifacts/report.png" ] || fail "no screenshot at $BUILD/test-artifacts/report.png"

# A period before the captures: the same page, every chart says so instead of missing.
"$LLMTAP" report --db "$db" --since 1h --now 2026-01-01T00:00:00Z -o "$tmp/empty.html"
n=$(grep -o 'data-empty="1"' "$tmp/empty.html" | wc -l)
[ "$n" = 7 ] || fail "empty period: expected 7 charts saying 'no data', got $n"
grep -q 'data-total="Requests">0<' "$tmp/empty.html" || fail "empty period: expected Requests 0"

rc=0; "$LLMTAP" report --db "$db" --since yesterday -o "$tmp/bad.html" 2>"$tmp/err" || rc=$?
[ "$rc" = 2 ] && grep -q "bad --since" "$tmp/err" || fail "--since yesterday: expected exit 2 'bad --since', got $rc $(cat "$tmp/err")"
rc=0; "$LLMTAP" report --db "$tmp/none.db" -o "$tmp/none.html" 2>"$tmp/err" || rc=$?
[ "$rc" = 1 ] && grep -q "no spool at" "$tmp/err" || fail "missing spool: expected exit 1 'no spool at', got $rc $(cat "$tmp/err")"
[ ! -e "$tmp/none.html" ] && [ ! -e "$tmp/none.html.tmp" ] && [ ! -e "$tmp/none.db" ] || fail "a failed report left a file behind"

echo "report_browser: $fails failure(s)"
[ "$fails" = 0 ]
