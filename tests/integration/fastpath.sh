#!/bin/bash
# The SSE/JSON fast path of parsers/aoai.c (common Azure chunk shapes walked in place) must
# give exactly the records of the general path (a jansson tree per event). Every committed
# capture (HTTP/1.1 and HTTP/2, including the Azure-shaped one: openai SDK, ~90 chunks per
# answer with content_filter_results, logprobs, finish_reason and index on every chunk, streamed
# tool calls) is replayed twice, LLMTAP_AOAI_FAST=0 turning the fast path off; the outputs must
# be byte for byte equal. On the Azure-shaped capture the fast path must have handled most
# events (from the -vv debug lines), or the comparison would prove nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
rc=0 n=0
for pcap in tests/fixtures/http1/*.pcap tests/fixtures/http2/*.pcap tests/fixtures/h2burst/*.pcap; do
    name=$(basename "$pcap" .pcap)
    "$LLMTAP" replay "$pcap" --no-store --json --config /dev/null -vv >"$tmp/fast.jsonl" 2>"$tmp/fast.log"
    LLMTAP_AOAI_FAST=0 "$LLMTAP" replay "$pcap" --no-store --json --config /dev/null -q >"$tmp/general.jsonl"
    n=$((n + 1))
    if ! cmp -s "$tmp/fast.jsonl" "$tmp/general.jsonl"; then
        line=$( (cmp "$tmp/fast.jsonl" "$tmp/general.jsonl" || true) | awk "{print \$NF}")
        echo "FAIL $pcap: fast and general paths differ at record $line"
        for k in $({ sed -n "${line}p" "$tmp/fast.jsonl"; sed -n "${line}p" "$tmp/general.jsonl"; } | jq -r "keys[]" | sort -u); do
            f=$(sed -n "${line}p" "$tmp/fast.jsonl" | jq -c --arg k "$k" '.[$k]')
            g=$(sed -n "${line}p" "$tmp/general.jsonl" | jq -c --arg k "$k" '.[$k]')
            [ "$f" = "$g" ] || printf '  field %s:\n    general: %s\n    fast:    %s\n' "$k" "$g" "$f"
        done
        rc=1
    fi
    if [ "$name" = azure ]; then
        read -r events fast < <(awk '/SSE stream:/ {e += $5; f += $7} END {print e + 0, f + 0}' "$tmp/fast.log")
        if [ "$events" -lt 500 ] || [ $((fast * 10)) -lt $((events * 9)) ]; then
            echo "FAIL $pcap: expected >= 500 SSE events with >= 90% by the fast path, got $fast of $events"
            rc=1
        else
            echo "ok   $pcap: $fast of $events events by the fast path"
        fi
    fi
done
[ "$n" -ge 10 ] || { echo "FAIL: expected at least 10 captures, found $n"; exit 1; }
[ $rc = 0 ] && echo "fast path == general path on $n captures"
exit $rc
