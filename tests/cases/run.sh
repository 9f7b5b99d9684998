#!/bin/bash
# Runs the data-driven cases of tests/cases/ (see README.md there).
#   tests/cases/run.sh [--update] [NAME...]      needs LLMTAP (path of the binary)
set -uo pipefail
cd "$(dirname "$0")"
: "${LLMTAP:?set LLMTAP to the llmtap binary}"
update=0
[ "${1:-}" = --update ] && { update=1; shift; }
names=("$@")
[ ${#names[@]} -eq 0 ] && names=($(ls -d */ | tr -d /))
fixtures=$(cd ../fixtures && pwd)
pass=0; fail=0
for n in "${names[@]}"; do
    [ -f "$n/cmd" ] || continue
    tmp=$(mktemp -d)
    mapfile -t args < <(sed -e "s#@FIXTURES@#$fixtures#g" -e "s#@TMP@#$tmp#g" "$n/cmd")
    "$LLMTAP" "${args[@]}" >"$tmp/out.jsonl" 2>"$tmp/err"
    rc=$?
    awk 'NF >= 2 && $1 ~ /^[a-z0-9_]+$/ && $2 ~ /^[0-9]+$/ {print $1, $2}' "$tmp/err" >"$tmp/counters"
    if [ $update = 1 ]; then
        cp "$tmp/out.jsonl" "$n/expected.jsonl"; cp "$tmp/counters" "$n/expected.counters"
        echo "updated $n"
    elif [ $rc -ne 0 ]; then
        echo "FAIL $n: llmtap exited $rc (expected 0): $(tail -3 "$tmp/err")"; fail=$((fail + 1))
    elif ! cmp -s "$tmp/out.jsonl" "$n/expected.jsonl"; then
        line=$(cmp "$tmp/out.jsonl" "$n/expected.jsonl" 2>&1 | sed -n 's/.*line \([0-9]*\).*/\1/p')
        echo "FAIL $n: records differ from expected.jsonl at line ${line:-?}"
        echo "  expected: $(sed -n "${line:-1}p" "$n/expected.jsonl" | cut -c1-400)"
        echo "  got:      $(sed -n "${line:-1}p" "$tmp/out.jsonl" | cut -c1-400)"
        fail=$((fail + 1))
    elif ! diff -q "$tmp/counters" "$n/expected.counters" >/dev/null; then
        echo "FAIL $n: counters differ (expected < > got):"; diff "$n/expected.counters" "$tmp/counters" | sed 's/^/  /'
        fail=$((fail + 1))
    else
        pass=$((pass + 1))
    fi
    rm -rf "$tmp"
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
