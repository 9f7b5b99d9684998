#!/bin/bash
# attack_memory.sh -- issue 11 item 7: one memory budget for all parser state.
# A capture of CONNS connections each holding a BODY_KB KiB request body in
# flight at once (tests/fuzz/budget_capture.py: 500 x 512 KiB, 256 MB of
# capture; without a global budget the bodies alone take about 300 MB) is
# replayed with [capture] memory_budget = 32M, once on one pipeline and once
# with --workers 2 (the workers share the one budget). Expected: exit 0, peak
# RSS under the budget plus a fixed baseline (BUDGET_BASELINE_MB, default 64,
# 128 under a sanitizer: room for the binary, libraries, the pcap reader and
# ASan's own memory), the
# truncation counter > 0, every call still a record, the truncated ones
# flagged IncompleteReason "memcap" and BodyTruncated. Peak RSS and CPU are
# printed (numbers for BENCHMARKS.md), never asserted as times. A
# reasm_memcap over the memory_budget is refused by the configuration.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
budget_mb=32
baseline=${BUDGET_BASELINE_MB:-64}
# a sanitizer build keeps shadow memory and redzones beside every block (clang's
# ASan: 107-113 MiB here against 40-50 without): a wider baseline, still far
# below the 290+ MiB the bodies take without a budget
grep -qa __asan_init "$LLMTAP" 2>/dev/null && baseline=${BUDGET_BASELINE_MB:-128}
conns=500
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
python3 tests/fuzz/budget_capture.py "$tmp/b.pcap" "$conns" 512 || { echo "FAIL: capture not written"; exit 1; }
printf '[capture]\nmemory_budget = %sM\nreasm_memcap = 16M\n' "$budget_mb" >"$tmp/b.conf"
run() { # label, extra replay arguments
    local label=$1; shift
    /usr/bin/time -f "%M %U %S" -o "$tmp/time" "$LLMTAP" replay "$tmp/b.pcap" --no-store --json \
        --config "$tmp/b.conf" "$@" >"$tmp/out.jsonl" 2>"$tmp/log"
    local rc=$? rss user sys got recs memcap trunc
    read -r rss user sys <"$tmp/time"
    got=$(awk '$1 == "parser_budget_truncations" {print $2}' "$tmp/log")
    recs=$(grep -c '"Table":"ApiManagementGatewayLogs"\|"Table": *"ApiManagementGatewayLogs"' "$tmp/out.jsonl")
    memcap=$(grep -c '"IncompleteReason":"memcap"' "$tmp/out.jsonl")
    trunc=$(grep -c '"BodyTruncated":true' "$tmp/out.jsonl")
    echo "$label: exit $rc, peak RSS $((rss / 1024)) MiB (budget $budget_mb MiB), CPU ${user}s user ${sys}s sys," \
         "parser_budget_truncations ${got:-0}, gateway records $recs, memcap $memcap, BodyTruncated $trunc"
    [ "$rc" = 0 ] || { echo "FAIL: $label: expected exit 0, got $rc"; tail -n 5 "$tmp/log"; fail=1; }
    [ "$rss" -lt $(((budget_mb + baseline) * 1024)) ] ||
        { echo "FAIL: $label: expected peak RSS under $((budget_mb + baseline)) MiB, got $((rss / 1024)) MiB"; fail=1; }
    [ "${got:-0}" -gt 0 ] || { echo "FAIL: $label: expected parser_budget_truncations > 0, got ${got:-0}"; fail=1; }
    [ "$recs" = "$conns" ] || { echo "FAIL: $label: expected $conns gateway records, got $recs"; fail=1; }
    [ "$memcap" -gt 0 ] && [ "$trunc" -gt 0 ] ||
        { echo "FAIL: $label: expected records flagged memcap and BodyTruncated, got $memcap and $trunc"; fail=1; }
}
run "one pipeline"
run "--workers 2" --workers 2
# the reassembly cap lives inside the budget
printf '[capture]\nmemory_budget = 64M\nreasm_memcap = 128M\n' >"$tmp/bad.conf"
"$LLMTAP" config --check --config "$tmp/bad.conf" >/dev/null 2>"$tmp/err"; rc=$?
[ "$rc" != 0 ] && grep -q "reasm_memcap.*memory_budget" "$tmp/err" ||
    { echo "FAIL: reasm_memcap over memory_budget: expected a refusal naming both, got exit $rc: $(cat "$tmp/err")"; fail=1; }
[ $fail = 0 ] && echo "PASS: attack_memory"
exit $fail
